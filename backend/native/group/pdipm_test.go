package group

import (
	"math"
	"math/rand"
	"testing"
)

// TestNTScaling: for random interior s, u of SOC(6), the Nesterov–Todd scaling
// satisfies W u = W⁻¹ s (the defining property, Vandenberghe's note §4.1) and
// W W⁻¹ = I, checked by direct multiplication.
func TestNTScaling(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 20; trial++ {
		h := 6
		s, u := make([]float64, h), make([]float64, h)
		for j := 1; j < h; j++ {
			s[j], u[j] = rng.NormFloat64(), rng.NormFloat64()
		}
		s[0] = norm(s[1:]) + rng.Float64()*2 + 1e-3
		u[0] = norm(u[1:]) + rng.Float64()*0.1 + 1e-3
		var c ntScale
		if !c.set(s, u) {
			t.Fatal("set failed")
		}
		a, b := make([]float64, h), make([]float64, h)
		c.apply(u, a, false)
		c.apply(s, b, true)
		for j := range a {
			if math.Abs(a[j]-b[j]) > 1e-10*(1+math.Abs(a[j])) {
				t.Fatalf("trial %d: W u = %v, W⁻¹ s = %v", trial, a, b)
			}
		}
		v := make([]float64, h)
		for j := range v {
			v[j] = rng.NormFloat64()
		}
		c.apply(v, a, false)
		c.apply(a, b, true)
		for j := range v {
			if math.Abs(b[j]-v[j]) > 1e-10*(1+math.Abs(v[j])) {
				t.Fatalf("trial %d: W⁻¹W v = %v, v = %v", trial, b, v)
			}
		}
	}
}
