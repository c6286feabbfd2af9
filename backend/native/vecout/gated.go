package vecout

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Relaxation solves relaxation (a) over p's patterns: with F_p the pooled gated
// features of gate p (PooledFeatures),
//
//	min_{Z_p ∈ R^{H×C}, b}  F(Σ_p F_p Z_p + 1bᵀ) + β Σ_p ‖Z_p‖_*
//
// by FISTA with the singular-value soft-threshold as proximal map (from the
// Burer–Monteiro point of relaxBM when H·P > BMThreshold), to a certified gap Settings.Tol (the dual bound at every check uses ρ̄ = max_p σ₁(F_pᵀV₀), exact
// for this program). For a gated model this is the exact training problem; for a
// ReLU model it drops the cone constraints, so its optimum is below the ReLU
// program's over the same patterns.
//
// The answer's atoms are the singular triples of each Z_p: Z_p = Σ_t σ_t a_t b_tᵀ
// gives gated atoms (U = a_t, G = σ_t b_t, Gate = p); singular values at most
// ZeroTol·max σ are dropped (their cost β·σ and effect on the prediction are
// negligible; the caller re-evaluates the kept atoms anyway).
func Relaxation(p *convex.VectorProgram, o *PatternOracle, set Settings) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	rec := set.rec()
	rec.Begin(fmt.Sprintf("cnnc relaxation (a): FISTA, nuclear norm over %d patterns, %d samples, %d outputs, β = %g", o.P, p.N, p.C, p.Beta))
	fr, bm := relaxSolve(p, o, set, nil, nil)
	sol := &convex.VectorSolution{Bias: fr.B}
	if !p.OutputBias {
		sol.Bias = make([]float64, p.C)
	}
	smax := 0.0
	type trip struct {
		a, b []float64
		s    float64
		gate int
	}
	var ts []trip
	for q := 0; q < o.P; q++ {
		blk := mat.DenseCopyOf(fr.W.Slice(q*p.H, (q+1)*p.H, 0, p.C))
		if mat.Norm(blk, 2) == 0 {
			continue
		}
		var svd mat.SVD
		if !svd.Factorize(blk, mat.SVDThin) {
			continue
		}
		var U, V mat.Dense
		svd.UTo(&U)
		svd.VTo(&V)
		for t, s := range svd.Values(nil) {
			if s > 0 {
				ts = append(ts, trip{mat.Col(nil, t, &U), mat.Col(nil, t, &V), s, q})
				smax = math.Max(smax, s)
			}
		}
	}
	for _, t := range ts {
		if t.s <= ZeroTol*smax {
			continue
		}
		g := make([]float64, p.C)
		for k := range g {
			g[k] = t.s * t.b[k]
		}
		sol.Atoms = append(sol.Atoms, convex.Atom{U: t.a, G: g, Gate: t.gate})
	}
	res := &Result{Status: fr.Status, Solution: sol, Lower: fr.Lower, Iterations: fr.Iterations + bm.Iterations, Method: "relaxation (a): FISTA with nuclear-norm prox",
		Z: fr.W, B: fr.B}
	if bm.Iterations > 0 {
		res.Method = fmt.Sprintf("relaxation (a): Burer–Monteiro factorisation Z_p = U_p W_pᵀ by L-BFGS (%d iterations, %s), then FISTA with nuclear-norm prox", bm.Iterations, bm.Status)
	}
	res.Upper = p.Objective(sol)
	if c, ok := Certify(p, o, p.Predict(sol)); ok {
		res.Cert = c
		res.Lower = math.Max(res.Lower, c.Lower)
	}
	res.Seconds = time.Since(start).Seconds()
	rec.End(res.Status, solver.Iterate{Iter: res.Iterations, Objective: res.Upper, Gap: (res.Upper - res.Lower) / math.Max(1, math.Abs(res.Upper)), Elapsed: time.Since(start)})
	return res, nil
}

// BMThreshold: relaxation (a) starts with the Burer–Monteiro factorisation (relaxBM)
// when the patterns' features have more than this many columns (H·P).
const BMThreshold = 400

// ZeroTol is the relative singular value (or unit weight) below which an atom is
// dropped from a recovered solution.
const ZeroTol = 1e-9

// relaxSolve runs relaxation (a) over o's patterns from (Z0, b0) (nil: zero blocks and
// the best constant bias): relaxBM first when the features have more than
// BMThreshold columns (warm-started from Z0's SVDs), then FISTA to the certified gap
// set.Tol (at most set.MaxIters iterations; default 20 000, or 1 000 after relaxBM).
func relaxSolve(p *convex.VectorProgram, o *PatternOracle, set Settings, Z0 *mat.Dense, b0 []float64) (fistaResult, PolishStats) {
	maxIter := set.MaxIters
	if maxIter <= 0 {
		maxIter = 20000
	}
	fp := &fistaProblem{loss: p.Loss, Y: p.Y, beta: p.Beta, bias: p.OutputBias, Phi: o.F, h: p.H, kind: proxNuclear}
	W0 := Z0
	if W0 == nil {
		W0 = mat.NewDense(p.H*max(o.P, 1), p.C, nil)
	}
	if b0 == nil {
		b0 = initialBias(p)
	}
	every := 10
	var bm PolishStats
	if o.P*p.H > BMThreshold {
		// large: FISTA's step 1/σ₁(F)² is tiny for correlated pattern features;
		// L-BFGS on the factorised form gets close first, FISTA finishes
		W0, b0, bm = relaxBM(p, o, set, 3000, 1, Z0, b0)
		if set.MaxIters <= 0 {
			maxIter = 1000
		}
		every = 5
	}
	return fp.solve(set.Context, W0, b0, set.tol(), maxIter, set.rec(), every), bm
}
