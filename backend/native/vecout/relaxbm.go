package vecout

import (
	"math"
	"math/rand"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// relaxBM solves relaxation (a) in Burer–Monteiro form: each block is factorised as
// Z_p = U_p W_pᵀ with U_p ∈ R^{H×r}, W_p ∈ R^{C×r}, r = min(H, C, maxBMRank) (nuclear-
// norm solutions are low rank; FISTA, which follows, works on full blocks), and
//
//	min  F(Σ_p F_p U_p W_pᵀ + 1bᵀ) + (β/2) Σ_p (‖U_p‖² + ‖W_p‖²)
//
// is minimised by L-BFGS from a small seeded random start. Because
// min_{UWᵀ = Z} ½(‖U‖² + ‖W‖²) = ‖Z‖_*, its optimum is relaxation (a)'s, and a
// stationary point is globally optimal exactly when the dual bound at its gradient
// (ρ̄ = max_p σ₁(F_pᵀV₀) ≤ β) certifies it — the optimality bound of §10.3(d). It
// returns the blocks Z_p stacked (H·P × C) and the bias, as FISTA's starting point.
// The gradient costs two products with F (N × H·P) per evaluation, against FISTA's
// step 1/σ₁(F)² that is tiny when the patterns' features are correlated.
// maxBMRank caps the rank per pattern of relaxBM's factors.
const maxBMRank = 4

func relaxBM(p *convex.VectorProgram, o *PatternOracle, set Settings, maxIter int, seed int64, Z0 *mat.Dense, b0 []float64) (*mat.Dense, []float64, PolishStats) {
	H, C, P := p.H, p.C, o.P
	r := min(H, C, maxBMRank)
	nb := 0
	if p.OutputBias {
		nb = C
	}
	nU, nW := P*H*r, P*C*r
	dim := nU + nW + nb
	rng := rand.New(rand.NewSource(seed))
	x0 := make([]float64, dim)
	for j := 0; j < nU+nW; j++ {
		x0[j] = 1e-3 * rng.NormFloat64()
	}
	copy(x0[nU+nW:], initialBias(p))
	if len(b0) == C && nb > 0 {
		copy(x0[nU+nW:], b0)
	}
	// warm start: Z0's blocks factorised by their truncated SVD, Z ≈ (A√Σ)(B√Σ)ᵀ
	if Z0 != nil {
		zr, _ := Z0.Dims()
		for q := 0; q < P && (q+1)*H <= zr; q++ {
			blk := mat.DenseCopyOf(Z0.Slice(q*H, (q+1)*H, 0, C))
			if mat.Norm(blk, 2) == 0 {
				continue
			}
			var svd mat.SVD
			if !svd.Factorize(blk, mat.SVDThin) {
				continue
			}
			var Ua, Va mat.Dense
			svd.UTo(&Ua)
			svd.VTo(&Va)
			sv := svd.Values(nil)
			for t := 0; t < r && t < len(sv); t++ {
				rt := math.Sqrt(sv[t])
				for j := 0; j < H; j++ {
					x0[q*H*r+j*r+t] = rt * Ua.At(j, t)
				}
				for k := 0; k < C; k++ {
					x0[nU+q*C*r+k*r+t] = rt * Va.At(k, t)
				}
			}
		}
	}
	n := p.N
	// layout: U_p row-major H×r at p·H·r; W_p row-major C×r at nU + p·C·r
	var lastX, lastG []float64
	var lastF float64
	evals := 0
	eval := func(x []float64) (float64, []float64) {
		if lastX != nil && equal(x, lastX) {
			return lastF, lastG
		}
		evals++
		// T = F · blkdiag(U_p): N × P·r
		T := mat.NewDense(n, P*r, nil)
		for q := 0; q < P; q++ {
			Fq := o.F.Slice(0, n, q*H, (q+1)*H)
			Uq := mat.NewDense(H, r, x[q*H*r:(q+1)*H*r])
			T.Slice(0, n, q*r, (q+1)*r).(*mat.Dense).Mul(Fq, Uq)
		}
		// Ŷ = Σ_q T_q W_qᵀ = T · [W_1ᵀ; …; W_Pᵀ]
		Wt := mat.NewDense(P*r, C, nil)
		for q := 0; q < P; q++ {
			Wq := mat.NewDense(C, r, x[nU+q*C*r:nU+(q+1)*C*r])
			Wt.Slice(q*r, (q+1)*r, 0, C).(*mat.Dense).Copy(Wq.T())
		}
		Yh := mat.NewDense(n, C, nil)
		Yh.Mul(T, Wt)
		if nb > 0 {
			b := x[nU+nW:]
			for i := 0; i < n; i++ {
				row := Yh.RawRowView(i)
				for k := range row {
					row[k] += b[k]
				}
			}
		}
		f := convex.VectorLoss(p.Loss, Yh, p.Y)
		for _, v := range x[:nU+nW] {
			f += 0.5 * p.Beta * v * v
		}
		V := convex.VectorLossGrad(p.Loss, Yh, p.Y)
		grad := make([]float64, dim)
		// ∂W_q = V_ᵀ T_q (C × r);  ∂U_q = F_qᵀ V W_q (H × r)
		var gW mat.Dense
		gW.Mul(V.T(), T) // C × P·r
		var VW mat.Dense
		VW.Mul(V, Wt.T()) // N × P·r: column block q is V W_q
		for q := 0; q < P; q++ {
			gq := mat.NewDense(C, r, grad[nU+q*C*r:nU+(q+1)*C*r])
			gq.Copy(gW.Slice(0, C, q*r, (q+1)*r))
			Fq := o.F.Slice(0, n, q*H, (q+1)*H)
			gu := mat.NewDense(H, r, grad[q*H*r:(q+1)*H*r])
			gu.Mul(Fq.T(), VW.Slice(0, n, q*r, (q+1)*r))
		}
		for j := 0; j < nU+nW; j++ {
			grad[j] += p.Beta * x[j]
		}
		if nb > 0 {
			for i := 0; i < n; i++ {
				for k, v := range V.RawRowView(i) {
					grad[nU+nW+k] += v
				}
			}
		}
		lastX = append(lastX[:0], x...)
		lastF, lastG = f, grad
		return f, grad
	}
	st := PolishStats{}
	st.Start, _ = eval(x0)
	rec := set.rec()
	start := time.Now()
	it := 0
	prob := optimize.Problem{
		Func: func(x []float64) float64 { f, _ := eval(x); return f },
		Grad: func(g, x []float64) { _, gr := eval(x); copy(g, gr) },
		Status: func() (optimize.Status, error) {
			if solver.Stop(set.Context) != "" {
				return optimize.RuntimeLimit, nil
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{
		MajorIterations: maxIter,
		Converger:       &optimize.FunctionConverge{Relative: 1e-13, Iterations: 50},
		Recorder: recorderFunc(func(loc *optimize.Location, op optimize.Operation) {
			if op == optimize.MajorIteration {
				it++
				if it%50 == 0 {
					rec.Record(solver.Iterate{Iter: it, Objective: loc.F, Elapsed: time.Since(start), Extra: "relaxation (a), Burer–Monteiro (L-BFGS)"})
				}
			}
		}),
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{Store: 20})
	xb := x0
	if res != nil && res.X != nil {
		if f, _ := eval(res.X); f <= st.Start {
			xb = res.X
		}
		st.Iterations = res.MajorIterations
		st.Status = res.Status.String()
	}
	if err != nil {
		st.Status += " (" + err.Error() + ")"
	}
	st.End, _ = eval(xb)
	st.Evaluations = evals
	Z := mat.NewDense(H*max(P, 1), C, nil)
	for q := 0; q < P; q++ {
		Uq := mat.NewDense(H, r, xb[q*H*r:(q+1)*H*r])
		Wq := mat.NewDense(C, r, xb[nU+q*C*r:nU+(q+1)*C*r])
		Z.Slice(q*H, (q+1)*H, 0, C).(*mat.Dense).Mul(Uq, Wq.T())
	}
	b := make([]float64, C)
	if nb > 0 {
		copy(b, xb[nU+nW:])
	}
	return Z, b, st
}
