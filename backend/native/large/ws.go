package large

import (
	"fmt"
	"math"
	"sort"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/lang/budget"
)

// solveIPM is the working-set method with the pattern-space IPM (package doc).
func (r *run) solveIPM() (*Result, error) {
	pr, set := r.pr, r.set
	r.rows = make([][]int32, pr.nb)
	usable := func(k int) bool {
		fm := pr.fams[pr.pf[pr.bp[k]]]
		return fm.Nc == 0 || fm.gateUnit != nil && anyNonzero(fm.gateUnit[pr.pp[pr.bp[k]]*fm.H:(pr.pp[pr.bp[k]]+1)*fm.H])
	}
	// initial certificate (cheap bounds ‖g_b‖/β only: a cold start takes every
	// violating block anyway) and working set
	pt := r.evaluateCheap(r.x)
	r.consider(pt)
	r.progress(true, pt.obj, "start: the zero network or the warm start, cheap certificate")
	if err := budget.Check(set.MaxMemory, budget.Floats(3, int64(pr.nu), int64(pr.nu)),
		fmt.Sprintf("the large solver's pattern-space matrices (3 × %d² floats: Gram, working copy, factor)", pr.nu),
		"Use fewer patterns (`patterns sample N`): the pattern space has Σ P·H coordinates."); err != nil && pr.nu <= set.MaxGram {
		return nil, err
	}
	if pr.nu <= set.MaxGram {
		r.setStage("Gram matrix")
		r.gramG = pr.gramAll(set.Context, func(done int) {
			r.progress(false, math.NaN(), fmt.Sprintf("Gram matrix: %d of %d samples", done, pr.n))
		})
		if r.gramG == nil {
			return r.result(r.stopped(), "ipm", 0)
		}
	}

	inW := make([]bool, pr.nb)
	var W []int
	warmStart := false
	for k := 0; k < pr.nb; k++ {
		if anyNonzero(r.x[r.off[k]:r.off[k+1]]) && usable(k) {
			W = append(W, k)
			inW[k] = true
			warmStart = true
		}
	}
	viol := violators(pt)
	perRound := 0
	if warmStart {
		perRound = max(pr.n, 50)
	} else if 2*len(viol) >= pr.nb {
		viol = viol[:0]
		for k := 0; k < pr.nb; k++ {
			viol = append(viol, k)
		}
	}
	sticky := make([]bool, pr.nb)
	everIn := make([]bool, pr.nb)
	addViol := func(viol []int) int {
		added := 0
		for _, k := range viol {
			if perRound > 0 && added >= perRound {
				break
			}
			if inW[k] || !usable(k) {
				continue
			}
			if everIn[k] {
				sticky[k] = true
			}
			W = append(W, k)
			inW[k] = true
			added++
		}
		return added
	}
	addViol(viol)
	innerTol := set.InnerTol
	tightened := 0
	status := solver.IterationLimit
	round := 0
	maxIter := set.MaxIter
	if maxIter <= 0 {
		maxIter = 5000
	}
	for {
		round++
		sort.Ints(W)
		var fresh []int
		for _, k := range W {
			everIn[k] = true
			if r.rows[k] == nil {
				fresh = append(fresh, k)
			}
		}
		r.setStage(fmt.Sprintf("round %d: initial cone rows of %d blocks", round, len(fresh)))
		parallel(len(fresh), func(i int) {
			if r.stopped() == "" {
				r.initRows(fresh[i])
			}
		})
		if s := r.stopped(); s != "" {
			status = s
			break
		}
		if len(W) == 0 {
			status = solver.Inaccurate
			break
		}
		// restricted solve with row generation
		var res ipmResult
		var q *sub
		rowRounds := 0
		restoredOK := false
		var prevQ *sub
		var state *ipmState
		checkAt := midCheck
		for {
			if err := r.subBudget(W); err != nil {
				return nil, err
			}
			q = r.buildSub(W)
			q.gapTol = set.Tol / 10
			if state != nil {
				q.start = warmState(prevQ, q, state)
				state = nil
			}
			if checkAt >= midCheckMin {
				qq, WW := q, W
				q.checkAt = checkAt
				q.check = func(x []float64) bool {
					r.setStage(fmt.Sprintf("round %d: cone row check inside the IPM", round))
					added, worst := r.checkRows(WW, qq, x)
					if r.stopped() != "" {
						return false // the check was cut short; the IPM polls halted next
					}
					// a feasible point from this iterate (projected and scaled), so that
					// a stop later in the solve has more than the zero network to return
					r.offer(r.feasible(r.flatX(WW, qq, x)), r.dualPt)
					r.setStage(fmt.Sprintf("round %d: restricted IPM on %d blocks", round, len(WW)))
					if debugWS {
						println("mid-solve rows: added", added, "worst", worst, "at gap", checkAt)
					}
					return added > 0
				}
			}
			q.stop = func(it int, f, relGap float64, xv, uL []float64) bool {
				// certify every iterate's λ with the cheap bounds and the IPM's
				// multipliers (no cone projections; two products with the
				// aggregated operators: the 10 000-image run took 2:42 with it
				// against 2:53 before this and the other changes of its release):
				// the bound after a stop is the best over all iterates, not over
				// the progress ticks only (at n = 10 000 the ticks' best after
				// 75 s ranged 285–563 between runs)
				xf, mult := r.flat(W, q, xv, uL)
				r.considerDual(r.eval(xf, mult, false))
				if r.due() {
					r.progressAt(r.iters+it, fmt.Sprintf("round %d, |W| %d, IPM iteration %d (restricted objective %.8g, gap %.1e)", round, len(W), it, f, relGap))
				}
				return r.stopped() != ""
			}
			q.halted = func() bool { return r.stopped() != "" }
			r.setStage(fmt.Sprintf("round %d: restricted IPM on %d blocks", round, len(W)))
			res = q.solve(innerTol, set.MaxInner)
			r.iters += res.iters
			if res.restart {
				// rows were added inside the solve: continue from its iterate
				prevQ, state = q, res.state
				checkAt /= 10
				continue
			}
			// stopped from outside: the best points so far stand (the dual bounds
			// certified at the progress ticks, the feasible points made at the row
			// checks inside the solve); projecting this iterate reads every cone row
			// (seconds at n = 10 000) and the stop must return within about a second
			if res.stop || res.x == nil {
				break
			}
			r.setStage(fmt.Sprintf("round %d: cone row check", round))
			added, worst := r.checkRows(W, q, res.x)
			rowRounds++
			if debugWS {
				println("rows: added", added, "worst", worst, "iters", res.iters, "ok", res.ok)
			}
			if added == 0 || rowRounds >= 30 {
				break
			}
			// project the violating blocks onto their full cones and certify that
			// point (the best certified point so far improves with every restricted
			// solve, so a stop keeps it); a re-solve only when it is not optimal
			r.setStage(fmt.Sprintf("round %d: projection onto the cones and certificate", round))
			if pt := r.restored(W, q, res); pt != nil && r.certified() {
				restoredOK = true
				break
			}
			// the projection lost too much: re-optimise the violating patterns'
			// blocks with the others held (repair) and certify that point
			r.setStage(fmt.Sprintf("round %d: repair of the violating patterns", round))
			if pt := r.repair(W, q, res.x); pt != nil {
				r.offer(pt, r.dualPt)
				if r.certified() {
					restoredOK = true
					break
				}
			}
			{
				// the re-solve works on the restricted solution's support: zero blocks
				// leave W (the round's certificate brings back any that violate)
				mx := 0.0
				for i := range W {
					mx = math.Max(mx, norm(res.x[q.xo[i]:q.xo[i]+q.h[i]]))
				}
				var next []int
				for i, k := range W {
					if norm(res.x[q.xo[i]:q.xo[i]+q.h[i]]) > set.ZeroTol*mx || sticky[k] {
						next = append(next, k)
					} else {
						inW[k] = false
					}
				}
				if len(next) > 0 && len(next) < len(W) {
					W = next
				}
			}
		}
		if res.x == nil || res.stop {
			status = solver.Inaccurate
			if s := r.stopped(); s != "" {
				status = s
			}
			break
		}
		if restoredOK {
			r.progress(true, r.best.obj, fmt.Sprintf("round %d |W| %d support %d max ρ %.9f (restored)", round, len(W), r.best.support, r.best.maxRho))
			status = solver.Optimal
			break
		}
		// the restricted solution in the flat layout, its multipliers per block
		x := make([]float64, len(r.x))
		mult := &multRows{rows: make([][]int32, pr.nb), mu: make([][]float64, pr.nb)}
		mx := 0.0
		for i, k := range W {
			xb := res.x[q.xo[i] : q.xo[i]+q.h[i]]
			copy(x[r.off[k]:r.off[k+1]], xb)
			mult.rows[k] = q.rowIdx[i]
			mult.mu[k] = res.uL[q.lo[i] : q.lo[i]+q.m[i]]
			mx = math.Max(mx, norm(xb))
		}
		r.setStage(fmt.Sprintf("round %d: certificate", round))
		full := r.evaluate(x, mult)
		r.considerDual(full)
		// the primal candidate: the restricted solution with every block that
		// violates a row (the IPM meets its working rows to an absolute accuracy,
		// which is a large relative violation on a tiny block) projected onto its
		// full cone
		r.offer(r.feasible(x), full)
		// rounded: blocks with ‖x_b‖ ≤ ZeroTol·max‖x‖ set to zero
		keep := make([]bool, pr.nb)
		xr := append([]float64(nil), x...)
		zeroed := false
		for _, k := range W {
			if norm(x[r.off[k]:r.off[k+1]]) > set.ZeroTol*mx {
				keep[k] = true
			} else {
				clear(xr[r.off[k]:r.off[k+1]])
				zeroed = true
			}
		}
		if zeroed && r.certified() {
			// the sparser point, when its objective is no more than a thousandth of
			// the tolerance above the best one (a rounded point that merely met the
			// tolerance against the solver's bound could miss it against the
			// pipeline's recomputed one)
			rp := r.feasible(xr)
			if rp.obj-r.best.obj <= 1e-3*set.Tol*math.Max(1, math.Abs(rp.obj)) {
				rp.maxRho, rp.rho = full.maxRho, full.rho
				r.best = rp
			}
		}
		r.progress(true, r.best.obj, fmt.Sprintf("round %d |W| %d support %d max ρ %.9f", round, len(W), full.support, full.maxRho))
		if r.certified() {
			status = solver.Optimal
			break
		}
		if s := r.stopped(); s != "" {
			status = s
			break
		}
		// next W: kept blocks, sticky ones, and the violators outside W
		var next []int
		for i := range inW {
			inW[i] = false
		}
		dropped := 0
		for _, k := range W {
			if keep[k] || sticky[k] {
				next = append(next, k)
				inW[k] = true
			} else {
				dropped++
			}
		}
		W = next
		added := addViol(violators(full))
		if added == 0 && dropped > 0 {
			added = -1
		}
		if added == 0 && tightened < 2 && res.ok {
			innerTol *= 1e-2
			tightened++
			added = -1
		}
		if added == 0 {
			status = solver.Inaccurate
			break
		}
		if round >= set.MaxRounds || r.iters >= maxIter {
			status = solver.IterationLimit
			break
		}
	}
	return r.result(status, "ipm", round)
}

// restored certifies the restricted solution (res, on q) by two points: its own
// λ = Π(y − ŷ) with the IPM's multipliers gives the dual bound (the dual
// constraints hold for the full program whatever the primal violations: the
// multipliers belong to rows of the full cones and ρ_b is bounded over the full
// cones), and the point with every violating block projected onto its full cone
// (coneProject: NNLS on the working rows, checked against every row) gives a
// feasible primal value. Both are recorded (r.dual, r.best); the projected point is
// returned, nil when a projection could not be verified.
func (r *run) restored(W []int, q *sub, res ipmResult) *point {
	raw, mult := r.flat(W, q, res.x, res.uL)
	d := r.evaluate(raw, mult)
	r.considerDual(d)
	pt := r.feasible(raw)
	if debugWS {
		println("restored: raw obj", d.obj, "dual", d.dual, "maxRho", d.maxRho, "restored obj", pt.obj)
	}
	r.offer(pt, d)
	return pt
}

// flat returns the restricted iterate xv (x layout of q over W) in the flat block
// layout and its cone multipliers uL per block (copies).
func (r *run) flat(W []int, q *sub, xv, uL []float64) ([]float64, *multRows) {
	pr := r.pr
	mult := &multRows{rows: make([][]int32, pr.nb), mu: make([][]float64, pr.nb)}
	for i, k := range W {
		mult.rows[k] = q.rowIdx[i]
		mult.mu[k] = append([]float64(nil), uL[q.lo[i]:q.lo[i]+q.m[i]]...)
	}
	return r.flatX(W, q, xv), mult
}

// flatX returns the restricted iterate xv (x layout of q over W) in the flat block
// layout (a copy; blocks outside W are zero).
func (r *run) flatX(W []int, q *sub, xv []float64) []float64 {
	raw := make([]float64, len(r.x))
	for i, k := range W {
		copy(raw[r.off[k]:r.off[k+1]], xv[q.xo[i]:q.xo[i]+q.h[i]])
	}
	return raw
}

// project returns x with every block that violates a row of its cone (relative
// slack below −rowTol) replaced by its projection onto the full cone (coneProject:
// NNLS on the block's working rows, checked against every row), or by zero when
// the projection could not be verified (or the solve is stopping).

func (r *run) project(x []float64) []float64 {
	pr := r.pr
	out := append([]float64(nil), x...)
	// every block's rows are checked on every core (a product with all of its cone
	// rows: 1.5 s serially at n = 10 000 and 400 blocks); after a stop the
	// remaining blocks are set to zero, which every cone holds
	viol := make([]bool, pr.nb)
	parallel(pr.nb, func(k int) {
		xb := out[r.off[k]:r.off[k+1]]
		fm := pr.fams[pr.pf[pr.bp[k]]]
		if fm.Nc == 0 || !anyNonzero(xb) {
			return
		}
		if r.stopped() != "" {
			clear(xb)
			return
		}
		if _, w := fm.violatedRows(pr.pp[pr.bp[k]], xb, rowTol, 0); w > rowTol {
			viol[k] = true
		}
	})
	var bad []int
	for k, v := range viol {
		if v {
			bad = append(bad, k)
		}
	}
	parallel(len(bad), func(i int) {
		k := bad[i]
		gp := pr.bp[k]
		fm := pr.fams[pr.pf[gp]]
		xb := out[r.off[k]:r.off[k+1]]
		if r.stopped() != "" {
			clear(xb) // zero is in every cone
			return
		}
		rows := append([]int32(nil), r.rows[k]...)
		v, u, exact := fm.coneProject(pr.pp[gp], x[r.off[k]:r.off[k+1]], &rows, rowTol/10, 30)
		if !exact {
			// the projection could not be verified against every row: the block
			// is set to zero (in every cone), so the point stays feasible
			clear(xb)
			return
		}
		for j := range u {
			xb[j] = v * u[j]
		}
	})
	return out
}

// offer makes the feasible point pt the best one when its objective is smaller,
// with the certificate's ρ of cert (the point whose λ certified the bound).
func (r *run) offer(pt, cert *point) {
	if r.best == nil || pt.obj < r.best.obj {
		pt.maxRho, pt.rho = cert.maxRho, cert.rho
		r.best = pt
	}
}

// feasible is the objective (no certificate) of x with its violating blocks projected
// onto their full cones (project), then scaled by the best factor α ≥ 0: a point
// every cone row accepts (the cones are closed under α ≥ 0) whose objective is at
// most the zero network's. With ŷ the prediction (centred when there is an output
// bias) and R = Σ‖x_k‖, the objective along the ray is ½‖ỹ − αŷ‖² + αβR, minimised
// at α = (ỹᵀŷ − βR)/‖ŷ‖², clipped at 0. At an optimum α = 1 (the objective is
// stationary along the ray), so it only matters for interior or stopped iterates.
func (r *run) feasible(x []float64) *point {
	pt := r.objectiveOnly(r.project(x))
	pr := r.pr
	yy, yh := 0.0, 0.0 // ỹᵀŷ and ‖ŷ‖² with ŷ = ỹ − λ
	for i, l := range pt.lam {
		h := pr.yt[i] - l
		yy += pr.yt[i] * h
		yh += h * h
	}
	if !(yh > 0) {
		return pt
	}
	a := math.Max(0, (yy-pr.beta*pt.reg)/yh)
	if math.Abs(a-1) <= 1e-12 {
		return pt
	}
	xs := append([]float64(nil), pt.x...)
	for i := range xs {
		xs[i] *= a
	}
	if q := r.objectiveOnly(xs); q.obj < pt.obj {
		return q
	}
	return pt
}

// objectiveOnly evaluates the objective (and λ, bias) of x without a certificate.
func (r *run) objectiveOnly(x []float64) *point {
	pr := r.pr
	pt := &point{x: x}
	u := make([]float64, pr.nu)
	r.combine(x, u)
	yhat := make([]float64, pr.n)
	pr.predict(u, yhat)
	lam := make([]float64, pr.n)
	for i := range lam {
		lam[i] = pr.y[i] - yhat[i]
	}
	if pr.bias {
		m := 0.0
		for _, v := range lam {
			m += v
		}
		pt.bias = m / float64(pr.n)
		for i := range lam {
			lam[i] -= pt.bias
		}
	}
	pt.lam = lam
	reg := 0.0
	for k := 0; k < pr.nb; k++ {
		if nb := norm(x[r.off[k]:r.off[k+1]]); nb > 0 {
			reg += nb
			pt.support++
		}
	}
	pt.reg = reg
	pt.obj = 0.5*dot(lam, lam) + pr.beta*reg
	return pt
}

// violators lists the blocks with ρ_b > 1 by decreasing ρ.
func violators(pt *point) []int {
	var v []int
	for k, rho := range pt.rho {
		if rho > 1 {
			v = append(v, k)
		}
	}
	sort.SliceStable(v, func(i, j int) bool { return pt.rho[v[i]] > pt.rho[v[j]] })
	return v
}

func allPatterns(np int) []int {
	out := make([]int, np)
	for i := range out {
		out[i] = i
	}
	return out
}

// initRows gives block k its first working rows: the prob.rowInit(H) rows with the
// smallest distance at the unit gate of its pattern (all rows when there are few).
func (r *run) initRows(k int) {
	pr := r.pr
	gp := pr.bp[k]
	fm := pr.fams[pr.pf[gp]]
	if fm.Nc == 0 {
		r.rows[k] = []int32{}
		return
	}
	p := pr.pp[gp]
	m := fm.f.Sign.Count(p)
	if m <= 2*pr.rowInit(fm.H) || fm.gateUnit == nil {
		var all []int32
		fm.f.Sign.On.Each(p, func(r int) {
			if fm.cnorm[r] > 0 {
				all = append(all, int32(r))
			}
		})
		r.rows[k] = all
		return
	}
	rows := fm.smallestRows(p, fm.gateUnit[p*fm.H:(p+1)*fm.H], pr.rowInit(fm.H), nil, -1)
	sort.Slice(rows, func(a, b int) bool { return rows[a] < rows[b] })
	r.rows[k] = rows
}

// checkRows checks every cone row of the nonzero blocks of W at the restricted
// solution x (sub layout) and adds the violated ones (at most rowAdd(H) per block,
// most violated first); it returns the number added and the worst relative violation.
func (r *run) checkRows(W []int, q *sub, x []float64) (int, float64) {
	pr := r.pr
	mx := 0.0
	for i := range W {
		mx = math.Max(mx, norm(x[q.xo[i]:q.xo[i]+q.h[i]]))
	}
	added := make([]int, len(W))
	worst := make([]float64, len(W))
	parallel(len(W), func(i int) {
		if r.stopped() != "" {
			return
		}
		k := W[i]
		xb := x[q.xo[i] : q.xo[i]+q.h[i]]
		if norm(xb) <= r.set.ZeroTol*mx {
			return
		}
		gp := pr.bp[k]
		fm := pr.fams[pr.pf[gp]]
		if fm.Nc == 0 {
			return
		}
		bad, w := fm.violatedRows(pr.pp[gp], xb, rowTol, rowAdd(fm.H))
		worst[i] = w
		var fresh []int32
		for _, b := range bad {
			if !has(r.rows[k], b) {
				fresh = append(fresh, b)
			}
		}
		if len(fresh) > 0 {
			r.rows[k] = merge(r.rows[k], fresh)
			added[i] = len(fresh)
		}
	})
	tot, w := 0, 0.0
	for i := range W {
		tot += added[i]
		w = math.Max(w, worst[i])
	}
	return tot, w
}

// subBudget checks the restricted problem's pattern-space matrices (Gram, working
// copy and factor: 3·nu_W² floats over W's patterns) against the memory budget
// before buildSub allocates them.
func (r *run) subBudget(W []int) error {
	pr := r.pr
	seen := map[int]bool{}
	nu := int64(0)
	for _, k := range W {
		if gp := pr.bp[k]; !seen[gp] {
			seen[gp] = true
			nu += int64(pr.ph[gp])
		}
	}
	return budget.Check(r.set.MaxMemory, budget.Floats(3, nu, nu),
		fmt.Sprintf("the large solver's restricted pattern-space matrices (3 × %d² floats for %d blocks)", nu, len(W)),
		"Use fewer patterns (`patterns sample N`) or fewer features per pattern: the restricted problem's Newton matrix has Σ H coordinates over its patterns.")
}

// buildSub assembles the restricted problem on W: its patterns, G and c restricted
// to them, and each block's working rows.
func (r *run) buildSub(W []int) *sub {
	pr := r.pr
	q := &sub{beta: pr.beta}
	patIdx := map[int]int{}
	var pats []int
	for _, k := range W {
		gp := pr.bp[k]
		if _, ok := patIdx[gp]; !ok {
			patIdx[gp] = len(pats)
			pats = append(pats, gp)
		}
	}
	for _, gp := range pats {
		q.ph = append(q.ph, pr.ph[gp])
	}
	for _, k := range W {
		gp := pr.bp[k]
		fm := pr.fams[pr.pf[gp]]
		q.h = append(q.h, fm.H)
		q.pat = append(q.pat, patIdx[gp])
		q.sg = append(q.sg, pr.bsg[k])
		q.rows = append(q.rows, fm.rowMatrix(pr.pp[gp], r.rows[k]))
		q.rowIdx = append(q.rowIdx, r.rows[k])
	}
	q.finish()
	q.c = make([]float64, q.nu)
	for i, gp := range pats {
		copy(q.c[q.po[i]:q.po[i]+q.ph[i]], r.c[pr.po[gp]:pr.po[gp]+pr.ph[gp]])
	}
	q.yy = dot(pr.yt, pr.yt)
	if r.gramG != nil && len(pats) == pr.np {
		q.G = r.gramG // every pattern, in order: no copy
	} else if r.gramG != nil {
		q.G = make([]float64, q.nu*q.nu)
		for i, gi := range pats {
			for j, gj := range pats {
				for a := 0; a < q.ph[i]; a++ {
					src := r.gramG[(pr.po[gi]+a)*pr.nu+pr.po[gj] : (pr.po[gi]+a)*pr.nu+pr.po[gj]+q.ph[j]]
					copy(q.G[(q.po[i]+a)*q.nu+q.po[j]:], src)
				}
			}
		}
	} else {
		J, cols := pr.jcols(pats)
		q.G = gram(J, pr.n, cols)
	}
	return q
}

const debugWS = false

// repair turns a restricted solution whose blocks violate cone rows outside their
// working sets into a feasible point without a second full solve: the blocks of
// every pattern with a violated row (both sign copies, set VB) are re-optimised with
// the other blocks of W held at their values. With u_F the fixed blocks' pattern
// vector and r_F = Πy − ΠĴu_F, the objective restricted to VB is the sub problem
// with c' = Ĵᵀr_F and ‖ỹ‖² = ‖r_F‖² on VB's patterns, exactly the full objective for
// every value of VB's blocks (the fixed blocks' β‖x‖ is added back in the
// evaluation). Its Newton systems have VB's pattern coordinates only (a few hundred
// where the full restricted problem has thousands), so a row-generation loop on it
// (at most repairRounds restricted solves, each followed by the full row check) is
// cheap. The point is returned when the last check adds no row (the same
// feasibility test as a restricted solution), nil otherwise; the caller certifies it
// with the dual bound it already holds.
func (r *run) repair(W []int, q *sub, xs []float64) *point {
	pr := r.pr
	// blocks whose working rows grew since q was built
	bad := map[int]bool{}
	for i, k := range W {
		if len(r.rows[k]) != len(q.rowIdx[i]) {
			bad[pr.bp[k]] = true
		}
	}
	if len(bad) == 0 {
		return nil
	}
	x := make([]float64, len(r.x))
	var VB []int
	for i, k := range W {
		if bad[pr.bp[k]] {
			VB = append(VB, k)
			continue
		}
		copy(x[r.off[k]:r.off[k+1]], xs[q.xo[i]:q.xo[i]+q.h[i]])
	}
	uF := make([]float64, pr.nu)
	r.combine(x, uF)
	rF := make([]float64, pr.n)
	pr.predict(uF, rF)
	if pr.bias {
		center(rF)
	}
	for i := range rF {
		rF[i] = pr.yt[i] - rF[i]
	}
	cF := make([]float64, pr.nu)
	pr.adjoint(rF, cF)
	yy := dot(rF, rF)
	for round := 0; round < repairRounds; round++ {
		if r.stopped() != "" {
			return nil
		}
		qs := r.buildSub(VB)
		// buildSub's patterns are VB's in order of first appearance (q.po layout)
		seen := map[int]bool{}
		o := 0
		for _, k := range VB {
			gp := pr.bp[k]
			if seen[gp] {
				continue
			}
			seen[gp] = true
			copy(qs.c[o:o+pr.ph[gp]], cF[pr.po[gp]:pr.po[gp]+pr.ph[gp]])
			o += pr.ph[gp]
		}
		qs.yy = yy
		qs.gapTol = r.set.Tol / 100
		res := qs.solve(r.set.InnerTol, r.set.MaxInner)
		r.iters += res.iters
		if res.x == nil || res.stop {
			return nil
		}
		added, _ := r.checkRows(VB, qs, res.x)
		if added > 0 {
			continue
		}
		for i, k := range VB {
			copy(x[r.off[k]:r.off[k+1]], res.x[qs.xo[i]:qs.xo[i]+qs.h[i]])
		}
		pt := r.feasible(x)
		if debugWS {
			println("repair:", len(VB), "blocks", round+1, "solves, objective", pt.obj)
		}
		return pt
	}
	return nil
}

// midCheck is the relative gap of the restricted IPM's first row check inside the
// solve (then ÷10 per restart, while ≥ midCheckMin): violated rows found there join
// the working sets and the solve continues from its iterate (warmState) instead of
// being repeated from the start after convergence.
const (
	midCheck    = 1e-1
	midCheckMin = 1e-4
)

// repairRounds bounds the row-generation solves of repair.
const repairRounds = 6
