package group

import (
	"context"
	"github.com/cnnc-org/cnnc/backend/solver"
	"math"
	"os"
	"runtime"
	"sync"

	"github.com/cnnc-org/cnnc/backend/native/soc"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// sub is the restricted problem on a working set W (package doc, "Method ws"):
//
//	minimize ½‖Ĵx − ỹ‖² + β Σ_k t_k   s.t.  M_k x_k ≥ 0,  (t_k, x_k) ∈ SOC(H_k+1)
//
// Ĵ = Π[s_k 𝒫_k]_k (n × Nx, row-major, columns of block k at xo[k]), ỹ = Πy.
// M_k = diag(sgn_k)·C_f[idx_k] is never formed: the cone rows of all blocks of one
// family are applied together by products with that family's C (coneFam).
type sub struct {
	n    int
	beta float64
	yt   []float64 // ỹ
	J    []float64 // n × nx row-major
	nx   int
	xo   []int       // x offset of block k
	h    []int       // H_k
	m    []int       // m_k (rows of M_k)
	lo   []int       // offset of block k's rows in the LP vectors
	nl   int         // Σ m_k
	idx  [][]int32   // rows of C_f in M_k
	sgn  [][]float64 // their signs
	kf   []int       // slot of block k's family in cf (−1: unconstrained)
	kc   []int       // position of block k among its family's blocks
	grp  []int       // pattern group of block k: blocks with Ĵ_k = ±Ĵ_{k'} (the two copies)
	ngrp int
	cf   []*coneFam
	hmax int
	// ctx (may be nil) ends the IPM early: polled once per iteration and between
	// the blocks of the Newton matrix's factorisation (one block of a fully
	// connected layer on 28 × 28 images takes seconds), the best iterate is
	// returned (stopped says why).
	ctx context.Context
	// gapTol > 0: the IPM also stops when its relative gap is ≤ gapTol and both
	// relative residuals ≤ 1e-8 (the outer certificate needs no more; set by the
	// working-set loop to a tenth of its Tol).
	gapTol float64

	// Grouped Ĵ: the blocks of one pattern group have Ĵ_k = gsg_k·Ĵ_{first}, so
	// Ĵx = Jg·(Σ_{k∈g} gsg_k x_k)_g and Ĵ_kᵀr = gsg_k·(Jgᵀr)_{grp k}: half the
	// columns of Ĵ when both copies of every pattern are in W.
	Jg   []float64 // n × nJ row-major, group g's columns at gcol[g]
	nJ   int
	gcol []int
	gsg  []float64 // per block
	xg   []float64 // scratch (nJ)

	// lx: a loss other than squared (hinge, logistic), with the output bias as a free
	// variable; nil for squared loss, whose bias is eliminated by centring (J = ΠJ,
	// yt = Πy). See lossExt.
	lx *lossExt
}

// group builds Jg from J given the first block of every group (gsg is set by build).
func (q *sub) group(first []int) {
	q.gcol = make([]int, q.ngrp)
	for g, k := range first {
		q.gcol[g] = q.nJ
		q.nJ += q.h[k]
	}
	q.Jg = make([]float64, q.n*q.nJ)
	for g, k := range first {
		h := q.h[k]
		for i := 0; i < q.n; i++ {
			copy(q.Jg[i*q.nJ+q.gcol[g]:i*q.nJ+q.gcol[g]+h], q.J[i*q.nx+q.xo[k]:i*q.nx+q.xo[k]+h])
		}
	}
	q.xg = make([]float64, q.nJ)
}

// jmul sets out = alpha·Ĵx + beta·out (x in the compact layout, block k at xo[k]).
func (q *sub) jmul(alpha float64, x []float64, beta float64, out []float64) {
	q.jmulWith(q.Jg, alpha, x, beta, out)
}

// jmulWith is jmul with the grouped matrix Jm (n × nJ, Jg's layout) in place of Jg.
func (q *sub) jmulWith(Jm []float64, alpha float64, x []float64, beta float64, out []float64) {
	xg := q.xg
	for i := range xg {
		xg[i] = 0
	}
	for k, h := range q.h {
		o, c := q.gcol[q.grp[k]], q.gsg[k]
		for j, v := range x[q.xo[k] : q.xo[k]+h] {
			xg[o+j] += c * v
		}
	}
	blas64.Gemv(blas.NoTrans, alpha, blas64.General{Rows: q.n, Cols: q.nJ, Stride: q.nJ, Data: Jm}, blas64.Vector{N: q.nJ, Inc: 1, Data: xg}, beta, blas64.Vector{N: q.n, Inc: 1, Data: out})
}

// jtmul sets out (compact layout) = Ĵᵀr.
func (q *sub) jtmul(r, out []float64) { q.jtmulWith(q.Jg, r, out) }

// jtmulWith is jtmul with Jm in place of Jg.
func (q *sub) jtmulWith(Jm []float64, r, out []float64) {
	xg := q.xg
	blas64.Gemv(blas.Trans, 1, blas64.General{Rows: q.n, Cols: q.nJ, Stride: q.nJ, Data: Jm}, blas64.Vector{N: q.n, Inc: 1, Data: r}, 0, blas64.Vector{N: q.nJ, Inc: 1, Data: xg})
	for k, h := range q.h {
		o, c := q.gcol[q.grp[k]], q.gsg[k]
		for j := 0; j < h; j++ {
			out[q.xo[k]+j] = c * xg[o+j]
		}
	}
}

// coneFam holds one family's constraint rows C (Nc × H) and the products
// CC[r] = (c_ri c_rj)_{i≤j} (Nc × H(H+1)/2), so that Σ_r d_r c_r c_rᵀ for every block
// of the family at once is one matrix product D·CC (D: blocks × Nc).
type coneFam struct {
	H, Nc  int
	C      []float64
	CC     []float64
	direct bool      // blocks use few of the Nc rows (row generation): per-block loops, no Gemm
	blocks []int     // blocks k of W in this family, in column order
	buf    []float64 // |blocks| × Nc
	xb     []float64 // |blocks| × H
	gb     []float64 // |blocks| × H(H+1)/2
}

func (c *coneFam) alloc() {
	K := len(c.blocks)
	if c.direct {
		return
	}
	c.buf = make([]float64, K*c.Nc)
	c.xb = make([]float64, K*c.H)
	c.gb = make([]float64, K*c.H*(c.H+1)/2)
}

// pairProducts returns CC (Nc × H(H+1)/2) with CC[r, (i,j)] = C[r,i]·C[r,j], i ≤ j
// in row-major order of the upper triangle.
func pairProducts(C []float64, nc, h int) []float64 {
	T := h * (h + 1) / 2
	out := make([]float64, nc*T)
	for r := 0; r < nc; r++ {
		c := C[r*h : r*h+h]
		o := out[r*T : r*T+T]
		t := 0
		for i := 0; i < h; i++ {
			for j := i; j < h; j++ {
				o[t] = c[i] * c[j]
				t++
			}
		}
	}
	return out
}

// mulAll sets dst (LP layout) = M_k x_k for every block; x in the compact layout
// (block k at xo[k]). One product X_f·C_fᵀ per family.
func (q *sub) mulAll(x, dst []float64) {
	for _, c := range q.cf {
		K := len(c.blocks)
		if K == 0 {
			continue
		}
		if c.direct {
			for _, k := range c.blocks {
				xk := x[q.xo[k] : q.xo[k]+c.H]
				d := dst[q.lo[k] : q.lo[k]+q.m[k]]
				sg := q.sgn[k]
				for i, r := range q.idx[k] {
					d[i] = sg[i] * dot(c.C[int(r)*c.H:int(r)*c.H+c.H], xk)
				}
			}
			continue
		}
		for kc, k := range c.blocks {
			copy(c.xb[kc*c.H:(kc+1)*c.H], x[q.xo[k]:q.xo[k]+c.H])
		}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1,
			blas64.General{Rows: K, Cols: c.H, Stride: c.H, Data: c.xb},
			blas64.General{Rows: c.Nc, Cols: c.H, Stride: c.H, Data: c.C}, 0,
			blas64.General{Rows: K, Cols: c.Nc, Stride: c.Nc, Data: c.buf})
		for kc, k := range c.blocks {
			row := c.buf[kc*c.Nc : (kc+1)*c.Nc]
			d := dst[q.lo[k] : q.lo[k]+q.m[k]]
			sg := q.sgn[k]
			for i, r := range q.idx[k] {
				d[i] = sg[i] * row[r]
			}
		}
	}
}

// mulTAdd adds alpha·M_kᵀ v_k to dst for every block; dst in the z layout (block k's
// x part at xo[k]+k+1). One product V_f·C_f per family.
func (q *sub) mulTAdd(alpha float64, v, dst []float64) {
	for _, c := range q.cf {
		K := len(c.blocks)
		if K == 0 {
			continue
		}
		if c.direct {
			for _, k := range c.blocks {
				o := q.xo[k] + k + 1
				out := dst[o : o+c.H]
				vk := v[q.lo[k] : q.lo[k]+q.m[k]]
				sg := q.sgn[k]
				for i, r := range q.idx[k] {
					a := alpha * sg[i] * vk[i]
					if a == 0 {
						continue
					}
					for j, cv := range c.C[int(r)*c.H : int(r)*c.H+c.H] {
						out[j] += a * cv
					}
				}
			}
			continue
		}
		for i := range c.buf {
			c.buf[i] = 0
		}
		for kc, k := range c.blocks {
			row := c.buf[kc*c.Nc : (kc+1)*c.Nc]
			vk := v[q.lo[k] : q.lo[k]+q.m[k]]
			sg := q.sgn[k]
			for i, r := range q.idx[k] {
				row[r] = alpha * sg[i] * vk[i]
			}
		}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
			blas64.General{Rows: K, Cols: c.Nc, Stride: c.Nc, Data: c.buf},
			blas64.General{Rows: c.Nc, Cols: c.H, Stride: c.H, Data: c.C}, 0,
			blas64.General{Rows: K, Cols: c.H, Stride: c.H, Data: c.xb})
		for kc, k := range c.blocks {
			o := q.xo[k] + k + 1
			for j, g := range c.xb[kc*c.H : (kc+1)*c.H] {
				dst[o+j] += g
			}
		}
	}
}

// gramAdd adds M_kᵀ diag(d_k) M_k to the x part of B_k ((H_k+1)² row-major) for every
// block: one product D_f·CC_f per family (the signs square to 1).
func (q *sub) gramAdd(d []float64, B [][]float64) {
	for _, c := range q.cf {
		K := len(c.blocks)
		if K == 0 {
			continue
		}
		T := c.H * (c.H + 1) / 2
		if c.direct {
			g := make([]float64, T)
			for _, k := range c.blocks {
				for t := range g {
					g[t] = 0
				}
				dk := d[q.lo[k] : q.lo[k]+q.m[k]]
				for i, r := range q.idx[k] {
					a := dk[i]
					for t, v := range c.CC[int(r)*T : int(r)*T+T] {
						g[t] += a * v
					}
				}
				addPackedX(B[k], g, c.H)
			}
			continue
		}
		for i := range c.buf {
			c.buf[i] = 0
		}
		for kc, k := range c.blocks {
			row := c.buf[kc*c.Nc : (kc+1)*c.Nc]
			dk := d[q.lo[k] : q.lo[k]+q.m[k]]
			for i, r := range q.idx[k] {
				row[r] = dk[i]
			}
		}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
			blas64.General{Rows: K, Cols: c.Nc, Stride: c.Nc, Data: c.buf},
			blas64.General{Rows: c.Nc, Cols: T, Stride: T, Data: c.CC}, 0,
			blas64.General{Rows: K, Cols: T, Stride: T, Data: c.gb})
		for kc, k := range c.blocks {
			addPackedX(B[k], c.gb[kc*T:(kc+1)*T], c.H)
		}
	}
}

// addPackedX adds the symmetric H×H matrix g, packed by rows of its upper triangle
// ((i, j) for i ≤ j, as CC is), to the x part of the (H+1)² row-major block B (rows
// and columns 1…H).
func addPackedX(B, g []float64, H int) {
	h1 := H + 1
	t := 0
	for i := 0; i < H; i++ {
		for j := i; j < H; j++ {
			B[(i+1)*h1+j+1] += g[t]
			if j != i {
				B[(j+1)*h1+i+1] += g[t]
			}
			t++
		}
	}
}

// pdResult is the outcome of the primal–dual IPM.
type pdResult struct {
	x, t  []float64 // primal (x: nx, t: K)
	uL    []float64 // LP multipliers (nl)
	iters int
	gap   float64 // sᵀu at the end
	ok    bool    // met InnerTol (false: stalled or iteration cap; best iterate returned)
	// stopped is set when the context ended the solve (solver.Stop's status).
	stopped solver.Status
	// General losses (lossExt): the output bias b₀ and the dual point λ of the
	// prediction equation (hinge yᵢu₂ᵢ from the margin rows' multipliers; logistic
	// −∇ℓ(ŷ)); nil lam for squared loss.
	b   float64
	lam []float64
	// qMaps (CostMaps programs, mapsRestricted): per block, the multipliers of its
	// maps' cones (x parts, stacked over the maps); nil otherwise.
	qMaps [][]float64
}

// pdipm solves the restricted problem by an infeasible-start primal–dual
// interior-point method with Nesterov–Todd scaling and Mehrotra predictor–corrector
// (package doc, "Restricted solve"). tol is the relative stopping tolerance; maxIt
// the iteration cap. The best iterate (smallest max(relative gap, residuals)) is
// returned when the tolerance is not met. With a general loss (q.lx) the loss part
// of the KKT system is lossExt's (its doc has the elimination).
func (q *sub) pdipm(tol float64, maxIt int) pdResult {
	K := len(q.h)
	n, nx, nl := q.n, q.nx, q.nl
	N := nx + K
	lx := q.lx
	z := make([]float64, N) // (t_k, x_k) per block at xo[k]+k
	sL := make([]float64, nl)
	uL := make([]float64, nl)
	sQ := make([]float64, N)
	uQ := make([]float64, N)
	xv := make([]float64, nx)
	dxv := make([]float64, nx)
	gather := func(z, xv []float64) {
		for k := 0; k < K; k++ {
			copy(xv[q.xo[k]:q.xo[k]+q.h[k]], z[q.xo[k]+k+1:q.xo[k]+k+1+q.h[k]])
		}
	}
	// start: x = 0, t = 0; s = e, u = ν_k e with ν_k = β + ‖Ĵ_kᵀỹ‖ (the size of the
	// dual multiplier the x-part of the dual residual asks for; general losses: Ĵ_kᵀ
	// of the loss gradient at ŷ = 0).
	g0 := make([]float64, nx)
	if lx == nil {
		q.jtmul(q.yt, g0)
	} else {
		lx.start(q)
		q.jtmul(lx.g0, g0)
	}
	qn := 0.0
	for _, v := range g0 {
		qn = math.Max(qn, math.Abs(v))
	}
	for k := 0; k < K; k++ {
		o := q.xo[k] + k
		nu := q.beta + norm(g0[q.xo[k]:q.xo[k]+q.h[k]])
		sQ[o], uQ[o] = 1, nu
		// The block's m_k cone rows share ν: u = ν/m_k each, so Cᵀu and the block's
		// complementarity start at the size of one multiplier, not m_k of them (CNN
		// blocks have thousands of rows; u = ν each started the gap at ~m·ν).
		uLk := nu / math.Max(1, float64(q.m[k]))
		for r := 0; r < q.m[k]; r++ {
			sL[q.lo[k]+r], uL[q.lo[k]+r] = 1, uLk
		}
	}
	deg := float64(nl + K)
	if lx != nil {
		deg += float64(lx.rows())
	}

	res := make([]float64, n)
	rd := make([]float64, N)   // dual residual
	rpL := make([]float64, nl) // primal residual s_L − M x
	rpQ := make([]float64, N)  // s_Q − z
	mxL := make([]float64, nl)
	lin := newLinsys(q, false)
	lin.tolAbs = 1e-13 * math.Max(q.beta, qn)
	dz, dza, rhs := make([]float64, N), make([]float64, N), make([]float64, N)
	dsL, duL := make([]float64, nl), make([]float64, nl)
	dsLa, duLa := make([]float64, nl), make([]float64, nl)
	dsQ, duQ := make([]float64, N), make([]float64, N)
	dsQa, duQa := make([]float64, N), make([]float64, N)
	dL, dQ := make([]float64, nl), make([]float64, N) // d = λ⧵rc
	cL := make([]float64, nl)
	lamL, lamQ := make([]float64, nl), make([]float64, N)
	wL, w2 := make([]float64, nl), make([]float64, nl)
	iwL, ilamL := make([]float64, nl), make([]float64, nl) // 1/w, 1/λ
	nt := make([]ntScale, K)
	eQ := make([]float64, N)
	eL := make([]float64, nl)
	ta, tb, tc := make([]float64, q.hmax+1), make([]float64, q.hmax+1), make([]float64, q.hmax+1)
	var st, sta *lossStep // general losses: the loss part of a Newton direction
	if lx != nil {
		st, sta = lx.newStep(), lx.newStep()
	}
	best := pdResult{}
	bestErr := math.Inf(1)
	bestIt := 0
	for it := 0; ; it++ {
		gather(z, xv)
		var loss float64
		if lx == nil {
			loss = q.residual(xv, res)
		} else {
			loss = lx.eval(q, xv, res) // res = the loss gradient in ŷ (hinge: −y∘u₂)
		}
		q.dualRes(res, uL, uQ, rd)
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
		rdn := 0.0
		for _, v := range rd {
			rdn = math.Max(rdn, math.Abs(v))
		}
		if lx != nil {
			pn, dn, g := lx.residuals()
			rpn, rdn, gap = math.Max(rpn, pn), math.Max(rdn, dn), gap+g
		}
		xn := 0.0
		for _, v := range z {
			xn = math.Max(xn, math.Abs(v))
		}
		relGap := gap / math.Max(1, math.Abs(f))
		relD := rdn / math.Max(q.beta, qn)
		relP := rpn / math.Max(1, xn)
		if debugPD {
			println("it", it, "f", f, "gap", gap, "rd", relD, "rp", relP)
		}
		if it-bestIt > stallIters && bestErr <= 1e-4 {
			// no better iterate for stallIters iterations: the Newton directions
			// have lost their accuracy (ill-conditioned end game)
			if debugPD {
				println("  pdipm: stalled")
			}
			return best
		}
		if e := math.Max(relGap, math.Max(relD, relP)); e < bestErr {
			bestErr = e
			bestIt = it
			best = pdResult{x: append([]float64(nil), xv...), uL: append([]float64(nil), uL...), iters: it, gap: gap}
			best.t = make([]float64, K)
			for k := 0; k < K; k++ {
				best.t[k] = z[q.xo[k]+k]
			}
			if lx != nil {
				best.b, best.lam = lx.b, lx.dualPoint(res)
			}
			if e <= tol || (q.gapTol > 0 && relGap <= q.gapTol && math.Max(relD, relP) <= 1e-8) {
				best.ok = true
				if debugPD {
					println("  pdipm exit at line 409")
				}
				return best
			}
		}
		best.iters = it
		if st := solver.Stop(q.ctx); st != "" {
			best.stopped = st
			return best
		}
		if it >= maxIt {
			if debugPD {
				println("  pdipm exit at line 414")
			}
			return best
		}
		mu := gap / deg
		if debugPD {
			mn, mx := math.Inf(1), 0.0
			for i := range sL {
				v := sL[i] * uL[i] / mu
				mn, mx = math.Min(mn, v), math.Max(mx, v)
			}
			qmn, qmx := math.Inf(1), 0.0
			for k := 0; k < K; k++ {
				o, h := q.xo[k]+k, q.h[k]
				v := jnorm(sQ[o:o+h+1]) * jnorm(uQ[o:o+h+1]) / mu
				qmn, qmx = math.Min(qmn, v), math.Max(qmx, v)
			}
			println("  centr LP", mn, mx, "SOC", qmn, qmx)
		}
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
				if debugPD {
					println("  pdipm exit at line 439")
				}
				return best
			}
			nt[k].apply(uQ[o:o+h+1], lamQ[o:o+h+1], false) // λ = W u
		}
		if lx != nil {
			lx.scale()
			lin.setWeights(lx.h, lx.bias)
		}
		if !lin.factor(w2, nt) {
			if debugPD {
				println("  pdipm exit at line 444")
			}
			best.stopped = solver.Stop(q.ctx) // a stop cuts the factorisation short
			return best
		}
		// Newton step for complementarity right-hand side rc:
		//   d = λ⧵rc,  K Δz = −r_d + Mᵀ(W⁻¹d + W⁻²r_p)_L + (W⁻¹d + W⁻²r_p)_Q,
		//   Δs = −r_p + (MΔx, Δz),  Δu = W⁻¹d − W⁻²Δs.
		// General losses add the loss rows' and the bias's parts (lossExt.rhs,
		// lossExt.back).
		solve := func(rcL, rcQ, dz, dsL, duL, dsQ, duQ []float64, ls *lossStep) bool {
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
				nt[k].apply(a, b, true) // W⁻¹(d + W⁻¹r_p)
				for j := range b {
					rhs[o+j] += b[j]
				}
			}
			q.mulTAdd(1, cL, rhs)
			if lx != nil {
				lx.rhs(q, ls, rhs)
			}
			if !lin.solve(rhs, dz) {
				return false
			}
			if lin.poor && !lin.dense && N <= denseFallback {
				// PCG stagnated: the Woodbury preconditioner has lost its accuracy
				// (end game, cond(K) ≈ 1e17). The dense factorization of the
				// same preconditioner is accurate there; it is used from now on.
				if debugPD {
					println("  pdipm: dense fallback, N =", N)
				}
				d := newLinsys(q, true)
				d.tolAbs = lin.tolAbs
				if lx != nil {
					d.setWeights(lx.h, lx.bias)
				}
				if d.factor(w2, nt) {
					lin = d
					if !lin.solve(rhs, dz) {
						return false
					}
				}
			}
			gather(dz, dxv)
			if lx != nil {
				lx.back(q, ls, dxv)
			}
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
			if debugPD && lx == nil {
				q.debugNewton(lin, rhs, dz, rd, duL, duQ, dxv)
			}
			if debugPD && lx != nil {
				lx.debugNewton(q, lin, rhs, dz, rd, duL, duQ, ls)
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
		if lx != nil {
			lx.predictorRC(sta)
		}
		if !solve(eL, eQ, dza, dsLa, duLa, dsQa, duQa, sta) {
			if debugPD {
				println("  pdipm exit at line 508")
			}
			return best
		}
		aa := q.maxStep(sL, uL, sQ, uQ, dsLa, duLa, dsQa, duQa)
		if lx != nil {
			aa = math.Min(aa, lx.maxStep(sta))
		}
		aa = math.Min(1, aa)

		ga := 0.0
		for i := 0; i < nl; i++ {
			ga += (sL[i] + aa*dsLa[i]) * (uL[i] + aa*duLa[i])
		}
		for i := 0; i < N; i++ {
			ga += (sQ[i] + aa*dsQa[i]) * (uQ[i] + aa*duQa[i])
		}
		if lx != nil {
			ga += lx.gapAfter(sta, aa)
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
		if lx != nil {
			lx.correctorRC(st, sta, sigma*mu)
		}
		if !solve(eL, eQ, dz, dsL, duL, dsQ, duQ, st) {
			if debugPD {
				println("  pdipm exit at line 537")
			}
			return best
		}
		stepOf := func(dsL, duL, dsQ, duQ []float64, ls *lossStep) float64 {
			a := q.maxStep(sL, uL, sQ, uQ, dsL, duL, dsQ, duQ)
			if lx != nil {
				a = math.Min(a, lx.maxStep(ls))
			}
			return math.Min(1, 0.99*a)
		}
		alpha := stepOf(dsL, duL, dsQ, duQ, st)
		if alpha < 0.5*aa {
			// The second-order term spoils the step (seen on badly scaled CNN
			// programs): fall back to the centred direction rc = −λ∘λ + σμe (same
			// factorization) and keep it when its step is longer.
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
			if lx != nil {
				lx.centredRC(sta, sigma*mu)
			}
			if solve(eL, eQ, dza, dsLa, duLa, dsQa, duQa, sta) {
				if a2 := stepOf(dsLa, duLa, dsQa, duQa, sta); a2 > alpha {
					alpha = a2
					dz, dza, dsL, dsLa, duL, duLa = dza, dz, dsLa, dsL, duLa, duL
					dsQ, dsQa, duQ, duQa = dsQa, dsQ, duQa, duQ
					st, sta = sta, st
				}
			}
		}
		if lx != nil {
			alpha = lx.damp(st, alpha)
		}
		if debugPD {
			println("  aff", aa, "sigma", sigma, "alpha", alpha)
		}
		if !(alpha > 1e-12) {
			if debugPD {
				println("  pdipm exit at line 567")
			}
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
		if lx != nil {
			lx.update(st, alpha)
		}
	}
}

// stallIters: in the end game (best error ≤ 1e-4) the IPM returns its best
// iterate after this many iterations without a better one (error: max of relative
// gap and residuals).
const stallIters = 8

// residual sets res = Ĵx − ỹ and returns ½‖res‖².
func (q *sub) residual(x, res []float64) float64 {
	copy(res, q.yt)
	q.jmul(1, x, -1, res)
	return 0.5 * dot(res, res)
}

// dualRes sets rd = Pz + q + Gᵀu: per block (β − u0, Ĵ_kᵀres − M_kᵀu_L − u1).
func (q *sub) dualRes(res, uL, uQ, rd []float64) {
	g := make([]float64, q.nx)
	q.jtmul(res, g)
	for k := range q.h {
		o, h := q.xo[k]+k, q.h[k]
		rd[o] = q.beta - uQ[o]
		for j := 0; j < h; j++ {
			rd[o+1+j] = g[q.xo[k]+j] - uQ[o+1+j]
		}
	}
	q.mulTAdd(-1, uL, rd)
}

// maxStep is the largest α with s + αΔs and u + αΔu in their cones.
func (q *sub) maxStep(sL, uL, sQ, uQ, dsL, duL, dsQ, duQ []float64) float64 {
	a := math.Inf(1)
	// plain comparisons (math.Min is not inlined and dominated this loop); the
	// ratios are only formed for entries that can block.
	for i, d := range dsL {
		if d < 0 && -sL[i] > a*d {
			a = -sL[i] / d
		}
	}
	for i, d := range duL {
		if d < 0 && -uL[i] > a*d {
			a = -uL[i] / d
		}
	}
	for k := range q.h {
		o, h := q.xo[k]+k, q.h[k]
		a = math.Min(a, soc.Step(sQ[o:o+h+1], dsQ[o:o+h+1]))
		a = math.Min(a, soc.Step(uQ[o:o+h+1], duQ[o:o+h+1]))
	}
	return a
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

// linsys solves the Newton system K Δz = b, K = Ĵᵀ Ĵ (on the x parts) + ⊕_k B_k,
// B_k = W_k⁻² + Ĝ_k, Ĝ_k = 0 ⊕ M_kᵀ diag(u/s) M_k, by preconditioned conjugate
// gradients (solve) against K applied blockwise (apply), with a factored
// preconditioner P = K + ⊕_k γ_k r_k r_kᵀ (rayReg): either dense (one Cholesky of the
// (Nx+K)² matrix with the Gram ĴᵀĴ formed once) or Woodbury,
// P⁻¹ = B̃⁻¹ − B̃⁻¹Ĵᵀ(I + ĴB̃⁻¹Ĵᵀ)⁻¹ĴB̃⁻¹ (one n×n Cholesky), whichever costs fewer flops.
//
// Why this form (§12, docs/math/12-template.md's restricted IPM near its optimum, measured on
// BenchmarkFCRelu200x10P100's program at a relative gap of 5e-6): a nonzero block
// has s and u both on the boundary of its SOC, so w̄₀ ≈ 1e4 and W⁻² = η⁻²(2Jw̄w̄ᵀJ − J)
// has condition (w̄₀ + ‖w̄₁‖)⁴ ≈ 1e17: its small eigenvalue (along the ray r of x_b) is
// below the rounding of its entries, and so is B_k's (cond(B_k) > 1e16). Factoring
// the explicit B_k then failed, the shifted factor's inverse had O(1) relative
// errors, the Woodbury solve had a residual ≈ ‖b‖ and the dual residual jumped from
// 1e-13 to 1e-4 in one step (the old "accuracy floor"). Now:
//
//   - B_k⁻¹ is formed in the NT-scaled frame: B_k = W⁻¹ C_k W⁻¹ with C_k = I + WĜ_kW ⪰ I
//     (scaledGram builds WĜW from a = M w̄₁ without products of explicit W and Ĝ,
//     whose rounding would swamp the identity), DC̃D = LLᵀ, and B̃_k⁻¹ = R_kR_kᵀ with
//     R_k = W D L⁻ᵀ; raw applies R_k(R_kᵀv) (an explicit B̃⁻¹ would lose the directions
//     of the active cone rows, where it is below ε‖B̃⁻¹‖).
//   - The ray regularisation γ_k = δ‖Ĵr_k‖² (r_k = (1, ŵ₁)/√2, W's top eigenvector)
//     bounds B̃_k⁻¹ by 1/γ_k, so Woodbury's cancellation (B̃⁻¹ against the rank-n
//     correction) stays mild, while P differs from K only where ĴᵀĴ supplies
//     curvature ≫ γ_k: PCG needs ≈ 1–3 iterations per solve.
//   - Woodbury shares the two copies of a pattern: Ĵ_v = −Ĵ_w = Π𝒫_p, so
//     ĴB̃⁻¹Ĵᵀ = Σ_groups Π𝒫_p X_g 𝒫_pᵀΠ with X_g = Σ_{k∈g} R_{k,x}R_{k,x}ᵀ, and U has one
//     n × H column block Π𝒫_p·L_g per pattern with L_gL_gᵀ = X_g taken from a
//     Householder QR of the stacked R_{k,x}ᵀ (qrUpper), not a Cholesky of the
//     explicit X_g (which failed, or needed shifts, once X_g spanned 1e16).
//   - PCG (P ⪰ K, both SPD) against the exact blockwise K replaces stationary
//     refinement, which diverged whenever ‖I − P⁻¹K‖ ≥ 1 and returned the last,
//     worse iterate.
type linsys struct {
	q       *sub
	dense   bool
	N       int
	gram    []float64 // nx × nx (dense mode)
	kmat    []float64 // N × N (dense) factor
	dsc     []float64 // equilibration
	bk      [][]float64
	gk      [][]float64 // Ĝ_k = 0 ⊕ M_kᵀ diag(u/s) M_k
	wm, tm  []float64   // (h+1)² scratch
	av, dav []float64   // nl
	ga      []float64   // N
	sda     []float64   // K
	jr      []float64   // K: ‖Ĵ_k ŵ₁‖²
	binv    [][]float64 // B_k⁻¹ (Woodbury)
	gx      [][]float64 // per group: Σ X_k (H×H)
	zs      [][]float64 // per group: stacked R_{k,x}ᵀ ((H+1)·copies × H)
	zn      []int       // rows filled in zs
	g0      []int       // per group: first block
	gof     []int       // per group: column offset in U
	nu      int         // columns of U
	U       []float64   // n × nu (Woodbury)
	S       []float64   // n × n factor
	ssc     []float64
	tmpN    []float64
	tmpn    []float64
	xv      []float64
	gv      []float64
	e, t    []float64
	F       []float64
	fsc     []float64
	inw     []float64 // invSmall / small factorization scratch
	save    []float64 // cholRobust scratch
	// PCG scratch and absolute residual target
	cr, cz, cp, cq, cb []float64
	tolAbs             float64
	// jw (general losses, lossExt): the weighted grouped Jacobian Π_v H^{1/2} Jg of
	// the current iteration (setWeights), used in place of Jg; nil: Jg (squared loss,
	// where Ĵ = ΠJ is fixed).
	jw []float64
	hw []float64 // the weights h of jw (rayNorms)
	// Woodbury for general losses: hinv = 1/h (capped), bias: the border w₁ = S⁻¹1 and
	// its sum w1s (setWeights' doc).
	hinv []float64
	bias bool
	w1   []float64
	w1s  float64
	// poor: the last solve ended with a residual above 100× its target (PCG
	// stagnated); pdipm then switches to the dense factorization when it is small.
	poor bool
}

// denseFallback: pdipm switches from Woodbury to the dense factorization of the
// preconditioner when PCG stagnates and the Newton system has at most this order
// (its Cholesky then costs at most ≈ 3·10⁸ flops per iteration).
const denseFallback = 1000

// jm sets out = alpha·Ĵ_w x + beta·out with the current weighted Jacobian.
func (l *linsys) jm(alpha float64, x []float64, beta float64, out []float64) {
	if l.jw == nil {
		l.q.jmul(alpha, x, beta, out)
		return
	}
	l.q.jmulWith(l.jw, alpha, x, beta, out)
}

// jtm sets out = Ĵ_wᵀr.
func (l *linsys) jtm(r, out []float64) {
	if l.jw == nil {
		l.q.jtmul(r, out)
		return
	}
	l.q.jtmulWith(l.jw, r, out)
}

// jg is the grouped Jacobian the Newton matrix is built from.
func (l *linsys) jg() []float64 {
	if l.jw == nil {
		return l.q.Jg
	}
	return l.jw
}

// setWeights sets the weights of a general loss: K = ⊕B + Ĵ_wᵀĴ_w with
// Ĵ_w = Π_v H^{1/2} Jg, H = diag(h) (the loss's curvature in the prediction, lossExt)
// and, with an output bias, Π_v = I − vvᵀ/vᵀv, v = H^{1/2}1, which eliminates the bias
// exactly (Schur complement on b₀: JᵀHJ − JᵀH11ᵀHJ/1ᵀH1 = Ĵ_wᵀĴ_w). apply and the
// dense mode use Ĵ_w (dense: its Gram, nx × nx, formed here).
//
// The Woodbury preconditioner does not: h spans many orders of magnitude (hinge:
// → ∞ on the margin, → 0 off it), and H^{1/2}J would carry that into S. It solves
// the bordered system of (x, b₀) instead: with w = H(Jx + b₀1),
//
//	x = B̃⁻¹(r − Jᵀw),  (H⁻¹ + JB̃⁻¹Jᵀ)w − b₀1 = JB̃⁻¹r,  1ᵀw = 0 (the reduced system's
//	bias row), so w = S⁻¹(JB̃⁻¹r) − (1ᵀS⁻¹JB̃⁻¹r / 1ᵀS⁻¹1)·S⁻¹1,  S = H⁻¹ + UUᵀ,
//
// U = J L_g unweighted (factor, raw); H⁻¹ is capped at 1e30·max h⁻¹… (h floored at
// 1e-30·max h).
func (l *linsys) setWeights(h []float64, bias bool) {
	q := l.q
	n, nJ := q.n, q.nJ
	if len(l.jw) != n*nJ {
		l.jw = make([]float64, n*nJ)
		l.hw = make([]float64, n)
		l.hinv = make([]float64, n)
		l.w1 = make([]float64, n)
	}
	l.bias = bias
	hmax := 0.0
	for i := range l.hw {
		l.hw[i] = math.Max(0, h[i])
		hmax = math.Max(hmax, l.hw[i])
	}
	for i := range l.hinv {
		l.hinv[i] = 1 / math.Max(l.hw[i], 1e-30*hmax+1e-300)
	}
	for i := 0; i < n; i++ {
		r := math.Sqrt(math.Max(0, h[i]))
		src := q.Jg[i*nJ : (i+1)*nJ]
		dst := l.jw[i*nJ : (i+1)*nJ]
		for j, v := range src {
			dst[j] = r * v
		}
	}
	if bias {
		vv := 0.0
		for i := 0; i < n; i++ {
			vv += math.Max(0, h[i])
		}
		if vv > 0 {
			col := make([]float64, nJ)
			for i := 0; i < n; i++ {
				r := math.Sqrt(math.Max(0, h[i]))
				row := l.jw[i*nJ : (i+1)*nJ]
				for j, v := range row {
					col[j] += r * v
				}
			}
			for i := 0; i < n; i++ {
				r := math.Sqrt(math.Max(0, h[i])) / vv
				row := l.jw[i*nJ : (i+1)*nJ]
				for j := range row {
					row[j] -= r * col[j]
				}
			}
		}
	}
	if l.dense {
		nx := q.nx
		full := make([]float64, n*nx)
		for k, hk := range q.h {
			o, c := q.gcol[q.grp[k]], q.gsg[k]
			for i := 0; i < n; i++ {
				src := l.jw[i*nJ+o : i*nJ+o+hk]
				dst := full[i*nx+q.xo[k] : i*nx+q.xo[k]+hk]
				for j, v := range src {
					dst[j] = c * v
				}
			}
		}
		F := blas64.General{Rows: n, Cols: nx, Stride: nx, Data: full}
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, F, F, 0, blas64.General{Rows: nx, Cols: nx, Stride: nx, Data: l.gram})
	}
}

func newLinsys(q *sub, forceDense bool) *linsys {
	K := len(q.h)
	N := q.nx + K
	l := &linsys{q: q, N: N, tmpN: make([]float64, N), tmpn: make([]float64, q.n),
		xv: make([]float64, q.nx), gv: make([]float64, q.nx), e: make([]float64, q.hmax+1), t: make([]float64, q.hmax+1),
		F: make([]float64, (q.hmax+1)*(q.hmax+1)), fsc: make([]float64, q.hmax+1),
		inw: make([]float64, (q.hmax+1)*(q.hmax+1))}
	l.g0 = make([]int, q.ngrp)
	for i := range l.g0 {
		l.g0[i] = -1
	}
	l.gof = make([]int, q.ngrp)
	for k, g := range q.grp {
		if l.g0[g] < 0 {
			l.g0[g] = k
			l.gof[g] = l.nu
			l.nu += q.h[k]
		}
	}
	nf, Nf, nuf := float64(q.n), float64(N), float64(l.nu)
	l.dense = forceDense || Nf*Nf*Nf/3 <= 2*nf*nf*nuf+nf*nf*nf/3
	l.bk = make([][]float64, K)
	l.gk = make([][]float64, K)
	l.wm = make([]float64, (q.hmax+1)*(q.hmax+1))
	l.tm = make([]float64, (q.hmax+1)*(q.hmax+1))
	l.jr = make([]float64, K)
	l.av, l.dav, l.ga, l.sda = make([]float64, q.nl), make([]float64, q.nl), make([]float64, N), make([]float64, K)
	for k := range q.h {
		l.bk[k] = make([]float64, (q.h[k]+1)*(q.h[k]+1))
		l.gk[k] = make([]float64, (q.h[k]+1)*(q.h[k]+1))
	}
	if l.dense {
		l.gram = make([]float64, q.nx*q.nx)
		if q.lx == nil { // general losses: setWeights forms it every iteration
			J := blas64.General{Rows: q.n, Cols: q.nx, Stride: q.nx, Data: q.J}
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, J, J, 0, blas64.General{Rows: q.nx, Cols: q.nx, Stride: q.nx, Data: l.gram})
		}
		l.kmat = make([]float64, N*N)
		l.dsc = make([]float64, N)
	} else {
		l.binv = make([][]float64, K)
		for k := range q.h {
			l.binv[k] = make([]float64, (q.h[k]+1)*(q.h[k]+1))
		}
		l.gx = make([][]float64, q.ngrp)
		l.zs = make([][]float64, q.ngrp)
		l.zn = make([]int, q.ngrp)
		nb := make([]int, q.ngrp)
		for _, g := range q.grp {
			nb[g]++
		}
		for g, k := range l.g0 {
			l.zs[g] = make([]float64, nb[g]*(q.h[k]+1)*q.h[k])
		}
		for g, k := range l.g0 {
			l.gx[g] = make([]float64, q.h[k]*q.h[k])
		}
		l.U = make([]float64, q.n*l.nu)
		l.S = make([]float64, q.n*q.n)
		l.ssc = make([]float64, q.n)
	}
	return l
}

// factor forms the blocks B_k (exact, for apply) and factors the preconditioner P
// (linsys doc) for LP weights d = u/s (= 1/w²) and SOC scalings nt. It fails when a
// Cholesky factorization fails even with cholRobust's shifts.
func (l *linsys) factor(d []float64, nt []ntScale) bool {
	q := l.q
	for k := range q.h {
		for i := range l.gk[k] {
			l.gk[k][i] = 0
		}
	}
	q.gramAdd(d, l.gk)
	l.rayNorms(nt)
	for k := range q.h {
		if solver.Stop(q.ctx) != "" {
			return false // pdipm reports the stop
		}
		h1 := q.h[k] + 1
		B := l.bk[k]
		e, col := l.e[:h1], l.t[:h1]
		tmp := l.F[:h1]
		for j := 0; j < h1; j++ { // W⁻² column by column
			for i := range e {
				e[i] = 0
			}
			e[j] = 1
			nt[k].apply(e, tmp, true)
			nt[k].apply(tmp, col, true)
			for i := 0; i < h1; i++ {
				B[i*h1+j] = col[i] + l.gk[k][i*h1+j]
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
			// B̃_k = B_k + γ r rᵀ (rayReg; γ = δη⁻², in the z frame)
			g, v := l.rayReg(nt[k], h1, l.jr[k])
			for i := 0; i < h1; i++ {
				for j := 0; j < h1; j++ {
					A[(o+i)*N+o+j] = l.bk[k][i*h1+j] + g*v[i]*v[j]
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
		if len(l.save) < N*N {
			l.save = make([]float64, N*N)
		}
		return cholRobust(A, N, l.dsc, l.save)
	}
	// Woodbury: B_k⁻¹; per pattern group X = Σ_k [B_k⁻¹]_xx = L Lᵀ, U_g = Ĵ_{g0} L;
	// S = I + UUᵀ.
	n := q.n
	// a = M_k w̄₁,k (LP layout), ga = M_kᵀ(d∘a) (z layout), sda_k = Σ d a².
	for k := range q.h {
		copy(l.xv[q.xo[k]:q.xo[k]+q.h[k]], nt[k].w[1:])
	}
	q.mulAll(l.xv, l.av)
	for i, v := range l.av {
		l.dav[i] = d[i] * v
	}
	for i := range l.ga {
		l.ga[i] = 0
	}
	q.mulTAdd(1, l.dav, l.ga)
	for k := range q.h {
		l.sda[k] = dot(l.dav[q.lo[k]:q.lo[k]+q.m[k]], l.av[q.lo[k]:q.lo[k]+q.m[k]])
	}
	for _, X := range l.gx {
		for i := range X {
			X[i] = 0
		}
	}
	for k := range q.h {
		h1 := q.h[k] + 1
		h := q.h[k]
		F := l.F[:h1*h1]
		// B_k = W⁻¹ C W⁻¹ with C = I + W Ĝ W (C ⪰ I): B_k⁻¹ = W C⁻¹ W.
		Wm := l.wm[:h1*h1]
		e, col := l.e[:h1], l.t[:h1]
		for j := 0; j < h1; j++ {
			for i := range e {
				e[i] = 0
			}
			e[j] = 1
			nt[k].apply(e, col, false)
			for i := 0; i < h1; i++ {
				Wm[i*h1+j] = col[i]
			}
		}
		T := l.tm[:h1*h1]
		l.scaledGram(k, nt[k], F)
		for i := 0; i < h1; i++ {
			F[i*h1+i]++
		}
		g, v := l.rayReg(nt[k], h1, l.jr[k])
		g *= nt[k].eta * nt[k].eta * (nt[k].w[0] + norm(nt[k].w[1:])) * (nt[k].w[0] + norm(nt[k].w[1:])) // scaled frame: γ(Wr)(Wr)ᵀ
		for i := 0; i < h1; i++ {
			for j := 0; j < h1; j++ {
				F[i*h1+j] += g * v[i] * v[j]
			}
		}
		sc := l.fsc[:h1]
		if !cholRobust(F, h1, sc, l.inw) {
			if debugPD {
				println("  factor: block chol failed")
			}
			return false
		}
		// D C̃ D = L Lᵀ (cholRobust), so B̃_k⁻¹ = R Rᵀ with R = W D L⁻ᵀ.
		lowerInverse(F, h1, T) // T = L⁻¹
		R := l.binv[k]
		for i := 0; i < h1; i++ {
			for j := 0; j < h1; j++ {
				t := 0.0
				for c := 0; c <= j; c++ { // (W D L⁻ᵀ)_ij = Σ_c W_ic d_c (L⁻¹)_jc, L⁻¹ lower
					t += Wm[i*h1+c] * sc[c] * T[j*h1+c]
				}
				R[i*h1+j] = t
			}
		}
		copy(l.binv[k], R)
		// rows of R_{k,x}ᵀ (h1 × h) appended to the group's stack: X_g = ZᵀZ.
		gr := q.grp[k]
		Z := l.zs[gr][l.zn[gr]*h:]
		for c := 0; c < h1; c++ {
			for i := 0; i < h; i++ {
				Z[c*h+i] = R[(i+1)*h1+c]
			}
		}
		l.zn[gr] += h1
	}
	for g, k := range l.g0 {
		if solver.Stop(q.ctx) != "" {
			return false
		}
		h := q.h[k]
		// X_g = ZᵀZ = LLᵀ with Lᵀ the triangular factor of Z = QLᵀ (Householder):
		// no Cholesky of the explicitly formed X, whose small eigenvalues are lost
		// below ε‖X‖ when the blocks' inverses span many orders of magnitude.
		qrUpper(l.zs[g][:l.zn[g]*h], l.zn[g], h, l.gx[g])
		l.zn[g] = 0
	}
	// U_g = Jg_g·L_g row by row (L lower triangular; h ≤ a few dozen, so a plain
	// loop beats one small Gemm call per group).
	// General losses: U = J L_g with the unweighted J and S = H⁻¹ + UUᵀ (setWeights'
	// doc); squared loss: U = Ĵ L_g, S = I + UUᵀ.
	jgm := q.Jg
	for i := 0; i < n; i++ {
		jrow := jgm[i*q.nJ : (i+1)*q.nJ]
		urow := l.U[i*l.nu : (i+1)*l.nu]
		for g, k := range l.g0 {
			h := q.h[k]
			X := l.gx[g]
			jr := jrow[q.gcol[g] : q.gcol[g]+h]
			ur := urow[l.gof[g] : l.gof[g]+h]
			for c := 0; c < h; c++ {
				lc := X[c*h+c : c*h+h] // row c of Lᵀ = column c of L from the diagonal
				s := 0.0
				for j, v := range jr[c:h] {
					s += v * lc[j]
				}
				ur[c] = s
			}
		}
	}
	for i := range l.S {
		l.S[i] = 0
	}
	for i := 0; i < n; i++ {
		l.S[i*n+i] = 1
	}
	gramRows(l.U, n, l.nu, l.S)
	for i := 0; i < n; i++ {
		if l.jw != nil {
			l.S[i*n+i] += l.hinv[i]
		} else {
			l.S[i*n+i]++
		}
	}
	if len(l.save) < n*n {
		l.save = make([]float64, n*n)
	}
	ok := cholRobust(l.S, n, l.ssc, l.save)
	if ok && l.jw != nil && l.bias {
		// the bias's border: w₁ = S⁻¹1 and 1ᵀw₁ (raw)
		for i := range l.w1 {
			l.w1[i] = 1
		}
		cholSolve(l.S, n, l.ssc, l.w1)
		l.w1s = 0
		for _, v := range l.w1 {
			l.w1s += v
		}
		ok = l.w1s > 0
	}
	if debugPD && ok {
		mn, mx := math.Inf(1), 0.0
		for i := 0; i < n; i++ {
			v := l.S[i*n+i] / l.ssc[i]
			mn, mx = math.Min(mn, v*v), math.Max(mx, v*v)
		}
		bmx := 0.0
		for k := range l.binv {
			for _, v := range l.binv[k] {
				bmx = math.Max(bmx, math.Abs(v))
			}
		}
		println("    S pivots", mn, mx, "max|Binv|", bmx)
	}
	return ok
}

// apply computes dst = K v (exact, blockwise).
func (l *linsys) apply(v, dst []float64) {
	q := l.q
	xv := l.xv
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		B := l.bk[k]
		for i := 0; i < h1; i++ {
			dst[o+i] = dot(B[i*h1:i*h1+h1], v[o:o+h1])
		}
		copy(xv[q.xo[k]:q.xo[k]+q.h[k]], v[o+1:o+h1])
	}
	l.jm(1, xv, 0, l.tmpn)
	g := l.gv
	l.jtm(l.tmpn, g)
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
	// v = B̃⁻¹b = R(Rᵀb) blockwise (factored: an explicit B̃⁻¹ would lose the
	// directions of the active cone rows, where B̃⁻¹ is smaller than ε‖B̃⁻¹‖)
	xv := l.xv
	t := l.t
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		R := l.binv[k]
		tk := t[:h1]
		for j := range tk {
			tk[j] = 0
		}
		for i := 0; i < h1; i++ {
			bi := b[o+i]
			if bi == 0 {
				continue
			}
			for j, r := range R[i*h1 : i*h1+h1] {
				tk[j] += r * bi
			}
		}
		for i := 0; i < h1; i++ {
			dst[o+i] = dot(R[i*h1:i*h1+h1], tk)
		}
		copy(xv[q.xo[k]:q.xo[k]+q.h[k]], dst[o+1:o+h1])
	}
	w := l.tmpn
	g := l.gv
	if l.jw != nil {
		// general losses (setWeights' doc): w = S⁻¹(J v + b₀1) with 1ᵀw = 0
		q.jmul(1, xv, 0, w)
		cholSolve(l.S, q.n, l.ssc, w)
		if l.bias {
			c := 0.0
			for _, v := range w {
				c += v
			}
			c /= l.w1s
			for i := range w {
				w[i] -= c * l.w1[i]
			}
		}
		q.jtmul(w, g)
	} else {
		l.jm(1, xv, 0, w)
		cholSolve(l.S, q.n, l.ssc, w)
		l.jtm(w, g)
	}
	for k := range q.h {
		o := q.xo[k] + k
		h1 := q.h[k] + 1
		R := l.binv[k]
		tk := t[:h1]
		for j := range tk {
			tk[j] = 0
		}
		gk := g[q.xo[k] : q.xo[k]+h1-1]
		for i := 1; i < h1; i++ {
			gi := gk[i-1]
			if gi == 0 {
				continue
			}
			for j, r := range R[i*h1 : i*h1+h1] {
				tk[j] += r * gi
			}
		}
		for i := 0; i < h1; i++ {
			dst[o+i] -= dot(R[i*h1:i*h1+h1], tk)
		}
	}
}

// solve solves K dst = b by preconditioned conjugate gradients with the factored
// (ray-regularised, so P ⪰ K) matrix as preconditioner, starting from dst = P⁻¹b.
// Stopping rule: ‖b − K·dst‖∞ ≤ max(1e-14‖b‖∞, tolAbs) (tolAbs = 1e-13·max(β,
// ‖Ĵᵀỹ‖∞), a thousandth of the IPM's dual-residual tolerance InnerTol·max(β,
// ‖Ĵᵀỹ‖∞) at its default), cgMax iterations, or a residual 1000× above the best
// (rounding); the iterate with the smallest (recursively updated) residual is
// returned. It fails only on NaN/Inf.
func (l *linsys) solve(b, dst []float64) bool {
	N := len(b)
	if len(l.cr) < N {
		l.cr, l.cz, l.cp, l.cq, l.cb = make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	}
	r, z, p, Ap, bx := l.cr[:N], l.cz[:N], l.cp[:N], l.cq[:N], l.cb[:N]
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
	if debugPD {
		println("      pcg 0", rn)
	}
	defer func() { l.poor = best > 100*tol }()
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
			if debugPD {
				println("      pcg", it, rn)
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
	for _, v := range dst {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// cgMax caps the conjugate-gradient iterations of one Newton solve.
const cgMax = 30

// gramRows sets S (n × n, full) = UUᵀ for U (n × k, row-major): every entry of the
// upper triangle is one Ddot of two rows, the rows split over GOMAXPROCS goroutines
// (interleaved, so the triangle's work is balanced), then mirrored. Each entry is
// computed by exactly one dot in a fixed order, so the result does not depend on
// the number of goroutines or their scheduling (bit-identical across runs). gonum's
// Dsyrk is the same dot kernel on one goroutine; measured n = 200, k = 1100 on the
// 2-core machine: Dsyrk 5.9 ms, this 3.2 ms, Dgemm(U, Uᵀ) 8.9 ms.
func gramRows(U []float64, n, k int, S []float64) {
	impl := blas64.Implementation()
	nw := runtime.GOMAXPROCS(0)
	if nw > n {
		nw = n
	}
	if float64(n)*float64(n)*float64(k) < 1e6 {
		nw = 1
	}
	work := func(g int) {
		for i := g; i < n; i += nw {
			ui := U[i*k : i*k+k]
			for j := i; j < n; j++ {
				S[i*n+j] = impl.Ddot(k, ui, 1, U[j*k:j*k+k], 1)
			}
		}
	}
	if nw <= 1 {
		work(0)
	} else {
		var wg sync.WaitGroup
		for g := 0; g < nw; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				work(g)
			}(g)
		}
		wg.Wait()
	}
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			S[i*n+j] = S[j*n+i]
		}
	}
}

// cholEquilShift factors D A D + δI = LLᵀ in place (row-major, full storage, lower
// factor; δ ≥ 0), D = diag(1/√A_ii) stored in d.
func cholEquilShift(A []float64, n int, d []float64, delta float64) bool {
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
		A[i*n+i] += delta
	}
	if n <= smallN {
		return potrfSmall(A, n)
	}
	_, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Uplo: blas.Lower, Data: A})
	return ok
}

// smallN: up to this order the Cholesky routines below are plain loops (the
// per-block matrices have order H+1 ≈ 10–30; LAPACK's blocked Potrf costs more in
// call overhead than in flops there).
const smallN = 48

// potrfSmall overwrites the lower triangle of the row-major SPD matrix A (n × n) by
// its Cholesky factor L (A = LLᵀ; the strict upper triangle is not referenced).
// It fails when a pivot is not positive.
func potrfSmall(A []float64, n int) bool {
	for j := 0; j < n; j++ {
		rj := A[j*n : j*n+j]
		d := A[j*n+j]
		for _, v := range rj {
			d -= v * v
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		A[j*n+j] = d
		for i := j + 1; i < n; i++ {
			ri := A[i*n : i*n+j]
			t := A[i*n+j]
			for k, v := range ri {
				t -= v * rj[k]
			}
			A[i*n+j] = t / d
		}
	}
	return true
}

// cholRobust is cholEquilShift with δ = 0 that, when the factorization fails (a matrix that is
// positive definite in exact arithmetic but whose smallest eigenvalue is lost to
// rounding: the NT scalings of nearly degenerate cones reach condition numbers
// ≥ 1e16 near the end of the IPM), retries with DAD + δI, δ = 1e-14, 1e-12, …,
// 1e-6. The shifted factor is only used as the preconditioner of linsys.solve's
// iterative refinement against the exact matrix, so the Newton directions stay
// those of the unshifted system up to the refinement's residual. save (n² entries)
// is scratch.
func cholRobust(A []float64, n int, d, save []float64) bool {
	copy(save, A)
	if cholEquilShift(A, n, d, 0) {
		return true
	}
	for delta := 1e-14; delta <= 1e-6; delta *= 100 {
		copy(A, save)
		if cholEquilShift(A, n, d, delta) {
			if debugPD {
				println("    cholRobust: n", n, "shift", delta)
			}
			return true
		}
	}
	return false
}

// cholSolve solves A x = b in place given cholRobust's factor.
func cholSolve(F []float64, n int, d []float64, b []float64) {
	for i := range b {
		b[i] *= d[i]
	}
	// Two triangular solves on the vector (Trsv: row dots/axpys of length n; Potrs
	// with one right-hand side would run Trsm with n² axpys of length 1).
	L := blas64.Triangular{N: n, Stride: n, Uplo: blas.Lower, Diag: blas.NonUnit, Data: F}
	v := blas64.Vector{N: n, Inc: 1, Data: b}
	blas64.Trsv(blas.NoTrans, L, v)
	blas64.Trsv(blas.Trans, L, v)
	for i := range b {
		b[i] *= d[i]
	}
}

var (
	debugWS = os.Getenv("CNNC_DEBUG_WS") != ""
	debugPD = os.Getenv("CNNC_DEBUG_PD") != ""
)

// debugNewton prints the residual of the reduced system and the linearised dual
// residual rd + PΔz + GᵀΔu after a Newton solve (debug only).
func (q *sub) debugNewton(lin *linsys, rhs, dz, rd, duL, duQ, dxv []float64) {
	N := len(dz)
	kd := make([]float64, N)
	lin.apply(dz, kd)
	rn, bn := 0.0, 0.0
	for i := range kd {
		rn = math.Max(rn, math.Abs(kd[i]-rhs[i]))
		bn = math.Max(bn, math.Abs(rhs[i]))
	}
	// rd + Δrd, Δrd = (−Δu0, ĴᵀĴΔx − MᵀΔu_L − Δu1)
	jx := make([]float64, q.n)
	q.jmul(1, dxv, 0, jx)
	g := make([]float64, q.nx)
	q.jtmul(jx, g)
	r := make([]float64, N)
	for k := range q.h {
		o, h := q.xo[k]+k, q.h[k]
		r[o] = rd[o] - duQ[o]
		for j := 0; j < h; j++ {
			r[o+1+j] = rd[o+1+j] + g[q.xo[k]+j] - duQ[o+1+j]
		}
	}
	q.mulTAdd(-1, duL, r)
	ln := 0.0
	for _, v := range r {
		ln = math.Max(ln, math.Abs(v))
	}
	println("    newton: K-res", rn, "rhs", bn, "lin-rd", ln)
}

// scaledGram sets F ((h+1)², row-major) = W Ĝ_k W for Ĝ_k = 0 ⊕ M_kᵀ diag(d) M_k
// without forming W Ĝ W as a product of explicit matrices (whose rounding errors,
// amplified by ‖W‖² ≈ η²(2w̄₀)², swamp the identity in C = I + WĜW near the end of
// the IPM). With W[x,:] = η[w̄₁, I + w̄₁w̄₁ᵀ/(1+w̄₀)], a = M w̄₁ and c = 1/(1+w̄₀),
// row r of M̂W is η[a_r, m_r + c·a_r w̄₁], so
//
//	WĜW = η² [ Σd a²                  (g + c·Σda²·w̄₁)ᵀ
//	           g + c·Σda²·w̄₁          G + c(g w̄₁ᵀ + w̄₁ gᵀ) + c²·Σda²·w̄₁w̄₁ᵀ ],
//
// G = Mᵀ diag(d) M, g = Mᵀ(d∘a): every term is a sum of nonnegative or accurately
// computed products (a_r is one dot, small for the rows active at x), none is a
// difference of large numbers.
func (l *linsys) scaledGram(k int, nt ntScale, F []float64) {
	q := l.q
	h := q.h[k]
	h1 := h + 1
	G := l.gk[k]
	w1 := nt.w[1:]
	c := 1 / (1 + nt.w[0])
	e2 := nt.eta * nt.eta
	sda := l.sda[k]
	g := l.ga[q.xo[k]+k+1 : q.xo[k]+k+1+h]
	F[0] = e2 * sda
	for i := 0; i < h; i++ {
		v := e2 * (g[i] + c*sda*w1[i])
		F[i+1], F[(i+1)*h1] = v, v
	}
	for i := 0; i < h; i++ {
		for j := 0; j <= i; j++ {
			v := e2 * (G[(i+1)*h1+j+1] + c*(g[i]*w1[j]+w1[i]*g[j]) + c*c*sda*w1[i]*w1[j])
			F[(i+1)*h1+j+1], F[(j+1)*h1+i+1] = v, v
		}
	}
}

// rayDelta is δ of the ray regularisation (linsys.rayReg): the preconditioner
// differs from K by δ‖Ĵr‖² along each ray, so PCG converges in a few iterations
// while B̃⁻¹ stays below 1/(δ‖Ĵr‖²). Measured (FC benchmark seeds 1–5 at Tol 1e-7;
// cnnc solve examples/quickstart.cnn --tol 1e-8), PCG iterations per Newton solve:
// δ = 1e-6: ≈ 18 on the quickstart; 1e-8: 8; 1e-10: 2.4 (FC ≈ 1); 1e-12: 2.0 but a
// 5× larger certified gap on the quickstart; 0: the quickstart needs a second
// working-set round (96 IPM iterations instead of 45).
const rayDelta = 1e-10

// rayReg returns the ray regularisation of block k: the preconditioner factors
// B̃ = B + γ r rᵀ with r = (1, ŵ₁)/√2 the eigenvector of W for its largest
// eigenvalue η(w̄₀ + ‖w̄₁‖) (on span{e₀, (0, ŵ₁)} W acts as η[w̄₀ a; a w̄₀],
// a = ‖w̄₁‖, since w̄₀² − a² = 1) and γ = δ‖Ĵ r‖². It returns γ/2 and v = (1, ŵ₁)
// (so the term is (γ/2)·vvᵀ) in l.e; jr is ‖Ĵ_k ŵ₁‖².
func (l *linsys) rayReg(nt ntScale, h1 int, jr float64) (float64, []float64) {
	w1 := nt.w[1:]
	a := norm(w1)
	v := l.e[:h1]
	v[0] = 1
	for j := 1; j < h1; j++ {
		v[j] = 0
		if a > 0 {
			v[j] = w1[j-1] / a
		}
	}
	return rayDelta * jr / 4, v
}

// rayNorms sets l.jr[k] = ‖Ĵ_k ŵ₁,k‖² for every block (one pass over Jg).
func (l *linsys) rayNorms(nt []ntScale) {
	q := l.q
	for k := range q.h {
		l.jr[k] = 0
		w1 := nt[k].w[1:]
		a := norm(w1)
		if a == 0 {
			continue
		}
		g, h := q.grp[k], q.h[k]
		if l.jw != nil && os.Getenv("CNNC_EXP_PROJ") != "" {
			jgm := l.jw
			for i := 0; i < q.n; i++ {
				row := jgm[i*q.nJ+q.gcol[g] : i*q.nJ+q.gcol[g]+h]
				t := dot(row, w1) / a
				l.jr[k] += t * t
			}
			continue
		}
		if l.jw != nil {
			// general losses: the curvature-weighted ray before the bias projection
			// (a ray whose prediction the bias absorbs would get γ ≈ 0 otherwise)
			for i := 0; i < q.n; i++ {
				row := q.Jg[i*q.nJ+q.gcol[g] : i*q.nJ+q.gcol[g]+h]
				t := dot(row, w1) / a
				l.jr[k] += l.hw[i] * t * t
			}
			continue
		}
		for i := 0; i < q.n; i++ {
			row := q.Jg[i*q.nJ+q.gcol[g] : i*q.nJ+q.gcol[g]+h]
			t := dot(row, w1) / a
			l.jr[k] += t * t
		}
	}
}

// lowerInverse sets M = L⁻¹ for the lower triangular L (n × n row-major; the strict
// upper triangle of F is ignored), by forward substitution column by column.
func lowerInverse(F []float64, n int, M []float64) {
	for i := range M[:n*n] {
		M[i] = 0
	}
	for j := 0; j < n; j++ {
		M[j*n+j] = 1 / F[j*n+j]
		for i := j + 1; i < n; i++ {
			t := 0.0
			for k := j; k < i; k++ {
				t -= F[i*n+k] * M[k*n+j]
			}
			M[i*n+j] = t / F[i*n+i]
		}
	}
}

// qrUpper overwrites Z (m × h row-major, m ≥ 1) by Householder reflections and
// writes the h × h upper triangular factor R of Z = QR into out (strict lower
// triangle zero), so that ZᵀZ = RᵀR. Rows beyond m (m < h) leave zero rows in R.
func qrUpper(Z []float64, m, h int, out []float64) {
	for j := 0; j < h && j < m; j++ {
		// column j below the diagonal
		s2 := 0.0 // Σ_{i>j} z_i²
		for i := j + 1; i < m; i++ {
			s2 += Z[i*h+j] * Z[i*h+j]
		}
		a := Z[j*h+j]
		if s2 == 0 {
			continue // already triangular in this column
		}
		alpha := -math.Copysign(math.Sqrt(a*a+s2), a)
		// v = z − αe_j (no cancellation: a and −α have the same sign), H = I − 2vvᵀ/vᵀv
		v0 := a - alpha
		vv := v0*v0 + s2
		Z[j*h+j] = alpha
		for c := j + 1; c < h; c++ {
			t := v0 * Z[j*h+c]
			for i := j + 1; i < m; i++ {
				t += Z[i*h+j] * Z[i*h+c]
			}
			t *= 2 / vv
			Z[j*h+c] -= t * v0
			for i := j + 1; i < m; i++ {
				Z[i*h+c] -= t * Z[i*h+j]
			}
		}
		for i := j + 1; i < m; i++ {
			Z[i*h+j] = 0
		}
	}
	for i := 0; i < h; i++ {
		for j := 0; j < h; j++ {
			if j >= i && i < m {
				out[i*h+j] = Z[i*h+j]
			} else {
				out[i*h+j] = 0
			}
		}
	}
}
