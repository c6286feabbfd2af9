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
// (sampled patterns): relaxation (a) over the sampled patterns (Relaxation), a cone
// decomposition of its gated atoms into ReLU atoms (ReLUFromGated), and
// Burer–Monteiro refinement of that ReLU network (Polish). The bracket:
//
//   - upper: the refined network's objective;
//   - lower: the best dual bound at the relaxation's and at the network's prediction
//     over relaxation (a) on the sampled patterns together with the activation
//     patterns of the network's own units — a lower bound on every ReLU or gated
//     network whose units' patterns lie in that set (the recovered network included),
//     not on the global optimum;
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
	relu := ReLUFromGated(p, ra.Solution)
	rec := set.rec()
	rec.Begin(fmt.Sprintf("cnnc vector Burer–Monteiro refinement: %d units from the cone decomposition of %d gated atoms", len(relu.Atoms), len(ra.Solution.Atoms)))
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
		Method: "relaxation (a) over sampled patterns (FISTA) → cone decomposition → Burer–Monteiro refinement (L-BFGS)"}
	res.Upper = p.Objective(pol)
	res.Lower = math.Inf(-1)
	sc := &Scale{RelaxA: ra.Upper, RelaxALower: ra.Lower, RelaxStatus: ra.Status, Polish: st, GatedAtoms: len(ra.Solution.Atoms)}
	if c, ok := Certify(p, ext, p.Predict(ra.Solution)); ok {
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

// Scale records the parts of a Scalable run.
type Scale struct {
	RelaxA, RelaxALower float64 // relaxation (a) over the sampled patterns: objective, certified bound
	RelaxStatus         solver.Status
	GatedAtoms          int
	Polish              PolishStats
	FromRelaxation      float64 // dual bound at the relaxation's prediction (extended set)
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
