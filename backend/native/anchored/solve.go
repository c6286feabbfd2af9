package anchored

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Settings configure Solve.
type Settings struct {
	// Tol is ε_abs = ε_rel of the stopping rule (default 1e-9).
	Tol float64
	// MaxIters caps the iterations (default 100).
	MaxIters int
	// EpsInfeas is the tolerance of the infeasibility and unboundedness tests
	// (default 1e-9).
	EpsInfeas float64
	// InaccurateFactor: at the iteration cap, or when the method stalls, the status is
	// Inaccurate when every residual is within this factor of its tolerance
	// (default 100).
	InaccurateFactor float64
	// Context ends the solve early (solver.Stop): time_limit or interrupted.
	Context context.Context
}

// Result is the solver's answer.
type Result struct {
	Status solver.Status
	// W, T, S are the program's variables (S nil when ε = 0).
	W, T, S []float64
	// Primal is −aᵀw (the minimised objective), Dual the dual objective −hᵀy; at an
	// optimum they agree to the tolerance.
	Primal, Dual float64
	// Residuals of the stopping rule at the returned point (absolute, ∞-norms) and
	// their tolerances.
	PrimalRes, DualRes, Gap    float64
	TolPrimal, TolDual, TolGap float64
	Iterations                 int
	Seconds                    float64
}

// Solve solves the anchored program a with targets y (length N) by the structured
// interior-point method of the package doc.
func Solve(a *convex.Anchored, y []float64, set Settings, rec solver.Recorder) (*Result, error) {
	if rec == nil {
		rec = solver.Nop{}
	}
	if a == nil || a.X == nil {
		return nil, errors.New("anchored: no program")
	}
	n := len(y)
	if n == 0 || a.K <= 0 || a.H <= 0 || len(a.C) != a.K || len(a.Anchor) != a.H {
		return nil, fmt.Errorf("anchored: N=%d, K=%d, H=%d, %d output weights, anchor of %d", n, a.K, a.H, len(a.C), len(a.Anchor))
	}
	if r, c := a.X.Dims(); r != n*a.K || c != a.H {
		return nil, fmt.Errorf("anchored: patches are %d×%d, want %d×%d", r, c, n*a.K, a.H)
	}
	if !(a.Eps >= 0) || math.IsInf(a.Eps, 1) {
		return nil, fmt.Errorf("anchored: noise budget ε = %g", a.Eps)
	}
	if set.Tol <= 0 {
		set.Tol = 1e-9
	}
	if set.MaxIters <= 0 {
		set.MaxIters = 100
	}
	if set.EpsInfeas <= 0 {
		set.EpsInfeas = 1e-9
	}
	if set.InaccurateFactor <= 0 {
		set.InaccurateFactor = 100
	}
	start := time.Now()
	pr := newProb(a, y)
	return run(pr, set, rec, start), nil
}

func newProb(a *convex.Anchored, y []float64) *prob {
	n := len(y)
	nK := n * a.K
	p := &prob{n: n, k: a.K, h: a.H, nK: nK, soc: a.Eps > 0,
		x: a.X.RawMatrix().Data, c: a.C, a: a.Anchor, y: y, eps: a.Eps}
	if s := a.X.RawMatrix().Stride; s != a.H {
		// a view with a wider stride: copy to contiguous rows
		x := make([]float64, nK*a.H)
		for r := 0; r < nK; r++ {
			copy(x[r*a.H:], a.X.RawRowView(r))
		}
		p.x = x
	}
	p.lp = 2*nK + n
	p.nx = a.H + nK
	p.m = p.lp
	if p.soc {
		p.nx += n
		p.m += n + 1
	}
	p.cost = make([]float64, p.nx)
	for j, v := range a.Anchor {
		p.cost[j] = -v
	}
	p.hv = make([]float64, p.m)
	copy(p.hv[2*nK:], y)
	if p.soc {
		p.hv[p.lp] = a.Eps
	}
	return p
}

// resid holds the stopping-rule quantities of an iterate in the caller's units.
type resid struct {
	tau, kappa            float64
	pri, dual, gap        float64
	tolP, tolD, tolG      float64
	pobj, dobj            float64
	infeas, unbdd         float64
	haveInfeas, haveUnbdd bool
}

// maxAbs is max(m, |v|), NaN when v is NaN (a cheaper math.Max(m, math.Abs(v)) for
// the hot loops).
func maxAbs(m, v float64) float64 {
	if v < 0 {
		v = -v
	}
	if v > m || v != v {
		return v
	}
	return m
}

func infNorm(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = maxAbs(m, x)
	}
	return m
}

// residuals evaluates the stopping rule (package doc) at (x, y, z, τ, κ).
func residuals(pr *prob, x, y, z []float64, tau, kappa float64, set Settings, gx, gty []float64) resid {
	r := resid{tau: tau, kappa: kappa}
	pr.mulG(x, gx)
	pr.mulGT(y, gty)
	// primal ‖Gx/τ + z/τ − h‖, dual ‖Gᵀy/τ + c‖
	var pri, dual float64
	for i := range gx {
		pri = maxAbs(pri, (gx[i]+z[i])/tau-pr.hv[i])
	}
	for j := range gty {
		dual = maxAbs(dual, gty[j]/tau+pr.cost[j])
	}
	cx, hy := dot(pr.cost, x), dot(pr.hv, y)
	r.pri, r.dual = pri, dual
	r.pobj, r.dobj = cx/tau, -hy/tau
	r.gap = math.Abs(cx+hy) / tau
	e := set.Tol
	r.tolP = e + e*math.Max(infNorm(gx)/tau, math.Max(infNorm(z)/tau, infNorm(pr.hv)))
	r.tolD = e + e*math.Max(infNorm(gty)/tau, infNorm(pr.cost))
	r.tolG = e + e*math.Max(math.Abs(cx), math.Abs(hy))/tau
	// certificates (unnormalised iterate)
	if hy < 0 {
		r.haveInfeas = true
		r.infeas = infNorm(gty) / (-hy)
	}
	if cx < 0 {
		r.haveUnbdd = true
		m := 0.0
		for i := range gx {
			m = maxAbs(m, gx[i]+z[i])
		}
		r.unbdd = m / (-cx)
	}
	return r
}

// run is the homogeneous self-dual interior-point method (package doc).
func run(pr *prob, set Settings, rec solver.Recorder, start time.Time) *Result {
	nx, m := pr.nx, pr.m
	nt := newScaling(pr)
	k := newKKT(pr, nt)
	kind := "LP"
	if pr.soc {
		kind = "SOCP"
	}
	rec.Begin(fmt.Sprintf("cnnc anchored relaxation (%s, structured interior point, HSDE, NT scaling): N = %d samples, K = %d positions, H = %d, %d variables, %d rows",
		kind, pr.n, pr.k, pr.h, nx, m))
	res := &Result{}
	x := make([]float64, nx)
	y := make([]float64, m)
	z := make([]float64, m)
	tau, kappa := 1.0, 1.0
	nt.identity()
	if err := k.factor(); err != nil {
		res.Status = solver.IterationLimit
		res.W = make([]float64, pr.h)
		res.Primal, res.Dual = math.NaN(), math.NaN()
		rec.End(res.Status, solver.Iterate{Elapsed: time.Since(start)})
		return res
	}
	negc := make([]float64, nx)
	for j := range negc {
		negc[j] = -pr.cost[j]
	}
	k.solve(negc, pr.hv, x, y)
	for i := range z {
		z[i] = -y[i]
	}
	nt.shiftInterior(z)
	nt.shiftInterior(y)

	gx := make([]float64, m)
	gty := make([]float64, nx)
	rx := make([]float64, nx)
	rz := make([]float64, m)
	lam := make([]float64, m)
	x1, y1 := make([]float64, nx), make([]float64, m)
	x2, y2 := make([]float64, nx), make([]float64, m)
	dx, dy, dz := make([]float64, nx), make([]float64, m), make([]float64, m)
	dsv := make([]float64, m)
	t1, t2, t3 := make([]float64, m), make([]float64, m), make([]float64, m)
	bx, bz := make([]float64, nx), make([]float64, m)

	var r resid
	status := solver.Status("")
	iter := 0
	// the best iterate so far (smallest max residual/tolerance): returned when the
	// method stops without meeting its stopping rule
	best := struct {
		score      float64
		x, y, z    []float64
		tau, kappa float64
		r          resid
	}{score: math.Inf(1), x: make([]float64, nx), y: make([]float64, m), z: make([]float64, m)}
	for iter = 0; ; iter++ {
		r = residuals(pr, x, y, z, tau, kappa, set, gx, gty)
		if sc := math.Max(r.pri/r.tolP, math.Max(r.dual/r.tolD, r.gap/r.tolG)); sc < best.score {
			best.score = sc
			copy(best.x, x)
			copy(best.y, y)
			copy(best.z, z)
			best.tau, best.kappa, best.r = tau, kappa, r
		}
		for j := range rx {
			rx[j] = gty[j] + pr.cost[j]*tau
		}
		for i := range rz {
			rz[i] = gx[i] + z[i] - pr.hv[i]*tau
		}
		rtau := kappa + dot(pr.cost, x) + dot(pr.hv, y)
		rec.Record(solver.Iterate{Iter: iter, PrimalRes: r.pri, DualRes: r.dual, Gap: r.gap, Objective: r.pobj, Elapsed: time.Since(start)})
		switch {
		case r.pri <= r.tolP && r.dual <= r.tolD && r.gap <= r.tolG:
			status = solver.Optimal
		case iter > 0 && tau < kappa && r.haveUnbdd && r.unbdd <= set.EpsInfeas:
			status = solver.Unbounded
		case iter > 0 && tau < kappa && r.haveInfeas && r.infeas <= set.EpsInfeas:
			status = solver.Infeasible
		}
		if status != "" || iter >= set.MaxIters {
			break
		}
		if st := solver.Stop(set.Context); st != "" {
			status = st
			break
		}
		mu := nt.mu(z, y, tau, kappa)
		if !nt.update(z, y, lam) {
			break
		}
		if err := k.factor(); err != nil {
			break
		}
		k.solve(negc, pr.hv, x1, y1)
		den := dot(pr.cost, x1) + dot(pr.hv, y1) - kappa/tau
		direction := func(eta, dk float64) (dtau, dkap float64) {
			nt.jordanDiv(lam, dsv, t1)
			nt.applyW(t1, t2, false) // W(λ \ d_s)
			for j := range bx {
				bx[j] = -eta * rx[j]
			}
			for i := range bz {
				bz[i] = -eta*rz[i] + t2[i]
			}
			k.solve(bx, bz, x2, y2)
			dtr := -eta*rtau + dk/tau
			dtau = (dtr - dot(pr.cost, x2) - dot(pr.hv, y2)) / den
			for j := range dx {
				dx[j] = x2[j] + dtau*x1[j]
			}
			for i := range dy {
				dy[i] = y2[i] + dtau*y1[i]
			}
			nt.applyH(dy, t3)
			for i := range dz {
				dz[i] = -t2[i] - t3[i]
			}
			dkap = -(dk + kappa*dtau) / tau
			return
		}
		stepTo := func(dtau, dkap float64) float64 {
			a := math.Min(nt.maxStep(z, dz), nt.maxStep(y, dy))
			if dtau < 0 {
				a = math.Min(a, -tau/dtau)
			}
			if dkap < 0 {
				a = math.Min(a, -kappa/dkap)
			}
			return a
		}
		// predictor: η = 1, d_s = λ∘λ, d_κ = τκ
		nt.jordanProd(lam, lam, dsv)
		dtA, dkA := direction(1, tau*kappa)
		alphaA := math.Min(1, stepTo(dtA, dkA))
		sigma := math.Pow(1-alphaA, 3)
		// corrector: η = 1 − σ, d_s = λ∘λ + (W⁻¹Δz_a)∘(WΔy_a) − σμe, d_κ = τκ + Δτ_aΔκ_a − σμ
		nt.applyW(dz, t1, true)
		nt.applyW(dy, t3, false)
		nt.jordanProd(t1, t3, t2)
		nt.jordanProd(lam, lam, dsv)
		for i := range dsv {
			dsv[i] += t2[i]
		}
		for i := 0; i < pr.lp; i++ {
			dsv[i] -= sigma * mu
		}
		if pr.soc {
			dsv[pr.lp] -= sigma * mu
		}
		dt, dk := direction(1-sigma, tau*kappa+dtA*dkA-sigma*mu)
		alpha := math.Min(1, stepFrac*stepTo(dt, dk))
		if !(alpha > minStep) || !finite(dx) || !finite(dy) || !finite(dz) || math.IsNaN(dt+dk) {
			break
		}
		for j := range x {
			x[j] += alpha * dx[j]
		}
		for i := range y {
			y[i] += alpha * dy[i]
			z[i] += alpha * dz[i]
		}
		tau += alpha * dt
		kappa += alpha * dk
	}
	if status != solver.Optimal && status != solver.Infeasible && status != solver.Unbounded && best.score < math.Max(r.pri/r.tolP, math.Max(r.dual/r.tolD, r.gap/r.tolG)) {
		copy(x, best.x)
		copy(y, best.y)
		copy(z, best.z)
		tau, kappa, r = best.tau, best.kappa, best.r
	}
	if status == "" {
		status = solver.IterationLimit
		F := set.InaccurateFactor
		if r.pri <= F*r.tolP && r.dual <= F*r.tolD && r.gap <= F*r.tolG {
			status = solver.Inaccurate
		}
	}
	res.Status = status
	scale := 1 / tau
	if status == solver.Infeasible || status == solver.Unbounded {
		scale = 1 // certificates are returned unnormalised
	}
	res.W = scaled(x[:pr.h], scale)
	res.T = scaled(x[pr.h:pr.h+pr.nK], scale)
	if pr.soc {
		res.S = scaled(x[pr.h+pr.nK:], scale)
	}
	res.Primal, res.Dual = r.pobj, r.dobj
	res.PrimalRes, res.DualRes, res.Gap = r.pri, r.dual, r.gap
	res.TolPrimal, res.TolDual, res.TolGap = r.tolP, r.tolD, r.tolG
	res.Iterations = iter
	res.Seconds = time.Since(start).Seconds()
	rec.End(status, solver.Iterate{Iter: iter, PrimalRes: r.pri, DualRes: r.dual, Gap: r.gap, Objective: r.pobj, Elapsed: time.Since(start)})
	return res
}

const (
	stepFrac = 0.99
	minStep  = 1e-10
)

func scaled(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
