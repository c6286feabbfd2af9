package network

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// Format is the weights.json format tag.
const Format = "cnnc-weights/1"

// Penalty kinds of a tensor in the non-convex objective.
const (
	PenaltyL2   = "l2"   // (β/2)·‖T‖² (weight decay; the default for weights)
	PenaltyL1Sq = "l1sq" // (β/2)·Σ_j ‖row_j‖₁² (the §5.2 ℓ1² output penalty; one row per hidden unit)
	PenaltyNone = "none" // not penalised (output bias, gates, fixed weights)

	// PenaltyPath and PenaltyGroup mark the tensors of a parallel three-layer network
	// that the network-level regulariser (Weights.Regularizer) covers: they add nothing
	// on their own (branches.go computes β·R(θ) from all of them together).
	PenaltyPath  = "path"
	PenaltyGroup = "group"
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
	// Branches is K for a layer of K parallel branches (branches.go): Out is then the
	// total K·width, branch-major. 0: not branched.
	Branches int `json:"branches,omitempty"`
}

// Tensor is a named weight tensor, row-major.
type Tensor struct {
	Name    string    `json:"name"` // L<index>.weight, L<index>.bias, L<index>.gates
	Shape   []int     `json:"shape"`
	Data    []float64 `json:"data"`
	Penalty string    `json:"penalty,omitempty"` // PenaltyL2 if empty for .weight, PenaltyNone for .bias of the output layer

	// Groups is the number of hidden units of a PenaltyL1Sq tensor: axis 1 is split
	// into Groups contiguous equal blocks, one per unit (see Tensor.PenaltyValue).
	// Finalize fills it from the model; 0 for other penalties.
	Groups int `json:"groups,omitempty"`
}

// Weights is the recovered network (weights.json).
type Weights struct {
	Format  string   `json:"format"`
	Model   string   `json:"model"`
	Beta    float64  `json:"beta"`
	Loss    string   `json:"loss"`
	Layers  []Layer  `json:"layers"`
	Tensors []Tensor `json:"tensors"`
	// Preprocess is the training data's preprocessing and the meaning of the
	// outputs (nil in files written before it was recorded).
	Preprocess *Preprocess `json:"preprocess,omitempty"`

	// Regularizer is the network-level regulariser of a parallel three-layer network:
	// "path" (PenaltyPath) or "group" (PenaltyGroup); "" when every penalty is
	// per tensor (weight decay, l1sq). See branches.go.
	Regularizer string `json:"regularizer,omitempty"`
}

// New starts the weights of model m trained with weight decay beta and the given loss:
// Format, Model, Beta, Loss and one Layer per model layer (index 0 = input), with the
// declared widths (auto widths 0 until Finalize resolves them from the tensors).
// Default strides and paddings are written out: conv stride 1 and padding 0, pool
// stride = window, circconv kernel = the full input.
func New(m *ir.Model, beta float64, loss string) *Weights {
	w := &Weights{Format: Format, Model: m.Name, Beta: beta, Loss: loss}
	for k, l := range m.Layers {
		wl := Layer{Index: k, Type: l.Kind.String(), Bias: l.Bias, Global: l.Global}
		spatialIn := 0
		if len(l.In) > 1 {
			spatialIn = len(l.In) - 1
		}
		switch l.Kind {
		case ir.Input:
			wl.Shape = append([]int(nil), l.Out...)
		case ir.Conv, ir.CircConv:
			wl.Kernel = append([]int(nil), l.Kernel...)
			if l.Kind == ir.CircConv && len(wl.Kernel) == 0 && spatialIn > 0 {
				wl.Kernel = append([]int(nil), l.In[1:]...)
			}
			if l.Kind == ir.Conv {
				wl.Stride = orFill(l.Stride, len(wl.Kernel), 1)
				wl.Padding = orFill(l.Padding, len(wl.Kernel), 0)
			}
			if len(l.In) > 0 && l.In[0] > 0 {
				wl.In = l.In[0]
			}
			wl.Out = l.Width
			if l.Branches != 0 {
				wl.Branches, wl.Out = l.Branches, 0
				if l.Branches > 0 {
					wl.Out = l.Branches * l.Width
				}
			}
		case ir.AvgPool, ir.MaxPool:
			if !l.Global {
				wl.Kernel = append([]int(nil), l.Kernel...)
				wl.Stride = append([]int(nil), l.Stride...)
				if len(wl.Stride) == 0 {
					wl.Stride = append([]int(nil), l.Kernel...)
				}
			}
		case ir.Linear:
			if s := l.In.Size(); len(l.In) > 0 && s > 0 {
				wl.In = s
			}
			wl.Out = l.Width
			if l.Branches != 0 {
				wl.Branches, wl.Out = l.Branches, 0
				if l.Branches > 0 {
					wl.Out = l.Branches * l.Width
				}
			}
			if l.Fixed != nil {
				v := *l.Fixed
				wl.Fixed = &v
			}
		}
		w.Layers = append(w.Layers, wl)
	}
	return w
}

func orFill(v []int, n, fill int) []int {
	if len(v) > 0 {
		return append([]int(nil), v...)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = fill
	}
	return out
}

// Set adds the tensor name (or replaces the tensor of that name) with a copy of shape
// and data. penalty may be "" for the default (see the package doc).
func (w *Weights) Set(name string, shape []int, data []float64, penalty string) {
	t := Tensor{
		Name:    name,
		Shape:   append([]int(nil), shape...),
		Data:    append([]float64(nil), data...),
		Penalty: penalty,
	}
	for i := range w.Tensors {
		if w.Tensors[i].Name == name {
			w.Tensors[i] = t
			return
		}
	}
	w.Tensors = append(w.Tensors, t)
}

// Tensor returns the tensor called name, or nil.
func (w *Weights) Tensor(name string) *Tensor {
	for i := range w.Tensors {
		if w.Tensors[i].Name == name {
			return &w.Tensors[i]
		}
	}
	return nil
}

// Finalize validates every tensor shape against the layers and resolves the layers:
// conv/circconv In (channels) and Out (filters), linear In and Out (features) from the
// tensors; every tensor's Penalty (defaults of the package doc) and, for l1sq, Groups;
// the weight tensor of a fixed linear layer is added (all VALUE, penalty none) when
// missing; tensors are put in layer order (weight, bias, gates, gate_bias). Errors
// name the tensor, its shape, the layer and the expected shape, e.g.
// "L1.weight has shape [3 5], layer 1 (linear) expects [m 4]". Finalize is idempotent.
func (w *Weights) Finalize() error {
	if w.Format == "" {
		w.Format = Format
	}
	if w.Loss == "" {
		w.Loss = ir.Squared
	}
	p, err := w.compile()
	if err != nil {
		return err
	}
	for k, io := range p.inOut {
		w.Layers[k].In, w.Layers[k].Out = io[0], io[1]
	}
	w.Tensors = append(w.Tensors, p.fixed...)
	sort.SliceStable(w.Tensors, func(i, j int) bool {
		a, b := tensorOrder(w.Tensors[i].Name), tensorOrder(w.Tensors[j].Name)
		return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
	})
	for i := range w.Tensors {
		t := &w.Tensors[i]
		t.Penalty = p.penalty[t.Name]
		if t.Penalty == PenaltyL1Sq {
			t.Groups = p.groups[t.Name]
		}
	}
	return nil
}

// tensorOrder is the sort key of a tensor name L<k>.<part>: (k, rank of part).
func tensorOrder(name string) [2]int {
	var k int
	var part string
	if _, err := fmt.Sscanf(strings.Replace(name, ".", " ", 1), "L%d %s", &k, &part); err != nil {
		return [2]int{1 << 30, 0}
	}
	for i, p := range []string{"weight", "bias", "gates", "gate_bias"} {
		if p == part {
			return [2]int{k, i}
		}
	}
	return [2]int{k, 9}
}

// PenaltyValue is P(T) of the package doc for this tensor's Penalty and Groups (the
// penalty without the factor β/2); Penalty must be resolved (Finalize) and Groups set
// for l1sq.
func (t *Tensor) PenaltyValue() float64 {
	return penaltyValue(t.Penalty, t.Shape, t.Data, t.Groups)
}

// CheckModel reports whether w is a network of model m: same layer kinds and
// parameters, the input shape, and widths that respect the declared ones (exact for
// the output layer, an upper bound for hidden layers).
func (w *Weights) CheckModel(m *ir.Model) error {
	ref := New(m, w.Beta, w.Loss)
	if len(ref.Layers) != len(w.Layers) {
		return fmt.Errorf("weights have %d layers, model %s has %d", len(w.Layers), m.Name, len(ref.Layers))
	}
	last := 0
	for k, l := range m.Layers {
		switch l.Kind {
		case ir.Conv, ir.CircConv, ir.Linear:
			last = k
		}
	}
	for k := range ref.Layers {
		a, b, l := w.Layers[k], &ref.Layers[k], m.Layers[k]
		// Empty lists in the weights mean the defaults New writes out.
		switch a.Type {
		case "conv":
			a.Stride = orFill(a.Stride, len(a.Kernel), 1)
			a.Padding = orFill(a.Padding, len(a.Kernel), 0)
		case "avgpool", "maxpool":
			if len(a.Stride) == 0 {
				a.Stride = a.Kernel
			}
		}
		where := fmt.Sprintf("layer %d", k)
		if a.Type != b.Type {
			return fmt.Errorf("%s is %s in the weights, %s in model %s", where, a.Type, b.Type, m.Name)
		}
		where += " (" + a.Type + ")"
		diff := func(what string, x, y any) error {
			return fmt.Errorf("%s: %s is %v in the weights, %v in model %s", where, what, x, y, m.Name)
		}
		switch {
		case !sameParam(a.Shape, b.Shape):
			return diff("shape", a.Shape, b.Shape)
		case len(b.Kernel) > 0 && len(a.Kernel) > 0 && !sameParam(a.Kernel, b.Kernel):
			return diff("kernel", a.Kernel, b.Kernel)
		case len(b.Stride) > 0 && !sameParam(a.Stride, b.Stride):
			return diff("stride", a.Stride, b.Stride)
		case !sameParam(a.Padding, b.Padding) && (anyNonZero(a.Padding) || anyNonZero(b.Padding)):
			return diff("padding", a.Padding, b.Padding)
		case a.Global != b.Global:
			return diff("global", a.Global, b.Global)
		case a.Bias != b.Bias:
			return diff("bias", a.Bias, b.Bias)
		case (a.Fixed == nil) != (b.Fixed == nil) || a.Fixed != nil && *a.Fixed != *b.Fixed:
			return diff("fixed", fmtFixed(a.Fixed), fmtFixed(b.Fixed))
		case (a.Branches != 0) != (b.Branches != 0) || b.Branches > 0 && a.Branches != b.Branches:
			return diff("branches", a.Branches, branchesText(b.Branches))
		case b.Branches != 0 && a.Branches > 0 && a.Out > 0 && a.Out != a.Branches*l.Width:
			return fmt.Errorf("%s: %d units in %d branches, model %s has %d per branch", where, a.Out, a.Branches, m.Name, l.Width)
		case b.Out > 0 && k == last && a.Out != b.Out:
			return diff("the width", a.Out, b.Out)
		case b.Out > 0 && a.Out > b.Out:
			return fmt.Errorf("%s: the weights have %d units, model %s allows at most %d", where, a.Out, m.Name, b.Out)
		}
	}
	return nil
}

// sameParam compares spatial parameters, accepting one entry for every dimension.
func sameParam(a, b []int) bool {
	if equalInts(a, b) {
		return true
	}
	if len(a) == 1 && len(b) > 1 {
		a, b = b, a
	}
	if len(b) != 1 || len(a) == 0 {
		return false
	}
	for _, v := range a {
		if v != b[0] {
			return false
		}
	}
	return true
}

func branchesText(k int) string {
	if k == ir.AutoBranches {
		return "auto"
	}
	return fmt.Sprint(k)
}

func fmtFixed(f *float64) string {
	if f == nil {
		return "unset"
	}
	return fmt.Sprint(*f)
}
