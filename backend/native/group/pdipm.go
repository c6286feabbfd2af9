package group

import (
	"math"
	"os"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// sub is the restricted problem on a working set W (package doc, "Method ws"):
//
//	minimize ½‖Ĵx − ỹ‖² + β Σ_k t_k   s.t.  M_k x_k ≥ 0,  (t_k, x_k) ∈ SOC(H_k+1)
//
// Ĵ = Π[s_k 𝒫_k]_k (n × Nx, row-major, columns of block k at xo[k]), ỹ = Πy.
type sub struct {
	n    int
	beta float64
	yt   []float64 // ỹ
	J    []float64 // n × nx row-major
	nx   int
	xo   []int       // x offset of block k
	h    []int       // H_k
	M    [][]float64 // cone rows of block k (m_k × H_k row-major), nil if none
	m    []int       // m_k
	lo   []int       // offset of block k's rows in the LP vectors
	nl   int         // Σ m_k
	x0   [][]float64 // strictly interior start direction of block k (M_k x0 > 0), or nil
}

// pdResult is the outcome of the primal–dual IPM.
type pdResult struct {
	x, t  []float64 // primal (x: nx, t: K)
	uL    []float64 // LP multipliers (nl)
	iters int
	gap   float64 // sᵀu at the end
	ok    bool    // met InnerTol (false: stalled or iteration cap; best iterate returned)
}

// pdipm solves the restricted problem by an infeasible-start primal–dual
// interior-point method with Nesterov–Todd scaling and Mehrotra predictor–corrector
// (package doc, "Restricted solve"). tol is the relative stopping tolerance; maxIt
// the iteration cap. The best iterate (smallest max(relative gap, residuals)) is
// returned when the tolerance is not met.
func (q *sub) pdipm(tol float64, maxIt int) pdResult {
	K := len(q.h)
	n, nx, nl := q.n, q.nx, q.nl
	N := nx + K
	z := make([]float64, N) // (t_k, x_k) per block at xo[k]+k
	sL := make([]float64, nl)
	uL := make([]float64, nl)
	sQ := make([]float64, N)
	uQ := make([]float64, N)
	xv := make([]float64, nx)
	gather := func(z, xv []float64) {
		for k := 0; k < K; k++ {
			copy(xv[q.xo[k]:q.xo[k]+q.h[k]], z[q.xo[k]+k+1:q.xo[k]+k+1+q.h[k]])
		}
	}
	// start: x = 0, t = 0; s = e, u = ν_k e with ν_k = β + ‖Ĵ_kᵀỹ‖ (the size of the
	// dual multiplier the x-part of the dual residual asks for).
	g0 := make([]float64, nx)
	blas64.Gemv(blas.Trans, 1, blas64.General{Rows: n, Cols: nx, Stride: nx, Data: q.J}, blas64.Vector{N: n, Inc: 1, Data: q.yt}, 0, blas64.Vector{N: nx, Inc: 1, Data: g0})
	qn := 0.0
	for _, v := range g0 {
		qn = math.Max(qn, math.Abs(v))
	}
	for k := 0; k < K; k++ {
		o := q.xo[k] + k
		nu := q.beta + norm(g0[q.xo[k]:q.xo[k]+q.h[k]])
		sQ[o], uQ[o] = 1, nu
		for r := 0; r < q.m[k]; r++ {
			sL[q.lo[k]+r], uL[q.lo[k]+r] = 1, nu
		}
	}
	deg := float64(nl + K)

	res := make([]float64, n)
	rd := make([]float64, N)   // dual residual
	rpL := make([]float64, nl) // primal residual s_L − M x
	rpQ := make([]float64, N)  // s_Q − z
	lin := newLinsys(q)
	dz, dza, rhs := make([]float64, N), make([]float64, N), make([]float64, N)
	dsL, duL := make([]float64, nl), make([]float64, nl)
	dsLa, duLa := make([]float64, nl), make([]float64, nl)
	dsQ, duQ := make([]float64, N), make([]float64, N)
	dsQa, duQa := make([]float64, N), make([]float64, N)
	dL, dQ := make([]float64, nl), make([]float64, N) // d = λ⧵rc
	lamL, lamQ := make([]float64, nl), make([]float64, N)
	wL := make([]float64, nl)
	nt := make([]ntScale, K)
	eQ := make([]float64, N)
	eL := make([]float64, nl)
	tmpL := make([]float64, 0, 64)
	best := pdResult{}
	bestErr := math.Inf(1)
	for it := 0; ; it++ {
		gather(z, xv)
		loss := q.residual(xv, res)
		q.dualRes(xv, res, uL, uQ, rd)
		f := loss
		for k := 0; k < K; k++ {
			f += q.beta * z[q.xo[k]+k]
		}
		rpn := 0.0
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			lo := q.lo[k]
			if cap(tmpL) < q.m[k] {
				tmpL = make([]float64, q.m[k])
			}
			mx := tmpL[:q.m[k]]
			q.mul(k, z[o+1:o+1+h], mx)
			for r := range mx {
				rpL[lo+r] = sL[lo+r] - mx[r]
				rpn = math.Max(rpn, math.Abs(rpL[lo+r]))
			}
			for j := 0; j <= h; j++ {
				rpQ[o+j] = sQ[o+j] - z[o+j]
				rpn = math.Max(rpn, math.Abs(rpQ[o+j]))
			}
		}
		gap := dot(sL, uL) + dot(sQ, uQ)
		rdn := 0.0
		for _, v := range rd {
			rdn = math.Max(rdn, math.Abs(v))
		}
		xn := 0.0
		for _, v := range z {
			xn = math.Max(xn, math.Abs(v))
		}
		relGap := gap / math.Max(1, math.Abs(f))
		relD := rdn / math.Max(q.beta, qn)
		relP := rpn / math.Max(1, xn)
		if debugWS {
			println("it", it, "f", f, "gap", gap, "rd", relD, "rp", relP)
		}
		if e := math.Max(relGap, math.Max(relD, relP)); e < bestErr {
			bestErr = e
			best = pdResult{x: append([]float64(nil), xv...), uL: append([]float64(nil), uL...), iters: it, gap: gap}
			best.t = make([]float64, K)
			for k := 0; k < K; k++ {
				best.t[k] = z[q.xo[k]+k]
			}
			if e <= tol {
				best.ok = true
				return best
			}
		}
		best.iters = it
		if it >= maxIt {
			return best
		}
		mu := gap / deg
		for i := 0; i < nl; i++ {
			wL[i] = math.Sqrt(sL[i] / uL[i])
			lamL[i] = math.Sqrt(sL[i] * uL[i])
		}
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			if !nt[k].set(sQ[o:o+h+1], uQ[o:o+h+1]) {
				return best
			}
			nt[k].apply(uQ[o:o+h+1], lamQ[o:o+h+1], false) // λ = W u
		}
		if !lin.factor(wL, nt) {
			return best
		}
		// Newton step for complementarity right-hand side rc:
		//   d = λ⧵rc,  K Δz = −r_d + Mᵀ(W⁻¹d + W⁻²r_p)_L + (W⁻¹d + W⁻²r_p)_Q,
		//   Δs = −r_p + (MΔx, Δz),  Δu = W⁻¹d − W⁻²Δs.
		solve := func(rcL, rcQ, dz, dsL, duL, dsQ, duQ []float64) bool {
			for i := 0; i < nl; i++ {
				dL[i] = rcL[i] / lamL[i]
			}
			for i := range rhs {
				rhs[i] = -rd[i]
			}
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				socDiv(lamQ[o:o+h+1], rcQ[o:o+h+1], dQ[o:o+h+1])
				a := make([]float64, h+1)
				b := make([]float64, h+1)
				nt[k].apply(rpQ[o:o+h+1], a, true)
				for j := range a {
					a[j] += dQ[o+j]
				}
				nt[k].apply(a, b, true) // W⁻¹(d + W⁻¹r_p)
				for j := range b {
					rhs[o+j] += b[j]
				}
				for r := 0; r < q.m[k]; r++ {
					i := q.lo[k] + r
					c := (dL[i] + rpL[i]/wL[i]) / wL[i]
					row := q.M[k][r*h : r*h+h]
					for j, v := range row {
						rhs[o+1+j] += c * v
					}
				}
			}
			if !lin.solve(rhs, dz) {
				return false
			}
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				lo := q.lo[k]
				q.mul(k, dz[o+1:o+1+h], dsL[lo:lo+q.m[k]])
				for r := 0; r < q.m[k]; r++ {
					dsL[lo+r] -= rpL[lo+r]
				}
				for j := 0; j <= h; j++ {
					dsQ[o+j] = dz[o+j] - rpQ[o+j]
				}
				a := make([]float64, h+1)
				nt[k].apply(dsQ[o:o+h+1], a, true)
				for j := range a {
					a[j] = dQ[o+j] - a[j]
				}
				nt[k].apply(a, duQ[o:o+h+1], true)
			}
			for i := 0; i < nl; i++ {
				duL[i] = (dL[i] - dsL[i]/wL[i]) / wL[i]
			}
			return true
		}
		// predictor: rc = −λ∘λ
		for i := 0; i < nl; i++ {
			eL[i] = -lamL[i] * lamL[i]
		}
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			socProd(lamQ[o:o+h+1], lamQ[o:o+h+1], eQ[o:o+h+1])
			for j := 0; j <= h; j++ {
				eQ[o+j] = -eQ[o+j]
			}
		}
		if !solve(eL, eQ, dza, dsLa, duLa, dsQa, duQa) {
			return best
		}
		aa := math.Min(1, q.maxStep(sL, uL, sQ, uQ, dsLa, duLa, dsQa, duQa))
		ga := 0.0
		for i := 0; i < nl; i++ {
			ga += (sL[i] + aa*dsLa[i]) * (uL[i] + aa*duLa[i])
		}
		for i := 0; i < N; i++ {
			ga += (sQ[i] + aa*dsQa[i]) * (uQ[i] + aa*duQa[i])
		}
		sigma := math.Pow(math.Max(0, math.Min(1, ga/gap)), 3)
		// corrector: rc = −λ∘λ + σμe − (W⁻¹Δs_a)∘(WΔu_a)
		for i := 0; i < nl; i++ {
			eL[i] = -lamL[i]*lamL[i] + sigma*mu - (dsLa[i]/wL[i])*(duLa[i]*wL[i])
		}
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			a := make([]float64, h+1)
			b := make([]float64, h+1)
			c := make([]float64, h+1)
			nt[k].apply(dsQa[o:o+h+1], a, true)
			nt[k].apply(duQa[o:o+h+1], b, false)
			socProd(a, b, c)
			socProd(lamQ[o:o+h+1], lamQ[o:o+h+1], a)
			for j := 0; j <= h; j++ {
				eQ[o+j] = -a[j] - c[j]
			}
			eQ[o] += sigma * mu
		}
		if !solve(eL, eQ, dz, dsL, duL, dsQ, duQ) {
			return best
		}
		alpha := math.Min(1, 0.99*q.maxStep(sL, uL, sQ, uQ, dsL, duL, dsQ, duQ))
		if debugWS {
			println("  aff", aa, "sigma", sigma, "alpha", alpha)
		}
		if !(alpha > 1e-12) {
			return best
		}
		for i := range z {
			z[i] += alpha * dz[i]
			sQ[i] += alpha * dsQ[i]
			uQ[i] += alpha * duQ[i]
		}
		for i := range sL {
			sL[i] += alpha * dsL[i]
			uL[i] += alpha * duL[i]
		}
	}
}

// mul computes dst = M_k v.
func (q *sub) mul(k int, v, dst []float64) {
	h := q.h[k]
	for r := 0; r < q.m[k]; r++ {
		dst[r] = dot(q.M[k][r*h:r*h+h], v)
	}
}

// residual sets res = Ĵx − ỹ and returns ½‖res‖².
func (q *sub) residual(x, res []float64) float64 {
	copy(res, q.yt)
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}, blas64.Vector{N: q.nx, Inc: 1, Data: x}, -1, blas64.Vector{N: q.n, Inc: 1, Data: res})
	return 0.5 * dot(res, res)
}

// dualRes sets rd = Pz + q + Gᵀu: per block (β − u0, Ĵ_kᵀres − M_kᵀu_L − u1).
func (q *sub) dualRes(x, res, uL, uQ, rd []float64) {
	g := make([]float64, q.nx)
	blas64.Gemv(blas.Trans, 1, blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}, blas64.Vector{N: q.n, Inc: 1, Data: res}, 0, blas64.Vector{N: q.nx, Inc: 1, Data: g})
	for k := range q.h {
		o, h := q.xo[k]+k, q.h[k]
		rd[o] = q.beta - uQ[o]
		for j := 0; j < h; j++ {
			rd[o+1+j] = g[q.xo[k]+j] - uQ[o+1+j]
		}
		for r := 0; r < q.m[k]; r++ {
			u := uL[q.lo[k]+r]
			row := q.M[k][r*h : r*h+h]
			for j, a := range row {
				rd[o+1+j] -= u * a
			}
		}
	}
}

// maxStep is the largest α with s + αΔs and u + αΔu in their cones.
func (q *sub) maxStep(sL, uL, sQ, uQ, dsL, duL, dsQ, duQ []float64) float64 {
	a := math.Inf(1)
	for i := range sL {
		if dsL[i] < 0 {
			a = math.Min(a, -sL[i]/dsL[i])
		}
		if duL[i] < 0 {
			a = math.Min(a, -uL[i]/duL[i])
		}
	}
	for k := range q.h {
		o, h := q.xo[k]+k, q.h[k]
		a = math.Min(a, socStep(sQ[o:o+h+1], dsQ[o:o+h+1]))
		a = math.Min(a, socStep(uQ[o:o+h+1], duQ[o:o+h+1]))
	}
	return a
}

// socStep is the largest α ≥ 0 with v + αd in the second-order cone (v interior):
// the smallest positive root of (v₀+αd₀)² − ‖v₁+αd₁‖² = aα² + 2bα + c, roots taken
// in the cancellation-free form.
func socStep(v, d []float64) float64 {
	n1 := norm(v[1:])
	c := (v[0] - n1) * (v[0] + n1)
	b := v[0]*d[0] - dot(v[1:], d[1:])
	dn := norm(d[1:])
	a := (d[0] - dn) * (d[0] + dn)
	if a < 0 {
		disc := math.Sqrt(b*b - a*c)
		if b < 0 {
			return c / (disc - b)
		}
		return (b + disc) / -a
	}
	if b >= 0 {
		return math.Inf(1)
	}
	disc := b*b - a*c
	if disc < 0 {
		return math.Inf(1)
	}
	return c / (math.Sqrt(disc) - b)
}

// socProd is the Jordan product a∘b = (aᵀb, a₀b₁ + b₀a₁).
func socProd(a, b, dst []float64) {
	d0 := dot(a, b)
	for j := 1; j < len(a); j++ {
		dst[j] = a[0]*b[j] + b[0]*a[j]
	}
	dst[0] = d0
}

// socDiv solves λ∘v = r: v₀ = (λ₀r₀ − λ₁ᵀr₁)/(λ₀² − ‖λ₁‖²), v₁ = (r₁ − v₀λ₁)/λ₀.
func socDiv(l, r, v []float64) {
	n1 := norm(l[1:])
	det := (l[0] - n1) * (l[0] + n1)
	v0 := (l[0]*r[0] - dot(l[1:], r[1:])) / det
	for j := 1; j < len(l); j++ {
		v[j] = (r[j] - v0*l[j]) / l[0]
	}
	v[0] = v0
}

// ntScale is the Nesterov–Todd scaling of one second-order cone:
// W² = η²(2w̄w̄ᵀ − J) (apply gives W and W⁻¹ explicitly), J = diag(1, −1, …, −1), with
// s̄ = s/√(sᵀJs), ū = u/√(uᵀJu), γ = √((1 + s̄ᵀū)/2), w̄ = (s̄ + Jū)/(2γ),
// η = (sᵀJs / uᵀJu)^{1/4}; then W u = W⁻¹ s (package doc).
type ntScale struct {
	eta float64
	w   []float64
}

func jnorm(v []float64) float64 {
	n1 := norm(v[1:])
	return math.Sqrt((v[0] - n1) * (v[0] + n1))
}

func (c *ntScale) set(s, u []float64) bool {
	ns, nu := jnorm(s), jnorm(u)
	if !(ns > 0) || !(nu > 0) {
		return false
	}
	h := len(s)
	if len(c.w) != h {
		c.w = make([]float64, h)
	}
	su := 0.0
	for j := 0; j < h; j++ {
		su += s[j] / ns * u[j] / nu
	}
	gam := math.Sqrt((1 + su) / 2)
	c.w[0] = (s[0]/ns + u[0]/nu) / (2 * gam)
	for j := 1; j < h; j++ {
		c.w[j] = (s[j]/ns - u[j]/nu) / (2 * gam)
	}
	c.eta = math.Sqrt(ns / nu)
	return true
}

// apply sets dst = W v (inv = false) or W⁻¹ v (inv = true), with
//
//	W = η [w̄₀ w̄₁ᵀ; w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)],  W⁻¹ = η⁻¹ [w̄₀ −w̄₁ᵀ; −w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)]
//
// (W² = η²(2w̄w̄ᵀ − J), W⁻² = η⁻²(2Jw̄w̄ᵀJ − J)).
func (c *ntScale) apply(v, dst []float64, inv bool) {
	w := c.w
	a := dot(w[1:], v[1:])
	v0 := v[0]
	sg, sc := 1.0, c.eta
	if inv {
		sg, sc = -1, 1/c.eta
	}
	k := a / (1 + w[0])
	dst[0] = sc * (w[0]*v0 + sg*a)
	for j := 1; j < len(v); j++ {
		dst[j] = sc * (sg*v0*w[j] + v[j] + k*w[j])
	}
}

// linsys factors and solves K = Ĵᵀ Ĵ (on the x parts) + ⊕_k B_k,
// B_k = W_k⁻² + (0 ⊕ M_kᵀ diag(1/w²) M_k), either densely (one Cholesky of the
// (Nx+K)² matrix with the Gram ĴᵀĴ formed once) or by the Woodbury identity
// K⁻¹ = B⁻¹ − B⁻¹Ĵᵀ(I + ĴB⁻¹Ĵᵀ)⁻¹ĴB⁻¹ (one n×n Cholesky), whichever costs fewer
// flops; both followed by two steps of iterative refinement against K applied
// blockwise.
type linsys struct {
	q     *sub
	dense bool
	N     int
	gram  []float64 // nx × nx (dense mode)
	kmat  []float64 // N × N (dense) factor
	dsc   []float64 // equilibration
	bk    [][]float64
	binv  [][]float64 // B_k⁻¹ (Woodbury)
	U     []float64   // n × nx (Woodbury)
	S     []float64   // n × n factor
	ssc   []float64
	tmpN  []float64
	tmpN2 []float64
	tmpn  []float64
}

func newLinsys(q *sub) *linsys {
	K := len(q.h)
	N := q.nx + K
	l := &linsys{q: q, N: N, tmpN: make([]float64, N), tmpN2: make([]float64, N), tmpn: make([]float64, q.n)}
	nf, Nf, nxf := float64(q.n), float64(N), float64(q.nx)
	l.dense = Nf*Nf*Nf/3 <= nf*nf*nxf+nf*nf*nf/3
	l.bk = make([][]float64, K)
	for k := range q.h {
		l.bk[k] = make([]float64, (q.h[k]+1)*(q.h[k]+1))
	}
	if l.dense {
		l.gram = make([]float64, q.nx*q.nx)
		J := blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, J, J, 0, blas64.General{Rows: q.nx, Cols: q.nx, Stride: q.nx, Data: l.gram})
		l.kmat = make([]float64, N*N)
		l.dsc = make([]float64, N)
	} else {
		l.binv = make([][]float64, K)
		for k := range q.h {
			l.binv[k] = make([]float64, (q.h[k]+1)*(q.h[k]+1))
		}
		l.U = make([]float64, q.n*q.nx)
		l.S = make([]float64, q.n*q.n)
		l.ssc = make([]float64, q.n)
	}
	return l
}

// factor forms and factors K for LP scaling wL and SOC scalings nt.
func (l *linsys) factor(wL []float64, nt []ntScale) bool {
	q := l.q
	for k := range q.h {
		h1 := q.h[k] + 1
		B := l.bk[k]
		col := make([]float64, h1)
		e := make([]float64, h1)
		tmp := make([]float64, h1)
		for j := 0; j < h1; j++ { // W⁻² column by column
			for i := range e {
				e[i] = 0
			}
			e[j] = 1
			nt[k].apply(e, tmp, true)
			nt[k].apply(tmp, col, true)
			for i := 0; i < h1; i++ {
				B[i*h1+j] = col[i]
			}
		}
		h := q.h[k]
		for r := 0; r < q.m[k]; r++ {
			d := 1 / (wL[q.lo[k]+r] * wL[q.lo[k]+r])
			row := q.M[k][r*h : r*h+h]
			for i, a := range row {
				if a == 0 {
					continue
				}
				da := d * a
				for j, b := range row {
					B[(i+1)*h1+j+1] += da * b
				}
			}
		}
	}
	if l.dense {
		N := l.N
		A := l.kmat
		for i := range A {
			A[i] = 0
		}
		for k := range q.h {
			o := q.xo[k] + k
			h1 := q.h[k] + 1
			for i := 0; i < h1; i++ {
				for j := 0; j < h1; j++ {
					A[(o+i)*N+o+j] = l.bk[k][i*h1+j]
				}
			}
		}
		for k1 := range q.h {
			o1 := q.xo[k1] + k1 + 1
			for i := 0; i < q.h[k1]; i++ {
				gi := q.xo[k1] + i
				for k2 := range q.h {
					o2 := q.xo[k2] + k2 + 1
					for j := 0; j < q.h[k2]; j++ {
						A[(o1+i)*N+o2+j] += l.gram[gi*q.nx+q.xo[k2]+j]
					}
				}
			}
		}
		return cholEquil(A, N, l.dsc)
	}
	// Woodbury: B_k⁻¹, U = Ĵ blockdiag(L_k) with L_kL_kᵀ = [B_k⁻¹]_xx, S = I + UUᵀ.
	n := q.n
	for k := range q.h {
		h1 := q.h[k] + 1
		h := q.h[k]
		F := append([]float64(nil), l.bk[k]...)
		sc := make([]float64, h1)
		if !cholEquil(F, h1, sc) {
			return false
		}
		inv := l.binv[k]
		e := make([]float64, h1)
		for j := 0; j < h1; j++ {
			for i := range e {
				e[i] = 0
			}
			e[j] = 1
			cholSolve(F, h1, sc, e)
			for i := 0; i < h1; i++ {
				inv[i*h1+j] = e[i]
			}
		}
		X := make([]float64, h*h)
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				X[i*h+j] = 0.5 * (inv[(i+1)*h1+j+1] + inv[(j+1)*h1+i+1])
			}
		}
		// plain lower Cholesky of X (no equilibration: L must satisfy LLᵀ = X)
		if !cholLower(X, h) {
			return false
		}
		Jk := blas64.General{Rows: n, Cols: h, Stride: q.nx, Data: q.J[q.xo[k]:]}
		Lk := blas64.General{Rows: h, Cols: h, Stride: h, Data: X}
		Uk := blas64.General{Rows: n, Cols: h, Stride: q.nx, Data: l.U[q.xo[k]:]}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, Jk, Lk, 0, Uk)
	}
	for i := range l.S {
		l.S[i] = 0
	}
	for i := 0; i < n; i++ {
		l.S[i*n+i] = 1
	}
	blas64.Syrk(blas.NoTrans, 1, blas64.General{Rows: n, Cols: q.nx, Stride: q.nx, Data: l.U}, 1, blas64.Symmetric{N: n, Stride: n, Uplo: blas.Upper, Data: l.S})
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			l.S[i*n+j] = l.S[j*n+i]
		}
	}
	return cholEquil(l.S, n, l.ssc)
}

// apply computes dst = K v (exact, blockwise).
func (l *linsys) apply(v, dst []float64) {
	q := l.q
	xv := make([]float64, q.nx)
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		B := l.bk[k]
		for i := 0; i < h1; i++ {
			dst[o+i] = dot(B[i*h1:i*h1+h1], v[o:o+h1])
		}
		copy(xv[q.xo[k]:q.xo[k]+q.h[k]], v[o+1:o+h1])
	}
	J := blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}
	blas64.Gemv(blas.NoTrans, 1, J, blas64.Vector{N: q.nx, Inc: 1, Data: xv}, 0, blas64.Vector{N: q.n, Inc: 1, Data: l.tmpn})
	g := make([]float64, q.nx)
	blas64.Gemv(blas.Trans, 1, J, blas64.Vector{N: q.n, Inc: 1, Data: l.tmpn}, 0, blas64.Vector{N: q.nx, Inc: 1, Data: g})
	for k := range q.h {
		o := q.xo[k] + k
		for j := 0; j < q.h[k]; j++ {
			dst[o+1+j] += g[q.xo[k]+j]
		}
	}
}

// raw solves K dst = b with the factorization (no refinement).
func (l *linsys) raw(b, dst []float64) {
	q := l.q
	if l.dense {
		copy(dst, b)
		cholSolve(l.kmat, l.N, l.dsc, dst)
		return
	}
	// v = B⁻¹b
	xv := make([]float64, q.nx)
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		for i := 0; i < h1; i++ {
			dst[o+i] = dot(l.binv[k][i*h1:i*h1+h1], b[o:o+h1])
		}
		copy(xv[q.xo[k]:q.xo[k]+q.h[k]], dst[o+1:o+h1])
	}
	J := blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}
	w := l.tmpn
	blas64.Gemv(blas.NoTrans, 1, J, blas64.Vector{N: q.nx, Inc: 1, Data: xv}, 0, blas64.Vector{N: q.n, Inc: 1, Data: w})
	cholSolve(l.S, q.n, l.ssc, w)
	g := make([]float64, q.nx)
	blas64.Gemv(blas.Trans, 1, J, blas64.Vector{N: q.n, Inc: 1, Data: w}, 0, blas64.Vector{N: q.nx, Inc: 1, Data: g})
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		for i := 0; i < h1; i++ {
			row := l.binv[k][i*h1 : i*h1+h1]
			s := 0.0
			for j := 1; j < h1; j++ {
				s += row[j] * g[q.xo[k]+j-1]
			}
			dst[o+i] -= s
		}
	}
}

// solve: raw solve plus iterative refinement (up to 6 steps, while the residual
// ‖b − K·dst‖∞ keeps falling and exceeds 1e-14‖b‖∞).
func (l *linsys) solve(b, dst []float64) bool {
	l.raw(b, dst)
	bn := 0.0
	for _, v := range b {
		bn = math.Max(bn, math.Abs(v))
	}
	prev := math.Inf(1)
	for it := 0; it < 6; it++ {
		l.apply(dst, l.tmpN)
		rn := 0.0
		for i := range l.tmpN {
			l.tmpN[i] = b[i] - l.tmpN[i]
			rn = math.Max(rn, math.Abs(l.tmpN[i]))
		}
		if !(rn < prev) || rn <= 1e-14*bn {
			break
		}
		prev = rn
		l.raw(l.tmpN, l.tmpN2)
		for i := range dst {
			dst[i] += l.tmpN2[i]
		}
	}
	for _, v := range dst {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// cholEquil factors D A D = LLᵀ in place (row-major, full storage, lower factor),
// D = diag(1/√A_ii) stored in d.
func cholEquil(A []float64, n int, d []float64) bool {
	for i := 0; i < n; i++ {
		a := A[i*n+i]
		if !(a > 0) {
			return false
		}
		d[i] = 1 / math.Sqrt(a)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			A[i*n+j] *= d[i] * d[j]
		}
	}
	_, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Uplo: blas.Lower, Data: A})
	return ok
}

// cholSolve solves A x = b in place given cholEquil's factor.
func cholSolve(F []float64, n int, d []float64, b []float64) {
	for i := range b {
		b[i] *= d[i]
	}
	lapack64.Potrs(blas64.Triangular{N: n, Stride: n, Uplo: blas.Lower, Diag: blas.NonUnit, Data: F}, blas64.General{Rows: n, Cols: 1, Stride: 1, Data: b})
	for i := range b {
		b[i] *= d[i]
	}
}

// cholLower replaces the lower triangle of X by its Cholesky factor L (X = LLᵀ) and
// zeroes the strict upper triangle.
func cholLower(X []float64, h int) bool {
	if _, ok := lapack64.Potrf(blas64.Symmetric{N: h, Stride: h, Uplo: blas.Lower, Data: X}); !ok {
		return false
	}
	for i := 0; i < h; i++ {
		for j := i + 1; j < h; j++ {
			X[i*h+j] = 0
		}
	}
	return true
}

var debugWS = os.Getenv("CNNC_DEBUG_WS") != ""
