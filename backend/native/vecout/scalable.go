package vecout

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Scalable is the path for ReLU models whose arrangement is too large to enumerate
// (sampled patterns): relaxation (a) over the sampled patterns (Relaxation), a ReLU
// network grown by Frank–Wolfe with heuristic pricing from relaxation (a)'s violators
// (Grow; ScalableInit = "decompose" takes the cone decomposition of its gated atoms,
// ReLUFromGated, instead), and Burer–Monteiro refinement of that network (Polish).
// The bracket:
//
//   - upper: the refined network's objective;
//   - lower: the best certified bound of relaxation (a) over the sampled patterns
//     together with the activation patterns of the network's own units (re-solved by
//     FISTA from the sampled solution, and the dual bound at the network's own
//     prediction) — a lower bound on every ReLU or gated network whose units' patterns
//     lie in that set (the recovered network included), not on the global optimum;
//   - Cert.RelBound: the Burer–Monteiro optimality bound (ρ̄/β − 1)₊ at the network,
//     over the same set.
//
// GlobalLower is a bound on the global optimum that needs no enumeration: it uses
// ρ̄ ≤ σ₁(V₀)·‖P‖₂·σ₁(A) (P the pooling operator; ‖Vᵀφ(u)‖ ≤ ‖V‖‖φ(u)‖ and
// ‖φ(u)‖ ≤ ‖P |Au|‖ ≤ ‖P‖₂‖A‖₂ for ‖u‖ = 1), valid but usually weak.
func Scalable(p *convex.VectorProgram, set Settings) (*Result, *Scale, error) {
	start := time.Now()
	o := NewPatternOracle(p)
	ra, err := Relaxation(p, o, set)
	if err != nil {
		return nil, nil, err
	}
	rec := set.rec()
	var relu *convex.VectorSolution
	how := "Frank–Wolfe growth with heuristic pricing"
	if ScalableInit == "decompose" {
		relu = ReLUFromGated(p, ra.Solution)
		how = "cone decomposition of its gated atoms"
	} else {
		relu, _, err = Grow(p, o, set, growRounds, 2*p.C)
		if err != nil {
			return nil, nil, err
		}
	}
	rec.Begin(fmt.Sprintf("cnnc vector Burer–Monteiro refinement of %d units", len(relu.Atoms)))
	pol, st := Polish(p, relu, set)
	rec.End(solver.Status(st.Status), solver.Iterate{Iter: st.Iterations, Objective: st.End, Elapsed: time.Since(start)})
	ext := NewPatternOracle(p)
	if len(pol.Atoms) > 0 {
		G := mat.NewDense(p.H, len(pol.Atoms), nil)
		for k, a := range pol.Atoms {
			G.SetCol(k, a.U)
		}
		ext.AddGates(G)
	}
	res := &Result{Status: ra.Status, Solution: pol, Iterations: ra.Iterations + st.Iterations,
		Method: ra.Method + " → " + how + " → Burer–Monteiro refinement (L-BFGS) → relaxation (a) over the sampled and the network's patterns (FISTA, warm start)"}
	res.Upper = p.Objective(pol)
	res.Lower = math.Inf(-1)
	sc := &Scale{RelaxA: ra.Upper, RelaxALower: ra.Lower, RelaxStatus: ra.Status, Polish: st, GatedAtoms: len(ra.Solution.Atoms), Init: how, InitUnits: len(relu.Atoms)}
	// Relaxation (a) over the extended set, warm-started from the sampled solution
	// (the new patterns' blocks at zero): its certified bound covers the network.
	// After a stop (time limit, interrupt) only the certificate at the network's
	// prediction is computed (one pass over the patterns).
	stopped := solver.Stop(set.Context)
	if stopped != "" {
		res.Status = stopped
	}
	if ra.Z != nil && ext.P > o.P && stopped == "" {
		W0 := mat.NewDense(p.H*ext.P, p.C, nil)
		W0.Slice(0, p.H*o.P, 0, p.C).(*mat.Dense).Copy(ra.Z)
		rec.Begin(fmt.Sprintf("cnnc relaxation (a) over %d patterns (%d sampled, %d of the network's units), warm start", ext.P, o.P, ext.P-o.P))
		fr, bm := relaxSolve(p, ext, set, W0, ra.B)
		rec.End(fr.Status, solver.Iterate{Iter: fr.Iterations, Objective: fr.Obj, Gap: (fr.Obj - fr.Lower) / math.Abs(fr.Obj), Elapsed: time.Since(start)})
		res.Iterations += fr.Iterations + bm.Iterations
		res.Lower = fr.Lower
		sc.ExtendedRelaxA, sc.ExtendedLower = fr.Obj, fr.Lower
		sc.FromRelaxation = fr.Lower
	} else if c, ok := Certify(p, ext, p.Predict(ra.Solution)); ok {
		res.Lower = c.Lower
		sc.FromRelaxation = c.Lower
	}
	Yh := p.Predict(pol)
	if c, ok := Certify(p, ext, Yh); ok {
		res.Cert = c
		res.Lower = math.Max(res.Lower, c.Lower)
		sc.FromNetwork = c.Lower
	}
	sc.GlobalLower = GlobalNormBound(p, Yh)
	if gl := GlobalNormBound(p, p.Predict(ra.Solution)); gl > sc.GlobalLower || math.IsNaN(sc.GlobalLower) {
		sc.GlobalLower = gl
	}
	res.Seconds = time.Since(start).Seconds()
	return res, sc, nil
}

// growRounds bounds Scalable's Grow rounds (2C candidate units each).
const growRounds = 30

// ScalableInit selects the ReLU network Scalable refines: "grow" (Grow: Frank–Wolfe
// with heuristic pricing; the default) or "decompose" (ReLUFromGated, the cone
// decomposition of relaxation (a)'s gated atoms).
var ScalableInit = "grow"

// Scale records the parts of a Scalable run.
type Scale struct {
	RelaxA, RelaxALower float64 // relaxation (a) over the sampled patterns: objective, certified bound
	RelaxStatus         solver.Status
	GatedAtoms          int
	Init                string // how the refined ReLU network was started (ScalableInit), in words
	InitUnits           int    // its units before the refinement
	Polish              PolishStats
	ExtendedRelaxA      float64 // relaxation (a) over the extended set: objective (0 when not solved)
	ExtendedLower       float64 // … and its certified bound
	FromRelaxation      float64 // dual bound from relaxation (a) (extended set)
	FromNetwork         float64 // dual bound at the network's prediction (extended set)
	GlobalLower         float64 // GlobalNormBound: a (weak) bound on the global optimum
}

// GlobalNormBound is the dual bound at the prediction Yh with the enumeration-free
// ρ̄ = σ₁(V₀)·‖P‖₂·σ₁(A) (see Scalable): a lower bound on the global optimum of the
// non-convex problem. NaN when V₀ cannot be made feasible.
func GlobalNormBound(p *convex.VectorProgram, Yh *mat.Dense) float64 {
	V := convex.VectorLossGrad(p.Loss, Yh, p.Y)
	V0, ok := Repair(p.Loss, p.Y, V, p.OutputBias)
	if !ok {
		return math.NaN()
	}
	rho := opNorm(V0) * poolNorm(p) * opNorm(p.A) * (1 + 1e-6)
	lb, _ := Bound(p.Loss, p.Y, V0, p.Beta, rho)
	return lb
}

// opNorm is σ₁(M) (SVD; the Frobenius norm if the SVD fails — an upper bound).
func opNorm(M *mat.Dense) float64 {
	var svd mat.SVD
	if !svd.Factorize(M, mat.SVDNone) {
		return mat.Norm(M, 2)
	}
	return svd.Values(nil)[0]
}

// poolNorm is ‖P‖₂ for the pooling operator P (N × Np, P[Sample[r], r] = RowWeight[r]):
// its rows have disjoint supports, so ‖P‖₂ = max_i ‖row i‖₂.
func poolNorm(p *convex.VectorProgram) float64 {
	s := make([]float64, p.N)
	for r, i := range p.Sample {
		s[i] += p.RowWeight[r] * p.RowWeight[r]
	}
	m := 0.0
	for _, v := range s {
		m = math.Max(m, v)
	}
	return math.Sqrt(m)
}
