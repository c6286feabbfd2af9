package large

import (
	"math"
	"math/rand"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
)

// fcProgram is a seeded §2 program: X (n × d Gaussian, ones column when bias), targets
// y = tanh of a random projection plus noise, P sampled patterns.
func fcProgram(seed int64, n, d, draws int, beta float64, bias, gated bool) *convex.Program {
	rng := rand.New(rand.NewSource(seed))
	h := d
	if bias {
		h++
	}
	X := mat.NewDense(n, h, nil)
	y := make([]float64, n)
	w := make([]float64, d)
	for j := range w {
		w[j] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			v := rng.NormFloat64()
			X.Set(i, j, v)
			s += v * w[j]
		}
		if bias {
			X.Set(i, d, 1)
		}
		y[i] = math.Tanh(s) + 0.3*rng.NormFloat64()
	}
	set := pattern.Sample(X, draws, seed)
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{Name: "v", H: h, A: X, Sample: sample, Weight: &convex.PatternWeights{Mask: set.D},
		Signs: []float64{1, -1}, Cost: convex.Cost{Kind: convex.CostL2}, Gates: set.Gates}
	if gated {
		f.Signs = []float64{1}
	} else {
		f.C = X
		f.Sign = convex.PatternSigns(set.D, nil)
	}
	return &convex.Program{Model: "fc", Loss: "squared", Y: y, N: n, Beta: beta, OutputBias: bias, Families: []*convex.Family{f}}
}

// cnnProgram is a seeded §4 program (global average pooling): n signals of length L,
// kernel k, stride 1 (K = L − k + 1 positions, patches with a bias feature when
// bias), stacked patch matrix A, unit-row C, P sampled patterns.
func cnnProgram(seed int64, n, L, k, draws int, beta float64, bias bool) *convex.Program {
	rng := rand.New(rand.NewSource(seed))
	K := L - k + 1
	h := k
	if bias {
		h++
	}
	sig := make([][]float64, n)
	y := make([]float64, n)
	for i := range sig {
		sig[i] = make([]float64, L)
		s := 0.0
		for t := range sig[i] {
			sig[i][t] = rng.NormFloat64()
			if t%3 == 0 {
				s += sig[i][t]
			}
		}
		y[i] = math.Tanh(s) + 0.2*rng.NormFloat64()
	}
	A := mat.NewDense(n*K, h, nil)
	for kk := 0; kk < K; kk++ {
		for i := 0; i < n; i++ {
			row := A.RawRowView(kk*n + i)
			copy(row, sig[i][kk:kk+k])
			if bias {
				row[k] = 1
			}
		}
	}
	C := mat.DenseCopyOf(A)
	for r := 0; r < n*K; r++ {
		row := C.RawRowView(r)
		nr := norm(row)
		if nr > 0 {
			scale(row, 1/nr)
		}
	}
	set := pattern.Sample(A, draws, seed)
	sample := make([]int, n*K)
	rw := make([]float64, n*K)
	for r := range sample {
		sample[r] = r % n
		rw[r] = 1 / float64(K)
	}
	f := &convex.Family{Name: "c", H: h, A: A, Sample: sample, Weight: &convex.PatternWeights{Mask: set.D, Row: rw},
		C: C, Sign: convex.PatternSigns(set.D, nil), Signs: []float64{1, -1}, Cost: convex.Cost{Kind: convex.CostL2},
		Gates: set.Gates, Meta: map[string]any{"pool": "avg"}}
	return &convex.Program{Model: "cnn", Loss: "squared", Y: y, N: n, Beta: beta, Families: []*convex.Family{f}}
}
