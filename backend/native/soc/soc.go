// Package soc holds the second-order-cone arithmetic shared by cnnc's two native
// interior-point methods: the structured group solver's restricted IPM
// (backend/native/group) and the conic solver's IPM (backend/native/cone). Vectors
// are v = (v₀, v₁) ∈ R × Rⁿ⁻¹; the cone is {v₀ ≥ ‖v₁‖₂}, its Jordan product
// a∘b = (aᵀb, a₀b₁ + b₀a₁) and J = diag(1, −1, …, −1) (Vandenberghe, "The CVXOPT
// linear and quadratic cone program solvers", §4–§5). Pure functions, no state.
package soc

import "math"

// Prod sets dst = a∘b = (aᵀb, a₀b₁ + b₀a₁); dst may not alias a or b.
func Prod(a, b, dst []float64) {
	d0 := dot(a, b)
	for j := 1; j < len(a); j++ {
		dst[j] = a[0]*b[j] + b[0]*a[j]
	}
	dst[0] = d0
}

// Div solves λ∘v = r for v (λ in the cone's interior):
// v₀ = (λ₀r₀ − λ₁ᵀr₁)/(λ₀² − ‖λ₁‖²), v₁ = (r₁ − v₀λ₁)/λ₀, with the determinant
// formed as (λ₀ − ‖λ₁‖)(λ₀ + ‖λ₁‖) to avoid cancellation.
func Div(l, r, v []float64) {
	n1 := Norm(l[1:])
	det := (l[0] - n1) * (l[0] + n1)
	v0 := (l[0]*r[0] - dot(l[1:], r[1:])) / det
	for j := 1; j < len(l); j++ {
		v[j] = (r[j] - v0*l[j]) / l[0]
	}
	v[0] = v0
}

// Step is the largest α ≥ 0 with v + αd in the cone, for v in its interior (+Inf when
// the whole ray stays inside): the smallest positive root of
// (v₀+αd₀)² − ‖v₁+αd₁‖² = aα² + 2bα + c, with c = (v₀−‖v₁‖)(v₀+‖v₁‖) > 0,
// a = (d₀−‖d₁‖)(d₀+‖d₁‖), b = vᵀJd, roots taken in the cancellation-free form.
// (If a ≥ 0 and d₀ < 0 then d ∈ −K, so b < 0 and the root below is found; the ray
// cannot leave through v₀ + αd₀ = 0 before the quadratic vanishes.)
func Step(v, d []float64) float64 {
	n1 := Norm(v[1:])
	c := (v[0] - n1) * (v[0] + n1)
	b := v[0]*d[0] - dot(v[1:], d[1:])
	dn := Norm(d[1:])
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

// Norm is the 2-norm, scaled so that it neither overflows nor underflows.
func Norm(v []float64) float64 {
	scale, ssq := 0.0, 1.0
	for _, x := range v {
		if x == 0 {
			continue
		}
		a := math.Abs(x)
		if scale < a {
			ssq = 1 + ssq*(scale/a)*(scale/a)
			scale = a
		} else {
			ssq += (a / scale) * (a / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
