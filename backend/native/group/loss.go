package group

import (
	"math"
	"sort"

	"github.com/cnnc-org/cnnc/backend/certify"
)

// lossExt is the loss part of the restricted problem for hinge and logistic loss
// (package doc, "Losses"); squared loss keeps the centred form (sub.lx == nil).
//
// Variables besides the blocks' (t_k, x_k): the output bias b₀ (free, when the program
// has one) and, for hinge, slacks e ∈ Rⁿ with 2n LP rows s₁ = e ≥ 0 and
// s₂ = e + y∘ŷ − 1 ≥ 0 (multipliers u₁, u₂ ≥ 0), ŷ = Jx + b₀1:
//
//	logistic  minimise ℓ(ŷ) + βΣt_k          (smooth: P = ∇²ℓ = Jᵀdiag(ℓ″)J)
//	hinge     minimise Σeᵢ + βΣt_k           (an LP in (e, b₀) plus the blocks' cones)
//
// Dual residuals: x_k part J_kᵀg − M_kᵀu_L − u_{Q,1} with g the loss gradient in ŷ
// (logistic ∇ℓ(ŷ), hinge −y∘u₂), b₀ part 1ᵀg, hinge e part 1 − u₁ − u₂. The dual point
// of the prediction equation is λ = −g (hinge yᵢu₂ᵢ ∈ y·[0, 1]).
//
// Newton system. With D_j = diag(u_j/s_j) (the LP scaling of the hinge rows), the
// hinge slacks enter the reduced matrix as diag(D₁ + D₂) coupled to x through
// JᵀD_yD₂; eliminating Δe leaves Jᵀdiag(h)J with h = y²·d₁d₂/(d₁ + d₂). For logistic
// h = ℓ″(ŷ). The bias couples through Jᵀh with diagonal c = 1ᵀh; eliminating Δb₀
// (Schur complement) leaves
//
//	K = ⊕_k B_k + Ĵ_wᵀĴ_w,   Ĵ_w = Π_v H^{1/2} J,  Π_v = I − vvᵀ/vᵀv,  v = H^{1/2}1,
//
// the squared-loss system with Ĵ_w in place of ΠJ (linsys.setWeights), and the right
// side r_x − J(y∘d₂∘r_e/(d₁+d₂)) − Jᵀh·r_b′/c (rhs). Back substitution (back):
// Δb₀ = (r_b′ − hᵀJΔx)/c, Δŷ = JΔx + Δb₀1, Δe = (r_e − d₂∘y∘Δŷ)/(d₁ + d₂),
// Δs₁ = −r_{p,1} + Δe, Δs₂ = −r_{p,2} + Δe + y∘Δŷ, Δu_j = W_j⁻¹d_j − W_j⁻²Δs_j.
//
// Logistic is nonlinear: the Newton step linearises ∇ℓ, so a step is also limited to
// change no prediction by more than maxLogitStep (damp), where ℓ″ may change by e^4.
type lossExt struct {
	loss certify.Loss
	y    []float64
	n    int
	bias bool
	// state
	b                float64
	e                []float64
	s1, u1, s2, u2   []float64
	yhat, grad, h    []float64
	g0               []float64 // loss gradient at ŷ = 0 (scales the start)
	rp1, rp2, rde    []float64
	rdb              float64
	w1, w2, l1, l2   []float64 // hinge: √(s/u), √(su)
	d1, d2, de, tmpn []float64
	tmpx             []float64
}

// maxLogitStep caps the change of any prediction in one logistic Newton step.
const maxLogitStep = 4.0

// lossStep is the loss part of one Newton direction.
type lossStep struct {
	rc1, rc2               []float64 // hinge complementarity right sides
	dd1, dd2               []float64 // d = λ⧵rc
	re                     []float64 // hinge e right side (after the rows' terms)
	rb                     float64   // bias right side after eliminating e
	dyh                    []float64 // Δŷ
	db                     float64
	de, ds1, du1, ds2, du2 []float64
}

func newLossExt(loss certify.Loss, bias bool) *lossExt {
	n := len(loss.Y)
	lx := &lossExt{loss: loss, y: loss.Y, n: n, bias: bias,
		yhat: make([]float64, n), grad: make([]float64, n), h: make([]float64, n), g0: make([]float64, n),
		tmpn: make([]float64, n)}
	if loss.Kind == certify.Hinge {
		for _, p := range []*[]float64{&lx.e, &lx.s1, &lx.u1, &lx.s2, &lx.u2, &lx.rp1, &lx.rp2, &lx.rde,
			&lx.w1, &lx.w2, &lx.l1, &lx.l2, &lx.d1, &lx.d2, &lx.de} {
			*p = make([]float64, n)
		}
	}
	return lx
}

func (lx *lossExt) hinge() bool { return lx.loss.Kind == certify.Hinge }

func (lx *lossExt) newStep() *lossStep {
	ls := &lossStep{dyh: make([]float64, lx.n)}
	if lx.hinge() {
		for _, p := range []*[]float64{&ls.rc1, &ls.rc2, &ls.dd1, &ls.dd2, &ls.re, &ls.de, &ls.ds1, &ls.du1, &ls.ds2, &ls.du2} {
			*p = make([]float64, lx.n)
		}
	}
	return ls
}

// rows is the number of LP rows the loss adds (hinge 2n).
func (lx *lossExt) rows() int {
	if lx.hinge() {
		return 2 * lx.n
	}
	return 0
}

// start sets the starting point: b₀ = 0, e = 0, s₁ = s₂ = 1, u₁ = u₂ = ½ (so the e part
// of the dual residual starts at 0), and g0 = the loss gradient at ŷ = 0.
func (lx *lossExt) start(q *sub) {
	lx.b = 0
	if len(lx.tmpx) != q.nx {
		lx.tmpx = make([]float64, q.nx)
	}
	for i, y := range lx.y {
		switch lx.loss.Kind {
		case certify.Hinge:
			lx.e[i] = 0
			lx.s1[i], lx.s2[i] = 1, 1
			lx.u1[i], lx.u2[i] = 0.5, 0.5
			lx.g0[i] = -0.5 * y
		default:
			lx.g0[i] = -0.5 * y
		}
	}
}

// eval computes ŷ = Jx + b₀1, the loss gradient g in ŷ (into res), the loss's
// residuals, and returns the loss part of the objective (logistic ℓ(ŷ), hinge Σe).
func (lx *lossExt) eval(q *sub, x, res []float64) float64 {
	q.jmul(1, x, 0, lx.yhat)
	for i := range lx.yhat {
		lx.yhat[i] += lx.b
	}
	f := 0.0
	if lx.hinge() {
		for i, y := range lx.y {
			res[i] = -y * lx.u2[i]
			lx.rp1[i] = lx.s1[i] - lx.e[i]
			lx.rp2[i] = lx.s2[i] - (lx.e[i] + y*lx.yhat[i] - 1)
			lx.rde[i] = 1 - lx.u1[i] - lx.u2[i]
			f += lx.e[i]
		}
	} else {
		v := lx.loss.Residual(lx.yhat)
		for i := range res {
			res[i] = -v[i]
		}
		f = lx.loss.Value(lx.yhat)
	}
	lx.rdb = 0
	if lx.bias {
		for _, g := range res {
			lx.rdb += g
		}
	}
	copy(lx.grad, res)
	return f
}

// residuals returns the loss rows' primal residual, the loss variables' dual residual
// (∞-norms) and the loss rows' complementarity s₁ᵀu₁ + s₂ᵀu₂.
func (lx *lossExt) residuals() (pn, dn, gap float64) {
	dn = math.Abs(lx.rdb)
	if !lx.hinge() {
		return 0, dn, 0
	}
	for i := range lx.rp1 {
		pn = math.Max(pn, math.Max(math.Abs(lx.rp1[i]), math.Abs(lx.rp2[i])))
		dn = math.Max(dn, math.Abs(lx.rde[i]))
		gap += lx.s1[i]*lx.u1[i] + lx.s2[i]*lx.u2[i]
	}
	return pn, dn, gap
}

// dualPoint returns λ = −g.
func (lx *lossExt) dualPoint(res []float64) []float64 {
	lam := make([]float64, len(res))
	for i, g := range res {
		lam[i] = -g
	}
	return lam
}

// scale sets the hinge rows' scalings and the curvature weights h.
func (lx *lossExt) scale() {
	if !lx.hinge() {
		lx.loss.Curvature(lx.yhat, lx.h)
		return
	}
	for i, y := range lx.y {
		lx.w1[i] = math.Sqrt(lx.s1[i] / lx.u1[i])
		lx.w2[i] = math.Sqrt(lx.s2[i] / lx.u2[i])
		lx.l1[i] = math.Sqrt(lx.s1[i] * lx.u1[i])
		lx.l2[i] = math.Sqrt(lx.s2[i] * lx.u2[i])
		lx.d1[i] = lx.u1[i] / lx.s1[i]
		lx.d2[i] = lx.u2[i] / lx.s2[i]
		lx.de[i] = lx.d1[i] + lx.d2[i]
		lx.h[i] = y * y * lx.d1[i] * lx.d2[i] / lx.de[i]
	}
}

func (lx *lossExt) predictorRC(ls *lossStep) {
	if !lx.hinge() {
		return
	}
	for i := range ls.rc1 {
		ls.rc1[i] = -lx.l1[i] * lx.l1[i]
		ls.rc2[i] = -lx.l2[i] * lx.l2[i]
	}
}

func (lx *lossExt) correctorRC(ls, aff *lossStep, smu float64) {
	if !lx.hinge() {
		return
	}
	for i := range ls.rc1 {
		ls.rc1[i] = -lx.l1[i]*lx.l1[i] + smu - aff.ds1[i]*aff.du1[i]
		ls.rc2[i] = -lx.l2[i]*lx.l2[i] + smu - aff.ds2[i]*aff.du2[i]
	}
}

func (lx *lossExt) centredRC(ls *lossStep, smu float64) {
	if !lx.hinge() {
		return
	}
	for i := range ls.rc1 {
		ls.rc1[i] = -lx.l1[i]*lx.l1[i] + smu
		ls.rc2[i] = -lx.l2[i]*lx.l2[i] + smu
	}
}

// rhs adds the loss part to the reduced right side (z layout): the hinge rows'
// terms Jᵀ(y∘c₂) with e eliminated, and the bias's Schur term (type doc).
func (lx *lossExt) rhs(q *sub, ls *lossStep, rhs []float64) {
	v := lx.tmpn
	for i := range v {
		v[i] = 0
	}
	ls.rb = -lx.rdb
	if lx.hinge() {
		for i, y := range lx.y {
			ls.dd1[i] = ls.rc1[i] / lx.l1[i]
			ls.dd2[i] = ls.rc2[i] / lx.l2[i]
			c1 := (ls.dd1[i] + lx.rp1[i]/lx.w1[i]) / lx.w1[i]
			c2 := (ls.dd2[i] + lx.rp2[i]/lx.w2[i]) / lx.w2[i]
			ls.re[i] = -lx.rde[i] + c1 + c2
			t := lx.d2[i] * ls.re[i] / lx.de[i]
			v[i] = y * (c2 - t)
			if lx.bias {
				ls.rb += y * (c2 - t)
			}
		}
	}
	if lx.bias {
		c := 0.0
		for _, h := range lx.h {
			c += h
		}
		if c > 0 {
			for i, h := range lx.h {
				v[i] -= h * ls.rb / c
			}
		}
	}
	q.jtmul(v, lx.tmpx)
	for k, h := range q.h {
		o := q.xo[k] + k + 1
		for j := 0; j < h; j++ {
			rhs[o+j] += lx.tmpx[q.xo[k]+j]
		}
	}
}

// back completes a direction from Δx (compact layout): Δb₀, Δŷ and the hinge rows.
func (lx *lossExt) back(q *sub, ls *lossStep, dx []float64) {
	q.jmul(1, dx, 0, ls.dyh)
	ls.db = 0
	if lx.bias {
		c, hj := 0.0, 0.0
		for i, h := range lx.h {
			c += h
			hj += h * ls.dyh[i]
		}
		if c > 0 {
			ls.db = (ls.rb - hj) / c
		}
		for i := range ls.dyh {
			ls.dyh[i] += ls.db
		}
	}
	if !lx.hinge() {
		return
	}
	for i, y := range lx.y {
		yd := y * ls.dyh[i]
		ls.de[i] = (ls.re[i] - lx.d2[i]*yd) / lx.de[i]
		ls.ds1[i] = -lx.rp1[i] + ls.de[i]
		ls.ds2[i] = -lx.rp2[i] + ls.de[i] + yd
		ls.du1[i] = (ls.dd1[i] - ls.ds1[i]/lx.w1[i]) / lx.w1[i]
		ls.du2[i] = (ls.dd2[i] - ls.ds2[i]/lx.w2[i]) / lx.w2[i]
	}
}

// maxStep is the largest step keeping the hinge rows' s and u positive (+Inf for
// logistic).
func (lx *lossExt) maxStep(ls *lossStep) float64 {
	a := math.Inf(1)
	if !lx.hinge() {
		return a
	}
	step := func(s, d []float64) {
		for i, v := range d {
			if v < 0 && -s[i] > a*v {
				a = -s[i] / v
			}
		}
	}
	step(lx.s1, ls.ds1)
	step(lx.u1, ls.du1)
	step(lx.s2, ls.ds2)
	step(lx.u2, ls.du2)
	return a
}

// gapAfter is the hinge rows' complementarity after a step a along ls.
func (lx *lossExt) gapAfter(ls *lossStep, a float64) float64 {
	if !lx.hinge() {
		return 0
	}
	g := 0.0
	for i := range lx.s1 {
		g += (lx.s1[i] + a*ls.ds1[i]) * (lx.u1[i] + a*ls.du1[i])
		g += (lx.s2[i] + a*ls.ds2[i]) * (lx.u2[i] + a*ls.du2[i])
	}
	return g
}

// damp limits a logistic step to change no prediction by more than maxLogitStep.
func (lx *lossExt) damp(ls *lossStep, alpha float64) float64 {
	if lx.hinge() {
		return alpha
	}
	m := 0.0
	for _, v := range ls.dyh {
		m = math.Max(m, math.Abs(v))
	}
	if alpha*m > maxLogitStep {
		alpha = maxLogitStep / m
	}
	return alpha
}

func (lx *lossExt) update(ls *lossStep, a float64) {
	lx.b += a * ls.db
	if !lx.hinge() {
		return
	}
	for i := range lx.e {
		lx.e[i] += a * ls.de[i]
		lx.s1[i] += a * ls.ds1[i]
		lx.u1[i] += a * ls.du1[i]
		lx.s2[i] += a * ls.ds2[i]
		lx.u2[i] += a * ls.du2[i]
	}
}

// bestBias returns argmin_b ℓ(z + b1) for hinge and logistic loss (squared: the mean
// residual), the optimal output bias for fixed blocks. Logistic: Newton's method on
// the convex φ(b) safeguarded by bisection on φ′ (60 steps at most); hinge: φ is
// piecewise linear and convex with breakpoints bᵢ = 1/yᵢ − zᵢ, and its minimum is at a
// breakpoint found by bisection over the sorted breakpoints. With labels of one sign
// the infimum is at ±∞; the search is then confined to |b| ≤ 50 + max|zᵢ|.
func bestBias(l certify.Loss, z []float64) float64 {
	n := len(z)
	if n == 0 {
		return 0
	}
	switch l.Kind {
	case certify.Squared:
		m := 0.0
		for i, y := range l.Y {
			m += y - z[i]
		}
		return m / float64(n)
	case certify.Hinge:
		bp := make([]float64, 0, n)
		for i, y := range l.Y {
			if y != 0 {
				bp = append(bp, 1/y-z[i])
			}
		}
		if len(bp) == 0 {
			return 0
		}
		sort.Float64s(bp)
		phi := func(b float64) float64 {
			s := 0.0
			for i, y := range l.Y {
				s += math.Max(0, 1-y*(z[i]+b))
			}
			return s
		}
		lo, hi := 0, len(bp)-1
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if phi(bp[mid+1]) < phi(bp[mid]) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if phi(bp[hi]) < phi(bp[lo]) {
			return bp[hi]
		}
		return bp[lo]
	}
	zmax := 0.0
	for _, v := range z {
		zmax = math.Max(zmax, math.Abs(v))
	}
	lim := 50 + zmax
	d1 := func(b float64) (float64, float64) {
		g, h := 0.0, 0.0
		for i, y := range l.Y {
			t := y * (z[i] + b)
			s := 1 / (1 + math.Exp(t)) // σ(−t)
			g -= y * s
			h += y * y * s * (1 - s)
		}
		return g, h
	}
	lo, hi := -lim, lim
	b := 0.0
	for k := 0; k < 100; k++ {
		g, h := d1(b)
		if g > 0 {
			hi = b
		} else {
			lo = b
		}
		if g == 0 || hi-lo <= 1e-15*math.Max(1, math.Abs(b)) {
			break
		}
		nb := b - g/h
		if !(nb > lo && nb < hi) || h == 0 {
			nb = 0.5 * (lo + hi)
		}
		if math.Abs(nb-b) <= 1e-15*math.Max(1, math.Abs(b)) {
			b = nb
			break
		}
		b = nb
	}
	return b
}

// debugNewton prints the linearised residuals of a general-loss Newton direction:
// the reduced system's, the blocks' dual residual r_d + Δr_d, the bias's and the
// hinge e part's (debug only).
func (lx *lossExt) debugNewton(q *sub, lin *linsys, rhs, dz, rd, duL, duQ []float64, ls *lossStep) {
	N := len(dz)
	kd := make([]float64, N)
	lin.apply(dz, kd)
	rn := 0.0
	for i := range kd {
		rn = math.Max(rn, math.Abs(kd[i]-rhs[i]))
	}
	dg := make([]float64, lx.n)
	for i, y := range lx.y {
		if lx.hinge() {
			dg[i] = -y * ls.du2[i]
		} else {
			dg[i] = lx.h[i] * ls.dyh[i]
		}
	}
	g := make([]float64, q.nx)
	q.jtmul(dg, g)
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
	rb := lx.rdb
	for _, v := range dg {
		rb += v
	}
	re := 0.0
	if lx.hinge() {
		for i := range lx.rde {
			re = math.Max(re, math.Abs(lx.rde[i]-ls.du1[i]-ls.du2[i]))
		}
	}
	println("    newton: K-res", rn, "lin-rd", ln, "lin-rb", rb, "lin-re", re)
}
