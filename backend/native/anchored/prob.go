package anchored

import (
	"math"

	"github.com/cnnc-org/cnnc/backend/native/soc"
)

// prob is the conic form of the anchored program that the solver iterates on
// (the row and column order of compiler/canon's ANCHORED rewrite):
//
//	minimize cᵀx  s.t.  Gx + z = h,  z ∈ R₊^{2NK+N} (× SOC(N+1) when ε > 0)
//	x = (w ∈ Rᴴ, t ∈ R^{NK} position-major, s ∈ Rᴺ when ε > 0),  c = (−a, 0, 0)
//	rows [0, NK):        −t_r                    h = 0      (t ≥ 0)
//	rows [NK, 2NK):      x_rᵀw − t_r             h = 0      (t ≥ Xw)
//	rows [2NK, 2NK+N):   Σ_k c_k t_ik − s_i      h = y_i    (Σ c t ≤ y + s)
//	rows [2NK+N, m):     (0, −s)                 h = (ε, 0) (‖s‖ ≤ ε)
type prob struct {
	n, k, h, nK int
	nx, m       int // columns, rows
	soc         bool
	x           []float64 // N·K × H row-major (position-major rows)
	c           []float64 // K output weights
	a           []float64 // anchor
	y           []float64
	eps         float64
	cost        []float64 // c of the conic form (length nx)
	hv          []float64 // h of the conic form (length m)
	lp          int       // number of orthant rows
}

func (p *prob) xrow(r int) []float64 { return p.x[r*p.h : (r+1)*p.h] }

// mulG sets out = G v.
func (p *prob) mulG(v, out []float64) {
	n, nK, H := p.n, p.nK, p.h
	w, t := v[:H], v[H:H+nK]
	for r := 0; r < nK; r++ {
		out[r] = -t[r]
		out[nK+r] = dot(p.xrow(r), w) - t[r]
	}
	for i := 0; i < n; i++ {
		s := 0.0
		for kk := 0; kk < p.k; kk++ {
			s += p.c[kk] * t[kk*n+i]
		}
		out[2*nK+i] = s
	}
	if p.soc {
		sv := v[H+nK:]
		q := 2*nK + n
		out[q] = 0
		for i := 0; i < n; i++ {
			out[2*nK+i] -= sv[i]
			out[q+1+i] = -sv[i]
		}
	}
}

// mulGT sets out = Gᵀ u.
func (p *prob) mulGT(u, out []float64) {
	n, nK, H := p.n, p.nK, p.h
	ow, ot := out[:H], out[H:H+nK]
	for j := range ow {
		ow[j] = 0
	}
	for r := 0; r < nK; r++ {
		u2 := u[nK+r]
		if u2 != 0 {
			axpy(u2, p.xrow(r), ow)
		}
		ot[r] = -u[r] - u2 + p.c[r/n]*u[2*nK+r%n]
	}
	if p.soc {
		os := out[H+nK:]
		q := 2*nK + n
		for i := 0; i < n; i++ {
			os[i] = -u[2*nK+i] - u[q+1+i]
		}
	}
}

// scaling is the Nesterov–Todd scaling W of the current iterate (slack z, dual y):
// orthant rows W = √(z/y), Ĥ⁻¹ = y/z; the SOC (when present)
//
//	z̄ = z/√(zᵀJz), ȳ = y/√(yᵀJy), γ = √((1 + z̄ᵀȳ)/2), w̄ = (z̄ + Jȳ)/(2γ), η = (zᵀJz / yᵀJy)^{1/4},
//	W = η [w̄₀ w̄₁ᵀ; w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)],  W⁻¹ = η⁻¹ [w̄₀ −w̄₁ᵀ; −w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)],
//
// so that W y = W⁻¹ z = λ (Vandenberghe, "The CVXOPT linear and quadratic cone
// program solvers", 2010, §4).
type scaling struct {
	lp   int       // orthant rows [0, lp)
	m    int       // rows
	hinv []float64 // orthant rows: y/z
	wbar []float64 // SOC: w̄ (length N+1)
	eta  float64
}

func newScaling(p *prob) *scaling {
	s := &scaling{lp: p.lp, m: p.m, hinv: make([]float64, p.lp)}
	if p.soc {
		s.wbar = make([]float64, p.m-p.lp)
	}
	return s
}

// identity sets W = I.
func (s *scaling) identity() {
	for i := range s.hinv {
		s.hinv[i] = 1
	}
	if s.wbar != nil {
		for i := range s.wbar {
			s.wbar[i] = 0
		}
		s.wbar[0] = 1
		s.eta = 1
	}
}

func jnorm(v []float64) float64 {
	n1 := soc.Norm(v[1:])
	return math.Sqrt((v[0] - n1) * (v[0] + n1))
}

// update computes W from the slack z and dual y and sets λ = W y; false when a
// point has left the interior numerically.
func (s *scaling) update(z, y, lambda []float64) bool {
	for i := 0; i < s.lp; i++ {
		if !(z[i] > 0 && y[i] > 0) {
			return false
		}
		s.hinv[i] = y[i] / z[i]
		lambda[i] = math.Sqrt(z[i] * y[i])
	}
	if s.wbar == nil {
		return true
	}
	zv, yv := z[s.lp:], y[s.lp:]
	nz, ny := jnorm(zv), jnorm(yv)
	if !(nz > 0) || !(ny > 0) {
		return false
	}
	su := 0.0
	for j := range zv {
		su += zv[j] / nz * yv[j] / ny
	}
	gam := math.Sqrt((1 + su) / 2)
	w := s.wbar
	w[0] = (zv[0]/nz + yv[0]/ny) / (2 * gam)
	for j := 1; j < len(w); j++ {
		w[j] = (zv[j]/nz - yv[j]/ny) / (2 * gam)
	}
	s.eta = math.Sqrt(nz / ny)
	s.socW(yv, lambda[s.lp:], false)
	return true
}

// socW sets dst = W v (inv false) or W⁻¹ v (inv true) on the SOC block.
func (s *scaling) socW(v, dst []float64, inv bool) {
	w := s.wbar
	a := 0.0
	for j := 1; j < len(w); j++ {
		a += w[j] * v[j]
	}
	v0 := v[0]
	sg, sc := 1.0, s.eta
	if inv {
		sg, sc = -1, 1/sc
	}
	f := a / (1 + w[0])
	dst[0] = sc * (w[0]*v0 + sg*a)
	for j := 1; j < len(v); j++ {
		dst[j] = sc * (sg*v0*w[j] + v[j] + f*w[j])
	}
}

// applyW sets dst = W v (inv: W⁻¹ v) on every row.
func (s *scaling) applyW(v, dst []float64, inv bool) {
	for i := 0; i < s.lp; i++ {
		w := 1 / math.Sqrt(s.hinv[i])
		if inv {
			dst[i] = v[i] / w
		} else {
			dst[i] = v[i] * w
		}
	}
	if s.wbar != nil {
		s.socW(v[s.lp:], dst[s.lp:], inv)
	}
}

// applyH sets dst = Ĥ v = W² v.
func (s *scaling) applyH(v, dst []float64) {
	for i := 0; i < s.lp; i++ {
		dst[i] = v[i] / s.hinv[i]
	}
	if s.wbar != nil {
		t := make([]float64, len(s.wbar))
		s.socW(v[s.lp:], t, false)
		s.socW(t, dst[s.lp:], false)
	}
}

// applyHinv sets dst = Ĥ⁻¹ v = W⁻² v.
func (s *scaling) applyHinv(v, dst []float64) {
	for i := 0; i < s.lp; i++ {
		dst[i] = v[i] * s.hinv[i]
	}
	if s.wbar != nil {
		t := make([]float64, len(s.wbar))
		s.socW(v[s.lp:], t, true)
		s.socW(t, dst[s.lp:], true)
	}
}

// jordanProd sets dst = a∘b; jordanDiv sets dst = λ \ r.
func (s *scaling) jordanProd(a, b, dst []float64) {
	for i := 0; i < s.lp; i++ {
		dst[i] = a[i] * b[i]
	}
	if s.wbar != nil {
		soc.Prod(a[s.lp:], b[s.lp:], dst[s.lp:])
	}
}

func (s *scaling) jordanDiv(l, r, dst []float64) {
	for i := 0; i < s.lp; i++ {
		dst[i] = r[i] / l[i]
	}
	if s.wbar != nil {
		soc.Div(l[s.lp:], r[s.lp:], dst[s.lp:])
	}
}

// maxStep is the largest α ≤ 1e10 with v + αd in the cone.
func (s *scaling) maxStep(v, d []float64) float64 {
	amax := 1e10
	for i := 0; i < s.lp; i++ {
		if d[i] < 0 {
			if a := -v[i] / d[i]; a < amax {
				amax = a
			}
		}
	}
	if s.wbar != nil {
		if a := soc.Step(v[s.lp:], d[s.lp:]); a < amax {
			amax = a
		}
	}
	return math.Max(amax, 0)
}

// shiftInterior moves v into the cone's interior: v ← v + (1 + α)e with α the
// largest "negative eigenvalue" (orthant −v_i, SOC ‖v₁‖ − v₀), when α ≥ −1e-8.
func (s *scaling) shiftInterior(v []float64) {
	alpha := math.Inf(-1)
	for i := 0; i < s.lp; i++ {
		alpha = math.Max(alpha, -v[i])
	}
	if s.wbar != nil {
		alpha = math.Max(alpha, soc.Norm(v[s.lp+1:])-v[s.lp])
	}
	if math.IsInf(alpha, -1) || alpha < -1e-8 {
		return
	}
	for i := 0; i < s.lp; i++ {
		v[i] += 1 + alpha
	}
	if s.wbar != nil {
		v[s.lp] += 1 + alpha
	}
}

// mu is the complementarity (zᵀy + τκ)/(ν + 1), ν = orthant rows + 1 SOC.
func (s *scaling) mu(z, y []float64, tau, kappa float64) float64 {
	nu := float64(s.lp)
	if s.wbar != nil {
		nu++
	}
	return (dot(z, y) + tau*kappa) / (nu + 1)
}
