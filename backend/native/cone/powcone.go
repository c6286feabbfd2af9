package cone

import "math"

// Power cone K_a = {(x, y, z) : x^a·y^{1−a} ≥ |z|, x, y ≥ 0}, 0 < a < 1, with dual
// K_a* = {(u, v, w) : (u/a)^a·(v/(1−a))^{1−a} ≥ |w|, u, v ≥ 0} (SCS's conventions;
// a negative SCS parameter −a denotes K_a*).
//
// Projection of (x₀, y₀, z₀) onto K_a after Hien, "Differential properties of
// Euclidean projection onto power cone" (Math. Meth. Oper. Res. 2015): outside K_a
// and its polar, and with z₀ ≠ 0, the KKT conditions of min ½‖p − v₀‖² s.t.
// |z| ≤ x^a y^{1−a} with multiplier μ give, for r = |z| on the boundary,
// μ = |z₀| − r, x² − x₀x − a·r(|z₀| − r) = 0 and y² − y₀y − (1−a)·r(|z₀| − r) = 0, so
//
//	x(r) = ½(x₀ + √(x₀² + 4a·r(|z₀|−r))),  y(r) = ½(y₀ + √(y₀² + 4(1−a)·r(|z₀|−r))),
//
// and r ∈ (0, |z₀|) is the root of Φ(r) = x(r)^a·y(r)^{1−a} − r, which is ≥ 0 at 0
// and < 0 at |z₀| (v₀ ∉ K_a). Found by the same safeguarded false position as the
// exponential cone, to a bracket width of 1e-14·|z₀|.
func projPow(x0, y0, z0, a float64) [3]float64 {
	if x0 >= 0 && y0 >= 0 && math.Pow(x0, a)*math.Pow(y0, 1-a) >= math.Abs(z0) {
		return [3]float64{x0, y0, z0}
	}
	u, v := -x0, -y0
	if u >= 0 && v >= 0 && math.Pow(u/a, a)*math.Pow(v/(1-a), 1-a) >= math.Abs(z0) {
		return [3]float64{}
	}
	base := [3]float64{math.Max(x0, 0), math.Max(y0, 0), 0}
	az := math.Abs(z0)
	if az == 0 {
		return base
	}
	// Parametrise by r on (0, |z₀|/2] and by μ = |z₀| − r on the upper half, so
	// that a root within an ulp of either end still yields y(r) > 0 accurately.
	xy := func(r, mu float64) (float64, float64) {
		h := r * mu
		return posRoot(x0, a*h), posRoot(y0, (1-a)*h)
	}
	phiR := func(r float64) float64 {
		x, y := xy(r, az-r)
		return math.Pow(x, a)*math.Pow(y, 1-a) - r
	}
	phiMu := func(mu float64) float64 {
		r := az - mu
		x, y := xy(r, mu)
		return math.Pow(x, a)*math.Pow(y, 1-a) - r
	}
	var x, y, r float64
	if half := phiR(az / 2); half <= 0 {
		// Φ(0) = max(x₀,0)^a·max(y₀,0)^{1−a} may be exactly 0 while Φ > 0 just
		// right of 0 (Φ ~ c·r^{1−a} or c·r^{(1+a)/2} there), so 0 is never taken
		// as the root: the false-position weight at 0 is at least |z₀| (only its
		// sign matters for correctness; the magnitude keeps the first step away
		// from denormals).
		r = rootIllinois(phiR, 0, az/2, math.Max(phiR(0), az), half)
		x, y = xy(r, az-r)
	} else {
		// Φ(μ = 0) = −|z₀| < 0 (v₀ ∉ K_a).
		mu := rootIllinois(phiMu, 0, az/2, phiMu(0), half)
		r = az - mu
		x, y = xy(r, mu)
	}
	p := [3]float64{x, y, math.Copysign(r, z0)}
	if dist3(p, x0, y0, z0) <= dist3(base, x0, y0, z0) {
		return p
	}
	return base
}

// posRoot is the nonnegative root of y² − y₀y − h = 0 (h ≥ 0), ½(y₀ + √(y₀² + 4h)),
// evaluated as 2h/(√(y₀² + 4h) − y₀) when y₀ < 0 to avoid cancellation.
func posRoot(y0, h float64) float64 {
	d := math.Sqrt(y0*y0 + 4*h)
	if y0 >= 0 {
		return 0.5 * (y0 + d)
	}
	if d-y0 == 0 {
		return 0
	}
	return 2 * h / (d - y0)
}
