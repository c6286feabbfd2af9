package vecout

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Grow builds a ReLU network for a program too large for the exact oracle by the
// same fully corrective Frank–Wolfe loop as ColumnGeneration, with heuristic
// pricing: each round the master (group lasso over the output weights of the
// current units) is solved, and new units are sought where the dual constraint
// ‖V₀ᵀφ(u)‖ ≤ β is most violated — from the top right singular vectors of V₀ᵀF_p of
// the patterns o ranks first (relaxation (a)'s violators), each improved by projected
// gradient ascent of ‖V₀ᵀφ(u)‖² on the unit sphere (the ReLU unit map, not the gated
// one). Units with value above β are added; the loop ends after maxRounds rounds or
// when no violator is found. Every iterate is a network (an upper bound); the search
// is not exhaustive, so Grow certifies nothing by itself.
func Grow(p *convex.VectorProgram, o *PatternOracle, set Settings, maxRounds, perRound int) (*convex.VectorSolution, int, error) {
	if err := p.Validate(); err != nil {
		return nil, 0, err
	}
	rec := set.rec()
	start := time.Now()
	rec.Begin(fmt.Sprintf("cnnc vector growth: Frank–Wolfe with heuristic pricing over %d patterns (+ ascent), %d units per round", o.P, perRound))
	sol := &convex.VectorSolution{Bias: initialBias(p)}
	iters := 0
	var Phi *mat.Dense // features of sol.Atoms
	for round := 0; round < maxRounds; round++ {
		if len(sol.Atoms) > 0 {
			G0 := mat.NewDense(len(sol.Atoms), p.C, nil)
			for k, a := range sol.Atoms {
				G0.SetRow(k, a.G)
			}
			fp := &fistaProblem{loss: p.Loss, Y: p.Y, beta: p.Beta, bias: p.OutputBias, Phi: Phi, h: 1, kind: proxGroup}
			fr := fp.solve(set.Context, G0, sol.Bias, 1e-4, 2000, nil, 25)
			iters += fr.Iterations
			var keep []convex.Atom
			var cols []int
			for k, a := range sol.Atoms {
				g := fr.W.RawRowView(k)
				if norm(g) > 0 {
					keep = append(keep, convex.Atom{U: a.U, G: append([]float64(nil), g...), Gate: -1})
					cols = append(cols, k)
				}
			}
			sol = &convex.VectorSolution{Atoms: keep, Bias: fr.B}
			Phi = selectCols(Phi, cols, p.N)
		}
		Yh := p.Predict(sol)
		obj := convex.VectorLoss(p.Loss, Yh, p.Y) + p.Beta*sol.Penalty()
		V0, ok := Repair(p.Loss, p.Y, convex.VectorLossGrad(p.Loss, Yh, p.Y), p.OutputBias)
		if !ok {
			break
		}
		_, cands := o.Max(V0, perRound, 0)
		added := 0
		var newU []convex.Atom
		for _, c := range cands {
			u := append([]float64(nil), c.U...)
			best := ascendUnit(p, V0, u, ascentSteps)
			neg := make([]float64, len(c.U))
			for j := range neg {
				neg[j] = -c.U[j]
			}
			if bn := ascendUnit(p, V0, neg, ascentSteps); bn > best {
				best, u = bn, neg
			}
			if best <= p.Beta*(1+1e-6) || hasUnit(sol.Atoms, u) || hasUnit(newU, u) {
				continue
			}
			newU = append(newU, convex.Atom{U: u, G: make([]float64, p.C), Gate: -1})
			added++
		}
		rec.Record(solver.Iterate{Iter: round, Objective: obj, Elapsed: time.Since(start), Extra: fmt.Sprintf("units %d, added %d", len(sol.Atoms), added)})
		if added == 0 {
			break
		}
		if st := solver.Stop(set.Context); st != "" {
			break
		}
		Fn := p.Features(newU)
		Phi = appendCols(Phi, Fn, p.N)
		sol.Atoms = append(sol.Atoms, newU...)
	}
	rec.End(solver.Optimal, solver.Iterate{Objective: p.Objective(sol), Elapsed: time.Since(start)})
	return sol, iters, nil
}

// ascentSteps is the number of projected ascent steps Grow spends on a candidate.
const ascentSteps = 15

func selectCols(M *mat.Dense, cols []int, n int) *mat.Dense {
	out := mat.NewDense(n, max(1, len(cols)), nil)
	for j, c := range cols {
		out.SetCol(j, mat.Col(nil, c, M))
	}
	if len(cols) == 0 {
		return nil
	}
	return out
}

func appendCols(M, F *mat.Dense, n int) *mat.Dense {
	if M == nil {
		return F
	}
	_, a := M.Dims()
	_, b := F.Dims()
	out := mat.NewDense(n, a+b, nil)
	out.Slice(0, n, 0, a).(*mat.Dense).Copy(M)
	out.Slice(0, n, a, a+b).(*mat.Dense).Copy(F)
	return out
}

// ascendUnit runs steps of projected gradient ascent of ‖Vᵀφ(u)‖² on the unit sphere
// from u (normalised, updated in place) with a backtracking step, and returns the
// final value ‖Vᵀφ(u)‖.
func ascendUnit(p *convex.VectorProgram, V *mat.Dense, u []float64, steps int) float64 {
	nu := norm(u)
	if nu == 0 {
		return 0
	}
	for j := range u {
		u[j] /= nu
	}
	np, h := p.A.Dims()
	z := make([]float64, np)
	value := func(u []float64) (float64, []float64) {
		phi := make([]float64, p.N)
		zv := mat.NewVecDense(np, z)
		zv.MulVec(p.A, mat.NewVecDense(h, u))
		for r, v := range z {
			if v > 0 {
				phi[p.Sample[r]] += p.RowWeight[r] * v
			}
		}
		s := mat.NewVecDense(p.C, nil)
		s.MulVec(V.T(), mat.NewVecDense(p.N, phi))
		return mat.Norm(s, 2), s.RawVector().Data
	}
	f, s := value(u)
	step := 1.0
	for it := 0; it < steps; it++ {
		// ∇ ½‖Vᵀφ(u)‖² = Σ_r w_r 1[A_r u > 0] A_r (V s)_{sample(r)}
		q := mat.NewVecDense(p.N, nil)
		q.MulVec(V, mat.NewVecDense(p.C, s))
		c := make([]float64, np)
		for r, v := range z {
			if v > 0 {
				c[r] = p.RowWeight[r] * q.AtVec(p.Sample[r])
			}
		}
		g := mat.NewVecDense(h, nil)
		g.MulVec(p.A.T(), mat.NewVecDense(np, c))
		gd := g.RawVector().Data
		// tangent component
		d := dot(gd, u)
		for j := range gd {
			gd[j] -= d * u[j]
		}
		gn := norm(gd)
		if gn <= 1e-14*math.Max(f*f, 1e-300) {
			break
		}
		improved := false
		for try := 0; try < 20; try++ {
			un := make([]float64, h)
			for j := range un {
				un[j] = u[j] + step*gd[j]/gn
			}
			nn := norm(un)
			for j := range un {
				un[j] /= nn
			}
			fn, sn := value(un)
			if fn > f {
				copy(u, un)
				f, s = fn, sn
				step *= 1.5
				improved = true
				break
			}
			step /= 2
		}
		if !improved {
			break
		}
	}
	return f
}
