package cone

import "math"

// Exponential cone K_exp = cl{(r, s, t) : s > 0, s·exp(r/s) ≤ t} (SCS order (x, y, z)),
// dual K_exp* = cl{(u, v, w) : u < 0, −u·exp(v/u) ≤ e·w}.
//
// Projection of v₀ = (r₀, s₀, t₀) onto K_exp, after Friberg, "Projection onto the
// exponential cone: a univariate root-finding problem" (Optim. Methods Softw. 2023;
// the algorithm SCS ≥ 3.2.2 uses), derived here independently:
//
//  1. v₀ ∈ K_exp → v₀.   2. v₀ ∈ −K_exp* (the polar) → 0.
//
//  3. r₀ ≤ 0 and s₀ ≤ 0 → (r₀, 0, max(t₀, 0)).
//
//  4. Otherwise the projection lies on the ray a(ρ) = (ρ, 1, e^ρ) for some ρ, and the
//     Moreau remainder on the polar ray n(ρ) = (e^ρ, (1−ρ)e^ρ, −1) (the outward
//     normal at a(ρ), a ⊥ n). Writing v₀ = α·a(ρ) + β·n(ρ) and solving the first two
//     components, α = ((ρ−1)r₀ + s₀)/(ρ²−ρ+1), β = (r₀ − ρs₀)/((ρ²−ρ+1)e^ρ); the third
//     component gives the univariate equation
//
//     g(ρ) = ((ρ−1)r₀ + s₀)e^ρ − (r₀ − ρs₀)e^{−ρ} − (ρ²−ρ+1)t₀ = 0,
//
//     to be solved on the interval where α ≥ 0 and β ≥ 0. At the end where β = 0
//     (ρ = r₀/s₀, s₀ > 0) g = (ρ²−ρ+1)(s₀e^{r₀/s₀} − t₀) > 0 because v₀ ∉ K; at the end
//     where α = 0 (ρ = 1 − s₀/r₀, r₀ > 0), or as ρ → −∞ when r₀ ≤ 0, g < 0 because
//     v₀ is not in the polar; for s₀ ≤ 0 the upper end is +∞ where g → +∞. Any root
//     in the bracket gives α, β ≥ 0 and hence the (unique) Moreau decomposition.
//     The root is bracketed and found by the Illinois false-position method with
//     bisection safeguards on g scaled by e^{−|ρ|} (same sign, no overflow), to full
//     double precision (no representable point left inside the bracket).
//
// As a final safeguard the result is compared with the case-3 point and 0 (both in K)
// and the nearest of the three is returned.
func projExp(r0, s0, t0 float64) [3]float64 {
	if inExp(r0, s0, t0) {
		return [3]float64{r0, s0, t0}
	}
	if inExpPolar(r0, s0, t0) {
		return [3]float64{}
	}
	p3 := [3]float64{math.Min(r0, 0), 0, math.Max(t0, 0)}
	if r0 <= 0 && s0 <= 0 {
		return p3
	}
	g := func(rho float64) float64 {
		q := rho*rho - rho + 1
		if rho >= 0 {
			e := math.Exp(-rho)
			return ((rho-1)*r0 + s0) - (r0-rho*s0)*e*e - q*t0*e
		}
		e := math.Exp(rho)
		return ((rho-1)*r0+s0)*e*e - (r0 - rho*s0) - q*t0*e
	}
	var lo, hi float64
	var glo, ghi float64
	if s0 > 0 {
		hi = r0 / s0
		ghi = g(hi)
		if r0 > 0 {
			lo = 1 - s0/r0
			glo = g(lo)
		} else {
			step := 1.0
			lo = hi - step
			glo = g(lo)
			for i := 0; glo > 0 && i < 2000; i++ {
				step *= 2
				lo = hi - step
				glo = g(lo)
			}
		}
	} else { // r0 > 0
		lo = 1 - s0/r0
		glo = g(lo)
		step := 1.0
		hi = lo + step
		ghi = g(hi)
		for i := 0; ghi < 0 && i < 2000; i++ {
			step *= 2
			hi = lo + step
			ghi = g(hi)
		}
	}
	rho := rootIllinois(g, lo, hi, glo, ghi)
	best, bestD := p3, dist3(p3, r0, s0, t0)
	if d := dist3([3]float64{}, r0, s0, t0); d < bestD {
		best, bestD = [3]float64{}, d
	}
	if math.IsNaN(rho) {
		return best
	}
	// Two evaluations of the same point: from the primal ray, p = α·a(ρ), and from
	// the polar ray, p' = v₀ − β·n(ρ). Each suffers cancellation in a different
	// regime (α near its zero, β near its zero), so both are made feasible and the
	// one with the better Moreau merit |pᵀq| + dist(q, K*) (q = p − v₀) is kept.
	q := rho*rho - rho + 1
	var cands [][3]float64
	if alpha := ((rho-1)*r0 + s0) / q; alpha > 0 {
		cands = append(cands, [3]float64{alpha * rho, alpha, math.Exp(math.Log(alpha) + rho)})
	}
	if be := (r0 - rho*s0) / q; be >= 0 { // β·e^ρ
		beta := be * math.Exp(-rho)
		c := [3]float64{r0 - be, s0 - be*(1-rho), t0 + beta}
		if c[1] > 0 {
			c[2] = math.Max(c[2], c[1]*math.Exp(c[0]/c[1]))
			cands = append(cands, c)
		}
	}
	bestM := math.Inf(1)
	var pick [3]float64
	for _, c := range cands {
		if m := expMerit(c, r0, s0, t0); m < bestM {
			bestM, pick = m, c
		}
	}
	if len(cands) > 0 && dist3(pick, r0, s0, t0) <= bestD*(1+1e-12) {
		best = pick
	}
	return best
}

// expMerit measures how far p (in K_exp) is from being the projection of v₀:
// |pᵀq| + violation of q = p − v₀ ∈ K_exp*.
func expMerit(p [3]float64, r0, s0, t0 float64) float64 {
	u, v, w := p[0]-r0, p[1]-s0, p[2]-t0
	m := math.Abs(p[0]*u + p[1]*v + p[2]*w)
	if u < 0 {
		m += math.Max(0, -u*math.Exp(v/u)-math.E*w)
	} else {
		m += u + math.Max(0, -v) + math.Max(0, -w)
	}
	return m
}

func dist3(p [3]float64, r, s, t float64) float64 {
	a, b, c := p[0]-r, p[1]-s, p[2]-t
	return a*a + b*b + c*c
}

// inExp reports v ∈ K_exp.
func inExp(r, s, t float64) bool {
	if s > 0 {
		return t > 0 && r/s <= math.Log(t/s)
	}
	return s == 0 && r <= 0 && t >= 0
}

// inExpPolar reports v ∈ −K_exp*, i.e. −v = (u, v, w) with u < 0, −u·e^{v/u} ≤ e·w.
func inExpPolar(r, s, t float64) bool {
	if r > 0 {
		return t < 0 && math.Log(r)+s/r <= 1+math.Log(-t)
	}
	return r == 0 && s <= 0 && t <= 0
}

// rootIllinois finds a sign change of f in [lo, hi] (f(lo) and f(hi) of opposite
// signs) by false position with the Illinois modification, bisecting every third
// step when the bracket has not halved, until no double lies strictly inside the
// bracket (at most 500 evaluations).
func rootIllinois(f func(float64) float64, lo, hi, flo, fhi float64) float64 {
	if flo == 0 {
		return lo
	}
	if fhi == 0 {
		return hi
	}
	if math.Signbit(flo) == math.Signbit(fhi) {
		// No sign change (rounding at the bracket ends): take the end nearer zero.
		if math.Abs(flo) < math.Abs(fhi) {
			return lo
		}
		return hi
	}
	side := 0
	width := hi - lo
	for it := 0; it < 500; it++ {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		var x float64
		if it%3 == 2 && hi-lo > 0.5*width {
			x = mid
		} else {
			x = (lo*fhi - hi*flo) / (fhi - flo)
			if !(x > lo && x < hi) {
				x = mid
			}
		}
		if it%3 == 2 {
			width = hi - lo
		}
		fx := f(x)
		if fx == 0 {
			return x
		}
		if math.Signbit(fx) == math.Signbit(flo) {
			lo, flo = x, fx
			if side == -1 {
				fhi /= 2
			}
			side = -1
		} else {
			hi, fhi = x, fx
			if side == 1 {
				flo /= 2
			}
			side = 1
		}
	}
	if math.Abs(flo) < math.Abs(fhi) {
		return lo
	}
	return hi
}
