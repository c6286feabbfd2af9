package cone

import (
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// denseK builds K = ρI + P + Aᵀdiag(σ)A entry by entry from the CSC data (P given as
// its upper triangle), independently of both solvers' assembly.
func denseK(A *conic.CSC, P *conic.CSC, sigma []float64, rho float64) [][]float64 {
	n := A.N
	col := func(j int) map[int]float64 {
		c := map[int]float64{}
		for p := A.ColPtr[j]; p < A.ColPtr[j+1]; p++ {
			c[A.RowIdx[p]] = A.Val[p]
		}
		return c
	}
	cols := make([]map[int]float64, n)
	for j := range cols {
		cols[j] = col(j)
	}
	K := make([][]float64, n)
	for i := range K {
		K[i] = make([]float64, n)
		K[i][i] = rho
		for j := 0; j < n; j++ {
			for r, v := range cols[i] {
				K[i][j] += sigma[r] * v * cols[j][r]
			}
		}
	}
	if P != nil {
		for j := 0; j < P.N; j++ {
			for p := P.ColPtr[j]; p < P.ColPtr[j+1]; p++ {
				i := P.RowIdx[p]
				K[i][j] += P.Val[p]
				if i != j {
					K[j][i] += P.Val[p]
				}
			}
		}
	}
	return K
}

// TestBlockSystemSolves: the block elimination (forced) and the dense Cholesky both
// solve K x = r to 1e-9 relative on the ReLU program (LSQ form: block diagonal plus
// N+2 dense rows), a quadratic problem with P from conictest.Feasible and a random
// SOCP (one connected block), with σ spread over four orders of magnitude; and the
// automatic choice picks the block elimination for the ReLU program.
func TestBlockSystemSolves(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	probs := map[string]*conic.Problem{
		"relu":   reluProgram(30, 4, 12, 1e-2, 3),
		"qp":     conictest.Feasible(randv2.New(randv2.NewPCG(5, 6)), 12, conic.Cones{Z: 2, L: 10, Q: []int{4, 5}}, true),
		"socp":   randomSOCP(80, 15, 4),
		"relu-q": reluProgram(60, 5, 40, 1e-3, 1),
	}
	for name, p := range probs {
		sigma := make([]float64, p.M)
		for i := range sigma {
			sigma[i] = math.Pow(10, 4*rng.Float64()-2)
		}
		r := make([]float64, p.N)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		K := denseK(&p.A, p.P, sigma, 1e-3)
		d := newDenseSys(&p.A, p.P, 1e-3)
		b := newBlockSys(d, p.M, true)
		for _, sys := range []linSys{d, b} {
			if err := sys.factor(sigma); err != nil {
				t.Fatalf("%s/%s: %v", name, sys.kind(), err)
			}
			if sys.rho() != 1e-3 {
				t.Fatalf("%s/%s: ρ raised to %g", name, sys.kind(), sys.rho())
			}
			x := append([]float64(nil), r...)
			sys.solve(x)
			e, nr := 0.0, 0.0
			for i := range K {
				v := -r[i]
				for j, k := range K[i] {
					v += k * x[j]
				}
				e = math.Max(e, math.Abs(v))
				nr = math.Max(nr, math.Abs(r[i]))
			}
			if e > 1e-9*nr {
				t.Errorf("%s/%s: ‖Kx − r‖∞ = %g", name, sys.kind(), e)
			}
		}
		if name == "relu-q" {
			if auto := newBlockSys(newDenseSys(&p.A, p.P, 1e-3), p.M, false); auto == nil || len(auto.dense) != 60 {
				t.Errorf("relu-q: automatic choice did not use the block elimination with the %d LSQ rows as F", 60)
			}
		}
	}
}
