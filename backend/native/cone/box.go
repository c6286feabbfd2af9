package cone

import "math"

// Box cone K_box = cl{(t, s) : t ≥ 0, t·l ≤ s ≤ t·u} (SCS; l may be −∞, u +∞).
//
// Projection of (t₀, s₀) onto K_box: min over t ≥ 0 of
// f(t) = (t − t₀)² + Σᵢ dist(s₀ᵢ, [t·lᵢ, t·uᵢ])², a convex piecewise quadratic whose
// half-derivative f'(t)/2 = (t − t₀) + Σ_{s₀ᵢ < t lᵢ} lᵢ(t lᵢ − s₀ᵢ) + Σ_{s₀ᵢ > t uᵢ} uᵢ(t uᵢ − s₀ᵢ)
// is nondecreasing; t = 0 if f'(0) ≥ 0, else its root, found by doubling an upper
// bracket and the safeguarded false position of rootIllinois; then sᵢ = clip(s₀ᵢ).
// (t·(±∞) is taken as ±∞ for every t ≥ 0, which is the closure at t = 0.)
func projBox(x []float64, bl, bu []float64) {
	t0 := x[0]
	s0 := x[1:]
	df := func(t float64) float64 {
		d := t - t0
		for i, s := range s0 {
			if !math.IsInf(bl[i], -1) && s < t*bl[i] {
				d += bl[i] * (t*bl[i] - s)
			} else if !math.IsInf(bu[i], 1) && s > t*bu[i] {
				d += bu[i] * (t*bu[i] - s)
			}
		}
		return d
	}
	t := 0.0
	if d0 := df(0); d0 < 0 {
		hi := math.Max(1, 2*math.Abs(t0))
		dh := df(hi)
		for i := 0; dh < 0 && i < 2000; i++ {
			hi *= 2
			dh = df(hi)
		}
		t = rootIllinois(df, 0, hi, d0, dh)
	}
	x[0] = t
	for i, s := range s0 {
		lo, up := t*bl[i], t*bu[i]
		if math.IsInf(bl[i], -1) {
			lo = math.Inf(-1)
		}
		if math.IsInf(bu[i], 1) {
			up = math.Inf(1)
		}
		x[1+i] = math.Min(math.Max(s, lo), up)
	}
}

// projBoxDual replaces v by Π_{K_box*}(v) = v + Π_{K_box}(−v) (Moreau).
func projBoxDual(v []float64, bl, bu []float64) {
	w := make([]float64, len(v))
	for i := range v {
		w[i] = -v[i]
	}
	projBox(w, bl, bu)
	for i := range v {
		v[i] += w[i]
	}
}
