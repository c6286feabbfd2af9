package derive

// Three-layer circular CNN with one ReLU layer (docs/math/08-circular3.md, §8).
//
// Model: input 1xd (or d) · circconv branches=K · linear 1 branches=K · relu · linear 1,
// trained with `regularizer path` (or `group`, equal here). Branch k has its own
// full-length circular filter a_k ∈ Rᵈ, one fully connected ReLU unit b_k ∈ Rᵈ reading
// that filter's d outputs, and an output weight w_k:
//
//	f(x) = Σ_k w_k·(xᵀ u_k)₊,   u_k[q] = Σ_t b_k[t]·a_k[(q − t + P) mod d]
//
// (cnnc's circconv convention, P = ⌊(d−1)/2⌋: u_k = b_k ⊛ a′_k with a′_k the filter
// rotated by P). The regulariser is the ℓ2 path norm β Σ_k |w_k|·‖a_k‖·‖b_k‖, whose
// balanced form is the §8 normalisation: ‖a_k‖ = 1 (a constraint on the circular layer)
// and weight decay (β/2)(‖b_k‖² + w_k²) on the last two layers.
//
// With the unitary DFT F (F_{κt} = e^{−2πiκt/d}/√d), F(b ⊛ a′) = √d·(Fb)⊙(Fa′), so by
// Cauchy–Schwarz the least ‖a′‖·‖b‖ of a factorisation of an effective filter u is
// R(u) = ‖F u‖₁/√d, attained by |(Fa′)_κ| ∝ √|(Fu)_κ|. Rescaling (§1.3) then turns
// the path cost into β Σ_k R(u_k)|w_k| and the network's training problem into the FC
// pattern program (§2) with that block cost:
//
//	min ℓ(Σ_p D_p X (v_p − w_p), y) + (β/√d) Σ_p (‖F v_p‖₁ + ‖F w_p‖₁)
//	s.t. (2D_p − I) X v_p ≥ 0, (2D_p − I) X w_p ≥ 0,
//
// over the activation patterns D_p of X (every u is reachable, so the patterns are
// the FC ones). In the convex.Family template this is FCFamily with Cost CostMaps: for
// a real v, |(Fv)_κ| = |(Fv)_{d−κ}|, so the cost is written over the half spectrum
// κ = 0 … ⌊d/2⌋: a 1-row map Re F_κ with weight 1/√d for the real frequencies (κ = 0
// and κ = d/2), a 2-row map [Re F_κ; Im F_κ] with weight 2/√d for the others — ⌊d/2⌋+1
// SOC pieces per block instead of d, the same value.
//
// Recovery of a nonzero block v (copy sign σ, R = R(v) > ZeroBlockTol·max R): one
// branch with c = √R, û = F(v/c), (F a′)_κ = √(|û_κ|/‖û‖₁) (real, symmetric: a′ real,
// ‖a′‖ = 1), (F b)_κ = û_κ/(√d (F a′)_κ) (0 where (F a′)_κ = 0), a[s] = a′[(s − P) mod d],
// w = σc. Then b ⊛ a′ = v/c, ‖b‖ = R(v/c) = c and the branch's path cost is
// |w|·‖a‖·‖b‖ = R(v); because v lies in its pattern's cone, w(xᵀu)₊ = σ(xᵀv)₊ on the
// data, so prediction and objective equal the convex program's.
//
// L > 3 (several circular layers per branch) is refused: with weight decay or
// norm constraints on every circular layer the induced cost is the quasi-norm
// ‖Fu‖_{2/(L−1)}, which is not convex; the ℓ1 form needs one unit-norm circular layer
// and the others bounded in spectral norm (‖F a_l‖_∞ ≤ 1), which no regulariser of the
// language expresses.

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Diagnostic codes of the three-layer rules.
const (
	CodeRegularizer = "F0230" // the regulariser has no exact program for this architecture
	CodeThreeLayer  = "F0231" // a three-layer model outside what the rules support
)

const circ3Doc = "docs/math/08-circular3.md"

func init() {
	Register(&Rule{
		Name:    "circ3",
		Section: "§8",
		Doc:     circ3Doc,
		Theorem: "three-layer circular CNN with one ReLU layer: Fourier-ℓ1 group program (Ergen & Pilanci 2021; cnnc derivation §8)",
		Pattern: "circconv branches=auto · linear 1 branches=auto · relu · linear 1",
		Match:   matchCirc3,
		Check:   checkCirc3,
		Build:   buildCirc3,
		Recover: recoverCirc3,
	})
}

// matchCirc3 matches circconv branches · linear 1 branches · relu · linear 1. Models
// that have the layer kinds but not the branches (shared filters), or several
// circular layers (L > 3), get a full-length partial match with the reason, so that
// Derive names this rule as the nearest and says what differs.
func matchCirc3(m *ir.Model) Match {
	if m == nil || len(m.Layers) < 2 {
		return Match{Why: "empty model"}
	}
	ls := m.Layers[1:]
	if ls[0].Kind != ir.CircConv {
		return Match{Differs: ls[0], Why: "expected circconv, found " + describeLayer(ls[0])}
	}
	i := 0
	for i < len(ls) && ls[i].Kind == ir.CircConv {
		i++
	}
	if i > 1 {
		return Match{Layers: len(ls) - 1, Differs: ls[1], Why: fmt.Sprintf("%d circular layers before the ReLU unit (a %d-layer circular CNN): cnnc's exact program covers L = 3 only — with weight decay or norm constraints on every circular layer the cost of an effective filter u is the quasi-norm ‖Fu‖_{2/(L−1)}, which is not convex, and the ℓ1 (spectrally sparse) form needs one unit-norm circular layer with the others bounded in spectral norm, which no regularizer expresses (see %s)", i, i+2, circ3Doc)}
	}
	want := []string{"circconv branches=auto", "linear 1 branches=auto", "relu", "linear 1"}
	ok := []func(*ir.Layer) bool{
		isKind(ir.CircConv),
		func(l *ir.Layer) bool {
			return l.Kind == ir.Linear && (l.Width == 1 || l.Width == ir.Auto || l.Branches != 0)
		},
		isKind(ir.ReLU),
		isScalarOut,
	}
	for s := range want {
		if s >= len(ls) {
			return Match{Layers: s, Differs: ls[len(ls)-1], Why: fmt.Sprintf("the model ends after %s; expected %s next", describeLayer(ls[len(ls)-1]), want[s])}
		}
		if !ok[s](ls[s]) {
			return Match{Layers: s, Differs: ls[s], Why: fmt.Sprintf("expected %s, found %s", want[s], describeLayer(ls[s]))}
		}
	}
	if len(ls) > len(want) {
		return Match{Layers: len(want), Differs: ls[len(want)], Why: "expected the end of the model, found " + describeLayer(ls[len(want)])}
	}
	conv, hid := ls[0], ls[1]
	if conv.Branches == 0 || hid.Branches == 0 {
		return Match{Layers: len(want), Differs: conv, Why: fmt.Sprintf("the hidden units share the circular filters; the §8 program is exact when every hidden unit has its own circular filter (a parallel network, see %s): write `circconv branches=auto` and `linear 1 branches=auto`, and `regularizer path` in the train block", circ3Doc)}
	}
	if hid.Width != 1 {
		return Match{Layers: 1, Differs: hid, Why: "each branch has one ReLU unit: expected `linear 1 branches=auto`, found " + describeLayer(hid)}
	}
	if conv.Width != 1 {
		return Match{Layers: 0, Differs: conv, Why: fmt.Sprintf("each branch has one circular filter: expected `circconv branches=auto`, found filters=%d per branch", conv.Width)}
	}
	return Match{OK: true, Layers: len(want)}
}

// checkThreeLayerReg refuses plain weight decay on a three-layer model (the reason of
// §8 and §9b.2) and returns the regulariser.
func checkThreeLayerReg(in *Input, dl *diag.List, doc string) (string, bool) {
	reg := in.Train.Regularizer
	if reg == ir.Path || reg == ir.Group {
		return reg, true
	}
	r := in.Train.RegRange
	if !r.IsValid() {
		r = in.Train.Range
	}
	dl.Errorf(CodeRegularizer, r,
		fmt.Sprintf("With weight decay (β/2)·Σ‖weights‖² on all three layers, rescaling a branch's layers turns its cost into (3β/2)·(|w3|·Σ‖w1‖·|w2|)^{2/3}: a concave power of the branch's amplitude, so no convex program of this type is exact for it. Choose one of the two regularisers cnnc solves exactly: `regularizer path` (the ℓ2 path norm β Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·w2_kj²), whose balanced form is unit-norm first-layer units plus weight decay on the last two layers) or `regularizer group` (β Σ_k |w3_k|·Σ_j ‖w1_kj‖·|w2_kj|, a Frobenius-ball first layer plus weight decay on the last two). See %s.", doc),
		"plain weight decay on a three-layer network has no exact convex program")
	return "", false
}

// circDFT returns the half-spectrum cost maps of R(v) = ‖F v‖₁/√d (see the file doc).
func circDFT(d int) ([]*mat.Dense, []float64) {
	sq := math.Sqrt(float64(d))
	var maps []*mat.Dense
	var wts []float64
	for k := 0; k <= d/2; k++ {
		real := k == 0 || 2*k == d
		rows := 2
		if real {
			rows = 1
		}
		T := mat.NewDense(rows, d, nil)
		for t := 0; t < d; t++ {
			ang := -2 * math.Pi * float64(k*t%d) / float64(d)
			T.Set(0, t, math.Cos(ang)/sq)
			if !real {
				T.Set(1, t, math.Sin(ang)/sq)
			}
		}
		maps = append(maps, T)
		if real {
			wts = append(wts, 1/sq)
		} else {
			wts = append(wts, 2/sq)
		}
	}
	return maps, wts
}

// checkCirc3 is the rule's Check: the data and β (checkScalar) and circ3Checks.
func checkCirc3(in *Input) diag.List {
	dl := checkScalar(in)
	circ3Checks(in, &dl)
	return dl
}

// circ3Checks reports what buildCirc3 refuses before any work: a signal shape or
// kernel outside the Fourier-ℓ1 form, a hidden bias, plain weight decay, the adaptive
// mode. It returns the regulariser.
func circ3Checks(in *Input, dl *diag.List) string {
	ls := in.Model.Layers
	conv, hid := ls[1], ls[2]
	shape := sampleShape(in.Model)
	if len(shape) != 2 || shape[0] != 1 || len(conv.Kernel) != 1 || conv.Kernel[0] != shape[1] {
		dl.Errorf(CodeThreeLayer, conv.Range, fmt.Sprintf("The §8 program (ℓ1 on the Fourier spectrum) holds for one-channel 1-D signals with full-length circular filters: write `input 1xd` (or `input d`) and `circconv branches=auto` without a kernel size. Shorter filters confine the spectrum to a subspace, where the ℓ1 form no longer holds (see %s).", circ3Doc),
			"the three-layer circular CNN needs full-length filters on a one-channel signal, found kernel %v on input %s", conv.Kernel, shape)
	}
	if hid.Bias {
		dl.Errorf(CodeThreeLayer, hid.Range, "A bias on the ReLU unit adds a term outside the Fourier-ℓ1 cost; remove `bias=true` from the hidden layer (an unpenalised output bias, `linear 1 bias=true` on the last layer, is fine).",
			"the three-layer circular CNN has no hidden bias")
	}
	reg, _ := checkThreeLayerReg(in, dl, circ3Doc)
	if in.Train.Patterns.Mode == ir.Adaptive {
		dl.Errorf(CodePatterns, in.Train.Patterns.Range, "The adaptive mode's certificate needs the dual of the Fourier-ℓ1 block cost, which cnnc does not compute yet; use `patterns exact` (small data) or `patterns sample N`.",
			"patterns adaptive is not available for the three-layer circular CNN")
	}
	return reg
}

func buildCirc3(in *Input) (*convex.Program, diag.List) {
	var dl diag.List
	ls := in.Model.Layers
	conv, out := ls[1], ls[4]
	shape := sampleShape(in.Model)
	reg := circ3Checks(in, &dl)
	y := CheckData(in, &dl)
	okBeta := CheckBeta(in, &dl)
	if dl.HasErrors() || y == nil || !okBeta {
		return nil, dl
	}
	X := mat.DenseCopyOf(in.Data.X)
	s := Patterns(in, X, &dl)
	if s == nil {
		return nil, dl
	}
	d := shape[1]
	f := FCFamily(X, s, conv.Index, false)
	maps, wts := circDFT(d)
	f.Cost = convex.Cost{Kind: convex.CostMaps, Maps: maps, Weights: wts}
	f.Meta["circ3"] = true
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	p := &convex.Program{
		Model:   in.Model.Name,
		Theorem: "three-layer circular CNN with one ReLU layer: Fourier-ℓ1 group program (cnnc derivation §8)",
		Section: "§8",
		Regularizer: fmt.Sprintf("ℓ1 on the Fourier spectrum of the effective filter: spectrally sparse — β Σ_p (‖F v_p‖₁ + ‖F w_p‖₁)/√d over the activation patterns of X (F the unitary %d-point DFT), the least %s cost β|w|·‖a‖·‖b‖ of a branch (unit-norm circular filter a, ReLU unit b, output w) whose effective filter a⊛b is the block; few branches, each with energy at few frequencies",
			d, map[string]string{ir.Path: "path-regularised", ir.Group: "group-regularised"}[reg]),
		Loss:       loss,
		Y:          y,
		N:          len(y),
		Beta:       in.Train.Beta,
		OutputBias: out.Bias,
		Families:   []*convex.Family{f},
	}
	return p, dl
}

// dft is the unitary DFT of a real vector.
func dft(v []float64) []complex128 {
	d := len(v)
	sq := math.Sqrt(float64(d))
	out := make([]complex128, d)
	for k := range out {
		var s complex128
		for t, x := range v {
			s += complex(x, 0) * cmplx.Rect(1, -2*math.Pi*float64(k*t%d)/float64(d))
		}
		out[k] = s / complex(sq, 0)
	}
	return out
}

// idftReal is the real part of the inverse unitary DFT.
func idftReal(h []complex128) []float64 {
	d := len(h)
	sq := math.Sqrt(float64(d))
	out := make([]float64, d)
	for t := range out {
		var s complex128
		for k, z := range h {
			s += z * cmplx.Rect(1, 2*math.Pi*float64(k*t%d)/float64(d))
		}
		out[t] = real(s) / sq
	}
	return out
}

// circFactor splits an effective filter v with R = ‖Fv‖₁/√d > 0 into the balanced
// branch of the file doc: the filter a (‖a‖ = 1, cnnc's circconv layout), the ReLU
// unit b and the output magnitude c = √R, with Σ_t b[t]·a[(q − t + P) mod d] = v[q]/c.
func circFactor(v []float64, P int) (a, b []float64, c float64) {
	d := len(v)
	vh := dft(v)
	l1 := 0.0
	for _, z := range vh {
		l1 += cmplx.Abs(z)
	}
	R := l1 / math.Sqrt(float64(d))
	c = math.Sqrt(R)
	ah := make([]complex128, d)
	bh := make([]complex128, d)
	for k, z := range vh {
		m := cmplx.Abs(z)
		if m == 0 {
			continue
		}
		ah[k] = complex(math.Sqrt(m/l1), 0)
		bh[k] = (z / complex(c, 0)) / (complex(math.Sqrt(float64(d)), 0) * ah[k])
	}
	ar := idftReal(ah) // a′, the filter in convolution form
	b = idftReal(bh)
	a = make([]float64, d)
	for s := range a {
		a[s] = ar[((s-P)%d+d)%d]
	}
	return a, b, c
}

func recoverCirc3(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error) {
	if len(p.Families) != 1 || len(s.Blocks) != 1 {
		return nil, fmt.Errorf("circ3 recovery: expected one family, got %d (solution %d)", len(p.Families), len(s.Blocks))
	}
	ls := in.Model.Layers
	conv, hid, out := ls[1], ls[2], ls[4]
	fam := p.Families[0]
	d := fam.H
	P := (d - 1) / 2
	maxR := 0.0
	for c := range fam.Signs {
		B := s.Blocks[0][c]
		r, _ := B.Dims()
		for q := 0; q < r; q++ {
			maxR = math.Max(maxR, convex.BlockCost(fam.Cost, B.RawRowView(q)))
		}
	}
	var A, Bs, W3 [][]float64
	for c, sign := range fam.Signs {
		B := s.Blocks[0][c]
		r, _ := B.Dims()
		for q := 0; q < r; q++ {
			v := B.RawRowView(q)
			R := convex.BlockCost(fam.Cost, v)
			if R == 0 || R <= ZeroBlockTol*maxR {
				continue
			}
			a, b, cc := circFactor(v, P)
			A, Bs, W3 = append(A, a), append(Bs, b), append(W3, []float64{sign * cc})
		}
	}
	K := len(A)
	if conv.Branches > 0 {
		if K > conv.Branches {
			var dl diag.List
			dl.Errorf(CodeWidth, conv.Range, fmt.Sprintf("The convex optimum uses %d branches, and the reformulation is exact only when the network has at least that many; write `branches=auto` or `branches=%d` (or more).", K, K),
				"the optimal network needs %d branches, more than branches=%d", K, conv.Branches)
			return nil, dl
		}
		for K < conv.Branches {
			A, Bs, W3 = append(A, make([]float64, d)), append(Bs, make([]float64, d)), append(W3, []float64{0})
			K++
		}
	}
	if K == 0 { // keep the network well-formed: one zero branch (cost 0)
		A, Bs, W3, K = [][]float64{make([]float64, d)}, [][]float64{make([]float64, d)}, [][]float64{{0}}, 1
	}
	w := network.New(in.Model, p.Beta, p.Loss)
	w.Regularizer = in.Train.Regularizer
	w.Layers[conv.Index].Branches, w.Layers[hid.Index].Branches = K, K
	cw := make([]float64, 0, K*d)
	hw := make([]float64, K*K*d)
	ow := make([]float64, K)
	for k := 0; k < K; k++ {
		cw = append(cw, A[k]...)
		copy(hw[k*K*d+k*d:], Bs[k])
		ow[k] = W3[k][0]
	}
	w.Set(fmt.Sprintf("L%d.weight", conv.Index), []int{K, 1, d}, cw, "")
	w.Set(fmt.Sprintf("L%d.weight", hid.Index), []int{K, K * d}, hw, "")
	w.Set(fmt.Sprintf("L%d.weight", out.Index), []int{1, K}, ow, "")
	if out.Bias {
		w.Set(fmt.Sprintf("L%d.bias", out.Index), []int{1}, []float64{s.Bias}, network.PenaltyNone)
	}
	if err := w.Finalize(); err != nil {
		return nil, fmt.Errorf("circ3 recovery: %v", err)
	}
	return w, nil
}
