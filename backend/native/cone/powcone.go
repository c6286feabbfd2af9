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
	xr := func(r float64) (float64, float64) {
		h := r * (az - r)
		return 0.5 * (x0 + math.Sqrt(x0*x0+4*a*h)), 0.5 * (y0 + math.Sqrt(y0*y0+4*(1-a)*h))
	}
	phi := func(r float64) float64 {
		x, y := xr(r)
		return math.Pow(x, a)*math.Pow(y, 1-a) - r
	}
	r := rootIllinois(phi, 0, az, phi(0), phi(az))
	x, y := xr(r)
	p := [3]float64{x, y, math.Copysign(r, z0)}
	if dist3(p, x0, y0, z0) <= dist3(base, x0, y0, z0) {
		return p
	}
	return base
}
