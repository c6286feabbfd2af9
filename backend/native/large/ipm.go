package large

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	lapackgo "gonum.org/v1/gonum/lapack/gonum"

	"github.com/cnnc-org/cnnc/backend/native/soc"
)

// sub is a restricted problem in pattern space (package doc, "Restricted solve"):
//
//	minimize ½uᵀGu − cᵀu + ½‖ỹ‖² + β Σ_k t_k,   u = E x (u_p = Σ_{k ∈ p} s_k x_k)
//	subject to M_k x_k ≥ 0,  ‖x_k‖ ≤ t_k          (k = 1…K blocks)
//
// G = ĴᵀΠĴ and c = ĴᵀΠy over the restricted problem's patterns; M_k holds block k's
// working cone rows (sign applied). Nothing here has a dimension n.
type sub struct {
	beta     float64
	K        int
	h, xo    []int // per block: H and offset in x (Σ H)
	nx       int
	pat      []int     // per block: its pattern (index into the sub's patterns)
	sg       []float64 // per block: output sign s_k
	rows     [][]float64
	rowIdx   [][]int32 // per block: the rows of C behind rows (for multipliers)
	m, lo    []int     // per block: working rows and their offset in the LP layout
	nl       int
	npat     int
	ph, po   []int // per pattern: H and offset in u (Σ H)
	nu       int
	G        []float64 // nu × nu
	c        []float64 // nu
	yy       float64   // ‖ỹ‖²
	hmax     int
	blocksOf [][]int
	gapTol   float64 // stop also when sᵀu/max(1,|f|) ≤ gapTol with residuals ≤ 1e-8
	// stop is the progress hook, called once per iteration with the iterate (x in
	// the x layout, uL the cone multipliers in the LP layout; read-only, valid
	// during the call): true ends the solve.
	stop func(it int, f, relGap float64, x, uL []float64) bool
	// halted, when set, reports a stop from outside (polled after a row check,
	// which can take seconds, so the solve does not start another iteration, and
	// between the panels of the Newton matrix's factorization).
	halted func() bool
	// start, when set, is the starting point instead of the least-squares start
	// (a restart after rows were added: warmState).
	start *ipmState
	// check is the row generation inside the solve: called once, at the first
	// iterate with relative gap ≤ checkAt and relative residuals ≤ 10·checkAt, with
	// that iterate (x layout); true (rows were added to the working sets) ends the
	// solve with restart set and the iterate in state.
	check   func(x []float64) bool
	checkAt float64
}

// ipmState is an IPM iterate: z = (t_k, x_k) per block and the slacks and
// multipliers of the rows (LP layout) and of the block cones.
type ipmState struct {
	z, sL, uL, sQ, uQ []float64
}

// warmState maps an iterate st of the restricted problem old onto q, the same
// blocks with working rows that are supersets of old's (rows added by a check):
// the block variables, cones and the old rows keep their values; a new row j of
// block k starts at s_j = max(m_jᵀx_k, √μ), u_j = μ/s_j with μ = sᵀu/deg of st (on
// the central path's scale; the infeasible-start IPM removes the residual
// s_j − m_jᵀx_k of a violated row).
func warmState(old, q *sub, st *ipmState) *ipmState {
	deg := float64(old.nl + old.K)
	mu := (dot(st.sL, st.uL) + dot(st.sQ, st.uQ)) / deg
	out := &ipmState{z: append([]float64(nil), st.z...), sQ: append([]float64(nil), st.sQ...), uQ: append([]float64(nil), st.uQ...),
		sL: make([]float64, q.nl), uL: make([]float64, q.nl)}
	floor := math.Sqrt(mu)
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		xk := st.z[q.xo[k]+k+1 : q.xo[k]+k+1+h]
		a := 0
		for r, row := range q.rowIdx[k] {
			i := q.lo[k] + r
			if a < old.m[k] && old.rowIdx[k][a] == row {
				out.sL[i], out.uL[i] = st.sL[old.lo[k]+a], st.uL[old.lo[k]+a]
				a++
				continue
			}
			sv := math.Max(dot(q.rows[k][r*h:r*h+h], xk), floor)
			out.sL[i], out.uL[i] = sv, mu/sv
		}
	}
	return out
}

// finish fills the derived layout fields after the caller set h, pat, sg, rows,
// ph, G, c, yy.
func (q *sub) finish() {
	q.K = len(q.h)
	q.xo = make([]int, q.K)
	q.m = make([]int, q.K)
	q.lo = make([]int, q.K)
	q.nx, q.nl = 0, 0
	for k := 0; k < q.K; k++ {
		q.xo[k] = q.nx
		q.nx += q.h[k]
		q.m[k] = len(q.rows[k]) / q.h[k]
		q.lo[k] = q.nl
		q.nl += q.m[k]
		q.hmax = max(q.hmax, q.h[k])
	}
	q.npat = len(q.ph)
	q.po = make([]int, q.npat)
	q.nu = 0
	for p := range q.ph {
		q.po[p] = q.nu
		q.nu += q.ph[p]
	}
	q.blocksOf = make([][]int, q.npat)
	for k, p := range q.pat {
		q.blocksOf[p] = append(q.blocksOf[p], k)
	}
}

// ex sets u = E x.
func (q *sub) ex(x, u []float64) {
	clear(u)
	for k := 0; k < q.K; k++ {
		o := q.po[q.pat[k]]
		for j, v := range x[q.xo[k] : q.xo[k]+q.h[k]] {
			u[o+j] += q.sg[k] * v
		}
	}
}

// gmul sets dst = G v (nu).
func (q *sub) gmul(v, dst []float64) {
	Gm := blas64.General{Rows: q.nu, Cols: q.nu, Stride: q.nu, Data: q.G}
	blas64.Gemv(blas.NoTrans, 1, Gm, blas64.Vector{N: q.nu, Inc: 1, Data: v}, 0, blas64.Vector{N: q.nu, Inc: 1, Data: dst})
}

// mulAll sets dst (LP layout) = M_k x_k for every block (x in the x layout).
func (q *sub) mulAll(x, dst []float64) {
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		xk := x[q.xo[k] : q.xo[k]+h]
		R := q.rows[k]
		for r := 0; r < q.m[k]; r++ {
			dst[q.lo[k]+r] = dot(R[r*h:r*h+h], xk)
		}
	}
}

// mulTAdd adds alpha·M_kᵀ v_k to the x part of block k in z (z layout: block k's
// (t, x) at xo[k]+k).
func (q *sub) mulTAdd(alpha float64, v, z []float64) {
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		dst := z[q.xo[k]+k+1 : q.xo[k]+k+1+h]
		R := q.rows[k]
		for r := 0; r < q.m[k]; r++ {
			a := alpha * v[q.lo[k]+r]
			if a == 0 {
				continue
			}
			for j, c := range R[r*h : r*h+h] {
				dst[j] += a * c
			}
		}
	}
}

// ipmResult is the outcome of the restricted IPM.
type ipmResult struct {
	x     []float64 // x layout
	t     []float64 // per block
	uL    []float64 // cone multipliers (LP layout)
	iters int
	ok    bool // met its tolerance
	gap   float64
	err   float64 // max(relative gap, relative residuals) of x
	stop  bool    // ended by q.stop
	// restart: ended by q.check (rows were added); state is the iterate then
	restart bool
	state   *ipmState
}

// ntScale is the Nesterov–Todd scaling of one second-order cone,
// W² = η²(2w̄w̄ᵀ − J), J = diag(1, −1, …, −1): s̄ = s/√(sᵀJs), ū = u/√(uᵀJu),
// γ = √((1 + s̄ᵀū)/2), w̄ = (s̄ + Jū)/(2γ), η = (sᵀJs / uᵀJu)^{1/4}; then W u = W⁻¹ s.
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
	if len(c.w) != len(s) {
		c.w = make([]float64, len(s))
	}
	su := 0.0
	for j := range s {
		su += s[j] / ns * u[j] / nu
	}
	g := math.Sqrt((1 + su) / 2)
	c.w[0] = (s[0]/ns + u[0]/nu) / (2 * g)
	for j := 1; j < len(s); j++ {
		c.w[j] = (s[j]/ns - u[j]/nu) / (2 * g)
	}
	c.eta = math.Sqrt(ns / nu)
	return true
}

// apply sets dst = W v (inv false) or W⁻¹ v (inv true):
// W = η[w̄₀ w̄₁ᵀ; w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)], W⁻¹ = η⁻¹[w̄₀ −w̄₁ᵀ; −w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)].
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

// stallIters: in the end game (best error ≤ 1e-4) the IPM returns its best iterate
// after this many iterations without a better one.
const stallIters = 8

// solve runs the infeasible-start primal–dual interior-point method (Nesterov–Todd
// scaling, Mehrotra predictor–corrector) on q from x = 0, t = 0, s = e,
// u = ν_k e (ν_k = β + ‖(Eᵀc)_k‖). Stopping rule: max(sᵀu/max(1,|f|),
// ‖r_d‖∞/max(β, ‖c‖∞), ‖r_p‖∞/max(1, ‖z‖∞)) ≤ tol, or sᵀu/max(1,|f|) ≤ gapTol with
// both residuals ≤ 1e-8; else the best iterate after maxIt iterations, after
// stallIters without improvement once the error is ≤ 1e-4, on a failed
// factorization or step, or when q.stop says so.
func (q *sub) solve(tol float64, maxIt int) ipmResult {
	K, nx, nl := q.K, q.nx, q.nl
	N := nx + K
	z := make([]float64, N)
	sL, uL := make([]float64, nl), make([]float64, nl)
	sQ, uQ := make([]float64, N), make([]float64, N)
	xv, u, gu := make([]float64, nx), make([]float64, q.nu), make([]float64, q.nu)
	gather := func(z, xv []float64) {
		for k := 0; k < K; k++ {
			copy(xv[q.xo[k]:q.xo[k]+q.h[k]], z[q.xo[k]+k+1:q.xo[k]+k+1+q.h[k]])
		}
	}
	cn := 0.0
	for _, v := range q.c {
		cn = math.Max(cn, math.Abs(v))
	}
	for k := 0; k < K; k++ {
		o := q.xo[k] + k
		po := q.po[q.pat[k]]
		nu := q.beta + norm(q.c[po:po+q.h[k]])
		sQ[o], uQ[o] = 1, nu
		ul := nu / math.Max(1, float64(q.m[k]))
		for r := 0; r < q.m[k]; r++ {
			sL[q.lo[k]+r], uL[q.lo[k]+r] = 1, ul
		}
	}
	deg := float64(nl + K)
	rd := make([]float64, N)
	rpL, rpQ := make([]float64, nl), make([]float64, N)
	mxL := make([]float64, nl)
	lin := newKKT(q)
	lin.tolAbs = 1e-13 * math.Max(q.beta, cn)
	dz, dza, rhs := make([]float64, N), make([]float64, N), make([]float64, N)
	dsL, duL, dsLa, duLa := make([]float64, nl), make([]float64, nl), make([]float64, nl), make([]float64, nl)
	dsQ, duQ, dsQa, duQa := make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	dL, dQ, cL := make([]float64, nl), make([]float64, N), make([]float64, nl)
	lamL, lamQ := make([]float64, nl), make([]float64, N)
	wL, w2, iwL, ilamL := make([]float64, nl), make([]float64, nl), make([]float64, nl), make([]float64, nl)
	nt := make([]ntScale, K)
	eL, eQ := make([]float64, nl), make([]float64, N)
	ta, tb, tc := make([]float64, q.hmax+1), make([]float64, q.hmax+1), make([]float64, q.hmax+1)
	dxv := make([]float64, nx)
	// iterative refinement (solve): the step's dual defect and its correction
	ur, gr, er := make([]float64, q.nu), make([]float64, q.nu), make([]float64, N)
	cz, csQ, cuQ, zeroQ := make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	csL, cuL, zeroL := make([]float64, nl), make([]float64, nl), make([]float64, nl)
	best := ipmResult{err: math.Inf(1)}
	bestIt := 0
	if st := q.start; st != nil {
		copy(z, st.z)
		copy(sL, st.sL)
		copy(uL, st.uL)
		copy(sQ, st.sQ)
		copy(uQ, st.uQ)
	} else {
		q.leastSquaresStart(lin, z, sL, uL, sQ, uQ, nt, w2, rhs, xv, mxL)
	}
	checked := false
	for it := 0; ; it++ {
		gather(z, xv)
		q.ex(xv, u)
		q.gmul(u, gu)
		loss := 0.5*dot(u, gu) - dot(q.c, u) + 0.5*q.yy
		for i := range gu {
			gu[i] -= q.c[i] // ∇_u loss
		}
		// r_d = Pz + q + Gᵀu_dual: per block (β − u0, s_k(Gu − c)_p − M_kᵀu_L − u1)
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			po := q.po[q.pat[k]]
			rd[o] = q.beta - uQ[o]
			for j := 0; j < h; j++ {
				rd[o+1+j] = q.sg[k]*gu[po+j] - uQ[o+1+j]
			}
		}
		q.mulTAdd(-1, uL, rd)
		f := loss
		for k := 0; k < K; k++ {
			f += q.beta * z[q.xo[k]+k]
		}
		q.mulAll(xv, mxL)
		rpn := 0.0
		for i := range rpL {
			rpL[i] = sL[i] - mxL[i]
			rpn = math.Max(rpn, math.Abs(rpL[i]))
		}
		for i := range rpQ {
			rpQ[i] = sQ[i] - z[i]
			rpn = math.Max(rpn, math.Abs(rpQ[i]))
		}
		gap := dot(sL, uL) + dot(sQ, uQ)
		rdn, zn := 0.0, 0.0
		for _, v := range rd {
			rdn = math.Max(rdn, math.Abs(v))
		}
		for _, v := range z {
			zn = math.Max(zn, math.Abs(v))
		}
		relGap := gap / math.Max(1, math.Abs(f))
		relD := rdn / math.Max(q.beta, cn)
		relP := rpn / math.Max(1, zn)
		if debugIPM {
			println("ipm", it, "f", f, "gap", gap, "rd", relD, "rp", relP)
		}
		if it-bestIt > stallIters && best.err <= 1e-4 {
			return best
		}
		if e := math.Max(relGap, math.Max(relD, relP)); e < best.err {
			bestIt = it
			best = ipmResult{x: append([]float64(nil), xv...), uL: append([]float64(nil), uL...), iters: it, gap: gap, err: e}
			best.t = make([]float64, K)
			for k := 0; k < K; k++ {
				best.t[k] = z[q.xo[k]+k]
			}
			if e <= tol || (q.gapTol > 0 && relGap <= q.gapTol && math.Max(relD, relP) <= 1e-8) {
				best.ok = true
				return best
			}
		}
		best.iters = it
		if it >= maxIt {
			return best
		}
		if q.stop != nil && q.stop(it, f, relGap, xv, uL) {
			best.stop = true
			return best
		}
		if q.check != nil && !checked && relGap <= q.checkAt && math.Max(relD, relP) <= 10*q.checkAt {
			checked = true
			if q.check(xv) {
				best.restart, best.iters = true, it
				best.state = &ipmState{z: append([]float64(nil), z...), sL: append([]float64(nil), sL...), uL: append([]float64(nil), uL...),
					sQ: append([]float64(nil), sQ...), uQ: append([]float64(nil), uQ...)}
				return best
			}
			if q.halted != nil && q.halted() {
				best.stop = true
				return best
			}
		}
		mu := gap / deg
		for i := 0; i < nl; i++ {
			wL[i] = math.Sqrt(sL[i] / uL[i])
			lamL[i] = math.Sqrt(sL[i] * uL[i])
			w2[i] = uL[i] / sL[i]
			iwL[i] = 1 / wL[i]
			ilamL[i] = 1 / lamL[i]
		}
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			if !nt[k].set(sQ[o:o+h+1], uQ[o:o+h+1]) {
				return best
			}
			nt[k].apply(uQ[o:o+h+1], lamQ[o:o+h+1], false) // λ = W u
		}
		if !lin.factor(w2, nt) {
			// a stop from outside cuts the factorization short (cholBig)
			best.stop = q.halted != nil && q.halted()
			return best
		}
		// Newton step for the complementarity right-hand side rc (d = λ⧵rc):
		//   K Δz = −r_d + Mᵀ(W⁻¹d + W⁻²r_p)_L + (W⁻¹(d + W⁻¹r_p))_Q,
		//   Δs = −r_p + (MΔx, Δz),  Δu = W⁻¹(d − W⁻¹Δs).
		solve1 := func(rcL, rcQ, rd, rpL, rpQ, dz, dsL, duL, dsQ, duQ []float64) bool {
			for i := 0; i < nl; i++ {
				dL[i] = rcL[i] * ilamL[i]
				cL[i] = (dL[i] + rpL[i]*iwL[i]) * iwL[i]
			}
			for i := range rhs {
				rhs[i] = -rd[i]
			}
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				a, b := ta[:h+1], tb[:h+1]
				soc.Div(lamQ[o:o+h+1], rcQ[o:o+h+1], dQ[o:o+h+1])
				nt[k].apply(rpQ[o:o+h+1], a, true)
				for j := range a {
					a[j] += dQ[o+j]
				}
				nt[k].apply(a, b, true)
				for j := range b {
					rhs[o+j] += b[j]
				}
			}
			q.mulTAdd(1, cL, rhs)
			if !lin.solve(rhs, dz) {
				return false
			}
			gather(dz, dxv)
			q.mulAll(dxv, dsL)
			for i := range dsL {
				dsL[i] -= rpL[i]
			}
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				a := ta[:h+1]
				for j := 0; j <= h; j++ {
					dsQ[o+j] = dz[o+j] - rpQ[o+j]
				}
				nt[k].apply(dsQ[o:o+h+1], a, true)
				for j := range a {
					a[j] = dQ[o+j] - a[j]
				}
				nt[k].apply(a, duQ[o:o+h+1], true)
			}
			for i := 0; i < nl; i++ {
				duL[i] = (dL[i] - dsL[i]*iwL[i]) * iwL[i]
			}
			return true
		}
		// solve is solve1 with one step of iterative refinement on the first
		// (dual) equation, PΔz + GᵀΔu = −r_d: the other two hold by construction,
		// but near the optimum Δu is recovered through scalings W whose entries
		// span many orders of magnitude, and the step's own dual defect
		// e = r_d + PΔz + GᵀΔu then exceeded the residual it was meant to remove
		// (measured: the dual residual grew from 1.8e-11 to 1.2e-9 relative in the
		// last iterations). The correction solves the same system (same factor)
		// with r_d = e, r_p = 0, r_c = 0 and is added to the step.
		solve := func(rcL, rcQ, dz, dsL, duL, dsQ, duQ []float64) bool {
			if !solve1(rcL, rcQ, rd, rpL, rpQ, dz, dsL, duL, dsQ, duQ) {
				return false
			}
			if !refineIPM {
				return true
			}
			gather(dz, dxv)
			q.ex(dxv, ur)
			q.gmul(ur, gr)
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				po := q.po[q.pat[k]]
				er[o] = rd[o] - duQ[o]
				for j := 0; j < h; j++ {
					er[o+1+j] = rd[o+1+j] + q.sg[k]*gr[po+j] - duQ[o+1+j]
				}
			}
			q.mulTAdd(-1, duL, er)
			// the correction costs a second solve: it is made only when the defect
			// is not already small against the residual the step removes (early
			// iterations rarely need it; at n = 10 000 refining every step cost 16%
			// more time)
			en, rn := 0.0, 0.0
			for i := range er {
				en = math.Max(en, math.Abs(er[i]))
				rn = math.Max(rn, math.Abs(rd[i]))
			}
			if en <= refineRatio*rn {
				return true
			}
			if !solve1(zeroL, zeroQ, er, zeroL, zeroQ, cz, csL, cuL, csQ, cuQ) {
				return true // the unrefined step stands
			}
			for i := range dz {
				dz[i] += cz[i]
				dsQ[i] += csQ[i]
				duQ[i] += cuQ[i]
			}
			for i := range dsL {
				dsL[i] += csL[i]
				duL[i] += cuL[i]
			}
			return true
		}
		// predictor: rc = −λ∘λ
		for i := 0; i < nl; i++ {
			eL[i] = -lamL[i] * lamL[i]
		}
		for k := 0; k < K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			soc.Prod(lamQ[o:o+h+1], lamQ[o:o+h+1], eQ[o:o+h+1])
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
			a, b, c := ta[:h+1], tb[:h+1], tc[:h+1]
			nt[k].apply(dsQa[o:o+h+1], a, true)
			nt[k].apply(duQa[o:o+h+1], b, false)
			soc.Prod(a, b, c)
			soc.Prod(lamQ[o:o+h+1], lamQ[o:o+h+1], a)
			for j := 0; j <= h; j++ {
				eQ[o+j] = -a[j] - c[j]
			}
			eQ[o] += sigma * mu
		}
		if !solve(eL, eQ, dz, dsL, duL, dsQ, duQ) {
			return best
		}
		alpha := math.Min(1, 0.99*q.maxStep(sL, uL, sQ, uQ, dsL, duL, dsQ, duQ))
		if alpha < 0.5*aa {
			// the second-order term spoils the step: try the centred direction
			// rc = −λ∘λ + σμe (same factorization) and keep the longer step
			for i := 0; i < nl; i++ {
				eL[i] = -lamL[i]*lamL[i] + sigma*mu
			}
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				soc.Prod(lamQ[o:o+h+1], lamQ[o:o+h+1], eQ[o:o+h+1])
				for j := 0; j <= h; j++ {
					eQ[o+j] = -eQ[o+j]
				}
				eQ[o] += sigma * mu
			}
			if solve(eL, eQ, dza, dsLa, duLa, dsQa, duQa) {
				if a2 := math.Min(1, 0.99*q.maxStep(sL, uL, sQ, uQ, dsLa, duLa, dsQa, duQa)); a2 > alpha {
					alpha = a2
					dz, dza, dsL, dsLa, duL, duLa = dza, dz, dsLa, dsL, duLa, duL
					dsQ, dsQa, duQ, duQa = dsQa, dsQ, duQa, duQ
				}
			}
		}
		if debugIPM {
			println("   steps: affine", aa, "sigma", sigma, "alpha", alpha)
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

// leastSquaresStart sets the starting point of CVXOPT's coneqp (Vandenberghe, "The
// CVXOPT linear and quadratic cone program solvers", §6): with identity scalings
// solve (P + GᵀG)z = −q, i.e. K z = (−β, Eᵀc) per block, set s = −Gz = (Mx, z) and
// u = −s, and shift each into its cone's interior: v ← v + (1 + α)e when its
// smallest eigenvalue −α is not positive (LP: min v_i; SOC: v₀ − ‖v₁‖).
func (q *sub) leastSquaresStart(lin *kkt, z, sL, uL, sQ, uQ []float64, nt []ntScale, d, rhs, xv, mx []float64) {
	for i := range d {
		d[i] = 1
	}
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		nt[k].eta = 1
		if len(nt[k].w) != h+1 {
			nt[k].w = make([]float64, h+1)
		}
		clear(nt[k].w)
		nt[k].w[0] = 1
	}
	if !lin.factor(d, nt) {
		return
	}
	for k := 0; k < q.K; k++ {
		o, h := q.xo[k]+k, q.h[k]
		po := q.po[q.pat[k]]
		rhs[o] = -q.beta
		for j := 0; j < h; j++ {
			rhs[o+1+j] = q.sg[k] * q.c[po+j]
		}
	}
	zz := make([]float64, len(z))
	if !lin.solve(rhs, zz) {
		return
	}
	for k := 0; k < q.K; k++ {
		copy(xv[q.xo[k]:q.xo[k]+q.h[k]], zz[q.xo[k]+k+1:q.xo[k]+k+1+q.h[k]])
	}
	q.mulAll(xv, mx)
	shiftLP := func(v []float64) {
		mn := math.Inf(1)
		for _, x := range v {
			mn = math.Min(mn, x)
		}
		if a := -mn; a >= -1e-8*math.Max(1, norm(v)) {
			for i := range v {
				v[i] += 1 + a
			}
		}
	}
	for i := range mx {
		sL[i], uL[i] = mx[i], -mx[i]
	}
	copy(sQ, zz)
	for i := range zz {
		uQ[i] = -zz[i]
	}
	// one shift per cone family (as coneqp: the largest violation over all cones)
	shiftLP(sL)
	shiftLP(uL)
	shiftSOC := func(v []float64) {
		a := math.Inf(-1)
		for k := 0; k < q.K; k++ {
			o, h := q.xo[k]+k, q.h[k]
			a = math.Max(a, norm(v[o+1:o+1+h])-v[o])
		}
		if a >= -1e-8*math.Max(1, norm(v)) {
			for k := 0; k < q.K; k++ {
				v[q.xo[k]+k] += 1 + a
			}
		}
	}
	shiftSOC(sQ)
	shiftSOC(uQ)
	copy(z, zz)
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
	for k := 0; k < q.K; k++ {
		o, h := q.xo[k]+k, q.h[k]
		a = math.Min(a, soc.Step(sQ[o:o+h+1], dsQ[o:o+h+1]))
		a = math.Min(a, soc.Step(uQ[o:o+h+1], duQ[o:o+h+1]))
	}
	return a
}

// kkt solves the Newton system K Δz = b, K = EᵀGE (on the x parts) + ⊕_k B_k,
// B_k = W_k⁻² + 0 ⊕ Ĝ_k (Ĝ_k = M_kᵀ diag(u/s) M_k), by preconditioned conjugate
// gradients against K applied exactly. The preconditioner is the exact inverse of
// P = K + ⊕_k ρ_k v_kv_kᵀ (ray regularisation, below), computed without forming any
// large inverse:
//
//  1. Each block's t is eliminated in closed form. With W² = η²(2w̄w̄ᵀ − J),
//     w̄ = (w₀, w₁), a = ‖w₁‖, ŵ = w₁/a, w₀² − a² = 1, v = (1, ŵ), B̃ = B + ρvvᵀ
//     has B̃_tt = τ = η⁻²(1+2a²) + ρ, B̃_xt = c = (ρ − 2η⁻²w₀a)ŵ, and the Schur
//     complement onto x is
//     A_k = B̃_xx − ccᵀ/τ = η⁻²(I − ŵŵᵀ) + σŵŵᵀ + Ĝ_k,  σ = (η⁻⁴ + 2ρη⁻²(1+2a²+2w₀a))/τ
//     (from τ² − (ρ − 2η⁻²w₀a)² and (1+2a²)² − 4w₀²a² = 1): a sum of positive
//     terms, where forming B̃ and subtracting would lose the 1e17 range of W⁻².
//  2. x is reduced to the pattern space u_p = Σ_{k∈p} s_k x_k: one copy gives
//     P_p = A_k; two give the parallel sum P_p = A_v(A_v + A_w)⁻¹A_w.
//  3. One Cholesky of the nu × nu matrix M = G + ⊕_p P_p per IPM iteration (nu³/3,
//     independent of n); t = M⁻¹ r̂ with r̂ the reduced right-hand side; then x and
//     t of every block by back-substitution through A_v + A_w only.
//
// The ray regularisation ρ_k = δ‖Ĵŵ‖²/4 (δ = rayDelta) keeps M positive definite
// where G is singular along an active block's ray. Tried first: the Woodbury form
// B̃⁻¹ − B̃⁻¹Eᵀ[G − GL(I+LᵀGL)⁻¹LᵀG]EB̃⁻¹ (its bracket cancels to 1/δ of its size
// near the optimum) and the Schur form with S⁻¹ = L⁻ᵀL⁻¹ from a QR of the stacked
// B̃⁻¹ factors (L spans 1e10, its inverse lost the rays): both left PCG stagnating
// at dual residuals of 1e-7 to 1e-3.
type kkt struct {
	q      *sub
	bk     [][]float64 // exact B_k ((h+1)², row-major), for apply
	gk     [][]float64 // Ĝ_k (h², row-major)
	ak     [][]float64 // A_k (h²)
	ck     [][]float64 // c_k (h)
	tau    []float64   // τ_k
	pc     [][]float64 // per two-copy pattern: Cholesky of A_v + A_w (h², lower)
	M      []float64   // nu × nu: G + ⊕_p P_p, then its Cholesky factor (equilibrated)
	msc    []float64
	tmp    []float64
	xv, uv []float64
	ev, gv []float64
	w1, w2 []float64
	// PCG scratch
	cr, cz, cp, cq, cb []float64
	tolAbs             float64
}

func newKKT(q *sub) *kkt {
	h1 := q.hmax + 1
	l := &kkt{q: q, bk: make([][]float64, q.K), gk: make([][]float64, q.K), ak: make([][]float64, q.K),
		ck: make([][]float64, q.K), tau: make([]float64, q.K), pc: make([][]float64, q.npat),
		M: make([]float64, q.nu*q.nu), msc: make([]float64, q.nu), tmp: make([]float64, 4*h1*h1),
		xv: make([]float64, q.nx), uv: make([]float64, q.nu), ev: make([]float64, q.nu), gv: make([]float64, q.nu),
		w1: make([]float64, h1), w2: make([]float64, h1)}
	N := q.nx + q.K
	l.cr, l.cz, l.cp, l.cq, l.cb = make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	for k := 0; k < q.K; k++ {
		h := q.h[k]
		l.bk[k] = make([]float64, (h+1)*(h+1))
		l.gk[k] = make([]float64, h*h)
		l.ak[k] = make([]float64, h*h)
		l.ck[k] = make([]float64, h)
	}
	for p := 0; p < q.npat; p++ {
		if len(q.blocksOf[p]) == 2 {
			l.pc[p] = make([]float64, q.ph[p]*q.ph[p]+q.ph[p])
		}
	}
	return l
}

// refineIPM switches the Newton steps' iterative refinement on (solve in sub.solve);
// a step is refined when its dual defect exceeds refineRatio times the dual residual.
var refineIPM = true

const refineRatio = 1e-2

// rayDelta is δ of the ray regularisation (kkt doc).
const rayDelta = 1e-10

// factor forms B_k (exact), A_k, c_k, τ_k and the pattern-space factorization for LP
// weights d = u/s and SOC scalings nt.
func (l *kkt) factor(d []float64, nt []ntScale) bool {
	q := l.q
	for k := 0; k < q.K; k++ {
		h, h1 := q.h[k], q.h[k]+1
		G := l.gk[k]
		clear(G)
		R := q.rows[k]
		for r := 0; r < q.m[k]; r++ {
			dr := d[q.lo[k]+r]
			row := R[r*h : r*h+h]
			for i, a := range row {
				if a == 0 {
					continue
				}
				ai := dr * a
				gi := G[i*h : i*h+h]
				for j, b := range row {
					gi[j] += ai * b
				}
			}
		}
		// exact B_k = W⁻² + 0 ⊕ Ĝ_k: W⁻² = η⁻²(2Jw̄w̄ᵀJ − J), Jw̄ = (w₀, −w₁)
		eta2 := 1 / (nt[k].eta * nt[k].eta)
		w := nt[k].w
		B := l.bk[k]
		for i := 0; i < h1; i++ {
			ji := w[i]
			if i > 0 {
				ji = -ji
			}
			for j := 0; j < h1; j++ {
				jj := w[j]
				if j > 0 {
					jj = -jj
				}
				v := 2 * ji * jj
				if i == j {
					if i == 0 {
						v -= 1
					} else {
						v += 1
					}
				}
				B[i*h1+j] = eta2 * v
				if i > 0 && j > 0 {
					B[i*h1+j] += G[(i-1)*h+j-1]
				}
			}
		}
		// closed-form Schur complement (kkt doc, step 1)
		w1 := w[1:]
		a := norm(w1)
		rho := 0.0
		hat := l.w1[:h]
		clear(hat)
		if a > 0 {
			for j := range hat {
				hat[j] = w1[j] / a
			}
			po := q.po[q.pat[k]]
			jr := 0.0
			for i := 0; i < h; i++ {
				jr += hat[i] * dot(q.G[(po+i)*q.nu+po:(po+i)*q.nu+po+h], hat)
			}
			rho = rayDelta * jr / 4
		}
		tau := eta2*(1+2*a*a) + rho
		l.tau[k] = tau
		cb := rho - 2*eta2*w[0]*a
		for j := range hat {
			l.ck[k][j] = cb * hat[j]
		}
		sigma := (eta2*eta2 + 2*rho*eta2*(1+2*a*a+2*w[0]*a)) / tau
		A := l.ak[k]
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				v := (sigma - eta2) * hat[i] * hat[j]
				if i == j {
					v += eta2
				}
				A[i*h+j] = v + G[i*h+j]
			}
		}
	}
	nu := q.nu
	copy(l.M, q.G)
	for p := 0; p < q.npat; p++ {
		h, o := q.ph[p], q.po[p]
		bl := q.blocksOf[p]
		var P []float64
		switch len(bl) {
		case 1:
			P = l.ak[bl[0]]
		case 2:
			// P = A_v(A_v + A_w)⁻¹A_w, symmetrised
			Av, Aw := l.ak[bl[0]], l.ak[bl[1]]
			F := l.pc[p]
			for i := 0; i < h*h; i++ {
				F[i] = Av[i] + Aw[i]
			}
			if !cholInPlace(F, h) {
				return false
			}
			Y := l.tmp[:h*h] // (A_v + A_w)⁻¹ A_w, column by column
			col := l.w2[:h]
			for j := 0; j < h; j++ {
				for i := 0; i < h; i++ {
					col[i] = Aw[i*h+j]
				}
				cholSolveSmall(F, h, col)
				for i := 0; i < h; i++ {
					Y[i*h+j] = col[i]
				}
			}
			P = l.tmp[h*h : 2*h*h]
			for i := 0; i < h; i++ {
				for j := 0; j < h; j++ {
					s := 0.0
					for c := 0; c < h; c++ {
						s += Av[i*h+c] * Y[c*h+j]
					}
					P[i*h+j] = s
				}
			}
			for i := 0; i < h; i++ {
				for j := 0; j < i; j++ {
					v := 0.5 * (P[i*h+j] + P[j*h+i])
					P[i*h+j], P[j*h+i] = v, v
				}
			}
		default:
			panic("large: a pattern with more than two copies")
		}
		for i := 0; i < h; i++ {
			dst := l.M[(o+i)*nu+o : (o+i)*nu+o+h]
			for j, v := range P[i*h : i*h+h] {
				dst[j] += v
			}
		}
	}
	return cholBig(l.M, nu, l.msc, q.halted)
}

// apply sets dst = K v exactly (blockwise B_k plus EᵀGE).
func (l *kkt) apply(v, dst []float64) {
	q := l.q
	for k := 0; k < q.K; k++ {
		o, h1 := q.xo[k]+k, q.h[k]+1
		B := l.bk[k]
		for i := 0; i < h1; i++ {
			dst[o+i] = dot(B[i*h1:i*h1+h1], v[o:o+h1])
		}
		copy(l.xv[q.xo[k]:q.xo[k]+q.h[k]], v[o+1:o+h1])
	}
	q.ex(l.xv, l.uv)
	q.gmul(l.uv, l.gv)
	for k := 0; k < q.K; k++ {
		o, po := q.xo[k]+k, q.po[q.pat[k]]
		for j := 0; j < q.h[k]; j++ {
			dst[o+1+j] += q.sg[k] * l.gv[po+j]
		}
	}
}

// raw applies the preconditioner: dst = P⁻¹b (kkt doc, steps 1–3).
func (l *kkt) raw(b, dst []float64) {
	q := l.q
	// b̂_k = b_x − c_k b_t/τ_k (stored in dst's x parts for now)
	for k := 0; k < q.K; k++ {
		o, h := q.xo[k]+k, q.h[k]
		f := b[o] / l.tau[k]
		for j := 0; j < h; j++ {
			dst[o+1+j] = b[o+1+j] - l.ck[k][j]*f
		}
	}
	// reduced right-hand side per pattern
	for p := 0; p < q.npat; p++ {
		h, o := q.ph[p], q.po[p]
		bl := q.blocksOf[p]
		r := l.ev[o : o+h]
		if len(bl) == 1 {
			k := bl[0]
			bk := dst[q.xo[k]+k+1 : q.xo[k]+k+1+h]
			for j := range r {
				r[j] = q.sg[k] * bk[j]
			}
			continue
		}
		// r = A_w(A_v+A_w)⁻¹ s_v b̂_v + A_v(A_v+A_w)⁻¹ s_w b̂_w
		v, w := bl[0], bl[1]
		bv := dst[q.xo[v]+v+1 : q.xo[v]+v+1+h]
		bw := dst[q.xo[w]+w+1 : q.xo[w]+w+1+h]
		y1, y2 := l.w1[:h], l.w2[:h]
		for j := 0; j < h; j++ {
			y1[j], y2[j] = q.sg[v]*bv[j], q.sg[w]*bw[j]
		}
		cholSolveSmall(l.pc[p], h, y1)
		cholSolveSmall(l.pc[p], h, y2)
		Av, Aw := l.ak[v], l.ak[w]
		for i := 0; i < h; i++ {
			r[i] = dot(Aw[i*h:i*h+h], y1) + dot(Av[i*h:i*h+h], y2)
		}
	}
	cholSolveBig(l.M, q.nu, l.msc, l.ev) // t
	// back-substitution: x per block, then t_k = (b_t − c_kᵀx_k)/τ_k
	for p := 0; p < q.npat; p++ {
		h, o := q.ph[p], q.po[p]
		bl := q.blocksOf[p]
		t := l.ev[o : o+h]
		if len(bl) == 1 {
			k := bl[0]
			xk := dst[q.xo[k]+k+1 : q.xo[k]+k+1+h]
			for j := range xk {
				xk[j] = q.sg[k] * t[j]
			}
			continue
		}
		// x_v = s_v(A_v+A_w)⁻¹(A_w t + s_v b̂_v − s_w b̂_w), x_w = s_w(t − s_v x_v)
		v, w := bl[0], bl[1]
		xv := dst[q.xo[v]+v+1 : q.xo[v]+v+1+h]
		xw := dst[q.xo[w]+w+1 : q.xo[w]+w+1+h]
		y := l.w1[:h]
		Aw := l.ak[w]
		for i := 0; i < h; i++ {
			y[i] = dot(Aw[i*h:i*h+h], t) + q.sg[v]*xv[i] - q.sg[w]*xw[i]
		}
		cholSolveSmall(l.pc[p], h, y)
		for i := 0; i < h; i++ {
			xv[i] = q.sg[v] * y[i]
			xw[i] = q.sg[w] * (t[i] - q.sg[v]*xv[i])
		}
	}
	for k := 0; k < q.K; k++ {
		o, h := q.xo[k]+k, q.h[k]
		dst[o] = (b[o] - dot(l.ck[k], dst[o+1:o+1+h])) / l.tau[k]
	}
}

// cgMax caps the conjugate-gradient iterations of one Newton solve.
const cgMax = 30

// solve solves K dst = b by PCG with the factored preconditioner, from dst = P⁻¹b.
// Stopping rule: ‖b − K·dst‖∞ ≤ max(1e-14‖b‖∞, tolAbs), cgMax iterations, or a
// residual 1000× above the best; the best iterate is returned. It fails only on
// NaN/Inf.
func (l *kkt) solve(b, dst []float64) bool {
	N := len(b)
	if len(l.cr) < N {
		l.cr, l.cz, l.cp, l.cq, l.cb = make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	}
	r, z, p, Ap, bx := l.cr[:N], make([]float64, N), l.cp[:N], l.cq[:N], make([]float64, N)
	l.raw(b, dst)
	bn := 0.0
	for _, v := range b {
		bn = math.Max(bn, math.Abs(v))
	}
	tol := math.Max(1e-14*bn, l.tolAbs)
	l.apply(dst, Ap)
	rn := 0.0
	for i := range r {
		r[i] = b[i] - Ap[i]
		rn = math.Max(rn, math.Abs(r[i]))
	}
	best := rn
	copy(bx, dst)
	if rn > tol {
		l.raw(r, z)
		copy(p, z)
		rz := dot(r, z)
		for it := 1; it <= cgMax; it++ {
			l.apply(p, Ap)
			pAp := dot(p, Ap)
			if !(pAp > 0) || !(rz > 0) {
				break
			}
			a := rz / pAp
			rn = 0
			for i := range r {
				dst[i] += a * p[i]
				r[i] -= a * Ap[i]
				rn = math.Max(rn, math.Abs(r[i]))
			}
			if rn < best {
				best = rn
				copy(bx, dst)
			}
			if rn <= tol || rn > 1e3*best {
				break
			}
			l.raw(r, z)
			rz2 := dot(r, z)
			bt := rz2 / rz
			rz = rz2
			for i := range p {
				p[i] = z[i] + bt*p[i]
			}
		}
		copy(dst, bx)
	}
	if debugIPM {
		println("   pcg best", best, "tol", tol, "bn", bn)
	}
	for _, v := range dst {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// cholSmall factors D A D = LLᵀ in place (row-major, lower; plain loops for the
// (H+1)² block matrices), D = diag(1/√A_ii) in d; retried with diagonal shifts
// 1e-14…1e-6 of the equilibrated matrix when a pivot fails (PCG corrects the shift).
func cholSmall(A []float64, n int, d []float64) bool {
	save := make([]float64, n*n)
	copy(save, A[:n*n])
	for _, delta := range []float64{0, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6} {
		copy(A[:n*n], save)
		ok := true
		for i := 0; i < n; i++ {
			if !(A[i*n+i] > 0) {
				ok = false
				break
			}
			d[i] = 1 / math.Sqrt(A[i*n+i])
		}
		if !ok {
			return false
		}
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				A[i*n+j] *= d[i] * d[j]
			}
			A[i*n+i] += delta
		}
		for j := 0; j < n && ok; j++ {
			s := A[j*n+j]
			for k := 0; k < j; k++ {
				s -= A[j*n+k] * A[j*n+k]
			}
			if !(s > 0) {
				ok = false
				break
			}
			s = math.Sqrt(s)
			A[j*n+j] = s
			for i := j + 1; i < n; i++ {
				t := A[i*n+j]
				for k := 0; k < j; k++ {
					t -= A[i*n+k] * A[j*n+k]
				}
				A[i*n+j] = t / s
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// cholBig factors D A D (+ δI on failure) = LLᵀ in place with LAPACK's blocked
// Cholesky (row-major lower triangle, potrf), D = diag(1/√A_ii) in d. It returns
// false, the factor unusable, when halted (may be nil) reports a stop between two
// panels.
func cholBig(A []float64, n int, d []float64, halted func() bool) bool {
	for i := 0; i < n; i++ {
		if !(A[i*n+i] > 0) {
			return false
		}
		d[i] = 1 / math.Sqrt(A[i*n+i])
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			A[i*n+j] *= d[i] * d[j]
		}
	}
	var save []float64
	for _, delta := range []float64{0, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6} {
		if delta > 0 {
			if save == nil {
				return false
			}
			copy(A, save)
			for i := 0; i < n; i++ {
				A[i*n+i] += delta
			}
		} else {
			save = append([]float64(nil), A...)
		}
		ok, stopped := potrf(A, n, halted)
		if ok {
			return true
		}
		if stopped {
			return false
		}
	}
	return false
}

// potrf is LAPACK's blocked left-looking Cholesky of the row-major lower triangle of
// the n × n matrix A, panel by panel as gonum's Dpotrf does it (same block size, same
// BLAS calls, so the same factor bit for bit), polling halted (may be nil) before
// each panel: at nu = 3 400 one factorization takes about half a second, and a stop
// must not wait for it. ok reports a positive definite A; stopped a stop before the
// end (A then partly factored).
func potrf(A []float64, n int, halted func() bool) (ok, stopped bool) {
	impl := lapackgo.Implementation{}
	nb := impl.Ilaenv(1, "DPOTRF", "L", n, -1, -1, -1)
	if nb <= 1 || n <= nb {
		return impl.Dpotf2(blas.Lower, n, A, n), false
	}
	bi := blas64.Implementation()
	for j := 0; j < n; j += nb {
		if halted != nil && halted() {
			return false, true
		}
		jb := min(nb, n-j)
		bi.Dsyrk(blas.Lower, blas.NoTrans, jb, j, -1, A[j*n:], n, 1, A[j*n+j:], n)
		if !impl.Dpotf2(blas.Lower, jb, A[j*n+j:], n) {
			return false, false
		}
		if j+jb < n {
			bi.Dgemm(blas.NoTrans, blas.Trans, n-j-jb, jb, j, -1, A[(j+jb)*n:], n, A[j*n:], n, 1, A[(j+jb)*n+j:], n)
			bi.Dtrsm(blas.Right, blas.Lower, blas.Trans, blas.NonUnit, n-j-jb, jb, 1, A[j*n+j:], n, A[(j+jb)*n+j:], n)
		}
	}
	return true, false
}

// cholSolveBig solves A x = b in place for the factor of cholBig.
func cholSolveBig(F []float64, n int, d, b []float64) {
	for i := range b {
		b[i] *= d[i]
	}
	T := blas64.Triangular{N: n, Stride: n, Uplo: blas.Lower, Diag: blas.NonUnit, Data: F}
	v := blas64.Vector{N: n, Inc: 1, Data: b}
	blas64.Trsv(blas.NoTrans, T, v)
	blas64.Trsv(blas.Trans, T, v)
	for i := range b {
		b[i] *= d[i]
	}
}

// cholInPlace factors the h × h SPD matrix F (len h² + h: the equilibration
// D = diag(1/√F_ii) goes in F[h²:]) as D F D = LLᵀ (cholSmall).
func cholInPlace(F []float64, h int) bool { return cholSmall(F[:h*h], h, F[h*h:]) }

// cholSolveSmall solves A x = b in place for the factor of cholInPlace:
// x = D L⁻ᵀ L⁻¹ D b.
func cholSolveSmall(F []float64, h int, b []float64) {
	L, d := F[:h*h], F[h*h:]
	for i := 0; i < h; i++ {
		b[i] *= d[i]
	}
	for i := 0; i < h; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= L[i*h+k] * b[k]
		}
		b[i] = s / L[i*h+i]
	}
	for i := h - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < h; k++ {
			s -= L[k*h+i] * b[k]
		}
		b[i] = s / L[i*h+i]
	}
	for i := 0; i < h; i++ {
		b[i] *= d[i]
	}
}

const debugIPM = false
