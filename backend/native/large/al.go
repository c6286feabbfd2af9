package large

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// smoothAL is the smooth part of the augmented Lagrangian (package doc, "Method al")
//
//	φ(x) = ½‖Π(ŷ(x) − y)‖² + (δ/2) Σ_b Σ_{r ∈ R_b} (Γ_{b,r}/δ − (M_b x_b)_r)₊²
//
// evaluated either in pattern space (the Gram G and each block's working rows; used
// when the pattern space fits MaxGram) or by operator products over all rows
// (alOps; FC families with large H).
type smoothAL interface {
	// phi returns φ(x) and the largest cone violation over the rows it sees; grad
	// (when non-nil) receives ∇φ(x) in the flat block layout.
	phi(x, grad []float64) (float64, float64)
	// update performs the multiplier step Γ ← (Γ − δ M x)₊ at x.
	update(x []float64)
	delta() float64
	setDelta(d float64)
	// multipliers returns μ_b = (Γ − δ M_b x_b)₊ over block k's rows, in r.rows[k]
	// order (pattern space) or nil.
	multipliers(x []float64, k int) []float64
}

// alGram is smoothAL in pattern space.
type alGram struct {
	r      *run
	q      *sub  // every block of the program, with its working rows
	blk    []int // q's block i is program block blk[i] (all blocks, in order)
	gam    [][]float64
	rowIdx [][]int32
	d      float64
	u, g   []float64
}

func (a *alGram) delta() float64     { return a.d }
func (a *alGram) setDelta(d float64) { a.d = d }

func (a *alGram) phi(x, grad []float64) (float64, float64) {
	r, q := a.r, a.q
	r.combine(x, a.u)
	q.gmul(a.u, a.g)
	val := 0.5*dot(a.u, a.g) - dot(q.c, a.u) + 0.5*q.yy
	for i := range a.g {
		a.g[i] -= q.c[i]
	}
	if grad != nil {
		pr := r.pr
		for k := 0; k < pr.nb; k++ {
			o := pr.po[pr.bp[k]]
			gk := grad[r.off[k]:r.off[k+1]]
			for j := range gk {
				gk[j] = pr.bsg[k] * a.g[o+j]
			}
		}
	}
	viol := 0.0
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		xk := x[r.off[k]:r.off[k+1]]
		R := q.rows[k]
		var gk []float64
		if grad != nil {
			gk = grad[r.off[k]:r.off[k+1]]
		}
		for i := 0; i < q.m[k]; i++ {
			row := R[i*h : i*h+h]
			mx := dot(row, xk)
			viol = math.Max(viol, -mx)
			t := a.gam[k][i]/a.d - mx
			if t > 0 {
				val += 0.5 * a.d * t * t
				if gk != nil {
					c := -a.d * t
					for j, v := range row {
						gk[j] += c * v
					}
				}
			}
		}
	}
	return val, viol
}

func (a *alGram) update(x []float64) {
	q := a.q
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		xk := x[a.r.off[k]:a.r.off[k+1]]
		for i := 0; i < q.m[k]; i++ {
			a.gam[k][i] = math.Max(0, a.gam[k][i]-a.d*dot(q.rows[k][i*h:i*h+h], xk))
		}
	}
}

func (a *alGram) multipliers(x []float64, k int) []float64 {
	q := a.q
	h := q.h[k]
	xk := x[a.r.off[k]:a.r.off[k+1]]
	mu := make([]float64, q.m[k])
	for i := range mu {
		mu[i] = math.Max(0, a.gam[k][i]-a.d*dot(q.rows[k][i*h:i*h+h], xk))
	}
	return mu
}

// rebuild refreshes q's rows from r.rows, keeping the multipliers of rows that stay.
func (a *alGram) rebuild() {
	r := a.r
	pr := r.pr
	for k := 0; k < pr.nb; k++ {
		gp := pr.bp[k]
		fm := pr.fams[pr.pf[gp]]
		old, oldRows := a.gam[k], a.rowIdx[k]
		a.q.rows[k] = fm.rowMatrix(pr.pp[gp], r.rows[k])
		a.q.m[k] = len(r.rows[k])
		g := make([]float64, len(r.rows[k]))
		for i, row := range r.rows[k] {
			for j, o := range oldRows {
				if o == row {
					g[i] = old[j]
					break
				}
			}
		}
		a.gam[k] = g
		a.rowIdx[k] = append([]int32(nil), r.rows[k]...)
	}
}

// solveAL is the augmented Lagrangian method with R-FISTA inner solves (package
// doc, "Method al").
func (r *run) solveAL() (*Result, error) {
	pr, set := r.pr, r.set
	if pr.nu > set.MaxGram {
		return nil, fmt.Errorf("large: the pattern space has Σ H = %d coordinates (%d patterns of up to %d features), and both methods of the structured solver work with its nu × nu Gram matrix, limited to nu ≤ %d; use fewer patterns (`patterns sample N`) or fewer features per pattern (a convolution instead of a fully connected first layer)", pr.nu, pr.np, maxH(pr), set.MaxGram)
	}
	r.rows = make([][]int32, pr.nb)
	r.consider(r.evaluateCheap(append([]float64(nil), r.x...)))
	r.progress(true, math.NaN(), "start: the zero network or the warm start, cheap certificate")
	r.setStage("initial cone rows")
	for k := 0; k < pr.nb; k++ {
		r.initRows(k)
	}
	r.setStage("Gram matrix")
	r.gramG = pr.gramAll(set.Context, nil)
	if r.gramG == nil {
		r.rows = make([][]int32, pr.nb)
		pt := r.evaluate(r.x, nil)
		r.consider(pt)
		return r.result(r.stopped(), "al", 0)
	}
	all := make([]int, pr.nb)
	for k := range all {
		all[k] = k
	}
	q := r.buildSub(all)
	a := &alGram{r: r, q: q, blk: all, gam: make([][]float64, pr.nb), u: make([]float64, pr.nu), g: make([]float64, pr.nu)}
	a.rowIdx = make([][]int32, pr.nb)
	for k := 0; k < pr.nb; k++ {
		a.gam[k] = make([]float64, q.m[k])
		a.rowIdx[k] = append([]int32(nil), r.rows[k]...)
	}
	// L_loss = ‖G‖₂ (power iteration), δ₀ = L_loss (rows of C have unit scale after
	// normalisation in rowMatrix's callers; C rows of FC data are not unit: use ‖C‖²
	// estimated from the rows' largest norm).
	L := powerNorm(q.G, q.nu)
	cmax := 0.0
	for _, fm := range pr.fams {
		for _, v := range fm.cnorm {
			cmax = math.Max(cmax, v)
		}
	}
	if cmax == 0 {
		cmax = 1
	}
	a.d = L / (cmax * cmax)
	if !(a.d > 0) {
		a.d = 1
	}
	d0 := a.d
	maxIter := set.MaxIter
	if maxIter <= 0 {
		maxIter = 100000
	}
	x := append([]float64(nil), r.x...)
	eta := 1 / (L + a.d*cmax*cmax*4)
	innerTol := 1e-2
	prevViol := math.Inf(1)
	status := solver.IterationLimit
	outer := 0
	pt := r.evaluate(append([]float64(nil), x...), nil) // a copy: x is the iterate
	r.consider(pt)
	for {
		outer++
		r.setStage(fmt.Sprintf("AL outer %d: FISTA", outer))
		it, stop := r.fista(a, x, &eta, innerTol*pr.beta, maxIter-r.iters)
		_ = it
		if stop != "" {
			// stopped from outside: the iterate's dual bound (cheap: no cone
			// projections, no row work) and the best feasible point so far
			mult := &multRows{rows: a.rowIdx, mu: make([][]float64, pr.nb)}
			for k := 0; k < pr.nb; k++ {
				mult.mu[k] = a.multipliers(x, k)
			}
			r.considerDual(r.eval(append([]float64(nil), x...), mult, false))
			status = stop
			break
		}
		// row generation: violated full rows of the nonzero blocks join the AL
		added := 0
		mx := 0.0
		for k := 0; k < pr.nb; k++ {
			mx = math.Max(mx, norm(x[r.off[k]:r.off[k+1]]))
		}
		for k := 0; k < pr.nb; k++ {
			xb := x[r.off[k]:r.off[k+1]]
			if norm(xb) <= set.ZeroTol*mx {
				continue
			}
			gp := pr.bp[k]
			fm := pr.fams[pr.pf[gp]]
			if fm.Nc == 0 {
				continue
			}
			bad, _ := fm.violatedRows(pr.pp[gp], xb, rowTol, rowAdd(fm.H))
			var fresh []int32
			for _, b := range bad {
				if !has(r.rows[k], b) {
					fresh = append(fresh, b)
				}
			}
			if len(fresh) > 0 {
				r.rows[k] = merge(r.rows[k], fresh)
				added += len(fresh)
			}
		}
		if added > 0 {
			a.rebuild()
			q.finish()
		}
		mult := &multRows{rows: make([][]int32, pr.nb), mu: make([][]float64, pr.nb)}
		for k := 0; k < pr.nb; k++ {
			mult.rows[k] = a.rowIdx[k]
			mult.mu[k] = a.multipliers(x, k)
		}
		pt := r.evaluate(append([]float64(nil), x...), mult)
		// the certificate may have given blocks more rows (NNLS): take them in
		a.rebuild()
		q.finish()
		_, viol := a.phi(x, nil)
		// the dual bound holds whatever the primal violation; the primal candidate is
		// the iterate with its violating blocks projected onto their full cones
		r.considerDual(pt)
		if xr := r.project(x); xr != nil {
			rp := r.objectiveOnly(xr)
			rp.maxRho, rp.rho = pt.maxRho, pt.rho
			if r.best == nil || rp.obj < r.best.obj {
				r.best = rp
			}
		}
		r.progress(true, pt.obj, fmt.Sprintf("AL outer %d, δ %.3g, violation %.2e, max ρ %.6f, rows +%d", outer, a.d, viol, pt.maxRho, added))
		if r.certified() {
			status = solver.Optimal
			break
		}
		if stop != "" {
			status = stop
			break
		}
		if r.iters >= maxIter || outer >= set.MaxRounds*10 {
			break
		}
		a.update(x)
		if viol > 0.25*prevViol && viol > set.TolFeas && a.d*4 <= 1e6*d0 {
			a.d *= 4
		}
		prevViol = viol
		innerTol = math.Max(1e-10, innerTol*0.2)
	}
	return r.result(status, "al", outer)
}

// fista runs R-FISTA on φ + βΣ‖x_b‖ from x (updated in place) until the largest block
// gradient mapping ‖(y_b − x⁺_b)/η‖ ≤ tol, budget iterations, or a stop; η is the
// step (adapted: backtracking ×0.8, growth ×1.25 when the local curvature allows).
func (r *run) fista(a smoothAL, x []float64, eta *float64, tol float64, budget int) (int, solver.Status) {
	pr := r.pr
	N := len(x)
	xp := append([]float64(nil), x...)
	y := make([]float64, N)
	xn := make([]float64, N)
	gy := make([]float64, N)
	t := 1.0
	for it := 0; it < budget; it++ {
		if s := r.stopped(); s != "" {
			return it, s
		}
		tn := (1 + math.Sqrt(1+4*t*t)) / 2
		m := (t - 1) / tn
		for i := range y {
			y[i] = x[i] + m*(x[i]-xp[i])
		}
		fy, _ := a.phi(y, gy)
		var fx float64
		for {
			for k := 0; k < pr.nb; k++ {
				o0, o1 := r.off[k], r.off[k+1]
				z := xn[o0:o1]
				for j := range z {
					z[j] = y[o0+j] - *eta*gy[o0+j]
				}
				nz := norm(z)
				sh := 0.0
				if nz > *eta*pr.beta {
					sh = 1 - *eta*pr.beta/nz
				}
				scale(z, sh)
			}
			fx, _ = a.phi(xn, nil)
			d2, lin := 0.0, 0.0
			for i := range xn {
				dd := xn[i] - y[i]
				d2 += dd * dd
				lin += gy[i] * dd
			}
			if fx <= fy+lin+d2/(2**eta)*(1+1e-12)+1e-15*math.Abs(fy) {
				if d2 > 0 {
					if Lh := 2 * (fx - fy - lin) / d2; 1 / *eta >= 2*Lh {
						*eta *= 1.25
					}
				}
				break
			}
			*eta *= 0.8
			if *eta < 1e-300 {
				return it, ""
			}
		}
		r.iters++
		gm := 0.0
		for k := 0; k < pr.nb; k++ {
			s := 0.0
			for i := r.off[k]; i < r.off[k+1]; i++ {
				dd := (y[i] - xn[i]) / *eta
				s += dd * dd
			}
			gm = math.Max(gm, math.Sqrt(s))
		}
		// restart when ⟨x⁺ − x, y − x⁺⟩ > 0 (gradient-mapping rule)
		rs := 0.0
		for i := range x {
			rs += (xn[i] - x[i]) * (y[i] - xn[i])
		}
		copy(xp, x)
		copy(x, xn)
		t = tn
		if rs > 0 {
			t = 1
			copy(xp, x)
		}
		if it%50 == 0 {
			r.progress(false, fx, fmt.Sprintf("FISTA, gradient mapping %.2e", gm))
		}
		if gm <= tol {
			return it + 1, ""
		}
	}
	return budget, ""
}

// powerNorm estimates ‖G‖₂ for the symmetric nu × nu matrix G (60 power steps from a
// fixed start, times 1.02).
func powerNorm(G []float64, n int) float64 {
	v := make([]float64, n)
	w := make([]float64, n)
	for i := range v {
		v[i] = 1 + 0.5*math.Sin(float64(7*i+1))
	}
	Gm := blas64.General{Rows: n, Cols: n, Stride: n, Data: G}
	lam := 0.0
	for k := 0; k < 60; k++ {
		nv := norm(v)
		if nv == 0 {
			return 0
		}
		scale(v, 1/nv)
		blas64.Gemv(blas.NoTrans, 1, Gm, blas64.Vector{N: n, Inc: 1, Data: v}, 0, blas64.Vector{N: n, Inc: 1, Data: w})
		lam = dot(v, w)
		v, w = w, v
	}
	return lam * 1.02
}

// maxH is the largest block width of pr's families.
func maxH(pr *prob) int {
	h := 0
	for _, fm := range pr.fams {
		h = max(h, fm.H)
	}
	return h
}
