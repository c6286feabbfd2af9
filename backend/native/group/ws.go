package group

import (
	"fmt"
	"math"
	"sort"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"cnnc/backend/solver"
	"cnnc/compiler/certify"
	"cnnc/compiler/convex"
)

// blockID names block (family f, copy s, pattern p).
type blockID struct{ f, s, p int }

// wsRun holds the working-set method's state (package doc, "Method ws").
type wsRun struct {
	r     *run
	cones []map[int]*mat.Dense // per family: pattern → cone rows (lazily built)
	seen  map[blockID]bool     // blocks that have been in W
}

func (w *wsRun) everIn(b blockID) bool { return w.seen[b] }
func (w *wsRun) mark(b blockID)        { w.seen[b] = true }

func (w *wsRun) coneRows(f, p int) *mat.Dense {
	if m, ok := w.cones[f][p]; ok {
		return m
	}
	m := certify.ConeRows(w.r.fams[f].f, p)
	w.cones[f][p] = m
	return m
}

// rhoAll computes ρ_b = ConeMax_b(s𝒫_bᵀλ)/β for every block (gradients by one
// product per family; ConeMax only where ‖g‖ > β). It returns max ρ (≥ 0), the blocks
// with ρ_b > 1 sorted by decreasing ρ (ties by index), and whether every ConeMax met
// its tolerance (a failed one contributes its upper bound ‖g‖/β).
func (w *wsRun) rhoAll(lam []float64) (float64, []blockID, []float64) {
	r := w.r
	maxRho := 0.0
	var viol []blockID
	var vr []float64
	for fi, fm := range r.fams {
		P, H := fm.P, fm.H
		Mm := blas64.General{Rows: fm.Np, Cols: P, Stride: P, Data: make([]float64, fm.Np*P)}
		for row := 0; row < fm.Np; row++ {
			l := lam[fm.sample[row]]
			if l == 0 {
				continue
			}
			for p := 0; p < P; p++ {
				Mm.Data[row*P+p] = fm.W[row*P+p] * l
			}
		}
		G := blas64.General{Rows: P, Cols: H, Stride: H, Data: make([]float64, P*H)}
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, Mm, fm.A, 0, G)
		for s, sg := range fm.signs {
			for p := 0; p < P; p++ {
				g := make([]float64, H)
				for j := range g {
					g[j] = sg * G.Data[p*H+j]
				}
				ng := norm(g)
				rho := ng / r.beta
				if rho > 1 && fm.Nc > 0 {
					val, _, _, ok := certify.ConeMax(g, w.coneRows(fi, p))
					if ok {
						rho = val / r.beta
					}
				}
				maxRho = math.Max(maxRho, rho)
				if rho > 1 {
					viol = append(viol, blockID{fi, s, p})
					vr = append(vr, rho)
				}
			}
		}
	}
	idx := make([]int, len(viol))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return vr[idx[a]] > vr[idx[b]] })
	sv := make([]blockID, len(viol))
	sr := make([]float64, len(viol))
	for i, k := range idx {
		sv[i], sr[i] = viol[k], vr[k]
	}
	return maxRho, sv, sr
}

// build assembles the restricted problem on W.
func (w *wsRun) build(W []blockID) *sub {
	r := w.r
	n := r.n
	q := &sub{n: n, beta: r.beta, yt: append([]float64(nil), r.y...)}
	if r.bias {
		project(q.yt, true)
	}
	for _, b := range W {
		fm := r.fams[b.f]
		q.xo = append(q.xo, q.nx)
		q.h = append(q.h, fm.H)
		q.nx += fm.H
		M := w.coneRows(b.f, b.p)
		m := 0
		var md []float64
		if M != nil {
			m, _ = M.Dims()
			md = M.RawMatrix().Data
		}
		q.M = append(q.M, md)
		q.m = append(q.m, m)
		q.lo = append(q.lo, q.nl)
		q.nl += m
		var x0 []float64
		if m > 0 {
			x0 = fm.gates[b.p*fm.H : (b.p+1)*fm.H]
		}
		q.x0 = append(q.x0, x0)
	}
	q.J = make([]float64, n*q.nx)
	for k, b := range W {
		fm := r.fams[b.f]
		sg := fm.signs[b.s]
		H := fm.H
		for row := 0; row < fm.Np; row++ {
			c := sg * fm.W[row*fm.P+b.p]
			if c == 0 {
				continue
			}
			dst := q.J[fm.sample[row]*q.nx+q.xo[k]:]
			a := fm.A.Data[row*H : row*H+H]
			for j, v := range a {
				dst[j] += c * v
			}
		}
		if r.bias {
			for j := 0; j < H; j++ {
				mean := 0.0
				for i := 0; i < n; i++ {
					mean += q.J[i*q.nx+q.xo[k]+j]
				}
				mean /= float64(n)
				for i := 0; i < n; i++ {
					q.J[i*q.nx+q.xo[k]+j] -= mean
				}
			}
		}
	}
	return q
}

// wsPoint is a candidate point with its certificate.
type wsPoint struct {
	x       [][]float64 // per block of W, nil = zero
	W       []blockID
	uL      []float64
	sub     *sub
	obj     float64
	lam     []float64
	maxRho  float64
	viol    []blockID
	vrho    []float64
	dual    float64
	support []blockID
}

// evaluate sets r.x to the point (blocks of W, zero elsewhere), computes the
// objective, λ = Π(y − ŷ), every ρ_b and the dual bound.
func (w *wsRun) evaluate(pt *wsPoint) {
	r := w.r
	for i, fm := range r.fams {
		for j := range r.x[i].V.Data {
			r.x[i].V.Data[j] = 0
		}
		_ = fm
	}
	pt.support = nil
	for k, b := range pt.W {
		if pt.x[k] == nil {
			continue
		}
		fm := r.fams[b.f]
		copy(r.x[b.f].V.Data[(b.s*fm.P+b.p)*fm.H:], pt.x[k])
		pt.support = append(pt.support, b)
	}
	for i, fm := range r.fams {
		fm.forward(r.x[i])
	}
	loss := r.residual(r.x, r.resX)
	pt.obj = loss + r.regSum(r.x)
	pt.lam = make([]float64, r.n)
	for i, v := range r.resX {
		pt.lam[i] = -v
	}
	pt.maxRho, pt.viol, pt.vrho = w.rhoAll(pt.lam)
	// Dual: max over θ ≤ 1/max(1, ρ) of θλᵀy − ½θ²‖λ‖² (λ/ρ is dual feasible).
	ly, ll := dot(pt.lam, r.y), dot(pt.lam, pt.lam)
	th := 1 / math.Max(1, pt.maxRho)
	if ll > 0 && ly/ll < th {
		th = math.Max(0, ly/ll)
	}
	pt.dual = th*ly - 0.5*th*th*ll
}

// solveWS runs the working-set method; see the package doc.
func (r *run) solveWS(start time.Time, feasScale float64, rec solver.Recorder) (*Result, error) {
	set := r.set
	w := &wsRun{r: r, seen: map[blockID]bool{}}
	w.cones = make([]map[int]*mat.Dense, len(r.fams))
	for i := range w.cones {
		w.cones[i] = map[int]*mat.Dense{}
	}
	usableBlock := func(b blockID) bool {
		fm := r.fams[b.f]
		if fm.Nc == 0 || w.coneRows(b.f, b.p) == nil {
			return true
		}
		return fm.gateOK != nil && fm.gateOK[b.p]
	}
	// Initial W: warm nonzero blocks that are strictly inside their cones... (warm
	// values only choose W; the IPM starts from its own interior point).
	inW := map[blockID]bool{}
	var W []blockID
	for i, fm := range r.fams {
		for s := 0; s < fm.S; s++ {
			for p := 0; p < fm.P; p++ {
				row := r.x[i].V.Data[(s*fm.P+p)*fm.H : (s*fm.P+p+1)*fm.H]
				b := blockID{i, s, p}
				if norm(row) > 0 && usableBlock(b) {
					W = append(W, b)
					inW[b] = true
				}
			}
		}
	}
	r.residual(r.x, r.resX)
	lam0 := make([]float64, r.n)
	for i, v := range r.resX {
		lam0[i] = -v
	}
	_, viol0, _ := w.rhoAll(lam0)
	added := 0
	for _, b := range viol0 {
		if added >= set.AddPerRound {
			break
		}
		if !inW[b] && usableBlock(b) {
			W = append(W, b)
			inW[b] = true
			added++
		}
	}
	sticky := map[blockID]bool{}
	innerTol := set.InnerTol
	tightened := 0
	var best *wsPoint
	bestDual := math.Inf(-1)
	total, round := 0, 0
	status := solver.IterationLimit
	var final *wsPoint
	for {
		round++
		for _, b := range W {
			w.mark(b)
		}
		pt := &wsPoint{W: W}
		var ok bool
		if len(W) > 0 {
			q := w.build(W)
			res := q.pdipm(innerTol, set.MaxInner)
			total += res.iters
			ok = res.ok
			// Support: blocks with ‖x_k‖ > ZeroTol·max‖x‖ (plus sticky ones); re-solve
			// on the support alone so the returned point is exactly sparse.
			mx := 0.0
			for k := range W {
				mx = math.Max(mx, norm(res.x[q.xo[k]:q.xo[k]+q.h[k]]))
			}
			var S []blockID
			for k, b := range W {
				if norm(res.x[q.xo[k]:q.xo[k]+q.h[k]]) > set.ZeroTol*mx || sticky[b] {
					S = append(S, b)
				}
			}
			if len(S) < len(W) && len(S) > 0 {
				q2 := w.build(S)
				res2 := q2.pdipm(innerTol, set.MaxInner)
				total += res2.iters
				q, res, W, ok = q2, res2, S, res2.ok
				pt.W = S
			}
			pt.x = make([][]float64, len(W))
			for k := range W {
				pt.x[k] = append([]float64(nil), res.x[q.xo[k]:q.xo[k]+q.h[k]]...)
			}
			pt.uL, pt.sub = res.uL, q
		}
		w.evaluate(pt)
		bestDual = math.Max(bestDual, pt.dual)
		if best == nil || pt.obj < best.obj {
			best = pt
		}
		gap := best.obj - bestDual
		rel := gap / math.Max(1, math.Abs(best.obj))
		rec.Record(solver.Iterate{Iter: total, PrimalRes: 0, DualRes: math.Max(0, pt.maxRho-1), Gap: rel, Objective: best.obj, Elapsed: time.Since(start),
			Extra: fmt.Sprintf("round %d |W| %d support %d max ρ %.9f", round, len(pt.W), len(pt.support), pt.maxRho)})
		final = best
		if gap <= set.Tol*math.Max(1, math.Abs(best.obj)) {
			status = solver.Optimal
			break
		}
		// add violators not in the new W (the support)
		inW = map[blockID]bool{}
		for _, b := range pt.W {
			inW[b] = true
		}
		W = append([]blockID(nil), pt.W...)
		added = 0
		for _, b := range pt.viol {
			if added >= set.AddPerRound {
				break
			}
			if inW[b] || !usableBlock(b) {
				continue
			}
			if w.everIn(b) {
				sticky[b] = true
			}
			W = append(W, b)
			inW[b] = true
			added++
		}
		if added == 0 && tightened < 2 {
			// no violator outside W: the gap is the restricted solve's own accuracy;
			// re-solve with a 100× tighter inner tolerance (at most twice).
			innerTol *= 1e-2
			tightened++
			added = -1
		}
		if added == 0 {
			// nothing left to add: either the restricted solve is not accurate enough
			// or a violating block has no interior start.
			status = solver.Inaccurate
			_ = ok
			break
		}
		if set.TimeLimit > 0 && time.Since(start) > set.TimeLimit {
			status = solver.TimeLimit
			break
		}
		if round >= set.MaxOuter || total >= set.MaxIter {
			status = solver.IterationLimit
			break
		}
	}
	// Write the returned point into r.x and build the Result.
	w.evaluate(final)
	sol := &convex.Solution{Blocks: make([][]*mat.Dense, len(r.fams))}
	mult := make([][]*mat.Dense, len(r.fams))
	for i, fm := range r.fams {
		sol.Blocks[i] = make([]*mat.Dense, fm.S)
		if fm.Nc > 0 {
			mult[i] = make([]*mat.Dense, fm.S)
		}
		for s := 0; s < fm.S; s++ {
			sol.Blocks[i][s] = mat.NewDense(fm.P, fm.H, append([]float64(nil), r.x[i].V.Data[s*fm.P*fm.H:(s+1)*fm.P*fm.H]...))
			if fm.Nc > 0 {
				mult[i][s] = mat.NewDense(fm.Nc, fm.P, nil)
			}
		}
	}
	if final.sub != nil {
		for k, b := range final.W {
			fm := r.fams[b.f]
			if fm.Nc == 0 {
				continue
			}
			m := 0
			for row := 0; row < fm.Nc; row++ {
				if fm.Sign[row*fm.P+b.p] == 0 || m >= final.sub.m[k] {
					continue
				}
				mult[b.f][b.s].Set(row, b.p, final.uL[final.sub.lo[k]+m])
				m++
			}
		}
	}
	if r.bias {
		mean := 0.0
		for i := range r.y {
			mean += r.y[i] - r.yhat[i]
		}
		sol.Bias = mean / float64(r.n)
	}
	viol := 0.0
	for i, fm := range r.fams {
		_, v := fm.penalty(r.x[i], make([]float64, fm.Nc*fm.S*fm.P), 1)
		viol = math.Max(viol, v)
	}
	if status == solver.Optimal && viol > set.TolFeas*feasScale {
		status = solver.Inaccurate
	}
	res := &Result{Status: status, Solution: sol, Objective: final.obj, Dual: bestDual, Multipliers: mult,
		Iterations: total, OuterIterations: round, MaxViolation: viol, GradNorm: r.beta * math.Max(0, final.maxRho-1),
		Restored: true, Method: "ws", Seconds: time.Since(start).Seconds(), Support: len(final.support), MaxRatio: final.maxRho}
	rec.End(status, solver.Iterate{Iter: total, PrimalRes: viol, DualRes: math.Max(0, final.maxRho-1), Gap: (final.obj - bestDual) / math.Max(1, math.Abs(final.obj)), Objective: final.obj, Elapsed: time.Since(start)})
	return res, nil
}
