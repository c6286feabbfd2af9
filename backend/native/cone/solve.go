package cone

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// SCS's constants for the metric R and the adaptive scale.
const (
	tauFactor       = 10.0 // r_τ
	zeroConeFactor  = 1000 // R_y on zero-cone rows is 1/(zeroConeFactor·scale)
	rescaleMinIters = 100  // iterations between scale updates
	minScale        = 1e-6
	maxScale        = 1e6
)

// Solve runs the solver on p. It returns an error only for malformed input (sizes,
// NaN or infinite data, invalid settings) or an unsupported cone (complex PSD); every
// other outcome is a Result whose Status says what was achieved. rec may be nil.
func Solve(p *conic.Problem, set Settings, rec solver.Recorder) (*Result, error) {
	if p == nil {
		return nil, errors.New("cone: nil problem")
	}
	if rec == nil {
		rec = solver.Nop{}
	}
	set.fill()
	if !(set.Alpha > 0 && set.Alpha < 2) {
		return nil, fmt.Errorf("cone: alpha = %g, want 0 < alpha < 2", set.Alpha)
	}
	if set.EpsAbs < 0 || set.EpsRel < 0 || set.EpsInfeas < 0 || set.Scale < 0 || set.RhoX < 0 || set.MaxIters < 0 {
		return nil, errors.New("cone: negative tolerance, scale, rho_x or max_iters")
	}
	switch set.LinearSystem {
	case "", "dense", "block":
	default:
		return nil, fmt.Errorf("cone: linear system %q, want \"\", \"dense\" or \"block\"", set.LinearSystem)
	}
	L, err := checkProblem(p)
	if err != nil {
		return nil, err
	}
	switch set.Method {
	case "", "auto", "ipm", "admm":
	default:
		return nil, fmt.Errorf("cone: method %q, want \"auto\", \"ipm\" or \"admm\"", set.Method)
	}
	w := newWork(p, L, &set)
	start := time.Now()
	if set.Method != "admm" {
		errIPM := ipmSupported(L)
		if set.Method == "ipm" && errIPM != nil {
			return nil, fmt.Errorf("cone: %v", errIPM)
		}
		if errIPM == nil {
			w.sc = equilibrate(p, L, !set.NoNormalize)
			iw := newIPM(w)
			flops, mem := iw.kkt.cost()
			if set.Method == "ipm" || (flops <= ipmAutoFlops && mem <= ipmAutoMemory) {
				set.EpsAbs *= set.IPMEpsFactor
				set.EpsRel *= set.IPMEpsFactor
				return iw.run(rec, start), nil
			}
		}
	}
	if err := w.setup(); err != nil {
		return nil, err
	}
	res := w.run(rec, start)
	return res, nil
}

// checkProblem validates p and returns its cone layout.
func checkProblem(p *conic.Problem) (*layout, error) {
	if p.M < 0 || p.N < 0 {
		return nil, fmt.Errorf("cone: negative dimensions m=%d n=%d", p.M, p.N)
	}
	L, err := newLayout(&p.Cones, p.M)
	if err != nil {
		return nil, fmt.Errorf("cone: %v", err)
	}
	if p.A.M != p.M || p.A.N != p.N {
		return nil, fmt.Errorf("cone: A is %d×%d, want %d×%d", p.A.M, p.A.N, p.M, p.N)
	}
	if len(p.B) != p.M || len(p.C) != p.N {
		return nil, fmt.Errorf("cone: b has %d entries and c %d, want m=%d and n=%d", len(p.B), len(p.C), p.M, p.N)
	}
	if err := p.A.Check(); err != nil {
		return nil, fmt.Errorf("cone: A: %v", err)
	}
	if p.P != nil {
		if p.P.M != p.N || p.P.N != p.N {
			return nil, fmt.Errorf("cone: P is %d×%d, want %d×%d", p.P.M, p.P.N, p.N, p.N)
		}
		if err := p.P.Check(); err != nil {
			return nil, fmt.Errorf("cone: P: %v", err)
		}
		if err := finite("P", p.P.Val); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		v    []float64
	}{{"A", p.A.Val}, {"b", p.B}, {"c", p.C}} {
		if err := finite(f.name, f.v); err != nil {
			return nil, err
		}
	}
	return L, nil
}

func finite(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("cone: %s[%d] = %g is not finite", name, i, x)
		}
	}
	return nil
}

// work is the solver state. Hatted quantities of the doc comment live in the
// equilibrated space; variables named x, y, s here are hatted unless noted.
type work struct {
	p    *conic.Problem
	L    *layout
	set  *Settings
	sc   *scaling
	sys  linSys
	dsys *denseSys // the dense fallback

	n, m  int
	scale float64
	ry    []float64 // R_y
	sigma []float64 // R_y⁻¹
	rhoX  float64

	// q = M⁻¹(ĉ, b̂) and products
	qx, qy, aqx, pqx []float64
	aq               float64
	factorizations   int
}

func newWork(p *conic.Problem, L *layout, set *Settings) *work {
	return &work{p: p, L: L, set: set, n: p.N, m: p.M, scale: set.Scale}
}

func (w *work) setup() error {
	w.sc = equilibrate(w.p, w.L, !w.set.NoNormalize)
	w.dsys = newDenseSys(&w.sc.A, w.sc.P, w.set.RhoX)
	w.sys = w.dsys
	if w.set.LinearSystem != "dense" {
		if bs := newBlockSys(w.dsys, w.m, w.set.LinearSystem == "block"); bs != nil {
			w.sys = bs
		}
	}
	w.ry = make([]float64, w.m)
	w.sigma = make([]float64, w.m)
	w.qx = make([]float64, w.n)
	w.qy = make([]float64, w.m)
	w.aqx = make([]float64, w.m)
	w.pqx = make([]float64, w.n)
	return w.refactor()
}

// refactor sets R_y for the current scale, factors the reduced system and computes q.
func (w *work) refactor() error {
	for i := range w.ry {
		r := 1 / w.scale
		if i < w.L.z {
			r /= zeroConeFactor
		}
		w.ry[i] = r
		w.sigma[i] = 1 / r
	}
	err := w.sys.factor(w.sigma)
	if err != nil && w.sys != linSys(w.dsys) {
		// the block elimination missed its accuracy check: use the dense system
		w.sys = w.dsys
		err = w.sys.factor(w.sigma)
	}
	if err != nil {
		return fmt.Errorf("cone: %v", err)
	}
	w.factorizations++
	w.rhoX = w.sys.rho()
	// q: K q_x = ĉ − Âᵀ(σ∘b̂); q_y = σ∘(b̂ + Â q_x).
	tmp := make([]float64, w.m)
	for i := range tmp {
		tmp[i] = w.sigma[i] * w.sc.b[i]
	}
	copy(w.qx, w.sc.c)
	negMulT(&w.sc.A, w.qx, tmp)
	w.sys.solve(w.qx)
	mulInto(&w.sc.A, w.aqx, w.qx)
	for i := range w.qy {
		w.qy[i] = w.sigma[i] * (w.sc.b[i] + w.aqx[i])
	}
	symMulVec(w.sc.P, w.pqx, w.qx)
	w.aq = tauFactor + w.rhoX*dot(w.qx, w.qx)
	for i, v := range w.qy {
		w.aq += w.ry[i] * v * v
	}
	return nil
}

// mulInto sets y = A x.
func mulInto(a *conic.CSC, y, x []float64) {
	for i := range y {
		y[i] = 0
	}
	a.MulVec(y, x)
}

// mulTInto sets y = Aᵀ x.
func mulTInto(a *conic.CSC, y, x []float64) {
	for i := range y {
		y[i] = 0
	}
	a.MulTVec(y, x)
}

// negMulT computes y −= Aᵀ x.
func negMulT(a *conic.CSC, y, x []float64) {
	for j := 0; j < a.N; j++ {
		s := 0.0
		for p := a.ColPtr[j]; p < a.ColPtr[j+1]; p++ {
			s += a.Val[p] * x[a.RowIdx[p]]
		}
		y[j] -= s
	}
}

// residuals of one iterate, unscaled.
type resid struct {
	tau              float64
	pri, dual, gap   float64
	tolP, tolD, tolG float64
	pobj, dobj       float64
	infeas, unbdd    float64 // certificate residuals (Inf when not applicable)
	relPri, relDual  float64 // scaled-space relative residuals for the adaptive scale
}

func (w *work) run(rec solver.Recorder, start time.Time) *Result {
	n, m := w.n, w.m
	l := n + m + 1
	set := w.set
	sc := w.sc
	A := &sc.A
	setupTime := time.Since(start)

	rec.Begin(fmt.Sprintf("cnnc native conic solver (HSDE operator splitting): n = %d, m = %d, nnz(A) = %d%s", n, m, w.p.A.NNZ(), pInfo(w.p)))

	wv := make([]float64, l)
	wv[l-1] = 1
	wnew := make([]float64, l)
	ut := make([]float64, l)
	u := make([]float64, l)
	z := make([]float64, l)
	sv := make([]float64, m) // ŝ
	px := make([]float64, n)
	apx := make([]float64, m)
	ppx := make([]float64, n)
	ax := make([]float64, m)  // Â u_x
	aty := make([]float64, n) // Âᵀ u_y
	pxu := make([]float64, n) // P̂ u_x
	var aa *anderson
	if set.AccelLookback > 0 {
		aa = newAnderson(set.AccelLookback, l)
	}
	anchor := append([]float64(nil), wv...)
	wacc := make([]float64, l)
	wsaved := make([]float64, l)
	f := make([]float64, l)
	pending := false
	fnRef := 0.0
	blockStep := 0
	res := &Result{}

	sumLog, nLog := 0.0, 0
	lastScale := 0

	var r resid
	status := solver.Status("")
	iter := 0
	for iter = 0; iter < set.MaxIters; iter++ {
		if set.TimeLimit > 0 && time.Since(start) > set.TimeLimit {
			status = solver.TimeLimit
			break
		}
		if st := solver.Stop(set.Context); st != "" {
			status = st
			break
		}
		// ũ = (R + Q)⁻¹ R w.
		wx, wy, wt := wv[:n], wv[n:n+m], wv[l-1]
		for j := range px {
			px[j] = w.rhoX * wx[j]
		}
		negMulT(A, px, wy)
		w.sys.solve(px)
		mulInto(A, apx, px)
		symMulVec(sc.P, ppx, px)
		bt, ct := -tauFactor*wt, 0.0
		bt += 2*dot(px, w.pqx) - dot(sc.c, px)
		for i := 0; i < m; i++ {
			bt -= sc.b[i] * (wy[i] + w.sigma[i]*apx[i])
		}
		ct = -dot(px, ppx)
		disc := bt*bt - 4*w.aq*ct
		tt := (-bt + math.Sqrt(math.Max(disc, 0))) / (2 * w.aq)
		for j := 0; j < n; j++ {
			ut[j] = px[j] - tt*w.qx[j]
		}
		for i := 0; i < m; i++ {
			ut[n+i] = wy[i] + w.sigma[i]*apx[i] - tt*w.qy[i]
		}
		ut[l-1] = tt
		// u = Π_C(2ũ − w).
		for k := range z {
			z[k] = 2*ut[k] - wv[k]
		}
		copy(u, z)
		w.L.projectDual(u[n : n+m])
		if u[l-1] < 0 {
			u[l-1] = 0
		}
		// v = R(w + u − 2ũ) = R(u − z): ŝ and κ.
		for i := 0; i < m; i++ {
			sv[i] = w.ry[i] * (u[n+i] - z[n+i])
		}
		// w⁺ = w + α(u − ũ).
		for k := range wnew {
			wnew[k] = wv[k] + set.Alpha*(u[k]-ut[k])
		}
		if math.IsNaN(wnew[l-1]) || math.IsInf(wnew[l-1], 0) {
			status = solver.IterationLimit // numerical breakdown; reported as not solved
			break
		}

		// Residuals of u.
		mulInto(A, ax, u[:n])
		mulTInto(A, aty, u[n:n+m])
		symMulVec(sc.P, pxu, u[:n])
		r = w.residuals(u, sv, ax, aty, pxu)
		if iter%set.RecordEvery == 0 {
			rec.Record(w.iterate(iter, &r, start))
		}
		if r.tau > 0 && r.pri <= r.tolP && r.dual <= r.tolD && r.gap <= r.tolG {
			status = solver.Optimal
		} else if iter > 0 && r.unbdd <= set.EpsInfeas {
			status = solver.Unbounded
		} else if iter > 0 && r.infeas <= set.EpsInfeas {
			status = solver.Infeasible
		}
		if status != "" {
			break
		}

		// Adaptive scale (SCS 3): geometric mean of relPri/relDual since the last update.
		if !set.NoAdaptiveScale && r.relPri > 0 && r.relDual > 0 && !math.IsInf(r.relPri, 0) && !math.IsInf(r.relDual, 0) {
			sumLog += math.Log(r.relPri) - math.Log(r.relDual)
			nLog++
			fac := math.Sqrt(math.Exp(sumLog / float64(nLog)))
			if iter-lastScale >= rescaleMinIters && (fac > math.Sqrt(10) || fac < 1/math.Sqrt(10)) {
				ns := math.Min(math.Max(w.scale*fac, minScale), maxScale)
				if ns != w.scale {
					old := append([]float64(nil), w.ry...)
					w.scale = ns
					if err := w.refactor(); err == nil {
						// Keep the dual point: w − u = R⁻¹v at a fixed point, so
						// w' = u + R_new⁻¹ R_old (w⁺ − u) on the y block.
						for i := 0; i < m; i++ {
							wnew[n+i] = u[n+i] + old[i]/w.ry[i]*(wnew[n+i]-u[n+i])
						}
						if aa != nil {
							aa.reset()
						}
						pending = false
						blockStep = 0
						copy(wv, wnew)
						copy(anchor, wv)
						sumLog, nLog, lastScale = 0, 0, iter
						continue
					}
				}
			}
		}

		if aa == nil {
			copy(wv, wnew)
			continue
		}
		blockStep++
		if blockStep < set.AccelInterval {
			copy(wv, wnew)
			continue
		}
		blockStep = 0
		for k := range f {
			f[k] = wnew[k] - anchor[k]
		}
		fn := norm2(f)
		if pending {
			pending = false
			if fn > fnRef {
				// Safeguard: the accelerated point did worse; resume from the plain step.
				res.AccelRejected++
				aa.reset()
				copy(wv, wsaved)
				copy(anchor, wv)
				continue
			}
			res.AccelAccepted++
		}
		if aa.step(anchor, f, wacc) {
			copy(wsaved, wnew)
			fnRef = fn
			copy(wv, wacc)
			pending = true
		} else {
			copy(wv, wnew)
		}
		copy(anchor, wv)
	}
	if status == "" {
		status = solver.IterationLimit
	}
	if status == solver.IterationLimit || status == solver.TimeLimit {
		F := set.InaccurateFactor
		if r.tau > 0 && r.pri <= F*r.tolP && r.dual <= F*r.tolD && r.gap <= F*r.tolG {
			status = solver.Inaccurate
		}
	}
	w.fill(res, status, u, sv, ax, aty, pxu, &r)
	res.Iterations = iter + 1
	if iter >= set.MaxIters {
		res.Iterations = set.MaxIters
	}
	res.SetupTime = setupTime
	res.SolveTime = time.Since(start) - setupTime
	res.Factorizations = w.factorizations
	res.Scale = w.scale
	res.LinearSystem = w.sys.kind()
	res.Method = "admm"
	it := w.iterate(res.Iterations, &r, start)
	rec.End(status, it)
	return res
}

func pInfo(p *conic.Problem) string {
	if p.P == nil {
		return ""
	}
	return fmt.Sprintf(", nnz(P) = %d", p.P.NNZ())
}

func (w *work) iterate(iter int, r *resid, start time.Time) solver.Iterate {
	return solver.Iterate{Iter: iter, PrimalRes: r.pri, DualRes: r.dual, Gap: r.gap,
		Objective: w.p.Scale()*r.pobj + w.p.ObjOffset, Elapsed: time.Since(start)}
}

// residuals computes the unscaled residuals of u = (x̂, ŷ, τ) with slack ŝ, given
// Âx̂, Âᵀŷ and P̂x̂.
func (w *work) residuals(u, sv, ax, aty, pxu []float64) resid {
	n, m := w.n, w.m
	sc := w.sc
	set := w.set
	D, E := sc.D, sc.E
	var r resid
	tau := u[n+m]
	r.tau = tau
	x, y := u[:n], u[n:n+m]
	xpx := dot(x, pxu)
	ctx := dot(sc.c, x)
	bty := dot(sc.b, y)
	r.infeas, r.unbdd = math.Inf(1), math.Inf(1)
	// Certificates (scale-free in τ).
	if bty < 0 {
		nt := 0.0
		for j := 0; j < n; j++ {
			nt = math.Max(nt, math.Abs(aty[j]/E[j]))
		}
		r.infeas = nt / -bty
	}
	if ctx < 0 {
		na, np := 0.0, 0.0
		for i := 0; i < m; i++ {
			na = math.Max(na, math.Abs((ax[i]+sv[i])/D[i]))
		}
		for j := 0; j < n; j++ {
			np = math.Max(np, math.Abs(pxu[j]/E[j]))
		}
		r.unbdd = math.Max(na, np) / -ctx
	}
	// Scaled-space relative residuals (adaptive scale).
	{
		var e, a1, a2, a3 float64
		for i := 0; i < m; i++ {
			e = math.Max(e, math.Abs(ax[i]+sv[i]-tau*sc.b[i]))
			a1 = math.Max(a1, math.Abs(ax[i]))
			a2 = math.Max(a2, math.Abs(sv[i]))
			a3 = math.Max(a3, math.Abs(tau*sc.b[i]))
		}
		r.relPri = e / math.Max(math.Max(a1, a2), math.Max(a3, 1e-18))
		e, a1, a2, a3 = 0, 0, 0, 0
		for j := 0; j < n; j++ {
			e = math.Max(e, math.Abs(pxu[j]+aty[j]+tau*sc.c[j]))
			a1 = math.Max(a1, math.Abs(pxu[j]))
			a2 = math.Max(a2, math.Abs(aty[j]))
			a3 = math.Max(a3, math.Abs(tau*sc.c[j]))
		}
		r.relDual = e / math.Max(math.Max(a1, a2), math.Max(a3, 1e-18))
	}
	if tau <= 0 {
		r.pri, r.dual, r.gap = math.Inf(1), math.Inf(1), math.Inf(1)
		r.pobj, r.dobj = math.NaN(), math.NaN()
		return r
	}
	var e, nax, ns, nb float64
	for i := 0; i < m; i++ {
		a := ax[i] / D[i] / tau
		s := sv[i] / D[i] / tau
		b := w.p.B[i]
		e = math.Max(e, math.Abs(a+s-b))
		nax = math.Max(nax, math.Abs(a))
		ns = math.Max(ns, math.Abs(s))
		nb = math.Max(nb, math.Abs(b))
	}
	r.pri = e
	r.tolP = set.EpsAbs + set.EpsRel*math.Max(nax, math.Max(ns, nb))
	var npx, nat, nc float64
	e = 0
	for j := 0; j < n; j++ {
		px := pxu[j] / E[j] / tau
		at := aty[j] / E[j] / tau
		c := w.p.C[j]
		e = math.Max(e, math.Abs(px+at+c))
		npx = math.Max(npx, math.Abs(px))
		nat = math.Max(nat, math.Abs(at))
		nc = math.Max(nc, math.Abs(c))
	}
	r.dual = e
	r.tolD = set.EpsAbs + set.EpsRel*math.Max(npx, math.Max(nat, nc))
	xPx, cx, by := xpx/(tau*tau), ctx/tau, bty/tau
	r.gap = math.Abs(xPx + cx + by)
	r.tolG = set.EpsAbs + set.EpsRel*math.Max(math.Abs(xPx), math.Max(math.Abs(cx), math.Abs(by)))
	r.pobj = cx + xPx/2
	r.dobj = -by - xPx/2
	return r
}

// fill writes the unscaled solution or certificate into res.
func (w *work) fill(res *Result, st solver.Status, u, sv, ax, aty, pxu []float64, r *resid) {
	n, m := w.n, w.m
	sc := w.sc
	D, E := sc.D, sc.E
	x, y := u[:n], u[n:n+m]
	res.Status = st
	res.PrimalRes, res.DualRes, res.Gap = r.pri, r.dual, r.gap
	res.PrimalTol, res.DualTol, res.GapTol = r.tolP, r.tolD, r.tolG
	res.InfeasRes, res.UnboundedRes = math.Inf(1), math.Inf(1)
	switch st {
	case solver.Infeasible:
		k := -dot(sc.b, y)
		res.Y = make([]float64, m)
		for i := range res.Y {
			res.Y[i] = D[i] * y[i] / k
		}
		nt := 0.0
		for j := 0; j < n; j++ {
			nt = math.Max(nt, math.Abs(aty[j]/E[j]/k))
		}
		res.InfeasRes = nt
		res.PrimalObjective, res.DualObjective = math.Inf(1), math.Inf(1)
		res.UserObjective = math.Copysign(math.Inf(1), w.p.Scale())
		return
	case solver.Unbounded:
		k := -dot(sc.c, x)
		res.X = make([]float64, n)
		res.S = make([]float64, m)
		for j := range res.X {
			res.X[j] = E[j] * x[j] / k
		}
		for i := range res.S {
			res.S[i] = sv[i] / D[i] / k
		}
		na := 0.0
		for i := 0; i < m; i++ {
			na = math.Max(na, math.Abs((ax[i]+sv[i])/D[i]/k))
		}
		for j := 0; j < n; j++ {
			na = math.Max(na, math.Abs(pxu[j]/E[j]/k))
		}
		res.UnboundedRes = na
		res.PrimalObjective, res.DualObjective = math.Inf(-1), math.Inf(-1)
		res.UserObjective = math.Copysign(math.Inf(-1), w.p.Scale())
		return
	}
	tau := r.tau
	if tau <= 0 {
		tau = math.NaN()
	}
	res.X = make([]float64, n)
	res.Y = make([]float64, m)
	res.S = make([]float64, m)
	for j := range res.X {
		res.X[j] = E[j] * x[j] / tau
	}
	for i := range res.Y {
		res.Y[i] = D[i] * y[i] / tau
		res.S[i] = sv[i] / D[i] / tau
	}
	res.PrimalObjective, res.DualObjective = r.pobj, r.dobj
	res.UserObjective = w.p.Scale()*r.pobj + w.p.ObjOffset
}
