package cone

import (
	"fmt"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// IPM constants (see doc.go, "Interior-point method").
const (
	ipmStepFrac   = 0.99 // fraction of the step to the boundary
	ipmMinStep    = 1e-8 // a step below this ends the iteration (stalled)
	ipmAutoFlops  = 2e10 // "auto" uses the IPM when one factorisation costs at most this
	ipmAutoMemory = 5e7  // … and needs at most this many float64s
)

// ipmSupported reports whether every cone of L is one the IPM handles.
func ipmSupported(L *layout) error {
	for _, b := range L.blocks {
		switch b.kind {
		case kZero, kNonneg, kSOC:
		default:
			return fmt.Errorf("the interior-point method supports zero, nonnegative and second-order cones only (this problem has %s)", kindName(b.kind))
		}
	}
	return nil
}

func kindName(k blockKind) string {
	return [...]string{"zero", "nonnegative", "box", "second-order", "PSD", "exponential", "dual exponential", "power"}[k]
}

// ipmWork is the IPM's state, in the equilibrated space of w.sc.
type ipmWork struct {
	*work
	cones []ipmCone
	nu    float64 // degree of K: orthant rows + SOCs
	nt    *ntScaling
	kkt   *ipmKKT
}

// newIPM sets up the IPM: equilibration and KKT analysis. It returns the work and the
// KKT cost estimate; the numeric storage is allocated by the caller's decision.
func newIPM(w *work) *ipmWork {
	iw := &ipmWork{work: w}
	for _, b := range w.L.blocks {
		switch b.kind {
		case kNonneg:
			if b.size > 0 {
				iw.cones = append(iw.cones, ipmCone{start: b.start, size: b.size})
				iw.nu += float64(b.size)
			}
		case kSOC:
			if b.size > 0 {
				iw.cones = append(iw.cones, ipmCone{start: b.start, size: b.size, soc: true})
				iw.nu++
			}
		}
	}
	iw.nt = newNTScaling(iw.cones, w.m)
	iw.kkt = newIPMKKT(&w.sc.A, w.sc.P, w.L.z, iw.nt)
	return iw
}

// runIPM is the homogeneous self-dual interior-point method of doc.go.
func (iw *ipmWork) run(rec solver.Recorder, start time.Time) *Result {
	w := iw.work
	n, m := w.n, w.m
	set := w.set
	sc := w.sc
	A := &sc.A
	nt := iw.nt
	kkt := iw.kkt
	kkt.allocate()
	setupTime := time.Since(start)
	maxIt := set.IPMMaxIters
	if set.MaxIters < maxIt {
		maxIt = set.MaxIters
	}
	rec.Begin(fmt.Sprintf("cnnc native conic solver (interior point, HSDE, NT scaling): n = %d, m = %d, nnz(A) = %d%s, %d blocks, %d kept rows, %d free columns",
		n, m, w.p.A.NNZ(), pInfo(w.p), len(kkt.cols), len(kkt.fRow), len(kkt.free)))
	res := &Result{Method: "ipm", LinearSystem: "ipm-block"}

	x := make([]float64, n)
	y := make([]float64, m)
	s := make([]float64, m)
	tau, kappa := 1.0, 1.0
	// Initial point (Clarabel/CVXOPT): K(H = I)[x; y] = [−c; b], s = −y, both shifted
	// into the interior; zero rows keep s = 0 and their y.
	nt.identity()
	fail := func(st solver.Status) *Result {
		res.Status = st
		res.X, res.Y, res.S = make([]float64, n), make([]float64, m), make([]float64, m)
		res.PrimalRes, res.DualRes, res.Gap = math.Inf(1), math.Inf(1), math.Inf(1)
		res.InfeasRes, res.UnboundedRes = math.Inf(1), math.Inf(1)
		res.PrimalObjective, res.DualObjective, res.UserObjective = math.NaN(), math.NaN(), math.NaN()
		res.SetupTime = setupTime
		res.SolveTime = time.Since(start) - setupTime
		rec.End(st, solver.Iterate{Elapsed: time.Since(start)})
		return res
	}
	if err := kkt.factor(); err != nil {
		return fail(solver.IterationLimit)
	}
	res.Factorizations++
	negc := make([]float64, n)
	for j := range negc {
		negc[j] = -sc.c[j]
	}
	kkt.solve(negc, sc.b, x, y)
	for i := w.L.z; i < m; i++ {
		s[i] = -y[i]
	}
	shiftInterior(iw.cones, s)
	shiftInterior(iw.cones, y)

	rx := make([]float64, n)
	rz := make([]float64, m)
	ax := make([]float64, m)
	aty := make([]float64, n)
	px := make([]float64, n)
	lam := make([]float64, m)
	x1 := make([]float64, n)
	y1 := make([]float64, m)
	x2 := make([]float64, n)
	y2 := make([]float64, m)
	dx := make([]float64, n)
	dy := make([]float64, m)
	ds := make([]float64, m)
	dsv := make([]float64, m) // d_s
	t1 := make([]float64, m)
	t2 := make([]float64, m)
	t3 := make([]float64, m)
	bx := make([]float64, n)
	bz := make([]float64, m)
	pxi := make([]float64, n)
	cq := make([]float64, n)

	var r resid
	status := solver.Status("")
	iter := 0
	for iter = 0; ; iter++ {
		// residuals of the embedding
		for i := range ax {
			ax[i] = 0
		}
		A.MulVec(ax, x)
		mulTInto(A, aty, y)
		symMulVec(sc.P, px, x)
		xpx := dot(x, px)
		for j := range rx {
			rx[j] = px[j] + aty[j] + sc.c[j]*tau
		}
		for i := range rz {
			rz[i] = ax[i] + s[i] - sc.b[i]*tau
		}
		rtau := kappa + dot(sc.c, x) + dot(sc.b, y) + xpx/tau
		r = iw.residuals(x, y, s, tau, ax, aty, px)
		rec.Record(w.iterate(iter, &r, start))
		if r.tau > 0 && r.pri <= r.tolP && r.dual <= r.tolD && r.gap <= r.tolG {
			status = solver.Optimal
		} else if iter > 0 && tau < kappa && r.unbdd <= set.EpsInfeas {
			status = solver.Unbounded
		} else if iter > 0 && tau < kappa && r.infeas <= set.EpsInfeas {
			status = solver.Infeasible
		}
		if status != "" || iter >= maxIt {
			break
		}
		if set.TimeLimit > 0 && time.Since(start) > set.TimeLimit {
			status = solver.TimeLimit
			break
		}
		if st := solver.Stop(set.Context); st != "" {
			status = st
			break
		}
		mu := (tau * kappa)
		for _, c := range iw.cones {
			for i := c.start; i < c.start+c.size; i++ {
				mu += s[i] * y[i]
			}
		}
		mu /= iw.nu + 1
		if !nt.update(s, y, lam) {
			break
		}
		if err := kkt.factor(); err != nil {
			break
		}
		res.Factorizations++
		// constant system K[x1; y1] = [−c; b]
		kkt.solve(negc, sc.b, x1, y1)
		for j := range pxi {
			pxi[j] = px[j] / tau
			cq[j] = sc.c[j] + 2*pxi[j]
		}
		xiPxi := xpx / (tau * tau)
		den := dot(cq, x1) + dot(sc.b, y1) - xiPxi - kappa/tau
		// one Newton direction for (η, d_s, d_κ)
		direction := func(eta, dk float64) (dtau, dkap float64) {
			// bz = −η r_z + W(λ \ d_s) on cone rows, −η r_z on zero rows
			nt.jordanDiv(lam, dsv, t1)
			nt.applyW(t1, t2, false) // t2 = W(λ\d_s)
			for j := range bx {
				bx[j] = -eta * rx[j]
			}
			for i := range bz {
				bz[i] = -eta * rz[i]
			}
			for _, c := range iw.cones {
				for i := c.start; i < c.start+c.size; i++ {
					bz[i] += t2[i]
				}
			}
			kkt.solve(bx, bz, x2, y2)
			dtr := -eta*rtau + dk/tau
			dtau = (dtr - dot(cq, x2) - dot(sc.b, y2)) / den
			for j := range dx {
				dx[j] = x2[j] + dtau*x1[j]
			}
			for i := range dy {
				dy[i] = y2[i] + dtau*y1[i]
			}
			// Δs = −W(λ\d_s) − HΔy on cone rows, 0 on zero rows
			nt.applyH(dy, t3)
			for i := range ds {
				ds[i] = 0
			}
			for _, c := range iw.cones {
				for i := c.start; i < c.start+c.size; i++ {
					ds[i] = -t2[i] - t3[i]
				}
			}
			dkap = -(dk + kappa*dtau) / tau
			return
		}
		stepTo := func(dtau, dkap float64) float64 {
			a := math.Min(maxStep(iw.cones, s, ds), maxStep(iw.cones, y, dy))
			if dtau < 0 {
				a = math.Min(a, -tau/dtau)
			}
			if dkap < 0 {
				a = math.Min(a, -kappa/dkap)
			}
			return a
		}
		// predictor (affine scaling): η = 1, d_s = λ∘λ, d_κ = τκ
		nt.jordanProd(lam, lam, dsv)
		dtA, dkA := direction(1, tau*kappa)
		alphaA := math.Min(1, stepTo(dtA, dkA))
		sigma := math.Pow(1-alphaA, 3)
		// corrector: η = 1 − σ, d_s = λ∘λ + (W⁻¹Δs_a)∘(WΔy_a) − σμe, d_κ = τκ + Δτ_aΔκ_a − σμ
		nt.applyW(ds, t1, true)
		nt.applyW(dy, t3, false)
		nt.jordanProd(t1, t3, t2)
		nt.jordanProd(lam, lam, dsv)
		for _, c := range iw.cones {
			for i := c.start; i < c.start+c.size; i++ {
				dsv[i] += t2[i]
			}
			if c.soc {
				dsv[c.start] -= sigma * mu
			} else {
				for i := c.start; i < c.start+c.size; i++ {
					dsv[i] -= sigma * mu
				}
			}
		}
		dt, dk := direction(1-sigma, tau*kappa+dtA*dkA-sigma*mu)
		alpha := math.Min(1, ipmStepFrac*stepTo(dt, dk))
		if !(alpha > ipmMinStep) || !finiteAll(dx) || !finiteAll(dy) || !finiteAll(ds) || math.IsNaN(dt+dk) {
			break // stalled or numerical breakdown: keep the current iterate
		}
		for j := range x {
			x[j] += alpha * dx[j]
		}
		for i := range y {
			y[i] += alpha * dy[i]
			s[i] += alpha * ds[i]
		}
		tau += alpha * dt
		kappa += alpha * dk
	}
	if status == "" {
		status = solver.IterationLimit
		F := set.InaccurateFactor
		if r.tau > 0 && r.pri <= F*r.tolP && r.dual <= F*r.tolD && r.gap <= F*r.tolG {
			status = solver.Inaccurate
		}
	}
	// fill in the caller's units (fill expects u = (x̂, ŷ, τ) and ŝ)
	u := make([]float64, n+m+1)
	copy(u, x)
	copy(u[n:], y)
	u[n+m] = tau
	for i := range ax {
		ax[i] = 0
	}
	A.MulVec(ax, x)
	mulTInto(A, aty, y)
	symMulVec(sc.P, px, x)
	w.fill(res, status, u, s, ax, aty, px, &r)
	res.Iterations = iter
	res.SetupTime = setupTime
	res.SolveTime = time.Since(start) - setupTime
	res.Scale = 1
	rec.End(status, w.iterate(iter, &r, start))
	return res
}

// residuals evaluates the stopping rule of doc.go on the IPM iterate, reusing the
// first-order method's (same definitions, same units).
func (iw *ipmWork) residuals(x, y, s []float64, tau float64, ax, aty, px []float64) resid {
	n, m := iw.n, iw.m
	u := make([]float64, n+m+1)
	copy(u, x)
	copy(u[n:], y)
	u[n+m] = tau
	return iw.work.residuals(u, s, ax, aty, px)
}

func finiteAll(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
