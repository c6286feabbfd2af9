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

func benchConeMax(b *testing.B, m, h, k int, full bool) {
	Ms, gs := coneMaxInstances(m, h, k, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(Ms)
		if full {
			coneMaxLH(gs[j], Ms[j], coneTol(gs[j], Ms[j]))
		} else {
			ConeMax(gs[j], Ms[j])
		}
	}
}

// The ...Full variants are the baseline: Lawson–Hanson on every row (ConeMax before
// its working set). CNN490k is one pattern of the 10 000-image Fashion-MNIST CNN
// (10 000 images × 49 patches, h = 16 + bias).
func BenchmarkConeMaxFC200(b *testing.B)       { benchConeMax(b, 200, 11, 50, false) }
func BenchmarkConeMaxCNN9800(b *testing.B)     { benchConeMax(b, 9800, 17, 50, false) }
func BenchmarkConeMaxCNN9800Full(b *testing.B) { benchConeMax(b, 9800, 17, 50, true) }
func BenchmarkConeMaxCNN490k(b *testing.B)     { benchConeMax(b, 490000, 17, 4, false) }
func BenchmarkConeMaxCNN490kFull(b *testing.B) { benchConeMax(b, 490000, 17, 4, true) }
