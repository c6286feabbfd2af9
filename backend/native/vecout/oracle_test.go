package vecout

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// valueAt is ‖Vᵀφ(u)‖ for a unit u, φ computed from the definition (pooled (Au)₊).
func valueAt(p *convex.VectorProgram, V *mat.Dense, u []float64) float64 {
	phi := make([]float64, p.N)
	np, _ := p.A.Dims()
	for r := 0; r < np; r++ {
		z := 0.0
		for j, a := range p.A.RawRowView(r) {
			z += a * u[j]
		}
		if z > 0 {
			phi[p.Sample[r]] += p.RowWeight[r] * z
		}
	}
	s := 0.0
	for k := 0; k < p.C; k++ {
		v := 0.0
		for i := 0; i < p.N; i++ {
			v += V.At(i, k) * phi[i]
		}
		s += v * v
	}
	return math.Sqrt(s)
}

// cnnProgram is a tiny 1-D CNN with global average pooling: n signals of length L,
// kernel k (stride 1, no padding), patches with a ones column when bias.
func cnnProgram(r *rand.Rand, n, L, k, c int, bias bool, beta float64) *convex.VectorProgram {
	K := L - k + 1
	h := k
	if bias {
		h++
	}
	X := make([][]float64, n)
	for i := range X {
		X[i] = make([]float64, L)
		for t := range X[i] {
			X[i][t] = r.NormFloat64()
		}
	}
	A := mat.NewDense(n*K, h, nil)
	sample := make([]int, n*K)
	w := make([]float64, n*K)
	for pos := 0; pos < K; pos++ {
		for i := 0; i < n; i++ {
			row := A.RawRowView(pos*n + i)
			copy(row, X[i][pos:pos+k])
			if bias {
				row[k] = 1
			}
			sample[pos*n+i] = i
			w[pos*n+i] = 1 / float64(K)
		}
	}
	Y := mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			Y.Set(i, j, r.NormFloat64())
		}
	}
	return &convex.VectorProgram{Loss: convex.LossSquared, Y: Y, N: n, C: c, Beta: beta,
		A: A, Sample: sample, RowWeight: w, H: h}
}

// TestExactOracleAgainstSampling: ρ̄ of the exact oracle is never exceeded by
// ‖Vᵀφ(u)‖ at 20 000 random unit filters followed by projected gradient ascent, and
// it is attained: its best candidate reaches ρ̄ to 1e-7 relative. FC and CNN data,
// several random V.
func TestExactOracleAgainstSampling(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	A, Y := seededProblems[2].data()
	progs := []*convex.VectorProgram{fcProgram(A, Y, 0.1, convex.LossSquared, false), cnnProgram(r, 4, 6, 3, 2, false, 0.1), cnnProgram(r, 3, 5, 2, 3, true, 0.1)}
	for pi, p := range progs {
		o, err := NewExactOracle(p)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Global() {
			t.Fatalf("program %d: enumeration not exhaustive", pi)
		}
		for trial := 0; trial < 3; trial++ {
			V := mat.NewDense(p.N, p.C, nil)
			for i := 0; i < p.N; i++ {
				for k := 0; k < p.C; k++ {
					V.Set(i, k, r.NormFloat64())
				}
			}
			rho, cands := o.Max(V, 3, 0)
			if len(cands) == 0 {
				t.Fatalf("program %d: no candidate", pi)
			}
			if got := valueAt(p, V, cands[0].U); got < rho*(1-1e-7) || got > rho {
				t.Errorf("program %d trial %d: best candidate has value %.12g, ρ̄ = %.12g", pi, trial, got, rho)
			}
			best := 0.0
			u := make([]float64, p.H)
			for s := 0; s < 20000; s++ {
				for j := range u {
					u[j] = r.NormFloat64()
				}
				normalize(u)
				best = math.Max(best, ascend(p, V, u, 30))
			}
			if best > rho {
				t.Errorf("program %d trial %d: sampled value %.12g exceeds ρ̄ = %.12g", pi, trial, best, rho)
			}
			t.Logf("program %d trial %d: ρ̄ %.10g, best sampled %.10g, %d faces", pi, trial, rho, best, o.Faces())
		}
	}
}

func normalize(u []float64) {
	n := norm(u)
	for j := range u {
		u[j] /= n
	}
}

// ascend runs a few steps of projected gradient ascent of ‖Vᵀφ(u)‖² on the sphere
// from u (in place) and returns the best value seen.
func ascend(p *convex.VectorProgram, V *mat.Dense, u []float64, steps int) float64 {
	best := valueAt(p, V, u)
	np, _ := p.A.Dims()
	for s := 0; s < steps; s++ {
		// g = Σ_r w_r 1[A_r u > 0] A_r (V Vᵀφ)_{sample(r)}
		phi := make([]float64, p.N)
		for r := 0; r < np; r++ {
			z := dot(p.A.RawRowView(r), u)
			if z > 0 {
				phi[p.Sample[r]] += p.RowWeight[r] * z
			}
		}
		q := make([]float64, p.N)
		for k := 0; k < p.C; k++ {
			v := 0.0
			for i := 0; i < p.N; i++ {
				v += V.At(i, k) * phi[i]
			}
			for i := 0; i < p.N; i++ {
				q[i] += V.At(i, k) * v
			}
		}
		g := make([]float64, p.H)
		for r := 0; r < np; r++ {
			ar := p.A.RawRowView(r)
			if dot(ar, u) > 0 {
				for j := range g {
					g[j] += p.RowWeight[r] * ar[j] * q[p.Sample[r]]
				}
			}
		}
		for j := range u {
			u[j] += 0.5 * g[j] / (norm(g) + 1e-300)
		}
		normalize(u)
		best = math.Max(best, valueAt(p, V, u))
	}
	return best
}
