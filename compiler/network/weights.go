// Package network owns the recovered network: the weights.json model of
// spec/cli.md (layers with resolved parameters, tensors in PyTorch layouts), its
// forward pass for every layer kind, and the non-convex objective computed directly
// from the weights — independently of any convex program, so that it can certify one.
//
// Pipeline position: convex solution ──compiler/derive recover──▶ *Weights ──▶ weights.json,
// and back: weights.json ──Forward/Objective──▶ cnnc verify / predict.
package network

// Format is the weights.json format tag.
const Format = "cnnc-weights/1"

// Penalty kinds of a tensor in the non-convex objective.
const (
	PenaltyL2   = "l2"   // (β/2)·‖T‖² (weight decay; the default for weights)
	PenaltyL1Sq = "l1sq" // (β/2)·Σ_j ‖row_j‖₁² (the §5.2 ℓ1² output penalty; one row per hidden unit)
	PenaltyNone = "none" // not penalised (output bias, gates, fixed weights)
)

// Layer is one entry of weights.json "layers": the model layer with resolved
// parameters (auto widths replaced by the recovered widths).
type Layer struct {
	Index   int      `json:"index"`
	Type    string   `json:"type"`
	Shape   []int    `json:"shape,omitempty"`   // input: sample shape
	Kernel  []int    `json:"kernel,omitempty"`  // conv, circconv, pools
	Stride  []int    `json:"stride,omitempty"`  // conv, pools
	Padding []int    `json:"padding,omitempty"` // conv
	Global  bool     `json:"global,omitempty"`  // pools
	In      int      `json:"in,omitempty"`      // conv in_channels / linear in_features
	Out     int      `json:"out,omitempty"`     // conv out_channels / linear out_features
	Bias    bool     `json:"bias,omitempty"`
	Fixed   *float64 `json:"fixed,omitempty"`
}

// Tensor is a named weight tensor, row-major.
type Tensor struct {
	Name    string    `json:"name"` // L<index>.weight, L<index>.bias, L<index>.gates
	Shape   []int     `json:"shape"`
	Data    []float64 `json:"data"`
	Penalty string    `json:"penalty,omitempty"` // PenaltyL2 if empty for .weight, PenaltyNone for .bias of the output layer
}

// Weights is the recovered network (weights.json).
type Weights struct {
	Format  string   `json:"format"`
	Model   string   `json:"model"`
	Beta    float64  `json:"beta"`
	Loss    string   `json:"loss"`
	Layers  []Layer  `json:"layers"`
	Tensors []Tensor `json:"tensors"`
}
