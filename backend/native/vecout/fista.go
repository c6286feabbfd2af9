package vecout

import (
	"context"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Both convex sub-problems of this package are solved by one accelerated proximal
// gradient method (FISTA with function-value restart and a fixed step 1/L, L a
// global Lipschitz constant of the loss gradient computed by power iteration):
//
//	min_{W, b}  F(Φ W + 1 bᵀ) + β Σ_j R(W_j)
//
// with Φ (N × J·h) a fixed feature matrix and W_j its h × C blocks:
//   - the master of column generation (h = 1: one feature column per unit, R = ‖·‖₂
//     of the unit's output row — a group lasso over output weights);
//   - relaxation (a) over patterns (h = H: Φ = [F_1 … F_P], R = the nuclear norm).
//
// The stopping rule is a certified gap: every check computes the dual bound of the
// sub-problem itself (Repair and Bound with ρ̄ = max_j ‖Φ_jᵀV₀‖ for the group lasso,
// max_j σ₁(Φ_jᵀV₀) for the nuclear norm — both exact for the sub-problem) and stops
// when objective − bound ≤ tol·|objective|.

type proxKind int

const (
	proxGroup   proxKind = iota // rows of W (h = 1): block soft-threshold
	proxNuclear                 // h × C blocks: singular value soft-threshold
)

type fistaProblem struct {
	loss string
	Y    *mat.Dense
	beta float64
	bias bool
	Phi  *mat.Dense // N × J·h
	h    int
	kind proxKind
}

type fistaResult struct {
	W          *mat.Dense // J·h × C
	B          []float64
	Obj, Lower float64
	Iterations int
	Status     solver.Status
}

func (fp *fistaProblem) predict(W *mat.Dense, b []float64) *mat.Dense {
	n, _ := fp.Phi.Dims()
	_, c := fp.Y.Dims()
	Yh := mat.NewDense(n, c, nil)
	Yh.Mul(fp.Phi, W)
	if fp.bias {
		for i := 0; i < n; i++ {
			row := Yh.RawRowView(i)
			for k := range row {
				row[k] += b[k]
			}
		}
	}
	return Yh
}

func (fp *fistaProblem) penalty(W *mat.Dense) float64 {
	rows, c := W.Dims()
	J := rows / fp.h
	s := 0.0
	for j := 0; j < J; j++ {
		blk := W.Slice(j*fp.h, (j+1)*fp.h, 0, c)
		if fp.kind == proxGroup {
			s += mat.Norm(blk, 2)
		} else {
			s += nuclear(mat.DenseCopyOf(blk))
		}
	}
	return s
}

func nuclear(B *mat.Dense) float64 {
	var svd mat.SVD
	if !svd.Factorize(B, mat.SVDNone) {
		return math.Inf(1)
	}
	s := 0.0
	for _, v := range svd.Values(nil) {
		s += v
	}
	return s
}

// prox applies the proximal map of step·β·R to W in place.
func (fp *fistaProblem) prox(W *mat.Dense, thr float64) {
	rows, c := W.Dims()
	J := rows / fp.h
	for j := 0; j < J; j++ {
		blk := W.Slice(j*fp.h, (j+1)*fp.h, 0, c).(*mat.Dense)
		if fp.kind == proxGroup {
			nrm := mat.Norm(blk, 2)
			if nrm <= thr {
				blk.Zero()
			} else {
				blk.Scale(1-thr/nrm, blk)
			}
			continue
		}
		var svd mat.SVD
		if !svd.Factorize(blk, mat.SVDThin) {
			continue
		}
		sv := svd.Values(nil)
		if sv[0] <= thr {
			blk.Zero()
			continue
		}
		var U, V mat.Dense
		svd.UTo(&U)
		svd.VTo(&V)
		for t := range sv {
			sv[t] = math.Max(0, sv[t]-thr)
		}
		var US mat.Dense
		US.Scale(1, &U)
		for t := range sv {
			col := US.ColView(t).(*mat.VecDense)
			col.ScaleVec(sv[t], col)
		}
		blk.Mul(&US, V.T())
	}
}

// rho is max_j of ‖Φ_jᵀV‖ (group) or σ₁(Φ_jᵀV) (nuclear): the sub-problem's exact
// dual constraint value.
func (fp *fistaProblem) rho(V *mat.Dense) float64 {
	var G mat.Dense
	G.Mul(fp.Phi.T(), V) // J·h × C
	rows, c := G.Dims()
	J := rows / fp.h
	r := 0.0
	for j := 0; j < J; j++ {
		blk := G.Slice(j*fp.h, (j+1)*fp.h, 0, c)
		if fp.kind == proxGroup {
			r = math.Max(r, mat.Norm(blk, 2))
		} else {
			s1, _, _ := topSV(mat.DenseCopyOf(blk))
			r = math.Max(r, s1)
		}
	}
	return r * (1 + rhoSafety)
}

// lipschitz is an upper bound on the Lipschitz constant of the gradient of
// (W, b) ↦ F(ΦW + 1bᵀ): L_F·σ₁([Φ 1])², L_F = 1 (squared) or ½ (cross-entropy),
// σ₁ by 60 power iterations inflated by 5 % (power iteration approaches from below).
func (fp *fistaProblem) lipschitz() float64 {
	n, m := fp.Phi.Dims()
	x := make([]float64, m+1)
	for j := range x {
		x[j] = 1 / math.Sqrt(float64(m+1)) * (1 + 0.01*float64(j%7))
	}
	y := make([]float64, n)
	s := 0.0
	for it := 0; it < 60; it++ {
		yv := mat.NewVecDense(n, y)
		yv.MulVec(fp.Phi, mat.NewVecDense(m, x[:m]))
		if fp.bias {
			for i := range y {
				y[i] += x[m]
			}
		}
		xv := mat.NewVecDense(m, x[:m])
		xv.MulVec(fp.Phi.T(), yv)
		x[m] = 0
		if fp.bias {
			for _, v := range y {
				x[m] += v
			}
		}
		nx := 0.0
		for _, v := range x {
			nx += v * v
		}
		nx = math.Sqrt(nx)
		if nx == 0 {
			break
		}
		s = nx
		for j := range x {
			x[j] /= nx
		}
	}
	lf := 1.0
	if fp.loss == convex.LossCrossEntropy {
		lf = 0.5
	}
	return math.Max(lf*s*1.05, 1e-12)
}

// solve runs FISTA from (W0, b0) to a certified gap tol (see the file comment), at
// most maxIter iterations, polling ctx.
func (fp *fistaProblem) solve(ctx context.Context, W0 *mat.Dense, b0 []float64, tol float64, maxIter int, rec solver.Recorder, every int) fistaResult {
	rows, c := W0.Dims()
	L := fp.lipschitz()
	step := 1 / L
	x := mat.DenseCopyOf(W0)
	xb := append([]float64(nil), b0...)
	if len(xb) != c {
		xb = make([]float64, c)
	}
	y := mat.DenseCopyOf(x)
	yb := append([]float64(nil), xb...)
	t := 1.0
	xPrev := mat.DenseCopyOf(x)
	xbPrev := append([]float64(nil), xb...)
	res := fistaResult{Status: solver.IterationLimit, Lower: math.Inf(-1)}
	best := math.Inf(1)
	check := func(it int) bool {
		Yh := fp.predict(x, xb)
		obj := convex.VectorLoss(fp.loss, Yh, fp.Y) + fp.beta*fp.penalty(x)
		V := convex.VectorLossGrad(fp.loss, Yh, fp.Y)
		if V0, ok := Repair(fp.loss, fp.Y, V, fp.bias); ok {
			lb, _ := Bound(fp.loss, fp.Y, V0, fp.beta, fp.rho(V0))
			res.Lower = math.Max(res.Lower, lb)
		}
		if obj < best {
			best = obj
			res.W, res.B, res.Obj = mat.DenseCopyOf(x), append([]float64(nil), xb...), obj
		}
		res.Iterations = it
		if rec != nil {
			rec.Record(solver.Iterate{Iter: it, Gap: (best - res.Lower) / math.Abs(best), Objective: best})
		}
		return best-res.Lower <= tol*math.Abs(best)
	}
	if every <= 0 {
		every = 10
	}
	n, _ := fp.Phi.Dims()
	var g mat.Dense
	for it := 1; it <= maxIter; it++ {
		Yh := fp.predict(y, yb)
		V := convex.VectorLossGrad(fp.loss, Yh, fp.Y)
		g.Mul(fp.Phi.T(), V)
		xPrev.Copy(x)
		copy(xbPrev, xb)
		x.Scale(-step, &g)
		x.Add(x, y)
		fp.prox(x, step*fp.beta)
		if fp.bias {
			for k := 0; k < c; k++ {
				s := 0.0
				for i := 0; i < n; i++ {
					s += V.At(i, k)
				}
				xb[k] = yb[k] - step*s
			}
		}
		// gradient-mapping restart (O'Donoghue & Candès): drop the momentum when
		// ⟨y − x⁺, x⁺ − x⟩ > 0, i.e. the step points against the last move
		dotv := 0.0
		yr, xr, pr := y.RawMatrix().Data, x.RawMatrix().Data, xPrev.RawMatrix().Data
		for j := range xr {
			dotv += (yr[j] - xr[j]) * (xr[j] - pr[j])
		}
		for k := range xb {
			dotv += (yb[k] - xb[k]) * (xb[k] - xbPrev[k])
		}
		if dotv > 0 {
			t = 1
		}
		tn := (1 + math.Sqrt(1+4*t*t)) / 2
		mom := (t - 1) / tn
		t = tn
		y.Sub(x, xPrev)
		y.Scale(mom, y)
		y.Add(y, x)
		for k := range yb {
			yb[k] = xb[k] + mom*(xb[k]-xbPrev[k])
		}
		if it%every == 0 || it == maxIter {
			if check(it) {
				res.Status = solver.Optimal
				return res
			}
			if st := solver.Stop(ctx); st != "" {
				res.Status = st
				return res
			}
		}
	}
	if res.W == nil {
		check(maxIter)
	}
	_ = rows
	return res
}
