package derive

// Fixed-output-weight CNN: the anchored convex relaxation (§11,
// docs/math/11-fixed-output.md).
//
// Model. One shared filter w ∈ Rʰ (a conv with filters=1, any kernel, stride and
// padding, 1-D or 2-D, or circconv), ReLU, then fixed non-negative output weights:
// `linear 1 fixed=v` after the conv output (flattened: c_k = v at every position),
// after `avgpool global` (c_k = v/K) or after `avgpool W` windows (c_k = v·Σ_{l ∋ k}
// 1/|l|). The network is
//
//	f_i(w) = Σ_k c_k (x_ikᵀ w)_+,
//
// convex in w because c ≥ 0. Training it, min_w ½Σ_i (f_i(w) − y_i)², is not convex
// (a convex function composed with a square is not convex where f_i < y_i), so the
// rule does not claim an exact reformulation: it compiles the relaxation
//
//	maximize aᵀw  s.t.  ‖(f(w) − y)_+‖₂ ≤ ε      (ε = 0: f_i(w) ≤ y_i for all i, an LP)
//
// over a convex set that contains every zero-loss network, lifted with t_ik ≥
// (x_ikᵀw)_+ into convex.Anchored. With negative (or mixed-sign) output weights f_i
// is not convex in w, the set is not convex, and the rule refuses with that reason.
//
// Anchor. a is the least-squares coefficient of y on the pooled patches z_i = Σ_k
// c_k x_ik with an intercept (the intercept is dropped). With a conv bias the patches
// end with the constant 1, so z_i ends with Σ_k c_k; that column is the intercept and
// its coefficient, divided by Σ_k c_k, is the anchor's bias entry. For Gaussian
// inputs E[x (xᵀw*)_+] ∝ w*, so a is aligned with the planted filter; the least
// squares undoes the covariance of overlapping patches.
//
// Noise budget ε: the train block's `noise E` (ε = E) or `noise sigma=S` (ε = S√n).
//
// Recovery. ŵ becomes the conv weight [1, C, kernel…] (and bias [1]); the output
// layer keeps its fixed weights. No tensor is penalised: the training problem has no
// weight decay (β is not used), so the network's objective is its training loss.
// The certificate (compiler/train) recomputes f_i(ŵ) from these weights alone.

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/patch"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Diagnostic codes of the fixed-output rule.
const (
	CodeFixedSign     = "F0213" // negative or mixed fixed output weights
	CodeFixedFilters  = "F0214" // more than one filter
	CodeFixedInfeas   = "F0215" // the relaxation is infeasible for these targets
	CodeNoiseUnused   = "W0201" // a noise budget given to a rule that does not use it
	CodeFixedTooLarge = "F0216" // the patch matrix is too large
)

// MaxAnchoredFloats bounds the patch matrix N·K·H of the anchored program (2²⁷
// float64 values: 1 GiB), checked before it is built.
const MaxAnchoredFloats = 1 << 27

const fixedOutTheorem = "fixed-output-weight CNN, cnnc's anchored convex relaxation (LP; SOCP with a noise budget) in the spirit of Bartan & Pilanci 2019"

// FixedOutRule is the rule of this file.
var FixedOutRule = &Rule{
	Name:    "fixed-out",
	Section: "§11",
	Doc:     "docs/math/11-fixed-output.md",
	Theorem: fixedOutTheorem,
	Pattern: "conv K filters=1 · relu · [avgpool global | avgpool W] · linear 1 fixed=VALUE",
	Match:   func(m *ir.Model) Match { return matchSteps(m, fixedOutSteps()) },
	Check: func(in *Input) diag.List {
		_, ds := checkFixedOut(in)
		return ds
	},
	Build:   buildFixedOut,
	Recover: recoverFixedOut,
}

func init() { Register(FixedOutRule) }

func isFixedScalarOut(l *ir.Layer) bool {
	return l.Kind == ir.Linear && l.Width == 1 && l.Fixed != nil
}

func fixedOutSteps() []step {
	return []step{
		{want: "conv", ok: isConv},
		{want: "relu", ok: isKind(ir.ReLU)},
		{want: "avgpool", ok: isKind(ir.AvgPool), optional: true},
		{want: "flatten", ok: isKind(ir.Flatten), optional: true},
		{want: "linear 1 fixed=VALUE", ok: isFixedScalarOut},
	}
}

// FixedOutWeights returns the fixed output weight c_k of every conv position k of a
// matched model (K = the conv's output positions) from its shapes alone.
func FixedOutWeights(m *ir.Model) ([]float64, error) {
	a := parseArch(m)
	if a.conv == nil || a.out == nil || a.out.Fixed == nil {
		return nil, fmt.Errorf("model %s is not conv · relu · … · linear 1 fixed=VALUE", m.Name)
	}
	out := a.conv.Out
	if len(out) < 2 {
		return nil, fmt.Errorf("conv output %v has no spatial dimension", out)
	}
	sp := []int(out[1:])
	K := 1
	for _, v := range sp {
		K *= v
	}
	v := *a.out.Fixed
	c := make([]float64, K)
	switch {
	case a.pool == nil:
		for k := range c {
			c[k] = v
		}
	case a.pool.Global:
		for k := range c {
			c[k] = v / float64(K)
		}
	default:
		win, _, err := patch.Windows(sp, a.pool.Kernel, a.pool.Stride)
		if err != nil {
			return nil, err
		}
		for _, w := range win {
			for _, k := range w {
				c[k] += v / float64(len(w))
			}
		}
	}
	return c, nil
}

// fixedOut is what the checks of the fixed-output rule establish before the
// patches are extracted.
type fixedOut struct {
	a   arch
	c   []float64 // fixed output weight of every conv position
	y   []float64
	h   int     // patch length (with the bias entry)
	eps float64 // noise budget ε
}

// checkFixedOut runs every check of the rule that needs no patch matrix: loss,
// filter count, output bias, sign of the fixed weights, data, size, and the
// feasibility of negative targets under the noise budget. It is the rule's Check
// and the first half of Build.
func checkFixedOut(in *Input) (*fixedOut, diag.List) {
	var ds diag.List
	a := parseArch(in.Model)
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	if loss != ir.Squared {
		ds.Errorf(CodeLoss, in.Train.Range, "The anchored relaxation looks for networks with zero training loss, which is a regression (squared-loss) notion; use `loss squared`.", "loss %s is not supported by the fixed-output relaxation", loss)
		return nil, ds
	}
	if w := a.conv.Width; w != 1 && w != ir.Auto {
		ds.Errorf(CodeFixedFilters, a.conv.Range, "The fixed-output relaxation recovers one shared filter: write filters=1. (With several filters the output is a sum of ReLUs of different filters, and the relaxation's set is no longer a convex set of one filter.)", "the fixed-output relaxation needs one filter, found filters=%d", w)
		return nil, ds
	}
	if a.out.Bias {
		ds.Errorf(CodeFixedSign, a.out.Range, "The fixed-output model has no output bias: its output is Σ_k c_k (x_kᵀw)₊ with fixed c. Remove bias=true from the output layer.", "the fixed output layer has a bias")
		return nil, ds
	}
	c, err := FixedOutWeights(in.Model)
	if err != nil {
		ds.Errorf(CodeShape, a.conv.Range, "", "%v", err)
		return nil, ds
	}
	neg, pos := 0, 0
	for _, v := range c {
		if v < 0 {
			neg++
		}
		if v > 0 {
			pos++
		}
	}
	switch {
	case neg > 0:
		kind := "negative"
		if pos > 0 {
			kind = "of mixed sign"
		}
		ds.Errorf(CodeFixedSign, a.out.Range, fmt.Sprintf("The relaxation needs f(w) = Σ_k c_k (x_kᵀw)₊ to be convex in the filter w, which holds only when every fixed output weight c_k is ≥ 0: a ReLU is convex, and a negative multiple of it is concave. With %s weights the set {w : f(x_i; w) ≤ y_i} is not convex and §11 (docs/math/11-fixed-output.md) does not apply. Use fixed=VALUE with VALUE ≥ 0 (flip the sign of the targets instead).", kind), "fixed output weights are %s (fixed=%g)", kind, *a.out.Fixed)
		return nil, ds
	case pos == 0:
		ds.Errorf(CodeFixedSign, a.out.Range, "With fixed=0 the network's output is identically 0 and there is nothing to train; use fixed=VALUE with VALUE > 0.", "fixed output weights are all 0")
		return nil, ds
	}
	y := CheckData(in, &ds)
	if ds.HasErrors() {
		return nil, ds
	}
	n := len(y)
	K := len(c)
	h := sampleShape(in.Model)[0]
	for _, k := range a.conv.Kernel {
		h *= k
	}
	if a.conv.Bias {
		h++
	}
	if float64(n)*float64(K)*float64(h) > MaxAnchoredFloats {
		ds.Errorf(CodeFixedTooLarge, dataRange(in), fmt.Sprintf("The program stores one patch of %d values per sample and position: %d samples × %d positions × %d = %.3g values, more than the limit %d (1 GiB). Use fewer samples (`limit N`) or a larger stride.", h, n, K, h, float64(n)*float64(K)*float64(h), MaxAnchoredFloats), "the fixed-output relaxation's patches are too large")
		return nil, ds
	}
	eps := in.Train.Noise.Eps(n)
	// Feasibility: f(w) ≥ 0 for every w, so ‖(f − y)₊‖ ≥ ‖(−y)₊‖, attained at w = 0.
	negNorm, worst, worstI := 0.0, 0.0, -1
	for i, v := range y {
		if v < 0 {
			negNorm = math.Hypot(negNorm, v)
			if v < worst {
				worst, worstI = v, i
			}
		}
	}
	if negNorm > eps {
		rng := in.Train.Range
		if in.Train.Noise.Given() {
			rng = in.Train.Noise.Range
		}
		ds.Errorf(CodeFixedInfeas, rng, fmt.Sprintf("With non-negative output weights the network's output is never negative, so a negative target can only be absorbed by the noise budget: the relaxation needs ‖(−y)₊‖₂ = %.6g ≤ ε = %.6g (sample %d has target %.6g). Give a noise budget (`noise E` with E ≥ %.6g, or `noise sigma=S`) or check the targets' sign.", negNorm, eps, worstI, worst, negNorm), "the fixed-output relaxation is infeasible: %d negative targets", countNeg(y))
		return nil, ds
	}
	return &fixedOut{a: a, c: c, y: y, h: h, eps: eps}, ds
}

func buildFixedOut(in *Input) (*convex.Program, diag.List) {
	f, ds := checkFixedOut(in)
	if f == nil || ds.HasErrors() {
		return nil, ds
	}
	a, c, y, eps := f.a, f.c, f.y, f.eps
	n, K := len(y), len(c)
	p, err := patch.ExtractWith(in.Data.X, sampleShape(in.Model), a.conv.Kernel, a.conv.Stride, convPadding(a.conv), a.conv.Kind == ir.CircConv,
		patch.Options{MaxMemory: in.MaxMemory, AppendOnes: a.conv.Bias, Progress: in.Progress, Context: in.Context})
	if err != nil {
		stageError(&ds, a.conv.Range, err, CodeShape, "The convolution's kernel, stride and padding must fit the input shape.")
		return nil, ds
	}
	if p.K != K {
		ds.Errorf(CodeShape, a.conv.Range, "", "the conv has %d output positions in the data, %d in the model", p.K, K)
		return nil, ds
	}
	anchor, err := lsAnchor(p, c, y)
	if err != nil {
		ds.Errorf(CodeEmptyData, dataRange(in), "The least-squares anchor needs pooled patches with finite values.", "anchor: %v", err)
		return nil, ds
	}
	prog := &convex.Program{
		Model:   in.Model.Name,
		Theorem: fixedOutTheorem,
		Section: "§11",
		Regularizer: "none: the relaxation looks for a filter with zero training loss (no weight decay; beta is not used); " +
			"among the filters with ‖(f(w) − y)₊‖₂ ≤ ε it takes the one most aligned with the least-squares anchor a",
		Loss: ir.Squared,
		Y:    y,
		N:    n,
		Beta: in.Train.Beta,
		Anchored: &convex.Anchored{
			Layer: a.conv.Index, K: K, H: p.H, X: p.M, C: c, Anchor: anchor, Eps: eps,
		},
	}
	return prog, ds
}

func countNeg(y []float64) int {
	k := 0
	for _, v := range y {
		if v < 0 {
			k++
		}
	}
	return k
}

// lsAnchor is the least-squares anchor: the minimum-norm solution b of
// min ‖[Z, 1] b − y‖₂, Z_i = Σ_k c_k x_ik, without the intercept; when the patches
// end with the bias's constant 1 the intercept is carried by that column instead
// (see the file comment).
func lsAnchor(p *patch.Patches, c, y []float64) ([]float64, error) {
	n, h := p.N, p.H
	cols := h + 1
	if p.Bias {
		cols = h
	}
	Z := mat.NewDense(n, cols, nil)
	for k := 0; k < p.K; k++ {
		if c[k] == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			row := Z.RawRowView(i)
			for j, v := range p.Row(k, i) {
				row[j] += c[k] * v
			}
		}
	}
	if !p.Bias {
		for i := 0; i < n; i++ {
			Z.Set(i, h, 1)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(Z, mat.SVDThin) {
		return nil, fmt.Errorf("the SVD of the pooled patches did not converge")
	}
	sv := svd.Values(nil)
	if len(sv) == 0 || !(sv[0] > 0) || math.IsInf(sv[0], 0) {
		return nil, fmt.Errorf("the pooled patches are zero or not finite")
	}
	rank := svd.Rank(1e-12 * sv[0])
	var b mat.Dense
	svd.SolveTo(&b, mat.NewDense(n, 1, append([]float64(nil), y...)), rank)
	out := make([]float64, h)
	for j := 0; j < h; j++ {
		out[j] = b.At(j, 0)
	}
	return out, nil
}

func recoverFixedOut(in *Input, prog *convex.Program, sol *convex.Solution) (*network.Weights, error) {
	an := prog.Anchored
	if an == nil {
		return nil, fmt.Errorf("recover: not an anchored program")
	}
	w := sol.Vars[convex.AnchoredW]
	if len(w) != an.H {
		return nil, fmt.Errorf("recover: the solution's filter has %d entries, the program %d", len(w), an.H)
	}
	return FixedOutNetwork(in, w)
}

// FixedOutNetwork writes the fixed-output-weight network of in.Model with filter w
// (C·∏kernel entries in (C, kh, kw) order, then the bias when the conv has one) as
// weights.json: L<conv>.weight [1, C, kernel…], L<conv>.bias [1], and the output
// layer's fixed weights (materialised by Finalize). No tensor is penalised.
func FixedOutNetwork(in *Input, w []float64) (*network.Weights, error) {
	a := parseArch(in.Model)
	if a.conv == nil || a.out == nil {
		return nil, fmt.Errorf("model %s is not a fixed-output-weight CNN", in.Model.Name)
	}
	C := sampleShape(in.Model)[0]
	hk := C
	for _, k := range a.conv.Kernel {
		hk *= k
	}
	if len(w) != hk+b2i(a.conv.Bias) {
		return nil, fmt.Errorf("the filter has %d entries, the conv %d", len(w), hk+b2i(a.conv.Bias))
	}
	wt := network.New(in.Model, in.Train.Beta, ir.Squared)
	shape := append([]int{1, C}, a.conv.Kernel...)
	ci := a.conv.Index
	wt.Set(fmt.Sprintf("L%d.weight", ci), shape, w[:hk], network.PenaltyNone)
	if a.conv.Bias {
		wt.Set(fmt.Sprintf("L%d.bias", ci), []int{1}, w[hk:hk+1], network.PenaltyNone)
	}
	if err := wt.Finalize(); err != nil {
		return nil, fmt.Errorf("recover: %v", err)
	}
	return wt, nil
}
