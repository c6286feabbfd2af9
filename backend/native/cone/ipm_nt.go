package cone

import (
	"math"

	"github.com/cnnc-org/cnnc/backend/native/soc"
)

// Nesterov–Todd scaling for the interior-point method (ipm.go) on the symmetric cones
// it supports: the nonnegative orthant and second-order cones (Vandenberghe, "The
// CVXOPT linear and quadratic cone program solvers", 2010, §4). For s ∈ int K,
// z ∈ int K* = int K the NT scaling W is the symmetric positive definite matrix with
// W z = W⁻¹ s =: λ, block diagonal over the cones:
//
//	orthant row i:  W = √(sᵢ/zᵢ), λᵢ = √(sᵢzᵢ), H = W² = sᵢ/zᵢ.
//	SOC(q), J = diag(1, −1, …, −1):
//	  s̄ = s/√(sᵀJs), z̄ = z/√(zᵀJz), γ = √((1 + s̄ᵀz̄)/2), w̄ = (s̄ + Jz̄)/(2γ)
//	  (w̄ᵀJw̄ = 1), η = (sᵀJs / zᵀJz)^{1/4};
//	  W  = η [w̄₀ w̄₁ᵀ; w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)],
//	  W⁻¹ = η⁻¹ [w̄₀ −w̄₁ᵀ; −w̄₁ I + w̄₁w̄₁ᵀ/(1 + w̄₀)],
//	  H = W² = η²(2w̄w̄ᵀ − J),  H⁻¹ = η⁻²(2Jw̄w̄ᵀJ − J).
//
// W and W⁻¹ are applied in the factored form above, which involves no cancellation;
// the reduced KKT matrix uses (W⁻¹A)ᵀ(W⁻¹A) for the same reason (ipm_kkt.go).

// ipmCone is one cone of the IPM: an orthant run (soc = false, every row its own
// cone) or one second-order cone.
type ipmCone struct {
	start, size int
	soc         bool
}

// ntScaling holds W for every cone row (rows of the zero cone are unused).
type ntScaling struct {
	cones []ipmCone
	d     []float64 // orthant rows: H = sᵢ/zᵢ; SOC rows: w̄
	eta   []float64 // per cone (SOC only)
}

func newNTScaling(cones []ipmCone, m int) *ntScaling {
	return &ntScaling{cones: cones, d: make([]float64, m), eta: make([]float64, len(cones))}
}

// identity sets W = I (H = I): orthant d = 1, SOC w̄ = e₁, η = 1.
func (nt *ntScaling) identity() {
	for k, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				nt.d[i] = 1
			}
			continue
		}
		w := nt.d[c.start : c.start+c.size]
		for i := range w {
			w[i] = 0
		}
		w[0] = 1
		nt.eta[k] = 1
	}
}

// jnorm is √(vᵀJv) = √((v₀ − ‖v₁‖)(v₀ + ‖v₁‖)); NaN or 0 outside the interior.
func jnorm(v []float64) float64 {
	n1 := 0.0
	for _, x := range v[1:] {
		n1 = math.Hypot(n1, x)
	}
	return math.Sqrt((v[0] - n1) * (v[0] + n1))
}

// update computes W from s and z and sets λ = W z; false when a point left the
// interior (numerically).
func (nt *ntScaling) update(s, z, lambda []float64) bool {
	for k, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				if !(s[i] > 0 && z[i] > 0) {
					return false
				}
				nt.d[i] = s[i] / z[i]
				lambda[i] = math.Sqrt(s[i] * z[i])
			}
			continue
		}
		sv, zv := s[c.start:c.start+c.size], z[c.start:c.start+c.size]
		ns, nz := jnorm(sv), jnorm(zv)
		if !(ns > 0) || !(nz > 0) {
			return false
		}
		su := 0.0
		for j := range sv {
			su += sv[j] / ns * zv[j] / nz
		}
		gam := math.Sqrt((1 + su) / 2)
		w := nt.d[c.start : c.start+c.size]
		w[0] = (sv[0]/ns + zv[0]/nz) / (2 * gam)
		for j := 1; j < len(w); j++ {
			w[j] = (sv[j]/ns - zv[j]/nz) / (2 * gam)
		}
		nt.eta[k] = math.Sqrt(ns / nz)
		nt.socW(k, zv, lambda[c.start:c.start+c.size], false)
	}
	return true
}

// socW sets dst = W v (inv = false) or W⁻¹ v (inv = true) for SOC cone k.
func (nt *ntScaling) socW(k int, v, dst []float64, inv bool) {
	c := nt.cones[k]
	w := nt.d[c.start : c.start+c.size]
	a := 0.0
	for j := 1; j < len(w); j++ {
		a += w[j] * v[j]
	}
	v0 := v[0]
	sg, sc := 1.0, nt.eta[k]
	if inv {
		sg, sc = -1, 1/sc
	}
	f := a / (1 + w[0])
	dst[0] = sc * (w[0]*v0 + sg*a)
	for j := 1; j < len(v); j++ {
		dst[j] = sc * (sg*v0*w[j] + v[j] + f*w[j])
	}
}

// applyW sets dst = W v (or W⁻¹ v) on every cone row; zero rows are left alone.
func (nt *ntScaling) applyW(v, dst []float64, inv bool) {
	for k, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				w := math.Sqrt(nt.d[i])
				if inv {
					dst[i] = v[i] / w
				} else {
					dst[i] = v[i] * w
				}
			}
			continue
		}
		nt.socW(k, v[c.start:c.start+c.size], dst[c.start:c.start+c.size], inv)
	}
}

// applyH sets dst = H v = W² v on every cone row.
func (nt *ntScaling) applyH(v, dst []float64) {
	for k, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				dst[i] = nt.d[i] * v[i]
			}
			continue
		}
		nt.socH(k, v[c.start:c.start+c.size], dst[c.start:c.start+c.size])
	}
}

// socH sets dst = η²(2w̄(w̄ᵀv) − Jv) for SOC cone k.
func (nt *ntScaling) socH(k int, v, dst []float64) {
	c := nt.cones[k]
	w := nt.d[c.start : c.start+c.size]
	e2 := nt.eta[k] * nt.eta[k]
	a := 2 * dot(w, v)
	dst[0] = e2 * (a*w[0] - v[0])
	for j := 1; j < len(v); j++ {
		dst[j] = e2 * (a*w[j] + v[j])
	}
}

// jordanProd sets dst = a∘b on every cone row.
func (nt *ntScaling) jordanProd(a, b, dst []float64) {
	for _, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				dst[i] = a[i] * b[i]
			}
			continue
		}
		r := c.start
		soc.Prod(a[r:r+c.size], b[r:r+c.size], dst[r:r+c.size])
	}
}

// jordanDiv sets dst = λ \ r (λ∘dst = r) on every cone row.
func (nt *ntScaling) jordanDiv(l, r, dst []float64) {
	for _, c := range nt.cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				dst[i] = r[i] / l[i]
			}
			continue
		}
		a := c.start
		soc.Div(l[a:a+c.size], r[a:a+c.size], dst[a:a+c.size])
	}
}

// maxStep returns the largest α ≤ 1e10 with v + αd ∈ K on every cone row (∞ → 1e10).
func maxStep(cones []ipmCone, v, d []float64) float64 {
	amax := 1e10
	for _, c := range cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				if d[i] < 0 {
					if a := -v[i] / d[i]; a < amax {
						amax = a
					}
				}
			}
			continue
		}
		if a := soc.Step(v[c.start:c.start+c.size], d[c.start:c.start+c.size]); a < amax {
			amax = a
		}
	}
	return math.Max(amax, 0)
}

// shiftInterior moves v into the interior of K: with α = max over cones of
// −(smallest "eigenvalue") (orthant: −vᵢ; SOC: ‖v₁‖ − v₀), v ← v + (1 + α)e when
// α ≥ −1e-8 (e = 1 on orthant rows, (1, 0, …, 0) per SOC), as CVXOPT and Clarabel
// initialise.
func shiftInterior(cones []ipmCone, v []float64) {
	alpha := math.Inf(-1)
	for _, c := range cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				alpha = math.Max(alpha, -v[i])
			}
			continue
		}
		n1 := 0.0
		for _, x := range v[c.start+1 : c.start+c.size] {
			n1 = math.Hypot(n1, x)
		}
		alpha = math.Max(alpha, n1-v[c.start])
	}
	if math.IsInf(alpha, -1) || alpha < -1e-8 {
		return
	}
	for _, c := range cones {
		if !c.soc {
			for i := c.start; i < c.start+c.size; i++ {
				v[i] += 1 + alpha
			}
			continue
		}
		v[c.start] += 1 + alpha
	}
}
