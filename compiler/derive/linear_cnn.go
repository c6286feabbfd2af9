package derive

// Two-layer linear CNNs (no activation; §7, docs/math/07-linear-cnn.md).
//
// §7.1 conv · avgpool global · linear 1: f = Σ_j w_j (1/K) Σ_k X_k u_j = (1/K)(Σ_k X_k) z
// with z = Σ_j w_j u_j; weight decay on the factors is minimised at one unit with
// ‖u‖ = |w| = √‖z‖, giving
//
//	min_z ℓ((1/K) Σ_k X_k z, y) + β‖z‖₂            (m* = 1)
//
// written as one unconstrained Family (A = M, Sample = row mod n, Weight = 1/K, one
// copy, no cone constraints). Recovery: u = z/√‖z‖, w = √‖z‖.
//
// §7.2 conv · flatten · linear 1, or conv · avgpool W · [flatten] · linear 1:
// f = Σ_l (Σ_k p_{lk} X_k) z_l with Z = Σ_j u_j w_jᵀ ∈ R^{h×a}; the least weight decay
// (β/2)Σ_j(‖u_j‖² + ‖w_j‖²) of a factorisation of Z is β‖Z‖_* (nuclear norm):
//
//	min_Z ℓ( Σ_l (Σ_k p_{lk} X_k) Z e_l , y ) + β‖Z‖_*
//
// with a generic matrix variable Z (h×a, column-major) and a Nuclear penalty.
// Recovery by SVD Z = Σ_t σ_t a_t b_tᵀ: u_t = √σ_t a_t, w_t = √σ_t b_t (m* = rank Z).
//
// §7.3 circconv (full-length filter, one input channel, no bias) · linear 1: with the
// unitary DFT F (F_{kt} = e^{−2πikt/d}/√d) and X̂ = X Fᵀ,
//
//	min_{ζ ∈ Cᵈ} ℓ( Re(X̂ ζ), y ) + (β/√d) Σ_k |ζ_k|   s.t. ζ_{d−k} = conj(ζ_k)
//
// as a generic variable ζ = [Re ζ, Im ζ] (d×2, column-major), Zero constraints for
// conjugate symmetry (Im ζ_0 = 0 and Im ζ_{d/2} = 0 included) and a Norms penalty on
// each pair (Re ζ_k, Im ζ_k) with weight 1/√d. Derivation of the recovery in
// cnnc's circconv convention (network.out[t] = Σ_s u[s] x[(t + s − P) mod d], P =
// ⌊(d−1)/2⌋, PyTorch padding='same', padding_mode='circular'): the network is the
// linear functional f(x) = ⟨G, x⟩ with G[q] = Σ_j (w_j ∗ u_j)[q + P] (∗ circular
// convolution), so Ĝ_k = e^{2πikP/d} √d ŵ_{jk} û_{jk} summed over j and, by Parseval,
// ζ = conj(Ĝ). AM–GM per frequency gives the cost (1/√d)Σ_k|ζ_k| and the recovery, one
// neuron per nonzero frequency pair (k, d−k) with |ζ_k| = ρ: |û_k| = ŵ_k = √(ρ/√d),
// arg û_k = arg Ĝ_k − 2πkP/d, û_{d−k} = conj(û_k), ŵ_{d−k} = ŵ_k, u = Fᴴû, w = Fᴴŵ
// (real). Then (β/2)(‖u‖² + ‖w‖²) = β(|ζ_k| + |ζ_{d−k}|)/√d exactly. So m* ≤ ⌊d/2⌋+1.
// Shorter circular filters (or several channels, or a bias) fall back to §7.2's
// nuclear norm on the circular patches (the note at the end of §7.3).

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

func init() {
	Register(&Rule{
		Name:    "linear-cnn-gap",
		Section: "§7.1",
		Doc:     "docs/math/07-linear-cnn.md",
		Theorem: "two-layer linear CNN with global average pooling: ℓ2-regularised linear model (Pilanci & Ergen 2020; cnnc derivation §7.1)",
		Pattern: "conv K · avgpool global · linear 1",
		Match:   func(m *ir.Model) Match { return matchSteps(m, linearSteps(poolLinearGlobal)) },
		Check:   checkCNN,
		Build:   buildLinearGAP,
		Recover: recoverLinearGAP,
	})
	Register(&Rule{
		Name:    "linear-cnn-flatten",
		Section: "§7.2",
		Doc:     "docs/math/07-linear-cnn.md",
		Theorem: "two-layer linear CNN without global pooling: nuclear-norm SDP (Pilanci & Ergen 2020; cnnc derivation §7.2)",
		Pattern: "conv K · flatten | avgpool W · linear 1",
		Match:   func(m *ir.Model) Match { return matchSteps(m, linearSteps(poolLinearFlatten)) },
		Check:   checkCNN,
		Build:   buildLinearNuclear,
		Recover: recoverLinearNuclear,
	})
	Register(&Rule{
		Name:    "linear-circ",
		Section: "§7.3",
		Doc:     "docs/math/07-linear-cnn.md",
		Theorem: "two-layer linear circular CNN: ℓ1 in the Fourier domain (Pilanci & Ergen 2020; cnnc derivation §7.3)",
		Pattern: "circconv · linear 1",
		Check:   checkCNN,
		Match: func(m *ir.Model) Match {
			return matchSteps(m, []step{
				{want: "circconv", ok: isKind(ir.CircConv)},
				{want: "flatten", ok: isKind(ir.Flatten), optional: true},
				{want: "linear 1", ok: isScalarOut},
			})
		},
		Build:   buildLinearCirc,
		Recover: recoverLinearCirc,
	})
}

// linearSteps: conv · pool · [flatten] · linear 1 with no activation. The conv of
// §7.1/§7.2 may also be a circconv (circular patches).
func linearSteps(pr poolRule) []step {
	s := cnnSteps(false, pr)
	if pr == poolLinearFlatten {
		s[0] = step{want: "conv", ok: isKind(ir.Conv)}
	}
	return s
}

func linearProgram(in *Input, d *cnnData) *convex.Program {
	p := &convex.Program{
		Model: in.Model.Name, Loss: in.Train.Loss, Y: d.y, N: d.p.N,
		Beta: in.Train.Beta, OutputBias: d.a.out.Bias,
	}
	if p.Loss == "" {
		p.Loss = ir.Squared
	}
	return p
}

// ---------------------------------------------------------------------------
// §7.1

func buildLinearGAP(in *Input) (*convex.Program, diag.List) {
	a := parseArch(in.Model)
	d, ds := prepare(in, a)
	if ds.HasErrors() {
		return nil, ds
	}
	prog := linearProgram(in, d)
	prog.Theorem = "two-layer linear CNN with global average pooling: ℓ2-regularised linear model (cnnc derivation §7.1)"
	prog.Section = "§7.1"
	prog.Regularizer = "ℓ2 norm of the effective filter: β‖z‖₂ with z = Σ_j w_j u_j; equals weight decay (β/2)Σ_j(‖u_j‖² + w_j²), attained by a single filter (m* = 1)"
	Np := d.p.N * d.p.K
	sample := make([]int, Np)
	row := make([]float64, Np)
	for r := range sample {
		sample[r] = r % d.p.N
		row[r] = 1 / float64(d.p.K)
	}
	W := convex.NewPatternWeights(Np, row)
	W.Mask.AppendCol(func(int) bool { return true })
	prog.Families = []*convex.Family{{
		Name: "z", Layer: a.conv.Index, H: d.p.H, A: d.p.M, Sample: sample, Weight: W,
		Signs: []float64{1}, Cost: convex.Cost{Kind: convex.CostL2},
		Meta: map[string]any{"window": 0, "pool": "avg", "linear": true},
	}}
	return prog, ds
}

func recoverLinearGAP(in *Input, prog *convex.Program, sol *convex.Solution) (*network.Weights, error) {
	a := parseArch(in.Model)
	if len(sol.Blocks) != 1 || len(sol.Blocks[0]) != 1 || sol.Blocks[0][0] == nil {
		return nil, fmt.Errorf("recover: expected one block z")
	}
	z := sol.Blocks[0][0].RawRowView(0)
	var ns []neuron
	if nz := norm(z); nz > 0 {
		s := math.Sqrt(nz)
		u := make([]float64, len(z))
		for j := range z {
			u[j] = z[j] / s
		}
		ns = append(ns, neuron{u: u, w: []float64{s}})
	}
	return cnnWeights(in, a, ns, 1, sol.Bias, network.PenaltyL2)
}

// ---------------------------------------------------------------------------
// §7.2

func buildLinearNuclear(in *Input) (*convex.Program, diag.List) {
	a := parseArch(in.Model)
	d, ds := prepare(in, a)
	if ds.HasErrors() {
		return nil, ds
	}
	return nuclearProgram(in, d), ds
}

func nuclearProgram(in *Input, d *cnnData) *convex.Program {
	prog := linearProgram(in, d)
	prog.Theorem = "two-layer linear CNN without global pooling: nuclear-norm SDP (cnnc derivation §7.2)"
	prog.Section = "§7.2"
	h, aw, n := d.p.H, len(d.windows), d.p.N
	prog.Regularizer = fmt.Sprintf("nuclear norm: low-rank filter bank — β‖Z‖_* of Z = Σ_j u_j w_jᵀ (%d×%d: filter × pooled position), the least weight decay (β/2)Σ_j(‖u_j‖² + ‖w_j‖²) of any network computing it; the width is rank Z", h, aw)
	Z := &convex.Var{Name: "Z", Shape: []int{h, aw}, Layer: d.a.conv.Index}
	Op := mat.NewDense(n, h*aw, nil)
	for l, ks := range d.windows {
		pw := make([]float64, d.p.K)
		for j, k := range ks {
			pw[k] += d.weights[l][j]
		}
		S := d.p.Sum(pw)
		Op.Slice(0, n, l*h, (l+1)*h).(*mat.Dense).Copy(S)
	}
	prog.Vars = []*convex.Var{Z}
	prog.Terms = []convex.Term{{Var: Z, Op: Op}}
	prog.Penalties = []convex.Penalty{{Kind: convex.Nuclear, Var: Z}}
	return prog
}

// nuclearRankTol: singular values σ_t ≤ nuclearRankTol·σ_max are treated as zero.
const nuclearRankTol = 1e-7

func recoverLinearNuclear(in *Input, prog *convex.Program, sol *convex.Solution) (*network.Weights, error) {
	a := parseArch(in.Model)
	if len(prog.Vars) != 1 {
		return nil, fmt.Errorf("recover: expected one variable Z")
	}
	v := prog.Vars[0]
	z, ok := sol.Vars[v.Name]
	if !ok || len(z) != v.Size() {
		return nil, fmt.Errorf("recover: solution has no %d-entry variable %s", v.Size(), v.Name)
	}
	h, aw := v.Shape[0], v.Shape[1]
	Z := mat.NewDense(h, aw, nil)
	for c := 0; c < aw; c++ {
		for r := 0; r < h; r++ {
			Z.Set(r, c, z[c*h+r]) // column-major
		}
	}
	var svd mat.SVD
	if !svd.Factorize(Z, mat.SVDThin) {
		return nil, fmt.Errorf("recover: SVD of Z failed")
	}
	sv := svd.Values(nil)
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	var ns []neuron
	for t, s := range sv {
		if s <= nuclearRankTol*math.Max(sv[0], 1e-300) || s <= 0 {
			continue
		}
		r := math.Sqrt(s)
		u := make([]float64, h)
		w := make([]float64, aw)
		for i := range u {
			u[i] = r * U.At(i, t)
		}
		for i := range w {
			w[i] = r * V.At(i, t)
		}
		ns = append(ns, neuron{u: u, w: w})
	}
	return cnnWeights(in, a, ns, aw, sol.Bias, network.PenaltyL2)
}

// ---------------------------------------------------------------------------
// §7.3

// circFourier reports whether a circconv model takes the Fourier-ℓ1 form: one
// input channel, a full-length filter, no bias, a 1-D signal.
func circFourier(m *ir.Model, a arch) bool {
	in := sampleShape(m)
	return len(in) == 2 && in[0] == 1 && len(a.conv.Kernel) == 1 && a.conv.Kernel[0] == in[1] && !a.conv.Bias
}

func buildLinearCirc(in *Input) (*convex.Program, diag.List) {
	a := parseArch(in.Model)
	d, ds := prepare(in, a)
	if ds.HasErrors() {
		return nil, ds
	}
	if !circFourier(in.Model, a) {
		prog := nuclearProgram(in, d)
		prog.Theorem = "two-layer linear circular CNN with short filters: nuclear-norm SDP on circular patches (cnnc derivation §7.3, last note)"
		prog.Section = "§7.3"
		return prog, ds
	}
	prog := linearProgram(in, d)
	prog.Theorem = "two-layer linear circular CNN: ℓ1 in the Fourier domain (Pilanci & Ergen 2020; cnnc derivation §7.3)"
	prog.Section = "§7.3"
	n, dd := d.p.N, sampleShape(in.Model)[1]
	prog.Regularizer = fmt.Sprintf("ℓ1 on the Fourier coefficients: sparse spectrum — (β/√d)Σ_k |ζ_k| over the %d DFT frequencies of the effective linear filter (unitary DFT, ζ_{d−k} = conj ζ_k), the least weight decay (β/2)Σ_j(‖u_j‖² + ‖w_j‖²) of any circular network computing it; one filter per nonzero frequency pair", dd)
	zeta := &convex.Var{Name: "zeta", Shape: []int{dd, 2}, Layer: a.conv.Index}
	// X̂ = X Fᵀ: X̂[i,k] = Σ_t X[i,t] e^{−2πikt/d}/√d.
	Op := mat.NewDense(n, 2*dd, nil)
	sq := math.Sqrt(float64(dd))
	for i := 0; i < n; i++ {
		x := in.Data.X.RawRowView(i)
		for k := 0; k < dd; k++ {
			var re, im float64
			for t := 0; t < dd; t++ {
				ang := -2 * math.Pi * float64(k*t%dd) / float64(dd)
				re += x[t] * math.Cos(ang)
				im += x[t] * math.Sin(ang)
			}
			Op.Set(i, k, re/sq)
			Op.Set(i, dd+k, -im/sq) // Re(X̂ζ) = Re X̂·Re ζ − Im X̂·Im ζ
		}
	}
	var rows [][]float64
	for k := 0; k < dd; k++ {
		kk := (dd - k) % dd
		switch {
		case kk > k:
			r := make([]float64, 2*dd)
			r[k], r[kk] = 1, -1 // Re ζ_k − Re ζ_{d−k} = 0
			rows = append(rows, r)
			r = make([]float64, 2*dd)
			r[dd+k], r[dd+kk] = 1, 1 // Im ζ_k + Im ζ_{d−k} = 0
			rows = append(rows, r)
		case kk == k:
			r := make([]float64, 2*dd)
			r[dd+k] = 1 // Im ζ_k = 0 (k = 0, d/2)
			rows = append(rows, r)
		}
	}
	C := mat.NewDense(len(rows), 2*dd, nil)
	for i, r := range rows {
		C.SetRow(i, r)
	}
	maps := make([]*mat.Dense, dd)
	wts := make([]float64, dd)
	for k := range maps {
		T := mat.NewDense(2, 2*dd, nil)
		T.Set(0, k, 1)
		T.Set(1, dd+k, 1)
		maps[k] = T
		wts[k] = 1 / sq
	}
	prog.Vars = []*convex.Var{zeta}
	prog.Terms = []convex.Term{{Var: zeta, Op: Op}}
	prog.Constraints = []convex.Constraint{{Kind: convex.Zero, Var: zeta, Op: C, Why: "conjugate symmetry ζ_{d−k} = conj ζ_k (real network)"}}
	prog.Penalties = []convex.Penalty{{Kind: convex.Norms, Var: zeta, Maps: maps, Weights: wts}}
	return prog, ds
}

func recoverLinearCirc(in *Input, prog *convex.Program, sol *convex.Solution) (*network.Weights, error) {
	a := parseArch(in.Model)
	if !circFourier(in.Model, a) {
		return recoverLinearNuclear(in, prog, sol)
	}
	dd := sampleShape(in.Model)[1]
	z, ok := sol.Vars["zeta"]
	if !ok || len(z) != 2*dd {
		return nil, fmt.Errorf("recover: solution has no %d-entry variable zeta", 2*dd)
	}
	P := convPadding(a.conv)[0]
	sq := math.Sqrt(float64(dd))
	maxAbs := 0.0
	for k := 0; k < dd; k++ {
		maxAbs = math.Max(maxAbs, math.Hypot(z[k], z[dd+k]))
	}
	tol := recoverTol * maxAbs
	var ns []neuron
	for k := 0; k <= dd/2; k++ {
		kk := (dd - k) % dd
		// Average the pair so that small constraint residuals do not break symmetry.
		zk := complex(z[k], z[dd+k])
		if kk != k {
			zk = (zk + cmplx.Conj(complex(z[kk], z[dd+kk]))) / 2
		} else {
			zk = complex(real(zk), 0)
		}
		rho := cmplx.Abs(zk)
		if rho <= tol {
			continue
		}
		G := cmplx.Conj(zk)                                   // Ĝ_k
		shift := -2 * math.Pi * float64(k*P%dd) / float64(dd) // −2πkP/d
		mag := math.Sqrt(rho / sq)                            // |û_k| = ŵ_k
		uh := cmplx.Rect(mag, cmplx.Phase(G)+shift)           // û_k
		u := make([]float64, dd)
		w := make([]float64, dd)
		for t := 0; t < dd; t++ {
			e := cmplx.Rect(1, 2*math.Pi*float64(k*t%dd)/float64(dd)) // e^{2πikt/d}
			if kk == k {
				// û_k real (up to rounding): u = Fᴴ(û_k e_k)
				u[t] = real(complex(real(uh), 0)*e) / sq
				w[t] = real(complex(mag, 0)*e) / sq
			} else {
				// û_k e_k + conj(û_k) e_{d−k} → 2 Re(û_k e^{2πikt/d})/√d
				u[t] = 2 * real(uh*e) / sq
				w[t] = 2 * mag * real(e) / sq
			}
		}
		ns = append(ns, neuron{u: u, w: w})
	}
	return cnnWeights(in, a, ns, dd, sol.Bias, network.PenaltyL2)
}
