package group

import (
	"math"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// ipm is the structured barrier (interior-point) method; see the package doc, "Method".
//
// Variables per block b: (x_b, t_b) with ‖x_b‖ < t_b and 𝒞_b x_b > 0. For τ > 0 it
// minimises
//
//	f_τ = τ(½‖Π(ŷ − y)‖² + βΣ_b t_b) − Σ_b log(t_b² − ‖x_b‖²) − Σ_{b,r} log(𝒞_b x_b)_r
//
// by damped Newton steps, then τ ← Mu·τ. The Newton matrix is τJᵀΠJ + B with J the
// prediction operator (rank ≤ n) and B block diagonal ((H+1)×(H+1) per block), so it
// is solved by the Woodbury identity with one n×n Cholesky factor of
// I/τ + ΠJB⁻¹JᵀΠ; JB⁻¹Jᵀ = UUᵀ is one dense product, U = [𝒫_p L_p]_p with
// L_pL_pᵀ = Σ_s [B_{s,p}⁻¹]_xx (the two copies of a pattern share 𝒫_p up to sign).
type ipm struct {
	r   *run
	tau float64
	m   float64 // barrier parameter: 2 per block + 1 per cone row

	t, dt, tt [][]float64 // t, Δt, trial t per family (S·P)
	d, trial  []*state    // Δx with its products, trial point
	binv      [][]float64 // per family: B_b⁻¹, (H+1)² per block
	invS      [][]float64 // per family: 1/s on cone rows (Nc × S·P)
	gt        [][]float64 // ∂f/∂t per block
	U         blas64.General
	sig       blas64.General
	tmp       []float64
}

func newIPM(r *run) *ipm {
	m := &ipm{r: r}
	totalPH := 0
	for _, fm := range r.fams {
		sp := fm.S * fm.P
		m.t = append(m.t, make([]float64, sp))
		m.dt = append(m.dt, make([]float64, sp))
		m.tt = append(m.tt, make([]float64, sp))
		m.gt = append(m.gt, make([]float64, sp))
		m.d = append(m.d, fm.newState())
		m.trial = append(m.trial, fm.newState())
		m.binv = append(m.binv, make([]float64, sp*(fm.H+1)*(fm.H+1)))
		m.invS = append(m.invS, make([]float64, fm.Nc*sp))
		m.m += 2 * float64(sp)
		m.m += float64(fm.nCons)
		totalPH += fm.P * fm.H
	}
	n := r.n
	m.U = blas64.General{Rows: n, Cols: totalPH, Stride: totalPH, Data: make([]float64, n*totalPH)}
	m.sig = blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	return m
}

// usable reports whether every constrained family has a strictly interior gate for
// every pattern, so the barrier method has a starting point.
func usable(fams []*fam) bool {
	for _, fm := range fams {
		if fm.Nc == 0 || fm.nCons == 0 {
			continue
		}
		if fm.gateOK == nil {
			return false
		}
		for _, ok := range fm.gateOK {
			if !ok {
				return false
			}
		}
	}
	return true
}

// start sets a strictly feasible point: x_b = warm block moved inside its cone along
// the gate (or 0.01·g_p/‖g_p‖), t_b = 2‖x_b‖ + 0.1.
func (m *ipm) start() {
	r := m.r
	for i, fm := range r.fams {
		H, P := fm.H, fm.P
		V := r.x[i].V.Data
		if fm.Nc > 0 && fm.nCons > 0 {
			for s := 0; s < fm.S; s++ {
				for p := 0; p < P; p++ {
					b := (s*P + p) * H
					// smallest s_r/(𝒞g)_r ratio decides how far to push along g.
					need := 0.0
					for row := 0; row < fm.Nc; row++ {
						k := row*P + p
						if fm.Sign[k] == 0 {
							continue
						}
						cx := 0.0
						for j := 0; j < H; j++ {
							cx += fm.C.Data[row*H+j] * V[b+j]
						}
						cx *= fm.Sign[k]
						need = math.Max(need, -cx/fm.gateC[k])
					}
					gn := math.Sqrt(fm.gateNorm2[p])
					xn := norm(V[b : b+H])
					a := need + 0.01*math.Max(xn, 1)/gn
					for j := 0; j < H; j++ {
						V[b+j] += a * fm.gates[p*H+j]
					}
				}
			}
		}
		for b := 0; b < fm.S*P; b++ {
			m.t[i][b] = 2*norm(V[b*H:(b+1)*H]) + 0.1
		}
		fm.forward(r.x[i])
	}
}

// value returns f_τ at (st, t) and whether the point is strictly feasible.
func (m *ipm) value(st []*state, t [][]float64) (float64, bool) {
	r := m.r
	bar, reg := 0.0, 0.0
	for i, fm := range r.fams {
		H := fm.H
		V := st[i].V.Data
		for b, tb := range t[i] {
			xn := norm(V[b*H : (b+1)*H])
			if !(tb > xn) {
				return math.Inf(1), false
			}
			bar -= math.Log((tb - xn) * (tb + xn))
			reg += tb
		}
		if fm.Nc == 0 {
			continue
		}
		P, sp := fm.P, fm.S*fm.P
		for row := 0; row < fm.Nc; row++ {
			sg := fm.Sign[row*P : row*P+P]
			q := st[i].Q.Data[row*sp : row*sp+sp]
			for s := 0; s < fm.S; s++ {
				for p, sv := range sg {
					if sv == 0 {
						continue
					}
					v := sv * q[s*P+p]
					if !(v > 0) {
						return math.Inf(1), false
					}
					bar -= math.Log(v)
				}
			}
		}
	}
	loss := r.residual(st, r.resN)
	return m.tau*(loss+r.beta*reg) + bar, true
}

// chol factors the n×n row-major a = LLᵀ in place (lower triangle); false if not PD.
func chol(a []float64, n int) bool {
	for j := 0; j < n; j++ {
		d := a[j*n+j]
		for k := 0; k < j; k++ {
			d -= a[j*n+k] * a[j*n+k]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			v := a[i*n+j]
			for k := 0; k < j; k++ {
				v -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = v / d
		}
		for i := 0; i < j; i++ {
			a[i*n+j] = 0
		}
	}
	return true
}

// scaleSym replaces a by DaD with D = diag(a)^{-1/2} (equilibration: the barrier
// Hessians mix curvatures 1/s² of very different sizes) and returns D in d.
func scaleSym(a []float64, n int, d []float64) bool {
	for i := 0; i < n; i++ {
		v := a[i*n+i]
		if !(v > 0) {
			return false
		}
		d[i] = 1 / math.Sqrt(v)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a[i*n+j] *= d[i] * d[j]
		}
	}
	return true
}

// cholInv overwrites the small SPD matrix a (n×n) with its inverse (equilibrated
// Cholesky). work needs n*n + n entries.
func cholInv(a []float64, n int, work []float64) bool {
	d := work[n*n : n*n+n]
	if !scaleSym(a, n, d) {
		return false
	}
	defer func() {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				a[i*n+j] *= d[i] * d[j]
			}
		}
	}()
	if !chol(a, n) {
		return false
	}
	// work = L⁻¹ (lower), then a = L⁻ᵀL⁻¹.
	lowerInverse(a, n, work)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := i; k < n; k++ {
				s += work[k*n+i] * work[k*n+j]
			}
			a[i*n+j] = s
			a[j*n+i] = s
		}
	}
	return true
}

// direction computes the Newton step (d, dt) at r.x and returns the squared Newton
// decrement −∇fᵀΔ; ok is false when a factorisation fails.
func (m *ipm) direction() (float64, bool) {
	r := m.r
	n := r.n
	r.residual(r.x, r.resX)
	resT := r.resY
	for i, v := range r.resX {
		resT[i] = m.tau * v
	}
	// Gradient: τ s𝒫ᵀres − Σ_r c_r/s_r (structured), then the SOC terms.
	for i, fm := range r.fams {
		P, sp := fm.P, fm.S*fm.P
		if fm.Nc > 0 {
			for row := 0; row < fm.Nc; row++ {
				for s := 0; s < fm.S; s++ {
					for p := 0; p < P; p++ {
						k := row*sp + s*P + p
						sv := fm.Sign[row*P+p]
						if sv == 0 {
							m.invS[i][k] = 0
							continue
						}
						m.invS[i][k] = 1 / (sv * r.x[i].Q.Data[k])
					}
				}
			}
		}
		fm.gradient(r.x[i], resT, m.invS[i], 0, r.grad[i], r.work[i], r.workC[i])
	}
	colOff := 0
	for i := range m.sig.Data {
		m.sig.Data[i] = 0
	}
	for i, fm := range r.fams {
		H, P, sp := fm.H, fm.P, fm.S*fm.P
		h1 := H + 1
		V := r.x[i].V.Data
		G := r.grad[i].Data
		if len(m.tmp) < 2*h1*h1+fm.Nc*H+fm.Np*H {
			m.tmp = make([]float64, 2*h1*h1+fm.Nc*H+fm.Np*H)
		}
		work := make([]float64, h1*h1+h1)
		dsc := make([]float64, H)
		cw := m.tmp[2*h1*h1 : 2*h1*h1+fm.Nc*H]
		cwG := blas64.General{Rows: fm.Nc, Cols: H, Stride: H, Data: cw}
		for b := 0; b < sp; b++ {
			x := V[b*H : (b+1)*H]
			tb := m.t[i][b]
			xn2 := 0.0
			for _, v := range x {
				xn2 += v * v
			}
			u := tb*tb - xn2
			for j := 0; j < H; j++ {
				G[b*H+j] += 2 * x[j] / u
			}
			m.gt[i][b] = m.tau*r.beta - 2*tb/u
			B := m.binv[i][b*h1*h1 : (b+1)*h1*h1]
			for k := range B {
				B[k] = 0
			}
			if fm.Nc > 0 {
				// Σ_r C_r C_rᵀ/s_r² = Cwᵀ Cw with Cw_r = C_r/s_r.
				s, p := b/P, b%P
				for row := 0; row < fm.Nc; row++ {
					w := m.invS[i][row*sp+s*P+p]
					src := fm.C.Data[row*H : row*H+H]
					dst := cw[row*H : row*H+H]
					for j := range dst {
						dst[j] = w * src[j]
					}
				}
				out := blas64.General{Rows: H, Cols: H, Stride: h1, Data: B}
				blas64.Gemm(blas.Trans, blas.NoTrans, 1, cwG, cwG, 0, out)
			}
			u2 := u * u
			for j := 0; j < H; j++ {
				B[j*h1+j] += 2 / u
				for k := 0; k < H; k++ {
					B[j*h1+k] += 4 * x[j] * x[k] / u2
				}
				B[j*h1+H] = -4 * tb * x[j] / u2
				B[H*h1+j] = B[j*h1+H]
			}
			B[H*h1+H] = -2/u + 4*tb*tb/u2
			if !cholInv(B, h1, work) {
				return 0, false
			}
		}
		// U_p = scatter(W_p ∘ (A L_p)), L_p L_pᵀ = Σ_s [B_{s,p}⁻¹]_xx.
		E := m.tmp[h1*h1 : h1*h1+H*H]
		AL := m.tmp[2*h1*h1+fm.Nc*H : 2*h1*h1+fm.Nc*H+fm.Np*H]
		for p := 0; p < P; p++ {
			for k := range E {
				E[k] = 0
			}
			for s := 0; s < fm.S; s++ {
				B := m.binv[i][(s*P+p)*h1*h1:]
				for j := 0; j < H; j++ {
					for k := 0; k < H; k++ {
						E[j*H+k] += B[j*h1+k]
					}
				}
			}
			if !scaleSym(E, H, dsc) || !chol(E, H) {
				return 0, false
			}
			for j := 0; j < H; j++ {
				for k := 0; k < H; k++ {
					E[j*H+k] /= dsc[j]
				}
			}
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, fm.A, blas64.General{Rows: H, Cols: H, Stride: H, Data: E}, 0,
				blas64.General{Rows: fm.Np, Cols: H, Stride: H, Data: AL})
			for row := 0; row < fm.Np; row++ {
				w := fm.W[row*P+p]
				if w == 0 {
					continue
				}
				dst := m.U.Data[fm.sample[row]*m.U.Stride+colOff+p*H:]
				for j := 0; j < H; j++ {
					dst[j] += w * AL[row*H+j]
				}
			}
		}
		colOff += P * H
	}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, m.U, m.U, 0, m.sig)
	for i := range m.U.Data {
		m.U.Data[i] = 0
	}
	// S = I/τ + ΠΣΠ.
	S := m.sig.Data
	if r.bias {
		rm := make([]float64, n)
		tot := 0.0
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < n; j++ {
				s += S[i*n+j]
			}
			rm[i] = s / float64(n)
			tot += s
		}
		c := tot / float64(n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				S[i*n+j] += c - rm[i] - rm[j]
			}
		}
	}
	for i := 0; i < n; i++ {
		S[i*n+i] += 1 / m.tau
	}
	dS := make([]float64, n)
	if !scaleSym(S, n, dS) {
		return 0, false
	}
	sym := mat.NewSymDense(n, S)
	var ch mat.Cholesky
	if !ch.Factorize(sym) {
		return 0, false
	}
	// v = B⁻¹(−g); w = Π·pred(v_x); z = S⁻¹w; q = s𝒫ᵀΠz; Δ = v − B⁻¹[q; 0].
	for i, fm := range r.fams {
		H, h1 := fm.H, fm.H+1
		G := r.grad[i].Data
		D := m.d[i].V.Data
		for b := 0; b < fm.S*fm.P; b++ {
			B := m.binv[i][b*h1*h1:]
			for j := 0; j <= H; j++ {
				s := 0.0
				for k := 0; k < H; k++ {
					s -= B[j*h1+k] * G[b*H+k]
				}
				s -= B[j*h1+H] * m.gt[i][b]
				if j < H {
					D[b*H+j] = s
				} else {
					m.dt[i][b] = s
				}
			}
		}
		fm.forward(m.d[i])
	}
	w := r.resN
	for i := range w {
		w[i] = 0
	}
	for i, fm := range r.fams {
		fm.predict(m.d[i], w)
	}
	project(w, r.bias)
	for i := range w {
		w[i] *= dS[i]
	}
	z := mat.NewVecDense(n, nil)
	if err := ch.SolveVecTo(z, mat.NewVecDense(n, w)); err != nil {
		return 0, false
	}
	zr := z.RawVector().Data
	for i := range zr {
		zr[i] *= dS[i]
	}
	project(zr, r.bias)
	zero := make([]float64, 0)
	_ = zero
	dec := 0.0
	for i, fm := range r.fams {
		H, h1 := fm.H, fm.H+1
		gq := blas64.General{Rows: fm.S * fm.P, Cols: H, Stride: H, Data: make([]float64, fm.S*fm.P*H)}
		nc := fm.Nc
		fm.Nc = 0
		fm.gradient(r.x[i], zr, nil, 0, gq, r.work[i], nil)
		fm.Nc = nc
		D := m.d[i].V.Data
		G := r.grad[i].Data
		for b := 0; b < fm.S*fm.P; b++ {
			B := m.binv[i][b*h1*h1:]
			q := gq.Data[b*H : (b+1)*H]
			for j := 0; j <= H; j++ {
				s := 0.0
				for k := 0; k < H; k++ {
					s += B[j*h1+k] * q[k]
				}
				if j < H {
					D[b*H+j] -= s
				} else {
					m.dt[i][b] -= s
				}
			}
			for j := 0; j < H; j++ {
				dec -= G[b*H+j] * D[b*H+j]
			}
			dec -= m.gt[i][b] * m.dt[i][b]
		}
		fm.forward(m.d[i])
	}
	return dec, true
}

func project(v []float64, bias bool) {
	if !bias {
		return
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	s /= float64(len(v))
	for i := range v {
		v[i] -= s
	}
}

// axpy sets dst = x + α·d for V and its products.
func (fm *fam) axpy(dst, x, d *state, a float64) {
	f := func(o, p, q []float64) {
		for i := range o {
			o[i] = p[i] + a*q[i]
		}
	}
	f(dst.V.Data, x.V.Data, d.V.Data)
	f(dst.Z.Data, x.Z.Data, d.Z.Data)
	if fm.Nc > 0 && !fm.shared {
		f(dst.Q.Data, x.Q.Data, d.Q.Data)
	}
}

// solveIPM runs the barrier method; it returns the final certificate, iterations
// (Newton steps), outer iterations (τ updates) and status.
func (r *run) solveIPM(start time.Time, feasScale float64, rec solver.Recorder) (cert, int, int, solver.Status) {
	set := r.set
	m := newIPM(r)
	m.start()
	f0 := r.residual(r.x, r.resX)
	reg := 0.0
	for i := range m.t {
		for _, v := range m.t[i] {
			reg += v
		}
	}
	m.tau = set.Tau0 * m.m / math.Max(f0+r.beta*reg, 1e-12)
	total, outer := 0, 0
	var c cert
	lastGap := math.Inf(1)
	status := solver.IterationLimit
	for {
		stalled := false
		// Centering: damped Newton until λ²/2 ≤ CenterTol.
		for k := 0; k < set.MaxNewton; k++ {
			if set.TimeLimit > 0 && time.Since(start) > set.TimeLimit {
				status = solver.TimeLimit
				break
			}
			if st := solver.Stop(set.Context); st != "" {
				status = st
				break
			}
			if total >= set.MaxIter {
				break
			}
			dec, ok := m.direction()
			total++
			if debugIPM && !ok {
				println("direction failed")
			}
			if !ok {
				stalled = true
				break
			}
			if dec/2 <= set.CenterTol {
				break
			}
			f, _ := m.value(r.x, m.t)
			alpha := 1.0
			accepted := false
			for ls := 0; ls < 60; ls++ {
				for i, fm := range r.fams {
					fm.axpy(m.trial[i], r.x[i], m.d[i], alpha)
					for b := range m.tt[i] {
						m.tt[i][b] = m.t[i][b] + alpha*m.dt[i][b]
					}
				}
				ft, feas := m.value(m.trial, m.tt)
				if feas && ft <= f-0.01*alpha*dec+1e-13*math.Abs(f) {
					accepted = true
					break
				}
				alpha *= 0.5
			}
			if debugIPM {
				println("tau", m.tau, "dec", dec, "alpha", alpha, "acc", accepted)
			}
			if !accepted {
				stalled = true
				break
			}
			r.x, m.trial = m.trial, r.x
			m.t, m.tt = m.tt, m.t
			if total%set.RecordEvery == 0 {
				obj := r.residual(r.x, r.resX)
				rec.Record(solver.Iterate{Iter: total, PrimalRes: 0, DualRes: math.Sqrt(dec), Gap: lastGap, Objective: obj + r.regSum(r.x), Elapsed: time.Since(start)})
			}
		}
		outer++
		mus := make([][]float64, len(r.fams))
		for i, fm := range r.fams {
			mus[i] = make([]float64, fm.Nc*fm.S*fm.P)
			for k := range mus[i] {
				if v := 0.0; fm.Nc > 0 {
					sv := fm.Sign[(k/(fm.S*fm.P))*fm.P+k%fm.P]
					if sv != 0 {
						v = 1 / (m.tau * sv * r.x[i].Q.Data[k])
					}
					mus[i][k] = v
				}
			}
		}
		c = r.certifyMu(mus)
		lastGap = c.gap / math.Max(1, math.Abs(c.primal))
		rec.Record(solver.Iterate{Iter: total, PrimalRes: c.viol, DualRes: c.kkt, Gap: lastGap, Objective: c.primal, Elapsed: time.Since(start)})
		if c.viol <= set.TolFeas*feasScale && c.gap <= set.Tol*math.Max(1, math.Abs(c.primal)) {
			return c, total, outer, solver.Optimal
		}
		if stalled {
			// Newton could not make progress (ill-conditioning near the boundary):
			// return the certified bracket as it stands.
			return c, total, outer, solver.Inaccurate
		}
		if status == solver.TimeLimit || status == solver.Interrupted || total >= set.MaxIter || outer >= set.MaxOuter {
			return c, total, outer, status
		}
		m.tau *= set.Mu
	}
}

const debugIPM = false
