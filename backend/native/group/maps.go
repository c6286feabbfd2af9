package group

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// costMaps is the block cost R(x) = Σ_j w_j‖T_j x‖₂ of a CostMaps family (package doc,
// "Block costs Σ_j w_j‖T_j x‖").
type costMaps struct {
	H     int
	maps  [][]float64 // T_j row-major (rows[j] × H), unweighted
	rows  []int
	w     []float64 // w_j
	T     []float64 // T̃ = [w_j T_j]_j stacked (mt × H), row-major
	mt    int
	chol  mat.Cholesky // of T̃ᵀT̃
	tf    float64      // ‖T̃‖_F, rounded up
	floor float64      // c > 0 with R(x) ≥ c‖x‖₂ (certify.CostFloor)
}

// newCostMaps validates and precomputes the cost of f. The stacked maps must have full
// column rank (R a norm), or the dual-norm bound below has no meaning.
func newCostMaps(f *convex.Family, name string) (*costMaps, error) {
	c := &costMaps{H: f.H}
	if len(f.Cost.Maps) == 0 || len(f.Cost.Weights) != len(f.Cost.Maps) {
		return nil, fmt.Errorf("group: %s: CostMaps has %d maps and %d weights; want as many of each, at least one", name, len(f.Cost.Maps), len(f.Cost.Weights))
	}
	for j, T := range f.Cost.Maps {
		r, h := T.Dims()
		wj := f.Cost.Weights[j]
		if h != f.H || r == 0 {
			return nil, fmt.Errorf("group: %s: cost map %d is %d×%d, want rows × H = %d", name, j, r, h, f.H)
		}
		if !(wj > 0) || math.IsInf(wj, 0) {
			return nil, fmt.Errorf("group: %s: cost map %d has weight %g; want a finite weight > 0", name, j, wj)
		}
		d := general(T).Data
		if !finite(d) {
			return nil, fmt.Errorf("group: %s: cost map %d has NaN or Inf entries", name, j)
		}
		c.maps = append(c.maps, d)
		c.rows = append(c.rows, r)
		c.w = append(c.w, wj)
		for _, v := range d {
			c.T = append(c.T, wj*v)
		}
		c.mt += r
	}
	c.floor = certify.CostFloor(f)
	if !(c.floor > 0) {
		return nil, fmt.Errorf("group: %s: the stacked cost maps [w_j T_j] are rank-deficient, so Σ_j w_j‖T_j x‖ is not a norm; the structured solver needs a norm", name)
	}
	Tm := mat.NewDense(c.mt, c.H, c.T)
	var G mat.SymDense
	G.SymOuterK(1, Tm.T())
	if !c.chol.Factorize(&G) {
		return nil, fmt.Errorf("group: %s: the Gram matrix of the stacked cost maps is not positive definite", name)
	}
	c.tf = certify.NormUp(c.T)
	return c, nil
}

// value returns R(x).
func (c *costMaps) value(x []float64) float64 {
	s := 0.0
	buf := make([]float64, 0, 8)
	for j, T := range c.maps {
		buf = buf[:0]
		for i := 0; i < c.rows[j]; i++ {
			buf = append(buf, dot(T[i*c.H:(i+1)*c.H], x))
		}
		s += c.w[j] * norm(buf)
	}
	return s
}

// dualUp returns an upper bound, valid in exact arithmetic, on the dual norm
// R*(v') = max{v'ᵀx : R(x) ≤ 1} for every v' within vErr (Euclidean) of v. With
// y = T̃(T̃ᵀT̃)⁻¹v computed in floating point (y_j its rows of map j) and e = v − T̃ᵀy,
// vᵀx = Σ_j y_jᵀ(w_jT_j x) + eᵀx ≤ (max_j‖y_j‖ + ‖e‖/c)·R(x) with R(x) ≥ c‖x‖; ‖e‖
// is enlarged by γ_{mt+1}(‖v‖ + ‖T̃‖_F‖y‖) for the rounding of the product that formed
// it, and vErr adds vErr/c. When the maps partition an orthonormal basis (§8's half
// spectrum, §9b's per-unit groups) y is the exact dual-norm maximiser's multiplier, so
// the bound is tight up to rounding.
func (c *costMaps) dualUp(v []float64, vErr float64) float64 {
	H := c.H
	var z mat.VecDense
	if err := c.chol.SolveVecTo(&z, mat.NewVecDense(H, append([]float64(nil), v...))); err != nil {
		// unreachable for a positive-definite Gram; the crude bound ‖v‖/c is still valid
		return roundUp(roundUp(certify.NormUp(v)+vErr) / c.floor)
	}
	zr := z.RawVector().Data
	y := make([]float64, c.mt)
	for i := range y {
		y[i] = dot(c.T[i*H:(i+1)*H], zr)
	}
	e := append([]float64(nil), v...)
	for i, yi := range y {
		for k, t := range c.T[i*H : (i+1)*H] {
			e[k] -= t * yi
		}
	}
	mx := 0.0
	o := 0
	for j := range c.maps {
		mx = math.Max(mx, certify.NormUp(y[o:o+c.rows[j]]))
		o += c.rows[j]
	}
	eb := certify.NormUp(e) + certify.Gamma(c.mt+1)*roundUp(certify.NormUp(v)+c.tf*certify.NormUp(y))
	return roundUp(mx + roundUp(roundUp(eb+vErr)/c.floor))
}

// dualUpWith is dualUp with the multipliers q_j of the maps' cones (a restricted
// solve's, for v = g + M_kᵀμ_k ≈ −Σ_j T_jᵀq_j): vᵀx = Σ_j (−q_j)ᵀT_j x + eᵀx with
// e = v + Σ_j T_jᵀq_j gives R*(v) ≤ max_j ‖q_j‖/w_j + ‖e‖/c, which is tight for any
// maps (dualUp is tight only when they partition an orthonormal basis). q holds the
// q_j stacked (mt entries); the smaller of the two bounds is returned.
func (c *costMaps) dualUpWith(v []float64, vErr float64, q []float64) float64 {
	b := c.dualUp(v, vErr)
	if len(q) != c.mt {
		return b
	}
	H := c.H
	e := append([]float64(nil), v...)
	mx, qa := 0.0, 0.0
	o := 0
	for j, T := range c.maps {
		qj := q[o : o+c.rows[j]]
		mx = math.Max(mx, roundUp(certify.NormUp(qj)/c.w[j]))
		for i, qi := range qj {
			for k, t := range T[i*H : (i+1)*H] {
				e[k] += t * qi
			}
		}
		qa += certify.NormUp(qj) * certify.NormUp(T[:c.rows[j]*H])
		o += c.rows[j]
	}
	eb := certify.NormUp(e) + certify.Gamma(c.mt+1)*roundUp(certify.NormUp(v)+qa)
	return math.Min(b, roundUp(mx+roundUp(roundUp(eb+vErr)/c.floor)))
}

// hasMaps reports whether some family has a CostMaps cost.
func (r *run) hasMaps() bool {
	for _, fm := range r.fams {
		if fm.cost != nil {
			return true
		}
	}
	return false
}

// blockCost returns R_b(x) of a block of family fm (‖x‖₂ or Σ_j w_j‖T_j x‖).
func (fm *fam) blockCost(x []float64) float64 {
	if fm.cost != nil {
		return fm.cost.value(x)
	}
	return norm(x)
}

// mapsRestricted solves the restricted problem q of a program with CostMaps costs by
// the conic interior-point method (backend/native/cone, method ipm) on
//
//	minimize τ + β Σ_k Σ_j w_j t_kj
//	s.t.     ‖(2(Ĵx − ỹ), 2τ − 1)‖ ≤ 2τ + 1        (⇔ ½‖Ĵx − ỹ‖² ≤ τ)
//	         M_k x_k ≥ 0,   (t_kj, T_j x_k) ∈ SOC(rows_j + 1)
//
// (one epigraph per map of every block of W; squared loss only; the loss as
// compiler/canon's LSQ cone: with a quadratic objective ½‖r‖² instead, the IPM took
// 54 iterations instead of 21 on §9b's instance A1). The returned uL are the
// multipliers of the rows M_k x_k ≥ 0 in the convention of pdipm (Ĵᵀλ + M_kᵀμ_k =
// −Σ_j T_jᵀq_kj at the optimum), qMaps the q_kj, and lam the IPM's dual point λ = 2μ
// (μ the middle part of the loss cone's multiplier), so the working set's certificate
// (rhoAll, at λ) uses one consistent dual point.
func (w *wsRun) mapsRestricted(q *sub, W []blockID, tol float64, maxIt int) pdResult {
	r := w.r
	n, nx, nl := q.n, q.nx, q.nl
	K := len(W)
	// column layout: x (nx) | t (one per map of every block) | τ
	to := make([]int, K+1)
	for k, b := range W {
		to[k+1] = to[k] + len(r.fams[b.f].cost.maps)
	}
	nt := to[K]
	N := nx + nt + 1
	// row layout: LP rows (nl) | loss SOC (n + 2) | SOC rows per block, per map
	so := make([]int, K+1)
	qs := []int{n + 2}
	for k, b := range W {
		cm := r.fams[b.f].cost
		rows := 0
		for _, m := range cm.rows {
			qs = append(qs, m+1)
			rows += m + 1
		}
		so[k+1] = so[k] + rows
	}
	mo := nl + n + 2 // first row of the maps' cones
	M := mo + so[K]
	A := conic.CSC{M: M, N: N, ColPtr: make([]int, 0, N+1)}
	A.ColPtr = append(A.ColPtr, 0)
	push := func(row int, v float64) {
		if v != 0 {
			A.RowIdx = append(A.RowIdx, row)
			A.Val = append(A.Val, v)
		}
	}
	cvec := make([]float64, N)
	for k, b := range W {
		fm := r.fams[b.f]
		cm := fm.cost
		H := q.h[k]
		for j := 0; j < H; j++ {
			col := q.xo[k] + j
			if q.kf[k] >= 0 {
				C := q.cf[q.kf[k]].C
				for i, row := range q.idx[k] {
					push(q.lo[k]+i, -q.sgn[k][i]*C[int(row)*H+j])
				}
			}
			for i := 0; i < n; i++ {
				push(nl+1+i, -2*q.J[i*nx+col])
			}
			ro := mo + so[k]
			for m, T := range cm.maps {
				for i := 0; i < cm.rows[m]; i++ {
					push(ro+1+i, -T[i*H+j])
				}
				ro += cm.rows[m] + 1
			}
			A.ColPtr = append(A.ColPtr, len(A.Val))
		}
	}
	for k, b := range W {
		cm := r.fams[b.f].cost
		ro := mo + so[k]
		for m := range cm.maps {
			cvec[nx+to[k]+m] = r.beta * cm.w[m]
			push(ro, -1)
			A.ColPtr = append(A.ColPtr, len(A.Val))
			ro += cm.rows[m] + 1
		}
	}
	cvec[N-1] = 1
	push(nl, -2)
	push(nl+n+1, -2)
	A.ColPtr = append(A.ColPtr, len(A.Val))
	bvec := make([]float64, M)
	bvec[nl] = 1
	for i := 0; i < n; i++ {
		bvec[nl+1+i] = -2 * q.yt[i]
	}
	bvec[nl+n+1] = -1
	prob := &conic.Problem{M: M, N: N, A: A, B: bvec, C: cvec, Cones: conic.Cones{L: nl, Q: qs}}
	// The cone IPM's stopping rule is on its own (equilibrated) residuals: ε = 100·tol
	// (the working set's InnerTol 1e-10 → 1e-8: at 1e-9 the IPM stalled on §9b's
	// instance A1 after 74 iterations; tightened 100× when the certificate needs it). When it ends with its residuals within 10ε (status inaccurate) that
	// point is used; when it stalls further away (iteration_limit: seen near 1e-6 on
	// some programs at ε = 1e-9) the solve is repeated once at 100ε. ok is false
	// unless the first solve met ε.
	var res *cone.Result
	var err error
	eps0 := math.Max(100*tol, 1e-12)
	eps := eps0
	iters := 0
	for try := 0; try < 2; try++ {
		set := cone.DefaultSettings()
		set.Method = "ipm"
		set.EpsAbs, set.EpsRel = eps, eps
		set.IPMMaxIters = max(1, maxIt-iters)
		set.MaxIters = set.IPMMaxIters
		set.Context = q.ctx
		res, err = cone.Solve(prob, set, nil)
		if debugWS && err == nil {
			println("  maps cone ipm:", res.Status, res.Iterations, "pres", res.PrimalRes, "dres", res.DualRes, "gap", res.Gap, "eps", eps)
		}
		if err != nil {
			break
		}
		iters += res.Iterations
		if res.Status == solver.Optimal || res.Status == solver.Inaccurate || res.Status == solver.TimeLimit || res.Status == solver.Interrupted || iters >= maxIt {
			break
		}
		eps *= 100
	}
	out := pdResult{x: make([]float64, nx), uL: make([]float64, nl)}
	if err != nil || len(res.X) != N || len(res.Y) != M {
		return out
	}
	copy(out.x, res.X[:nx])
	w.restoreMaps(q, W, out.x)
	copy(out.uL, res.Y[:nl])
	// λ = 2μ from the loss cone's multiplier (μ₀, μ, μ_{n+1}): at the optimum ỹ − Ĵx
	out.lam = make([]float64, n)
	for i := range out.lam {
		out.lam[i] = 2 * res.Y[nl+1+i]
	}
	out.qMaps = make([][]float64, K)
	for k, b := range W {
		cm := r.fams[b.f].cost
		ro := mo + so[k]
		for m := range cm.maps {
			out.qMaps[k] = append(out.qMaps[k], res.Y[ro+1:ro+1+cm.rows[m]]...)
			ro += cm.rows[m] + 1
		}
	}
	out.iters = max(1, iters)
	// ok (the working set may tighten the tolerance) only when the first solve met ε
	// (tightening after an inaccurate end was tried: the IPM stalls at the same point)
	out.ok = res.Status == solver.Optimal && eps <= eps0
	if res.Status == solver.TimeLimit || res.Status == solver.Interrupted {
		out.stopped = res.Status
	}
	out.gap = res.Gap
	return out
}

// restoreMaps returns every block of W to its cone: the conic IPM's point violates
// the cone rows by about its ε (1e-8; pdipm's by 1e-15). For block k with violated
// rows A it adds the least-norm correction d with (M_A d)_i = δ − (M_k x_k)_i
// (δ = 1e-14·‖x_k‖; gonum's LQ solve, least squares when A has more rows than H),
// re-checks every row and repeats (at most 4 times, A growing); the correction is
// kept only when no entry moved by more than 100× the largest violation (an
// ill-conditioned M_A can ask for a large move). (Moving along the pattern's gate instead, as the AL
// method does, moved blocks by 1e-2 when the gate was near another facet and lost
// the certificate on §9b (F) problems.) A block still violated after that is left as
// it is (the final feasibility test against TolFeas decides). The objective is
// evaluated at the corrected point, so it stays an honest upper bound.
func (w *wsRun) restoreMaps(q *sub, W []blockID, x []float64) {
	for k := range W {
		if q.kf[k] < 0 || q.m[k] == 0 {
			continue
		}
		H := q.h[k]
		C := q.cf[q.kf[k]].C
		xk := x[q.xo[k] : q.xo[k]+H]
		try := append([]float64(nil), xk...)
		delta := 1e-14 * norm(try)
		inA := map[int]bool{}
		var A []int
		viol0 := 0.0 // the largest violation of the IPM's point (rows of C: unit norm)
		for i, row := range q.idx[k] {
			viol0 = math.Max(viol0, -q.sgn[k][i]*dot(C[int(row)*H:int(row)*H+H], xk))
		}
		for round := 0; round < 4; round++ {
			added := false
			for i, row := range q.idx[k] {
				if q.sgn[k][i]*dot(C[int(row)*H:int(row)*H+H], try) < 0 && !inA[i] {
					inA[i] = true
					A = append(A, i)
					added = true
				}
			}
			if !added {
				moved := 0.0
				for j := range try {
					moved = math.Max(moved, math.Abs(try[j]-xk[j]))
				}
				// keep the correction only when it is of the order of the violation
				// (an ill-conditioned M_A, e.g. more violated rows than H, can ask for
				// a large move, which would cost objective: §9b (F) group_5 lost 3e-2)
				if round > 0 && moved <= 100*viol0+delta {
					copy(xk, try)
				}
				break
			}
			MA := mat.NewDense(len(A), H, nil)
			rhs := mat.NewVecDense(len(A), nil)
			for a, i := range A {
				c := C[int(q.idx[k][i])*H : int(q.idx[k][i])*H+H]
				for j, v := range c {
					MA.Set(a, j, q.sgn[k][i]*v)
				}
				rhs.SetVec(a, delta-q.sgn[k][i]*dot(c, try))
			}
			var d mat.VecDense
			if err := d.SolveVec(MA, rhs); err != nil {
				break
			}
			for j := range try {
				try[j] += d.AtVec(j)
			}
		}
	}
}
