package certify

import (
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// coneMaxInstances: cones of random FC-like patterns (rows (2D−1)x_i of Gaussian data
// with a bias column, D the pattern of a random gate) and random directions g, the
// sizes of the adaptive benchmark (n = 200, h = 11) and of fashion_gap (9800 rows,
// h = 17).
func coneMaxInstances(m, h, k int, seed int64) ([]*mat.Dense, [][]float64) {
	rng := rand.New(rand.NewSource(seed))
	var Ms []*mat.Dense
	var gs [][]float64
	for t := 0; t < k; t++ {
		u := make([]float64, h)
		for j := range u {
			u[j] = rng.NormFloat64()
		}
		M := mat.NewDense(m, h, nil)
		for i := 0; i < m; i++ {
			row := M.RawRowView(i)
			z := 0.0
			for j := range row {
				row[j] = rng.NormFloat64()
				if j == h-1 {
					row[j] = 1
				}
				z += row[j] * u[j]
			}
			if z < 0 {
				for j := range row {
					row[j] = -row[j]
				}
			}
		}
		g := make([]float64, h)
		for j := range g {
			g[j] = rng.NormFloat64()
		}
		Ms = append(Ms, M)
		gs = append(gs, g)
	}
	return Ms, gs
}

func benchConeMax(b *testing.B, m, h int) {
	Ms, gs := coneMaxInstances(m, h, 50, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(Ms)
		ConeMax(gs[k], Ms[k])
	}
}

func BenchmarkConeMaxFC200(b *testing.B)   { benchConeMax(b, 200, 11) }
func BenchmarkConeMaxCNN9800(b *testing.B) { benchConeMax(b, 9800, 17) }
