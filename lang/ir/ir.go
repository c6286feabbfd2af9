// Package ir owns the typed network IR that lang/check produces from the AST: a
// checked model (layers with resolved parameters and inferred shapes), the data
// specifications, and the training settings, each with its source range.
//
// Pipeline position: lang/syntax AST ──lang/check.Check──▶ ir.File ──compiler──▶ convex IR.
// Nothing here refers to the AST: the compiler depends on this package only.
package ir

import (
	"fmt"
	"math"
	"strings"

	"github.com/cnnc-org/cnnc/lang/token"
)

// Shape of one sample: [C, H, W] for images, [C, L] for 1-D signals, [D] for vectors.
type Shape []int

// Size is the number of scalars in the shape.
func (s Shape) Size() int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// LayerKind is the kind of a layer.
type LayerKind int

const (
	Input LayerKind = iota
	Conv
	CircConv
	ReLU
	Gated
	AvgPool
	MaxPool
	Flatten
	Linear
)

var kindNames = [...]string{"input", "conv", "circconv", "relu", "gated", "avgpool", "maxpool", "flatten", "linear"}

func (k LayerKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("LayerKind(%d)", int(k))
}

// Auto is the width value of `filters=auto` / `linear auto`.
const Auto = 0

// Layer is one checked layer with resolved parameters.
//
// Spatial parameters (Kernel, Stride) have one entry per spatial dimension of the
// layer's input: 2 for [C,H,W], 1 for [C,L]. Padding is symmetric zero padding per side.
// A width chosen by the program (filters=auto, linear auto) is Auto in Width and in the
// channel entry Out[0] of this layer and of the shapes derived from it (a flatten of an
// auto-width tensor is [Auto]).
type Layer struct {
	Index int // 0 for input, counting layers in the model block
	Kind  LayerKind
	Range token.Range
	In    Shape // input shape (nil for Input)
	Out   Shape

	Kernel  []int // conv, circconv, avgpool/maxpool windows
	Stride  []int // conv, pools
	Padding []int // conv: zero padding per side, per spatial dim
	Global  bool  // avgpool/maxpool global
	Width   int   // conv filters / linear out features; Auto (0) = chosen by the program
	Bias    bool
	Fixed   *float64 // linear fixed=VALUE: all weights frozen to *Fixed

	// Branches is the `branches=` key of linear, conv and circconv (parallel networks,
	// docs/language.md): 0 when absent, AutoBranches when the program chooses the number of
	// branches K, else K. A layer with branches is K parallel copies of itself: Width
	// (filters) is per branch, and the layer's output has K·Width features (channels),
	// branch-major. The first branched layer of a run reads the whole input; a branched
	// layer after it reads only its own branch's features (a block-diagonal weight).
	Branches int
}

// AutoBranches is the Branches value of `branches=auto`.
const AutoBranches = -1

// Model is a checked architecture: Layers[0] is the input.
type Model struct {
	Name   string
	Range  token.Range
	Layers []*Layer
}

// Input returns the sample shape.
func (m *Model) Input() Shape { return m.Layers[0].Out }

// Signature is the layer kinds after the input, e.g. "linear relu linear".
func (m *Model) Signature() string {
	var s []string
	for _, l := range m.Layers[1:] {
		s = append(s, l.Kind.String())
	}
	return strings.Join(s, " ")
}

// SourceKind says where a data set comes from.
type SourceKind int

const (
	CSV SourceKind = iota
	NPY
	IDX
	Synthetic
)

// DataSource is the origin of a data set. Paths are absolute (resolved against the
// .cnn file's folder by the checker).
type DataSource struct {
	Kind  SourceKind
	Range token.Range

	// CSV
	Path   string
	Label  string // "last" (default), "first", or a column name or 0-based index
	Header bool
	// NoLabel: no column is a target (prediction inputs, `--data FILE.csv,label=none`
	// of cnnc predict; a .cnn data block cannot say it). XPath without YPath is the
	// same for NPY and IDX sources.
	NoLabel bool

	// NPY: X and y; IDX: images and labels
	XPath, YPath string

	// Synthetic
	Generator string             // "planted", "spiral"
	Params    map[string]float64 // generator parameters (n, d, seed, noise, ...)
}

// Data is a checked `data NAME { ... }` block.
type Data struct {
	Name   string
	Range  token.Range
	Source DataSource

	Classes    []int // [A, B]: keep classes A, B; A → −1, B → +1; [A, B, C, …]: keep them, one-hot targets in this order
	AllClasses bool  // classes all: one-hot targets
	// ClassesRange is the `classes` statement (invalid when there is none), where
	// label problems found when the data are loaded point.
	ClassesRange token.Range
	Limit        int // 0 = no limit
	Scale        float64
	HasScale     bool
	Standardize  bool
}

// Loss names.
const (
	Squared  = "squared"
	Logistic = "logistic"
	Hinge    = "hinge"
	// CrossEntropy is the softmax cross-entropy of a vector output on one-hot
	// targets: Σᵢ (log Σₖ e^{ŷᵢₖ} − Σₖ yᵢₖ ŷᵢₖ).
	CrossEntropy = "cross_entropy"
)

// PatternMode is how activation patterns are chosen.
type PatternMode int

const (
	Sample PatternMode = iota
	Exact
	Adaptive
)

func (m PatternMode) String() string {
	return [...]string{"sample", "exact", "adaptive"}[m]
}

// Patterns is the `patterns` statement. Defaults: sample 1000 seed=0; exact max=100000.
type Patterns struct {
	Mode  PatternMode
	N     int   // sample: number of gate vectors; adaptive: start
	Max   int   // exact: refuse above; adaptive: stop at
	Seed  int64 // sample/adaptive
	Range token.Range
}

// Solver is the `solver NAME key=value...` statement.
type Solver struct {
	Name    string             // "native" default; "conic", ...
	Options map[string]float64 // tol, max_iters, ...
	Range   token.Range
}

// Regularizer names (the train block's `regularizer` statement).
const (
	// WeightDecay is (β/2)·Σ‖weights‖² on every layer (the default).
	WeightDecay = "weight_decay"
	// Path is the ℓ2 path regulariser of a parallel three-layer network:
	// β Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·‖w2_kj‖²) (docs/math/09-three-layer.md, (P)).
	Path = "path"
	// Group is its group-ℓ1 variant β Σ_k |w3_k|·Σ_j ‖w1_kj‖·‖w2_kj‖ ((F)).
	Group = "group"
)

// Noise is the `noise` statement: the noise budget ε of the fixed-output-weight
// relaxation (§11), given directly (`noise E`: Budget = E) or as a per-sample noise
// level (`noise sigma=S`: ε = S·√n for n training samples). Both 0 (the default, no
// statement): ε = 0, the noiseless LP.
type Noise struct {
	Budget float64
	Sigma  float64
	Range  token.Range // invalid when the statement is absent
}

// Eps is the budget ε for n training samples.
func (z Noise) Eps(n int) float64 {
	if z.Sigma > 0 {
		return z.Sigma * math.Sqrt(float64(n))
	}
	return z.Budget
}

// Given reports whether the statement was written.
func (z Noise) Given() bool { return z.Range.IsValid() }

// Train is the checked `train { ... }` block with defaults filled in.
type Train struct {
	Model string
	Loss  string // Squared (default), Logistic, Hinge, CrossEntropy
	// LossRange is the `loss` statement (invalid when the default applies).
	LossRange token.Range
	Beta      float64
	Patterns  Patterns
	Solver    Solver
	Noise     Noise
	Range     token.Range

	// Regularizer is WeightDecay, Path or Group ("" means WeightDecay, the default);
	// RegRange is where the `regularizer` statement is (invalid when defaulted).
	Regularizer string
	RegRange    token.Range
}

// File is a checked .cnn file.
type File struct {
	Path    string // as given
	Dir     string // folder for relative paths
	Models  []*Model
	Data    map[string]*Data // by name; "train" and "test" are special
	Train   Train
	Trained *Model // the model the train block selects (nil if none could be chosen)
}

// Model returns the model named name, or nil.
func (f *File) Model(name string) *Model {
	for _, m := range f.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}
