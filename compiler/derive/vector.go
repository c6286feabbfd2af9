package derive

// Vector outputs (multiclass networks, docs/math/10-vector-output.md, §10).
//
// Models: input · linear auto · relu|gated · linear C and input · conv K · relu|gated ·
// avgpool global · linear C, with C ≥ 2 outputs. With first-layer filters u_j ∈ R^H
// (a ones column appended to X, or to every patch, when the hidden layer has a bias:
// the bias is penalised like the weights) and output weights g_j ∈ R^C,
//
//	min  F( Σ_j φ(u_j) g_jᵀ [+ 1bᵀ], Y ) + (β/2) Σ_j (‖u_j‖² + ‖g_j‖²)
//
// with φ(u)_i = (x_i·u)₊ (FC) or (1/K) Σ_k (x_ik·u)₊ (global average pooling), F the
// squared loss ½‖Ŷ − Y‖² or the softmax cross-entropy on one-hot targets, b the
// unpenalised output bias. Its convex form (docs §10) is a copositive program: the
// regulariser is the cone-constrained nuclear norm Σ_p ‖Z_p‖_{*,𝒦_p}, whose dual
// constraint is a copositivity condition; it is NP-hard in general and polynomial
// for a fixed rank of the data (FC) or a fixed filter size (CNN). The program is a
// convex.VectorProgram (A = X or the stacked patches M, Sample, RowWeight = 1 or 1/K,
// the patterns' gates), solved by backend/native/vecout (compiler/train/vector.go):
// column generation with the exact cone-constrained PCA oracle when the patterns are
// exact, relaxation (a) + Frank–Wolfe growth + Burer–Monteiro when they are sampled;
// for a gated model relaxation (a) is the exact program.
//
// Rule.Build writes the convex relaxation that has a conic form, for `cnnc export`
// and the conic solver: relaxation (b) (copositive / doubly nonnegative) for ReLU
// models, relaxation (a) (nuclear norm per pattern, exact) for gated models, or (a)
// for ReLU models when Input.Relaxation = "gated".
//
// Recovery (Rule.Vector.Recover): every atom (U, G) with cost ‖U‖‖G‖ becomes the unit
// with first-layer weights αU and output weights G/α, α = √(‖G‖/‖U‖), so both have
// norm √(‖U‖‖G‖) and (β/2)(‖αU‖² + ‖G/α‖²) = β‖U‖‖G‖; the prediction is unchanged
// because the ReLU (or the gate) is positively homogeneous. A gated unit keeps its
// pattern's gate as its gate vector. Atoms with ‖U‖‖G‖ ≤ ZeroBlockTol·max are dropped.

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/patch"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// VectorRule is the vector-output part of a rule (§10): the program is a
// convex.VectorProgram solved by the vector pipeline, not a convex.Program.
type VectorRule struct {
	Build   func(in *Input) (*convex.VectorProgram, diag.List)
	Recover func(in *Input, p *convex.VectorProgram, s *convex.VectorSolution) (*network.Weights, error)
}

// Relaxation names for Input.Relaxation.
const (
	RelaxGated      = "gated"      // relaxation (a)
	RelaxCopositive = "copositive" // relaxation (b)
)

const vectorTheorem = "vector-output two-layer network: copositive program (Sahiner, Ergen, Pauly & Pilanci 2021)"

func init() {
	for _, v := range []struct {
		name, pattern string
		cnn           bool
		act           ir.LayerKind
	}{
		{"fc-relu-vector", "linear auto · relu · linear C (C ≥ 2)", false, ir.ReLU},
		{"fc-gated-vector", "linear auto · gated · linear C (C ≥ 2)", false, ir.Gated},
		{"cnn-gap-vector", "conv K · relu · avgpool global · linear C (C ≥ 2)", true, ir.ReLU},
		{"cnn-gap-gated-vector", "conv K · gated · avgpool global · linear C (C ≥ 2)", true, ir.Gated},
	} {
		v := v
		theorem := vectorTheorem
		if v.act == ir.Gated {
			theorem = "vector-output gated network: nuclear-norm program over the gates' patterns (relaxation (a), exact for gated units; Sahiner et al. 2021, Mishkin et al. 2022)"
		}
		Register(&Rule{
			Name: v.name, Section: "§10", Doc: "docs/math/10-vector-output.md",
			Theorem: theorem, Pattern: v.pattern,
			Match: func(m *ir.Model) Match { return matchSteps(m, vectorSteps(v.cnn, v.act)) },
			Build: buildVectorRelaxation,
			Vector: &VectorRule{
				Build:   buildVector,
				Recover: recoverVector,
			},
		})
	}
}

func isVectorOut(l *ir.Layer) bool { return l.Kind == ir.Linear && l.Width >= 2 && l.Fixed == nil }

func vectorSteps(cnn bool, act ir.LayerKind) []step {
	var s []step
	if cnn {
		s = append(s, step{want: "conv", ok: isConv})
	} else {
		s = append(s, step{want: "linear (hidden, trainable)", ok: func(l *ir.Layer) bool { return l.Kind == ir.Linear && l.Fixed == nil }})
	}
	s = append(s, step{want: act.String(), ok: isKind(act)})
	if cnn {
		s = append(s, step{want: "avgpool global", ok: func(l *ir.Layer) bool { return l.Kind == ir.AvgPool && l.Global }})
	}
	s = append(s, step{want: "linear C with C ≥ 2 (a vector output)", ok: isVectorOut})
	return s
}

// vectorArch is a matched vector model.
type vectorArch struct {
	hidden, act, out *ir.Layer
	cnn              bool
}

func parseVector(m *ir.Model) vectorArch {
	ls := m.Layers
	a := vectorArch{hidden: ls[1], act: ls[2], out: ls[len(ls)-1]}
	a.cnn = isConv(ls[1])
	return a
}

// checkVectorData validates the data of a vector model and returns Y (n × C).
func checkVectorData(in *Input, C int, loss string, dl *diag.List) *mat.Dense {
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
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			if v := in.Data.X.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				dl.Errorf(CodeEmptyData, r, "Every feature must be a finite number.", "sample %d feature %d is %v", i, j, v)
				return nil
			}
		}
	}
	if in.Data.Y == nil {
		dl.Errorf(CodeEmptyData, r, "The training data need targets.", "the training data have no targets")
		return nil
	}
	yr, yc := in.Data.Y.Dims()
	if yr != n || yc != C {
		detail := fmt.Sprintf("The output layer `linear %d` needs %d target columns: write `classes all` (one-hot targets over every class of the file) or `classes A B C …` (one-hot over the listed classes) in the data block, or give %d target columns.", C, C, C)
		if in.Data.Classification && yc < C && in.Data.Classes != nil && len(in.Data.Classes) < C && yc > 1 {
			detail = fmt.Sprintf("The data have %d classes (%v) but the output layer has %d outputs; write `linear %d`.", yc, in.Data.Classes, C, yc)
		}
		dl.Errorf(CodeShape, r, detail, "targets are %d×%d, the model's output needs %d×%d", yr, yc, n, C)
		return nil
	}
	Y := mat.DenseCopyOf(in.Data.Y)
	for i := 0; i < n; i++ {
		s := 0.0
		for k, v := range Y.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				dl.Errorf(CodeEmptyData, r, "Every target must be a finite number.", "target (%d, %d) is %v", i, k, v)
				return nil
			}
			if loss == ir.CrossEntropy && v < 0 {
				s = math.NaN()
			}
			s += v
		}
		if loss == ir.CrossEntropy && !(math.Abs(s-1) <= 1e-12) {
			dl.Errorf(CodeLabels, r, "The cross-entropy loss needs class targets: one-hot rows, from `classes all` or `classes A B C …`.", "target row of sample %d is not a probability vector (sum %g)", i, s)
			return nil
		}
	}
	return Y
}

func vectorLoss(in *Input, dl *diag.List) string {
	loss := in.Train.Loss
	switch loss {
	case "", ir.Squared:
		return convex.LossSquared
	case ir.CrossEntropy:
		return convex.LossCrossEntropy
	}
	dl.Errorf(CodeLoss, in.Train.Range, "Vector outputs take `loss squared` (½Σ‖ŷ − y‖² on one-hot targets) or `loss cross_entropy` (softmax cross-entropy).", "loss %s is not supported for a vector output", loss)
	return ""
}

// vectorPatterns is the train block's pattern set of A (as Patterns, with diagnostics
// positioned at the patterns statement).
func vectorPatterns(in *Input, A *mat.Dense, dl *diag.List) *pattern.Set {
	s := Patterns(in, A, dl)
	return s
}

func buildVector(in *Input) (*convex.VectorProgram, diag.List) {
	var dl diag.List
	a := parseVector(in.Model)
	C := a.out.Width
	loss := vectorLoss(in, &dl)
	Y := checkVectorData(in, C, in.Train.Loss, &dl)
	okBeta := CheckBeta(in, &dl)
	if dl.HasErrors() || Y == nil || !okBeta {
		return nil, dl
	}
	n, _ := in.Data.X.Dims()
	var A *mat.Dense
	var sample []int
	var rw []float64
	if a.cnn {
		pt, err := patch.Extract(in.Data.X, sampleShape(in.Model), a.hidden.Kernel, a.hidden.Stride, convPadding(a.hidden), a.hidden.Kind == ir.CircConv)
		if err != nil {
			dl.Errorf(CodeShape, a.hidden.Range, "The convolution's kernel, stride and padding must fit the input shape.", "%v", err)
			return nil, dl
		}
		if a.hidden.Bias {
			pt = pt.AppendOnes()
		}
		A = pt.M
		np, _ := A.Dims()
		sample = make([]int, np)
		rw = make([]float64, np)
		for r := 0; r < np; r++ {
			sample[r] = r % n
			rw[r] = 1 / float64(pt.K)
		}
	} else {
		A = DesignMatrix(in.Data.X, a.hidden.Bias)
		sample = make([]int, n)
		rw = make([]float64, n)
		for i := range sample {
			sample[i] = i
			rw[i] = 1
		}
	}
	set := vectorPatterns(in, A, &dl)
	if set == nil {
		return nil, dl
	}
	_, h := A.Dims()
	p := &convex.VectorProgram{
		Model:      in.Model.Name,
		Theorem:    vectorTheorem,
		Section:    "§10",
		Loss:       loss,
		Y:          Y,
		N:          n,
		C:          C,
		Beta:       in.Train.Beta,
		OutputBias: a.out.Bias,
		Gated:      a.act.Kind == ir.Gated,
		A:          A, Sample: sample, RowWeight: rw, H: h,
		Gates: set.Gates, Exhaustive: set.Exhaustive && in.Train.Patterns.Mode == ir.Exact, Rank: set.Rank,
		Layer: a.hidden.Index,
		Meta:  map[string]any{"cnn": a.cnn},
	}
	p.Regularizer = "weight decay (β/2)Σⱼ(‖uⱼ‖² + ‖gⱼ‖²) on the filters and the C-dimensional output weights becomes β Σ_p ‖Z_p‖_{*,𝒦_p}, the cone-constrained nuclear norm of one H×C block per activation pattern (a copositive program: NP-hard in general, polynomial for fixed data rank / filter size); few units, each with a full output vector"
	if p.Gated {
		p.Theorem = "vector-output gated network: nuclear-norm program over the gates' patterns (relaxation (a), exact for gated units; Sahiner et al. 2021, Mishkin et al. 2022)"
		p.Regularizer = "weight decay on the gated network becomes β Σ_p ‖Z_p‖_*, one nuclear norm per gate pattern D_p = diag 1[A g_p > 0] (an SDP; exact for gated units): few gates used, low rank per gate"
	}
	if a.hidden.Bias {
		p.Regularizer += "; the hidden bias is the last coordinate of each filter, penalised like the weights"
	}
	return p, dl
}

// buildVectorRelaxation is Rule.Build of the vector rules: the relaxation with a
// conic form (see the file comment).
func buildVectorRelaxation(in *Input) (*convex.Program, diag.List) {
	vp, dl := buildVector(in)
	if dl.HasErrors() || vp == nil {
		return nil, dl
	}
	r := VectorRelaxation(in, vp)
	if r == convex.RelaxGated && !vp.Gated && in.Relaxation == "" {
		rows, _ := vp.CopositiveSize()
		dl.Add(&diag.Diagnostic{Severity: diag.Warning, Code: CodeRelaxation, Range: in.Train.Patterns.Range,
			Summary: fmt.Sprintf("relaxation (b) is too large here (%.3g entrywise rows); relaxation (a) is written instead", rows),
			Detail:  "The copositive relaxation (b) has one nonnegativity row per pair of rows of the data (or patches) per pattern. The nuclear-norm relaxation (a), written instead, is a weaker lower bound over the same patterns. Reduce the samples or patterns for (b), or pass --relaxation gated to choose (a) explicitly."})
	}
	prog, err := vp.Relaxation(r)
	if err != nil {
		dl.Errorf(CodePatterns, in.Train.Patterns.Range, "The conic form of the relaxation is built with dense operators; reduce the samples or patterns, or use `cnnc solve` (the native vector solver works on the program directly).", "%v", err)
		return nil, dl
	}
	return prog, dl
}

// CodeRelaxation warns that the default relaxation (b) was replaced by (a).
const CodeRelaxation = "W0211"

// VectorRelaxation is the relaxation Build writes for vp: (a) for a gated model or
// when in.Relaxation asks for it; (b) when asked for; by default (b), or (a) when (b)
// would exceed convex.MaxCopositiveNNZ.
func VectorRelaxation(in *Input, vp *convex.VectorProgram) convex.Relax {
	switch {
	case vp.Gated || in.Relaxation == RelaxGated:
		return convex.RelaxGated
	case in.Relaxation == RelaxCopositive:
		return convex.RelaxCopositive
	}
	if _, nnz := vp.CopositiveSize(); nnz > convex.MaxCopositiveNNZ {
		return convex.RelaxGated
	}
	return convex.RelaxCopositive
}

// recoverVector writes the network of a vector solution (see the file comment).
func recoverVector(in *Input, p *convex.VectorProgram, s *convex.VectorSolution) (*network.Weights, error) {
	a := parseVector(in.Model)
	big := 0.0
	for _, at := range s.Atoms {
		big = math.Max(big, norm(at.U)*norm(at.G))
	}
	type unit struct{ u, g, gate []float64 }
	var us []unit
	for _, at := range s.Atoms {
		nu, ng := norm(at.U), norm(at.G)
		if nu*ng == 0 || nu*ng <= ZeroBlockTol*big {
			continue
		}
		al := math.Sqrt(ng / nu)
		u := make([]float64, len(at.U))
		g := make([]float64, len(at.G))
		for j := range u {
			u[j] = al * at.U[j]
		}
		for j := range g {
			g[j] = at.G[j] / al
		}
		var gate []float64
		if p.Gated {
			if at.Gate < 0 {
				return nil, fmt.Errorf("recover: a unit of the gated model has no gate")
			}
			gate = mat.Col(nil, at.Gate, p.Gates)
		}
		us = append(us, unit{u, g, gate})
	}
	if w := a.hidden.Width; w != ir.Auto && len(us) > w {
		var dl diag.List
		dl.Errorf(CodeWidth, a.hidden.Range, fmt.Sprintf("The trained network uses %d units; write `%s auto` or a width of at least %d.", len(us), widthWord(a.hidden), len(us)),
			"the network needs %d hidden units, more than the width %d", len(us), w)
		return nil, dl
	}
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	bias := a.hidden.Bias
	h := p.H
	if bias {
		h--
	}
	if len(us) == 0 {
		z := unit{u: make([]float64, p.H), g: make([]float64, p.C)}
		if p.Gated {
			z.gate = make([]float64, p.H)
			z.gate[0] = 1
		}
		us = []unit{z}
	}
	m := len(us)
	W := make([]float64, 0, m*h)
	var B, G, GB []float64
	O := make([]float64, p.C*m)
	for j, un := range us {
		W = append(W, un.u[:h]...)
		if bias {
			B = append(B, un.u[h])
		}
		if p.Gated {
			G = append(G, un.gate[:h]...)
			if bias {
				GB = append(GB, un.gate[h])
			}
		}
		for k := 0; k < p.C; k++ {
			O[k*m+j] = un.g[k]
		}
	}
	wt := network.New(in.Model, in.Train.Beta, loss)
	hi, ai, oi := a.hidden.Index, a.act.Index, a.out.Index
	shape := []int{m, h}
	if a.cnn {
		shape = append([]int{m, sampleShape(in.Model)[0]}, a.hidden.Kernel...)
	}
	wt.Set(fmt.Sprintf("L%d.weight", hi), shape, W, network.PenaltyL2)
	if bias {
		wt.Set(fmt.Sprintf("L%d.bias", hi), []int{m}, B, network.PenaltyL2)
	}
	if p.Gated {
		wt.Set(fmt.Sprintf("L%d.gates", ai), shape, G, network.PenaltyNone)
		if bias {
			wt.Set(fmt.Sprintf("L%d.gate_bias", ai), []int{m}, GB, network.PenaltyNone)
		}
	}
	wt.Set(fmt.Sprintf("L%d.weight", oi), []int{p.C, m}, O, network.PenaltyL2)
	if a.out.Bias {
		b := s.Bias
		if len(b) != p.C {
			b = make([]float64, p.C)
		}
		wt.Set(fmt.Sprintf("L%d.bias", oi), []int{p.C}, b, network.PenaltyNone)
	}
	if err := wt.Finalize(); err != nil {
		return nil, fmt.Errorf("recover: %v", err)
	}
	return wt, nil
}

func widthWord(l *ir.Layer) string {
	if isConv(l) {
		return "conv … filters="
	}
	return "linear"
}
