package soc

import (
	"math"
	"math/rand"
	"testing"
)

// TestSOCStep: Step returns the boundary crossing: at α the point is on the
// boundary (v₀ = ‖v₁‖ up to rounding) and slightly before it strictly inside.
func TestSOCStep(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for trial := 0; trial < 50; trial++ {
		h := 4
		v, d := make([]float64, h), make([]float64, h)
		for j := 1; j < h; j++ {
			v[j], d[j] = rng.NormFloat64(), rng.NormFloat64()
		}
		v[0] = Norm(v[1:]) + rng.Float64()
		d[0] = rng.NormFloat64()
		a := Step(v, d)
		if math.IsInf(a, 1) {
			for _, al := range []float64{1, 10, 1e3, 1e6} {
				p := make([]float64, h)
				for j := range p {
					p[j] = v[j] + al*d[j]
				}
				if p[0] < Norm(p[1:]) {
					t.Fatalf("trial %d: infinite step but α = %g leaves the cone", trial, al)
				}
			}
			continue
		}
		p := make([]float64, h)
		for j := range p {
			p[j] = v[j] + a*d[j]
		}
		if math.Abs(p[0]-Norm(p[1:])) > 1e-9*(1+math.Abs(p[0])) || p[0] < -1e-9 {
			t.Fatalf("trial %d: α = %g gives %v, not on the boundary", trial, a, p)
		}
	}
}
