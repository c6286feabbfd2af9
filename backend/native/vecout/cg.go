package vecout

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Settings configure the solvers of this package.
type Settings struct {
	Tol      float64         // relative bracket tolerance (default 1e-6)
	MaxIters int             // column generation: rounds (default 200); FISTA: iterations (default 20000)
	Context  context.Context // early stop (solver.Stop)
	Recorder solver.Recorder
	// AddPerRound is the number of oracle candidates added per round (default 2·C).
	AddPerRound int
}

func (s Settings) tol() float64 {
	if s.Tol > 0 {
		return s.Tol
	}
	return 1e-6
}

func (s Settings) rec() solver.Recorder {
	if s.Recorder == nil {
		return solver.Nop{}
	}
	return s.Recorder
}

// Result is a solver's answer: the best network found (an upper bound on the
// optimum: its objective), the best certified lower bound over the oracle's scope,
// and the certificate at the final point.
type Result struct {
	Status     solver.Status
	Solution   *convex.VectorSolution
	Upper      float64 // objective of Solution (F + β Σ‖U‖‖G‖)
	Lower      float64 // best certified lower bound seen (over Scope)
	Cert       Certificate
	Rounds     int
	Iterations int // inner iterations (FISTA)
	Seconds    float64
	Method     string
	// Z and B are relaxation (a)'s blocks (H·P × C, block p = Z_p) and output bias
	// (Relaxation only; nil otherwise).
	Z *mat.Dense
	B []float64
}

// ColumnGeneration solves the exact vector program (the copositive program over
// every unit) by fully corrective Frank–Wolfe, i.e. column generation in unit space:
//
//  1. master: with unit directions u_1…u_m fixed (unit norm), the program restricted
//     to atoms u_k gᵀ is the group lasso min_G F(Φ G + 1bᵀ) + β Σ_k ‖g_k‖ over the
//     output rows g_k (Φ = [φ(u_1) … φ(u_m)]); it is solved by FISTA to a certified
//     gap far below tol;
//  2. pricing: the oracle (ExactOracle: the cone-constrained PCA by face enumeration)
//     returns ρ̄ ≥ max_u ‖V₀ᵀφ(u)‖ at the master's dual V₀ and the best units; the dual
//     bound at V₀ (Bound) is a lower bound on the optimum over the oracle's scope,
//     the master's objective an upper bound (it is the objective of a network);
//  3. units with ‖V₀ᵀφ(u)‖ > β are added (at most AddPerRound), units whose output row
//     is zero are dropped, and the loop repeats until upper − lower ≤ tol·|upper|.
//
// Without a violated unit the master is re-solved to a 100× smaller tolerance; the
// status is inaccurate when that no longer helps. The iteration limit, a deadline or
// a cancellation end the loop with the best certified bracket.
func ColumnGeneration(p *convex.VectorProgram, o Oracle, set Settings) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	tol := set.tol()
	maxRounds := set.MaxIters
	if maxRounds <= 0 {
		maxRounds = 200
	}
	add := set.AddPerRound
	if add <= 0 {
		add = 2 * p.C
	}
	rec := set.rec()
	rec.Begin(fmt.Sprintf("cnnc vector column generation: %d samples, %d outputs, β = %g, oracle: %s", p.N, p.C, p.Beta, o.Scope()))
	res := &Result{Lower: math.Inf(-1), Upper: math.Inf(1), Method: "column generation (fully corrective Frank–Wolfe)"}
	sol := &convex.VectorSolution{Bias: initialBias(p)}
	mtol := tol * 1e-3
	for round := 0; ; round++ {
		// master
		if len(sol.Atoms) > 0 {
			Phi := p.Features(sol.Atoms)
			G0 := mat.NewDense(len(sol.Atoms), p.C, nil)
			for k, a := range sol.Atoms {
				G0.SetRow(k, a.G)
			}
			fp := &fistaProblem{loss: p.Loss, Y: p.Y, beta: p.Beta, bias: p.OutputBias, Phi: Phi, h: 1, kind: proxGroup}
			fr := fp.solve(set.Context, G0, sol.Bias, math.Max(mtol, 1e-6), 5000, nil, 25)
			res.Iterations += fr.Iterations
			W, b := fr.W, fr.B
			if Wn, bn, ok := newtonMaster(fp, W, b, 50); ok {
				W, b = Wn, bn
			}
			var keep []convex.Atom
			for k, a := range sol.Atoms {
				g := W.RawRowView(k)
				if norm(g) > 0 {
					keep = append(keep, convex.Atom{U: a.U, G: append([]float64(nil), g...), Gate: -1})
				}
			}
			sol = Prune(p, &convex.VectorSolution{Atoms: keep, Bias: b})
		}
		Yh := p.Predict(sol)
		upper := convex.VectorLoss(p.Loss, Yh, p.Y) + p.Beta*sol.Penalty()
		V := convex.VectorLossGrad(p.Loss, Yh, p.Y)
		V0, ok := Repair(p.Loss, p.Y, V, p.OutputBias)
		var cands []Candidate
		cert := Certificate{Lower: math.NaN(), Scope: o.Scope(), Global: o.Global()}
		if ok {
			var rho float64
			rho, cands = o.Max(V0, add, p.Beta)
			lb, t := Bound(p.Loss, p.Y, V0, p.Beta, rho)
			cert = Certificate{Lower: lb, Rho: rho, T: t, RelBound: math.Max(0, rho/p.Beta-1), Scope: o.Scope(), Global: o.Global()}
			res.Lower = math.Max(res.Lower, lb)
		}
		if upper <= res.Upper {
			res.Upper, res.Solution, res.Cert = upper, sol, cert
		}
		res.Rounds = round
		gap := (res.Upper - res.Lower) / math.Abs(res.Upper)
		rec.Record(solver.Iterate{Iter: round, Gap: gap, Objective: res.Upper, Elapsed: time.Since(start),
			Extra: fmt.Sprintf("units %d, ρ/β %.6g", len(sol.Atoms), cert.Rho/p.Beta)})
		if gap <= tol {
			res.Status = solver.Optimal
			break
		}
		if st := solver.Stop(set.Context); st != "" {
			res.Status = st
			break
		}
		if round >= maxRounds {
			res.Status = solver.IterationLimit
			break
		}
		added := 0
		for _, c := range cands {
			if c.Value <= p.Beta || hasUnit(sol.Atoms, c.U) {
				continue
			}
			sol.Atoms = append(sol.Atoms, convex.Atom{U: c.U, G: make([]float64, p.C), Gate: -1})
			added++
		}
		if added == 0 {
			if mtol <= tol*1e-7 {
				res.Status = solver.Inaccurate
				break
			}
			mtol /= 100
		}
	}
	res.Seconds = time.Since(start).Seconds()
	rec.End(res.Status, solver.Iterate{Iter: res.Rounds, Objective: res.Upper, Gap: (res.Upper - res.Lower) / math.Abs(res.Upper), Elapsed: time.Since(start)})
	return res, nil
}

// initialBias is the best constant prediction (zero without an output bias): the
// column means of Y (squared) or the log class frequencies (cross-entropy).
func initialBias(p *convex.VectorProgram) []float64 {
	b := make([]float64, p.C)
	if !p.OutputBias {
		return b
	}
	for i := 0; i < p.N; i++ {
		for k, v := range p.Y.RawRowView(i) {
			b[k] += v / float64(p.N)
		}
	}
	if p.Loss == convex.LossCrossEntropy {
		for k := range b {
			b[k] = math.Log(math.Max(b[k], 1e-12))
		}
	}
	return b
}

func hasUnit(atoms []convex.Atom, u []float64) bool {
	for _, a := range atoms {
		if dot(a.U, u) > (1-1e-14)*norm(a.U)*norm(u) {
			return true
		}
	}
	return false
}

func norm(v []float64) float64 { return math.Sqrt(dot(v, v)) }
