package cone

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Independent cone membership tests (within tol, relative to the vector's size).
// They do not call the projections under test.

func inSOCTol(x []float64, tol float64) bool {
	if len(x) == 0 {
		return true
	}
	n := 0.0
	for _, v := range x[1:] {
		n += v * v
	}
	return math.Sqrt(n) <= x[0]+tol
}

// minEigSvec returns the smallest eigenvalue of smat(x) for a PSD block of order k.
func minEigSvec(x []float64, k int) float64 {
	a := mat.NewSymDense(k, nil)
	idx := 0
	for j := 0; j < k; j++ {
		for i := j; i < k; i++ {
			v := x[idx]
			if i != j {
				v /= math.Sqrt2
			}
			a.SetSym(i, j, v)
			idx++
		}
	}
	var e mat.EigenSym
	if !e.Factorize(a, false) {
		return math.NaN()
	}
	return e.Values(nil)[0]
}

// inExpTol: (r, s, t) with s·exp(r/s) ≤ t, or the face s = 0, r ≤ 0, t ≥ 0.
func inExpTol(v [3]float64, tol float64) bool {
	r, s, t := v[0], v[1], v[2]
	if s > 0 && s*math.Exp(r/s) <= t+tol*math.Max(1, math.Abs(t)) {
		return true
	}
	return math.Abs(s) <= tol && r <= tol && t >= -tol
}

// inExpDualTol: (u, v, w) with u < 0 and −u·exp(v/u) ≤ e·w, or u = 0, v ≥ 0, w ≥ 0.
func inExpDualTol(x [3]float64, tol float64) bool {
	u, v, w := x[0], x[1], x[2]
	if u < 0 && -u*math.Exp(v/u) <= math.E*w+tol*math.Max(1, math.Abs(w)) {
		return true
	}
	return math.Abs(u) <= tol && v >= -tol && w >= -tol
}

// inPowTol and inPowDualTol allow an absolute slack tol on every coordinate: a
// coordinate that is a difference of two nearly equal numbers carries an error of
// an ulp of ‖v‖, which the fractional powers amplify.
func inPowTol(v [3]float64, a, tol float64) bool {
	v[0], v[1] = v[0]+tol, v[1]+tol
	return v[0] >= -tol && v[1] >= -tol &&
		math.Pow(math.Max(v[0], 0), a)*math.Pow(math.Max(v[1], 0), 1-a) >= math.Abs(v[2])-tol
}

func inPowDualTol(v [3]float64, a, tol float64) bool {
	v[0], v[1] = v[0]+tol, v[1]+tol
	return v[0] >= -tol && v[1] >= -tol &&
		math.Pow(math.Max(v[0], 0)/a, a)*math.Pow(math.Max(v[1], 0)/(1-a), 1-a) >= math.Abs(v[2])-tol
}

// checkMoreau3 verifies p = Π_K(v) through the Moreau characterisation:
// p ∈ K, q = p − v ∈ K*, pᵀq = 0.
func checkMoreau3(t *testing.T, name string, v, p [3]float64, inK, inKd func([3]float64) bool) {
	t.Helper()
	q := [3]float64{p[0] - v[0], p[1] - v[1], p[2] - v[2]}
	nv := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if !inK(p) || !inKd(q) || math.Abs(p[0]*q[0]+p[1]*q[1]+p[2]*q[2]) > 1e-9*math.Max(1, nv*nv) {
		t.Errorf("%s: v=%v p=%v q=%v: p∈K %v, q∈K* %v, pᵀq=%g", name, v, p, q, inK(p), inKd(q), p[0]*q[0]+p[1]*q[1]+p[2]*q[2])
	}
}

func randVec3(rng *rand.Rand) [3]float64 {
	sc := math.Pow(10, rng.Float64()*6-3)
	v := [3]float64{rng.NormFloat64() * sc, rng.NormFloat64() * sc, rng.NormFloat64() * sc}
	// Occasionally exact zeros and extreme ratios.
	switch rng.Intn(8) {
	case 0:
		v[rng.Intn(3)] = 0
	case 1:
		v[rng.Intn(3)] *= 1e4
	case 2:
		v[rng.Intn(3)] *= 1e-4
	}
	return v
}

// bruteExpDist2 is the squared distance from v to K_exp computed by brute force:
// K_exp is the union of the rays through a(ρ) = (ρ, 1, e^ρ), the face
// {(r, 0, t) : r ≤ 0, t ≥ 0} and 0, and the squared distance to a ray through a is
// ‖v‖² − max(⟨v, a⟩, 0)²/‖a‖². Grid over ρ ∈ [−60, 60], then golden section.
func bruteExpDist2(v [3]float64) float64 {
	nv := v[0]*v[0] + v[1]*v[1] + v[2]*v[2]
	ray := func(rho float64) float64 {
		a := [3]float64{rho, 1, math.Exp(rho)}
		d := math.Max(v[0]*a[0]+v[1]*a[1]+v[2]*a[2], 0)
		return nv - d*d/(a[0]*a[0]+a[1]*a[1]+a[2]*a[2])
	}
	best := math.Min(nv, math.Max(v[0], 0)*math.Max(v[0], 0)+v[1]*v[1]+math.Min(v[2], 0)*math.Min(v[2], 0))
	const h = 0.02
	br, bv := 0.0, math.Inf(1)
	for rho := -60.0; rho <= 60; rho += h {
		if f := ray(rho); f < bv {
			br, bv = rho, f
		}
	}
	a, b := br-h, br+h
	g := (math.Sqrt(5) - 1) / 2
	for k := 0; k < 80; k++ {
		c, d := b-g*(b-a), a+g*(b-a)
		if ray(c) < ray(d) {
			b = d
		} else {
			a = c
		}
	}
	return math.Min(best, math.Min(bv, ray((a+b)/2)))
}

// TestProjExpBrute checks that projExp returns a point of K_exp (independent
// membership test) that is as close to v as the brute-force distance, and that
// pᵀ(p − v) = 0.
func TestProjExpBrute(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for k := 0; k < 1500; k++ {
		v := randVec3(rng)
		nv2 := v[0]*v[0] + v[1]*v[1] + v[2]*v[2]
		tol := 1e-9 * math.Sqrt(nv2)
		p := projExp(v[0], v[1], v[2])
		got := dist3(p, v[0], v[1], v[2])
		want := bruteExpDist2(v)
		pq := p[0]*(p[0]-v[0]) + p[1]*(p[1]-v[1]) + p[2]*(p[2]-v[2])
		if !inExpTol(p, tol) || got > want+1e-10*nv2 || math.Abs(pq) > 1e-10*nv2 {
			t.Fatalf("seed 1 case %d: v=%v p=%v: in K %v, dist² %g vs brute %g, pᵀq=%g", k, v, p, inExpTol(p, tol), got, want, pq)
		}
	}
}

func TestProjPowMoreau(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for k := 0; k < 20000; k++ {
		v := randVec3(rng)
		a := 0.05 + 0.9*rng.Float64()
		nv := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		tol := 1e-12 * math.Max(nv, 1e-300)
		p := projPow(v[0], v[1], v[2], a)
		checkMoreau3(t, "pow", v, p, func(x [3]float64) bool { return inPowTol(x, a, tol) }, func(x [3]float64) bool { return inPowDualTol(x, a, tol) })
		if t.Failed() {
			t.Fatalf("seed 2, case %d, a=%g", k, a)
		}
	}
}

func TestProjSOCAndPSD(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for k := 0; k < 2000; k++ {
		q := 1 + rng.Intn(6)
		v := make([]float64, q)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		p := append([]float64(nil), v...)
		projSOC(p)
		d := make([]float64, q)
		for i := range d {
			d[i] = p[i] - v[i]
		}
		if !inSOCTol(p, 1e-12) || !inSOCTol(d, 1e-12) || math.Abs(dot(p, d)) > 1e-12 {
			t.Fatalf("SOC case %d: v=%v p=%v", k, v, p)
		}
	}
	L := &layout{psd: map[int]*psdWork{}}
	for k := 0; k < 500; k++ {
		o := 1 + rng.Intn(5)
		if L.psd[o] == nil {
			L.psd[o] = &psdWork{a: mat.NewSymDense(o, nil)}
		}
		v := make([]float64, o*(o+1)/2)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		p := append([]float64(nil), v...)
		L.projPSD(p, o)
		d := make([]float64, len(v))
		for i := range d {
			d[i] = p[i] - v[i]
		}
		if minEigSvec(p, o) < -1e-12 || minEigSvec(d, o) < -1e-12 || math.Abs(dot(p, d)) > 1e-10 {
			t.Fatalf("PSD case %d order %d: v=%v p=%v", k, o, v, p)
		}
	}
}

// TestProjBox checks the box projection against a brute-force scan over t.
func TestProjBox(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for k := 0; k < 300; k++ {
		d := 1 + rng.Intn(4)
		bl := make([]float64, d)
		bu := make([]float64, d)
		for i := range bl {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			bl[i], bu[i] = math.Min(a, b), math.Max(a, b)
			if rng.Intn(5) == 0 {
				bl[i] = math.Inf(-1)
			}
			if rng.Intn(5) == 0 {
				bu[i] = math.Inf(1)
			}
		}
		v := make([]float64, d+1)
		for i := range v {
			v[i] = 2 * rng.NormFloat64()
		}
		p := append([]float64(nil), v...)
		projBox(p, bl, bu)
		dist := func(tt float64) float64 {
			s := (tt - v[0]) * (tt - v[0])
			for i := 0; i < d; i++ {
				lo, hi := tt*bl[i], tt*bu[i]
				if math.IsInf(bl[i], -1) {
					lo = math.Inf(-1)
				}
				if math.IsInf(bu[i], 1) {
					hi = math.Inf(1)
				}
				c := math.Min(math.Max(v[1+i], lo), hi)
				s += (c - v[1+i]) * (c - v[1+i])
			}
			return s
		}
		// dist is convex in t: coarse scan, then golden section around the best.
		best, bt := math.Inf(1), 0.0
		for tt := 0.0; tt <= 20; tt += 1e-2 {
			if d := dist(tt); d < best {
				best, bt = d, tt
			}
		}
		lo, hi := math.Max(0, bt-1e-2), bt+1e-2
		g := (math.Sqrt(5) - 1) / 2
		for it := 0; it < 80; it++ {
			c, e := hi-g*(hi-lo), lo+g*(hi-lo)
			if dist(c) < dist(e) {
				hi = e
			} else {
				lo = c
			}
		}
		best = math.Min(best, dist((lo+hi)/2))
		got := 0.0
		for i := range p {
			got += (p[i] - v[i]) * (p[i] - v[i])
		}
		if got > best*(1+1e-9)+1e-12 || p[0] < 0 {
			t.Fatalf("box case %d: v=%v bl=%v bu=%v p=%v dist² %g > brute %g", k, v, bl, bu, p, got, best)
		}
	}
}
