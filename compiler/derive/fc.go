package derive

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/token"

	"gonum.org/v1/gonum/mat"
)

// The two-layer fully connected rules (§2, docs/math/02-fc-relu.md and §3).
//
// fc-relu, §2 (Pilanci & Ergen 2020). Model: input · linear m · relu · linear 1. With X
// the n×d data (a ones column appended when the hidden layer has bias=true — the bias is
// then penalised like every weight, §1.1), the non-convex problem
//
//	p* = min_{uⱼ, αⱼ} ℓ(Σⱼ (X uⱼ)₊ αⱼ [+ b], y) + (β/2) Σⱼ (‖uⱼ‖² + αⱼ²)
//
// equals, for m ≥ m* (the number of nonzero blocks at the optimum), the convex program
//
//	min_{v_p, w_p} ℓ(Σ_p D_p X (v_p − w_p) [+ b], y) + β Σ_p (‖v_p‖₂ + ‖w_p‖₂)
//	s.t. (2D_p − I) X v_p ≥ 0,  (2D_p − I) X w_p ≥ 0,
//
// over the activation patterns D_p ∈ 𝒟(X) (exact) or a sample of them (a restriction:
// an upper bound on p*). In the convex.Family template: A = C = X, Sample[r] = r,
// Weight = D, Sign = 2D − 1, Signs = {+1, −1}, Cost ‖·‖₂. The output bias b (output
// layer bias=true) is Program.OutputBias: one unpenalised scalar.
//
// fc-gated, §3 (Mishkin, Sahiner & Pilanci 2022). Model: input · linear m · gated ·
// linear 1. Each pattern comes with its gate g_p (D_p = diag 1[X g_p ≥ 0]); the network
// unit is 1[x·g_p > 0]·(x·u) and the convex program is the unconstrained group lasso
//
//	min_{u_p} ℓ(Σ_p D_p X u_p [+ b], y) + β Σ_p ‖u_p‖₂      (C = nil, Signs = {+1}).
//
// Recovery (§1.3): a block x with ‖x‖₂ > ZeroBlockTol·max_b‖x_b‖ becomes the neuron
// u = x/√‖x‖₂, α = ±√‖x‖₂ (+ for v, − for w; gated: +, keeping the gate g_p); smaller
// blocks are dropped. Then (β/2)(‖u‖² + α²) = β‖x‖₂ and (X u)₊ α = D_p X x because
// x ∈ 𝒦_p, so prediction and objective carry over exactly.
//
// Losses: squared ½Σ(ŷ−y)², hinge Σ(1 − yŷ)₊, logistic Σ log(1+e^{−yŷ}) (labels ±1
// for the last two); all on the docs/language.md scale.

// ZeroBlockTol is the relative norm below which a recovered block counts as zero.
const ZeroBlockTol = 1e-7

func init() {
	Register(&Rule{
		Name:    "fc-relu",
		Section: "§2",
		Doc:     "docs/math/02-fc-relu.md",
		Theorem: "two-layer ReLU, Pilanci & Ergen 2020",
		Pattern: "linear auto · relu · linear 1",
		Match:   func(m *ir.Model) Match { return matchFC(m, ir.ReLU) },
		Check:   checkScalar,
		Build:   func(in *Input) (*convex.Program, diag.List) { return buildFC(in, false) },
		Recover: func(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error) {
			return recoverFC(in, p, s, false)
		},
	})
	Register(&Rule{
		Name:    "fc-gated",
		Section: "§3",
		Doc:     "docs/math/03-gated.md",
		Theorem: "gated ReLU (convex group lasso), Mishkin, Sahiner & Pilanci 2022",
		Pattern: "linear auto · gated · linear 1",
		Match:   func(m *ir.Model) Match { return matchFC(m, ir.Gated) },
		Check:   checkScalar,
		Build:   func(in *Input) (*convex.Program, diag.List) { return buildFC(in, true) },
		Recover: func(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error) {
			return recoverFC(in, p, s, true)
		},
	})
}

// matchFC matches input · linear (auto or N, not fixed) · act · linear 1 (not fixed).
func matchFC(m *ir.Model, act ir.LayerKind) Match {
	ls := m.Layers
	if len(ls) == 0 {
		return Match{}
	}
	type want struct {
		kind  ir.LayerKind
		check func(l *ir.Layer) string
	}
	steps := []want{
		{ir.Linear, func(l *ir.Layer) string {
			if l.Fixed != nil {
				return "the hidden linear layer must be trainable, found fixed="
			}
			return ""
		}},
		{act, nil},
		{ir.Linear, func(l *ir.Layer) string {
			if l.Width != 1 {
				return fmt.Sprintf("expected a scalar output `linear 1`, found linear %d (vector outputs: §10, docs/math/10-vector-output.md)", l.Width)
			}
			if l.Fixed != nil {
				return "expected a trainable output layer, found fixed="
			}
			return ""
		}},
	}
	got := Match{}
	for i, w := range steps {
		if 1+i >= len(ls) {
			got.Why = fmt.Sprintf("expected %s after layer %d, the model ends", w.kind, i)
			return got
		}
		l := ls[1+i]
		if l.Kind != w.kind {
			got.Differs, got.Why = l, fmt.Sprintf("expected %s, found %s", w.kind, l.Kind)
			return got
		}
		if w.check != nil {
			if why := w.check(l); why != "" {
				got.Differs, got.Why = l, why
				return got
			}
		}
		got.Layers++
	}
	if len(ls) > 4 {
		got.Differs, got.Why = ls[4], fmt.Sprintf("expected the model to end after the output layer, found %s", ls[4].Kind)
		return got
	}
	got.OK = true
	return got
}

// dataRange is the source range to blame for a data problem.
func dataRange(in *Input) token.Range {
	if in.File != nil {
		if d := in.File.Data["train"]; d != nil {
			return d.Range
		}
	}
	return in.Train.Range
}

// CheckData validates the training data for a scalar-output rule: nonempty, finite,
// one target column, features matching the model input, labels usable by the loss.
// It returns the targets y.
func CheckData(in *Input, dl *diag.List) []float64 {
	r := dataRange(in)
	if in.Data == nil || in.Data.X == nil || in.Data.N() == 0 {
		dl.Errorf(CodeEmptyData, r, "Give the data block a source with at least one sample (check `limit` and `classes`).", "the training data set is empty")
		return nil
	}
	n, d := in.Data.X.Dims()
	if want := in.Model.Input().Size(); want != d {
		dl.Errorf(CodeShape, r, fmt.Sprintf("The model's input %s has %d features; the data have %d per sample.", in.Model.Input(), want, d), "data have %d features, model input needs %d", d, want)
		return nil
	}
	if in.Data.Y == nil {
		dl.Errorf(CodeEmptyData, r, "The training data need targets (a label column).", "the training data have no targets")
		return nil
	}
	yr, yc := in.Data.Y.Dims()
	if yr != n || yc != 1 {
		dl.Errorf(CodeShape, r, "This architecture has a scalar output (`linear 1`); use `classes A B` for two-class labels.", "targets are %d×%d, expected %d×1", yr, yc, n)
		return nil
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			if v := in.Data.X.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				dl.Errorf(CodeEmptyData, r, "Every feature must be a finite number.", "sample %d feature %d is %v", i, j, v)
				return nil
			}
		}
	}
	y := mat.Col(nil, 0, in.Data.Y)
	allEqual := true
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dl.Errorf(CodeEmptyData, r, "Every target must be a finite number.", "target of sample %d is %v", i, v)
			return nil
		}
		allEqual = allEqual && v == y[0]
	}
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	if loss == ir.CrossEntropy {
		dl.Errorf(CodeLoss, in.Train.Range, "cross_entropy is the softmax loss of a vector output (`linear C` with C ≥ 2 and `classes all`); for one output use `loss logistic` with `classes A B`.", "loss cross_entropy needs a vector output")
		return nil
	}
	if allEqual && (in.Data.Classification || loss != ir.Squared) {
		dl.Errorf(CodeLabels, r, "Training a classifier needs both classes in the data; check `classes` and `limit`.", "all %d labels are equal (%g)", n, y[0])
		return nil
	}
	if loss == ir.Hinge || loss == ir.Logistic {
		lr := r
		if in.Train.LossRange.IsValid() {
			lr = in.Train.LossRange // the loss asks for ±1 labels
		}
		for i, v := range y {
			if v != 1 && v != -1 {
				dl.Errorf(CodeLabels, lr, fmt.Sprintf("The %s loss needs labels −1/+1; use `classes A B`.", loss), "label of sample %d is %g, not ±1", i, v)
				return nil
			}
		}
	}
	return y
}

// CheckBeta validates β > 0.
func CheckBeta(in *Input, dl *diag.List) bool {
	b := in.Train.Beta
	if !(b > 0) || math.IsInf(b, 0) {
		dl.Errorf(CodeBeta, in.Train.Range, "β is the weight-decay coefficient; the reformulation needs β > 0 (e.g. `beta 1e-3`).", "beta must be positive and finite, got %g", b)
		return false
	}
	return true
}

// Patterns computes the pattern set of A that the train block asks for: exact (with
// max), sample N (seed) or, for adaptive, the N = start sampled patterns the adaptive
// loop begins from. The largest set possible, with the family built from it
// (FamilyBytes), is checked against in.MaxMemory first.
func Patterns(in *Input, A *mat.Dense, dl *diag.List) *pattern.Set {
	N, h := A.Dims()
	s, err := patternSet(in, A, 1, int64(N), int64(N), int64(h))
	if err != nil {
		stageError(dl, in.Train.Patterns.Range, err, CodePatterns, "Exact enumeration is polynomial only for low-rank data; for this data set use `patterns sample N` or `patterns adaptive`.")
		return nil
	}
	if s.Len() == 0 {
		dl.Errorf(CodePatterns, in.Train.Patterns.Range, "Every sampled gate gave the all-zero pattern; sample more gates.", "no usable activation pattern among %d samples", s.Evaluations)
		return nil
	}
	return s
}

// patternSet computes the pattern set of A for the train block, after checking that
// families windows × FamilyBytes(largest P, Np, Nc, h) fit the memory budget.
func patternSet(in *Input, A *mat.Dense, families, Np, Nc, h int64) (*pattern.Set, error) {
	ps := in.Train.Patterns
	N, hA := A.Dims()
	var maxP float64
	var what string
	switch ps.Mode {
	case ir.Exact:
		if ps.Max <= 0 {
			ps.Max = 100000
		}
		maxP = math.Min(float64(ps.Max), pattern.CoverCount(N, min(N, hA)))
		what = fmt.Sprintf("patterns exact max=%d", ps.Max)
	default: // Sample; Adaptive starts from its sampled set
		if ps.N <= 0 {
			ps.N = 1000
		}
		maxP = math.Min(float64(ps.N), pattern.CoverCount(N, min(N, hA))-1)
		what = fmt.Sprintf("patterns %s %d", ps.Mode, ps.N)
	}
	need := budget.Mul(families, FamilyBytes(int64(maxP), Np, Nc, h))
	if err := budget.Check(in.MaxMemory, need,
		fmt.Sprintf("%s: %d pattern famil%s of up to %.0f patterns over %d rows", what, families, map[bool]string{true: "y", false: "ies"}[families == 1], maxP, Np),
		"Ask for fewer patterns (`patterns sample N`, `max=`), or use fewer samples (`limit N`)."); err != nil {
		return nil, err
	}
	if ps.Mode == ir.Exact {
		return pattern.ExactWith(A, ps.Max, in.patternOptions())
	}
	return pattern.SampleWith(A, ps.N, ps.Seed, in.patternOptions())
}

// DesignMatrix returns X (n × d), with a ones column appended when bias.
func DesignMatrix(X *mat.Dense, bias bool) *mat.Dense {
	n, d := X.Dims()
	if !bias {
		return mat.DenseCopyOf(X)
	}
	A := mat.NewDense(n, d+1, nil)
	A.Slice(0, n, 0, d).(*mat.Dense).Copy(X)
	for i := 0; i < n; i++ {
		A.Set(i, d, 1)
	}
	return A
}

// FCFamily builds the §2 (gated=false) or §3 (gated=true) family of the design matrix
// A and the pattern set s, for hidden layer index layer.
func FCFamily(A *mat.Dense, s *pattern.Set, layer int, gated bool) *convex.Family {
	n, h := A.Dims()
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{
		Name: "v", Layer: layer, H: h,
		A: A, Sample: sample, Weight: &convex.PatternWeights{Mask: s.D.Clone()},
		Signs: []float64{1, -1},
		Cost:  convex.Cost{Kind: convex.CostL2},
		Gates: mat.DenseCopyOf(s.Gates),
		Meta:  map[string]any{"exhaustive": s.Exhaustive, "rank": s.Rank},
	}
	if gated {
		f.Name, f.Signs = "u", []float64{1}
		return f
	}
	f.C = A
	f.Sign = convex.PatternSigns(s.D, nil)
	return f
}

func buildFC(in *Input, gated bool) (*convex.Program, diag.List) {
	var dl diag.List
	y := CheckData(in, &dl)
	okBeta := CheckBeta(in, &dl)
	if y == nil || !okBeta {
		return nil, dl
	}
	hidden, out := in.Model.Layers[1], in.Model.Layers[3]
	A := DesignMatrix(in.Data.X, hidden.Bias)
	s := Patterns(in, A, &dl)
	if s == nil {
		return nil, dl
	}
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	p := &convex.Program{
		Model:       in.Model.Name,
		Theorem:     "two-layer ReLU, Pilanci & Ergen 2020",
		Section:     "§2",
		Regularizer: "weight decay (β/2)Σ(‖uⱼ‖² + αⱼ²) on the two-layer network becomes β Σ_p(‖v_p‖₂ + ‖w_p‖₂): a group lasso over activation patterns, so few neurons are active (a sparse, finite-width network); each block is tied to its pattern by the cone constraints (2D_p − I)X v_p ≥ 0",
		Loss:        loss,
		Y:           y,
		N:           len(y),
		Beta:        in.Train.Beta,
		OutputBias:  out.Bias,
		Families:    []*convex.Family{FCFamily(A, s, hidden.Index, gated)},
	}
	if gated {
		p.Theorem = "gated ReLU (convex group lasso), Mishkin, Sahiner & Pilanci 2022"
		p.Section = "§3"
		p.Regularizer = "weight decay on the gated network becomes β Σ_p ‖u_p‖₂: an unconstrained group lasso over the fixed gates' patterns D_p = diag 1[X g_p ≥ 0], so few gates are used"
	}
	if hidden.Bias {
		p.Regularizer += "; the hidden bias is the last coordinate of each block (a ones column of X), penalised like the weights"
	}
	return p, dl
}

// Layers converts a model's layers to weights.json layers, replacing auto widths by
// widths[index] (when given).
func Layers(m *ir.Model, widths map[int]int) []network.Layer {
	var out []network.Layer
	for _, l := range m.Layers {
		nl := network.Layer{Index: l.Index, Type: l.Kind.String(), Bias: l.Bias, Fixed: l.Fixed,
			Kernel: l.Kernel, Stride: l.Stride, Padding: l.Padding, Global: l.Global}
		switch l.Kind {
		case ir.Input:
			nl.Shape = append([]int(nil), l.Out...)
		case ir.Linear:
			nl.In = l.In.Size()
			nl.Out = l.Width
		case ir.Conv, ir.CircConv:
			if len(l.In) > 0 {
				nl.In = l.In[0]
			}
			nl.Out = l.Width
		}
		if w, ok := widths[l.Index]; ok {
			nl.Out = w
		}
		out = append(out, nl)
	}
	return out
}

// recoverFC maps a solution of the §2/§3 program to the network's weights (see the
// file comment for the formulas).
func recoverFC(in *Input, p *convex.Program, s *convex.Solution, gated bool) (*network.Weights, error) {
	if len(p.Families) != 1 || len(s.Blocks) != 1 {
		return nil, fmt.Errorf("fc recovery: expected one family, got %d (solution %d)", len(p.Families), len(s.Blocks))
	}
	fam := p.Families[0]
	hidden, act, out := in.Model.Layers[1], in.Model.Layers[2], in.Model.Layers[3]
	d := fam.H
	if hidden.Bias {
		d--
	}
	maxNorm := 0.0
	for c := range fam.Signs {
		B := s.Blocks[0][c]
		P, _ := B.Dims()
		for q := 0; q < P; q++ {
			maxNorm = math.Max(maxNorm, mat.Norm(B.RowView(q), 2))
		}
	}
	var W, bias, alpha, G, gb []float64
	for c, sign := range fam.Signs {
		B := s.Blocks[0][c]
		P, _ := B.Dims()
		for q := 0; q < P; q++ {
			x := B.RawRowView(q)
			nx := mat.Norm(B.RowView(q), 2)
			if nx == 0 || nx <= ZeroBlockTol*maxNorm {
				continue
			}
			sc := 1 / math.Sqrt(nx)
			for j := 0; j < d; j++ {
				W = append(W, x[j]*sc)
			}
			if hidden.Bias {
				bias = append(bias, x[d]*sc)
			}
			alpha = append(alpha, sign*math.Sqrt(nx))
			if gated {
				g := mat.Col(nil, q, fam.Gates)
				G = append(G, g[:d]...)
				if hidden.Bias {
					gb = append(gb, g[d])
				}
			}
		}
	}
	m := len(alpha)
	if m == 0 {
		// The zero network is optimal (large β, or features that cannot lower the
		// loss): weights.json still needs a hidden layer, so it gets one neuron whose
		// weights are all zero — the same function and objective, no penalty (as the
		// CNN recoveries do).
		m = 1
		W, alpha = make([]float64, d), []float64{0}
		if hidden.Bias {
			bias = []float64{0}
		}
		if gated {
			G = make([]float64, d)
			if fam.Gates != nil && fam.Patterns() > 0 {
				G = mat.Col(nil, 0, fam.Gates)[:d]
			}
			if hidden.Bias {
				gb = []float64{0}
				if fam.Gates != nil && fam.Patterns() > 0 {
					gb = []float64{fam.Gates.At(d, 0)}
				}
			}
		}
	}
	if hidden.Width != ir.Auto && m > hidden.Width {
		var dl diag.List
		dl.Errorf(CodeWidth, hidden.Range, fmt.Sprintf("The convex optimum uses %d neurons, and the reformulation is exact only when the width is at least that; write `linear auto` or `linear %d` (or more).", m, m),
			"the optimal network needs %d hidden neurons, more than the width %d", m, hidden.Width)
		return nil, dl
	}
	w := &network.Weights{
		Format: network.Format,
		Model:  in.Model.Name,
		Beta:   p.Beta,
		Loss:   p.Loss,
		Layers: Layers(in.Model, map[int]int{hidden.Index: m}),
	}
	w.Layers[out.Index].In = m
	w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.weight", hidden.Index), Shape: []int{m, d}, Data: nonNil(W), Penalty: network.PenaltyL2})
	if hidden.Bias {
		w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.bias", hidden.Index), Shape: []int{m}, Data: nonNil(bias), Penalty: network.PenaltyL2})
	}
	if gated {
		w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.gates", act.Index), Shape: []int{m, d}, Data: nonNil(G), Penalty: network.PenaltyNone})
		if hidden.Bias {
			w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.gate_bias", act.Index), Shape: []int{m}, Data: nonNil(gb), Penalty: network.PenaltyNone})
		}
	}
	w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.weight", out.Index), Shape: []int{1, m}, Data: nonNil(alpha), Penalty: network.PenaltyL2})
	if out.Bias {
		w.Tensors = append(w.Tensors, network.Tensor{Name: fmt.Sprintf("L%d.bias", out.Index), Shape: []int{1}, Data: []float64{s.Bias}, Penalty: network.PenaltyNone})
	}
	return w, nil
}

func nonNil(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}
