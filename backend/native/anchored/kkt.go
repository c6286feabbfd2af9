package anchored

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// kkt solves the interior-point method's KKT system
//
//	[ 0  Gᵀ ] [Δx]   [b_x]
//	[ G  −Ĥ ] [Δy] = [b_y],      Ĥ = W² (NT scaling),
//
// as Δx = M⁻¹(b_x + GᵀĤ⁻¹b_y), Δy = Ĥ⁻¹(GΔx − b_y) with M = GᵀĤ⁻¹G, and solves
// with M by the block elimination of the package doc (t per sample by
// Sherman–Morrison, s by one rank-one update, a dense H×H Cholesky on w), followed by
// iterative refinement against M applied exactly.
type kkt struct {
	pr *prob
	nt *scaling

	// per factorisation
	dw    []float64 // N·K: d1d2/(d1+d2), the weight of x_r x_rᵀ in the w block
	lam   []float64 // N·K: λ_r = d1 + d2
	p     []float64 // N·K: c_k/λ_r
	sig   []float64 // N: σ_i = d3/(1 + d3 φ_i)
	gam   *mat.Dense
	e     []float64 // N (SOC): σ_i + η⁻²
	zeta  float64   // SOC: 2η⁻²
	vEv   float64   // SOC: vᵀE⁻¹v, v = w̄₁
	qv    []float64 // SOC: q = Γᵀ(σ∘v/e)
	qcoef float64   // SOC: ζ/(1 + ζ vᵀE⁻¹v)
	chol  mat.Cholesky
	schur *mat.SymDense
	xs    *mat.Dense // N·K × H scratch: √(dw_r)·x_r

	// scratch
	gy, hy, r, rr, dx2 []float64
	ry, dy2            []float64
	tn, tn2, tw, tw2   []float64
}

var errFactor = errors.New("the reduced KKT matrix could not be factored")

func newKKT(pr *prob, nt *scaling) *kkt {
	n, nK, H := pr.n, pr.nK, pr.h
	k := &kkt{pr: pr, nt: nt,
		dw: make([]float64, nK), lam: make([]float64, nK), p: make([]float64, nK),
		sig: make([]float64, n), gam: mat.NewDense(n, H, nil),
		schur: mat.NewSymDense(H, nil), xs: mat.NewDense(nK, H, nil),
		gy: make([]float64, pr.m), hy: make([]float64, pr.m),
		r: make([]float64, pr.nx), rr: make([]float64, pr.nx), dx2: make([]float64, pr.nx),
		ry: make([]float64, pr.m), dy2: make([]float64, pr.m),
		tn: make([]float64, n), tn2: make([]float64, n), tw: make([]float64, H), tw2: make([]float64, H),
	}
	if pr.soc {
		k.e = make([]float64, n)
		k.qv = make([]float64, H)
	}
	return k
}

// factor forms and factors the Schur complement on w for the current scaling.
func (k *kkt) factor() error {
	pr, nt := k.pr, k.nt
	n, nK, H, K := pr.n, pr.nK, pr.h, pr.k
	hinv := nt.hinv
	for r := 0; r < nK; r++ {
		d1, d2 := hinv[r], hinv[nK+r]
		k.lam[r] = d1 + d2
		k.dw[r] = d1 * d2 / (d1 + d2)
		k.p[r] = pr.c[r/n] / k.lam[r]
	}
	// Γ rows g_i = Σ_k d2_r p_r x_r, σ_i
	gd := k.gam.RawMatrix().Data
	for i := range gd {
		gd[i] = 0
	}
	for i := 0; i < n; i++ {
		phi := 0.0
		g := gd[i*H : (i+1)*H]
		for kk := 0; kk < K; kk++ {
			r := kk*n + i
			phi += pr.c[kk] * k.p[r]
			f := hinv[nK+r] * k.p[r]
			if f != 0 {
				axpy(f, pr.xrow(r), g)
			}
		}
		d3 := hinv[2*nK+i]
		k.sig[i] = d3 / (1 + d3*phi)
	}
	// Schur = Xᵀ diag(dw) X + Γᵀ diag(coef) Γ (+ qcoef q qᵀ)
	xd := k.xs.RawMatrix().Data
	for r := 0; r < nK; r++ {
		sq := math.Sqrt(k.dw[r])
		src := pr.xrow(r)
		dst := xd[r*H : (r+1)*H]
		for j, v := range src {
			dst[j] = sq * v
		}
	}
	sd := k.schur.RawSymmetric()
	for i := range sd.Data {
		sd.Data[i] = 0
	}
	blas64.Syrk(blas.Trans, 1, k.xs.RawMatrix(), 0, sd)
	coef := k.tn
	if pr.soc {
		etaInv2 := 1 / (nt.eta * nt.eta)
		v := nt.wbar[1:]
		k.zeta = 2 * etaInv2
		k.vEv = 0
		for i := 0; i < n; i++ {
			k.e[i] = k.sig[i] + etaInv2
			k.vEv += v[i] * v[i] / k.e[i]
			coef[i] = k.sig[i] * etaInv2 / k.e[i]
		}
		k.qcoef = k.zeta / (1 + k.zeta*k.vEv)
		for i := 0; i < n; i++ {
			k.tn2[i] = k.sig[i] * v[i] / k.e[i]
		}
		mulTVec(k.gam, k.tn2, k.qv)
	} else {
		copy(coef, k.sig)
	}
	// Γᵀ diag(coef) Γ: scale a copy of Γ's rows by √coef, then one more Syrk.
	gs := mat.NewDense(n, H, nil)
	gsd := gs.RawMatrix().Data
	for i := 0; i < n; i++ {
		sq := math.Sqrt(coef[i])
		for j := 0; j < H; j++ {
			gsd[i*H+j] = sq * gd[i*H+j]
		}
	}
	blas64.Syrk(blas.Trans, 1, gs.RawMatrix(), 1, sd)
	if pr.soc {
		blas64.Syr(k.qcoef, blas64.Vector{N: H, Inc: 1, Data: k.qv}, sd)
	}
	// static regularisation, removed by refinement
	maxd := 0.0
	for j := 0; j < H; j++ {
		maxd = math.Max(maxd, sd.Data[j*H+j])
	}
	reg := 1e-13 * math.Max(maxd, 1e-300)
	for j := 0; j < H; j++ {
		sd.Data[j*H+j] += reg
	}
	if !(maxd > 0) || math.IsInf(maxd, 0) || !k.chol.Factorize(k.schur) {
		return errFactor
	}
	return nil
}

// msolve sets dx = M⁻¹ b by the block elimination (b and dx are nx-vectors, may not alias).
func (k *kkt) msolve(b, dx []float64) {
	pr, nt := k.pr, k.nt
	n, nK, H, K := pr.n, pr.nK, pr.h, pr.k
	hinv := nt.hinv
	bw, bt := b[:H], b[H:H+nK]
	dw, dt := dx[:H], dx[H:H+nK]
	// pb_i = p_iᵀ bt_i ; r_w = b_w + Xᵀ(d2/λ ∘ bt) − Γᵀ(σ∘pb)
	pb := k.tn
	for i := range pb {
		pb[i] = 0
	}
	rw := k.tw
	copy(rw, bw)
	for r := 0; r < nK; r++ {
		pb[r%n] += k.p[r] * bt[r]
		if f := hinv[nK+r] / k.lam[r] * bt[r]; f != 0 {
			axpy(f, pr.xrow(r), rw)
		}
	}
	sp := k.tn2
	for i := 0; i < n; i++ {
		sp[i] = -k.sig[i] * pb[i]
	}
	mulTVecAdd(k.gam, sp, rw)
	var ds []float64
	if pr.soc {
		bs := b[H+nK:]
		ds = dx[H+nK:]
		// r_s = b_s + σ∘pb ; rhs_w = r_w + Γᵀ(σ∘S_s⁻¹ r_s)
		rs := ds // use ds as scratch for r_s
		for i := 0; i < n; i++ {
			rs[i] = bs[i] + k.sig[i]*pb[i]
		}
		k.ssolve(rs, sp)
		for i := 0; i < n; i++ {
			sp[i] *= k.sig[i]
		}
		mulTVecAdd(k.gam, sp, rw)
		// dw
		k.cholSolve(rw, dw)
		// ds = S_s⁻¹(r_s + σ∘Γdw)
		mulVec(k.gam, dw, sp)
		for i := 0; i < n; i++ {
			sp[i] = rs[i] + k.sig[i]*sp[i]
		}
		k.ssolve(sp, ds)
	} else {
		k.cholSolve(rw, dw)
	}
	// dt_i = T_i⁻¹ v_i, v_r = bt_r + d2_r x_rᵀdw + d3_i c_k ds_i;
	// T⁻¹v = Λ⁻¹v − σ (pᵀv) p
	pv := k.tn
	for i := range pv {
		pv[i] = 0
	}
	for r := 0; r < nK; r++ {
		i, kk := r%n, r/n
		v := bt[r] + hinv[nK+r]*dot(pr.xrow(r), dw)
		if ds != nil {
			v += hinv[2*nK+i] * pr.c[kk] * ds[i]
		}
		dt[r] = v / k.lam[r]
		pv[i] += k.p[r] * v
	}
	for r := 0; r < nK; r++ {
		i := r % n
		dt[r] -= k.sig[i] * pv[i] * k.p[r]
	}
	_ = K
}

// ssolve sets dst = S_s⁻¹ v, S_s = diag(e) + ζ w̄₁w̄₁ᵀ (Sherman–Morrison).
func (k *kkt) ssolve(v, dst []float64) {
	w := k.nt.wbar[1:]
	a := 0.0
	for i, e := range k.e {
		a += w[i] * v[i] / e
	}
	f := k.zeta * a / (1 + k.zeta*k.vEv)
	for i, e := range k.e {
		dst[i] = (v[i] - f*w[i]) / e
	}
}

func (k *kkt) cholSolve(b, x []float64) {
	var xv mat.VecDense
	_ = k.chol.SolveVecTo(&xv, mat.NewVecDense(len(b), append([]float64(nil), b...)))
	copy(x, xv.RawVector().Data)
}

// mulM sets out = M v = Gᵀ Ĥ⁻¹ G v.
func (k *kkt) mulM(v, out []float64) {
	k.pr.mulG(v, k.gy)
	k.nt.applyHinv(k.gy, k.hy)
	k.pr.mulGT(k.hy, out)
}

// solve sets (dx, dy) to the solution of the KKT system for (bx, by): the reduced
// solve, then iterative refinement on the full system [0 Gᵀ; G −Ĥ] (its residual
// (b_x − Gᵀdy, b_y − G dx + Ĥ dy) solved by the same reduction), up to refineMax
// steps, until the residual is below 1e-14·(1 + ‖b‖∞) or stops halving.
func (k *kkt) solve(bx, by, dx, dy []float64) {
	k.reduced(bx, by, dx, dy)
	scale := math.Max(infNorm(bx), infNorm(by))
	best := math.Inf(1)
	for it := 0; it < refineMax; it++ {
		// r_x = b_x − Gᵀdy ; r_y = b_y − G dx + Ĥ dy
		k.pr.mulGT(dy, k.r)
		res := 0.0
		for j := range k.r {
			k.r[j] = bx[j] - k.r[j]
			res = maxAbs(res, k.r[j])
		}
		k.pr.mulG(dx, k.gy)
		k.nt.applyH(dy, k.hy)
		for i := range k.ry {
			k.ry[i] = by[i] - k.gy[i] + k.hy[i]
			res = maxAbs(res, k.ry[i])
		}
		if res <= 1e-14*(1+scale) || res >= 0.5*best {
			break
		}
		best = res
		k.reduced(k.r, k.ry, k.dx2, k.dy2)
		for j := range dx {
			dx[j] += k.dx2[j]
		}
		for i := range dy {
			dy[i] += k.dy2[i]
		}
	}
}

// reduced solves the KKT system once by the reduction Δx = M⁻¹(b_x + GᵀĤ⁻¹b_y),
// Δy = Ĥ⁻¹(GΔx − b_y).
func (k *kkt) reduced(bx, by, dx, dy []float64) {
	pr, nt := k.pr, k.nt
	nt.applyHinv(by, k.hy)
	pr.mulGT(k.hy, k.rr)
	for j := range k.rr {
		k.rr[j] += bx[j]
	}
	k.msolve(k.rr, dx)
	pr.mulG(dx, k.gy)
	for i := range k.gy {
		k.gy[i] -= by[i]
	}
	nt.applyHinv(k.gy, dy)
}

const refineMax = 4

func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// mulVec sets out = A v.
func mulVec(A *mat.Dense, v, out []float64) {
	r, c := A.Dims()
	d := A.RawMatrix().Data
	for i := 0; i < r; i++ {
		out[i] = dot(d[i*c:(i+1)*c], v)
	}
}

// mulTVec sets out = Aᵀ v.
func mulTVec(A *mat.Dense, v, out []float64) {
	for j := range out {
		out[j] = 0
	}
	mulTVecAdd(A, v, out)
}

// mulTVecAdd adds Aᵀ v to out.
func mulTVecAdd(A *mat.Dense, v, out []float64) {
	r, c := A.Dims()
	d := A.RawMatrix().Data
	for i := 0; i < r; i++ {
		if v[i] != 0 {
			axpy(v[i], d[i*c:(i+1)*c], out)
		}
	}
}
