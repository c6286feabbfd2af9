package group

import (
	"math/rand"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// fcData draws X (n × (d+1), last column ones), labels and gates from seed, and
// returns the deduplicated patterns D (n × P, zero column dropped) with one gate per
// pattern (first occurrence). Labels are ±1 (signs of a Gaussian) when pm1, else
// Gaussian.
func fcData(seed int64, n, d, draws int, pm1 bool) (X *mat.Dense, y []float64, D, G *mat.Dense) {
	rng := rand.New(rand.NewSource(seed))
	h := d + 1
	X = mat.NewDense(n, h, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		X.Set(i, d, 1)
	}
	y = make([]float64, n)
	for i := range y {
		v := rng.NormFloat64()
		if pm1 {
			if v >= 0 {
				v = 1
			} else {
				v = -1
			}
		}
		y[i] = v
	}
	seen := map[string]bool{}
	var cols [][]float64
	var gates [][]float64
	for k := 0; k < draws; k++ {
		g := make([]float64, h)
		for j := range g {
			g[j] = rng.NormFloat64()
		}
		key := make([]byte, n)
		col := make([]float64, n)
		nz := false
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < h; j++ {
				s += X.At(i, j) * g[j]
			}
			if s >= 0 {
				key[i] = 1
				col[i] = 1
				nz = true
			}
		}
		if !nz || seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		cols = append(cols, col)
		gates = append(gates, g)
	}
	P := len(cols)
	D = mat.NewDense(n, P, nil)
	G = mat.NewDense(h, P, nil)
	for p := 0; p < P; p++ {
		for i := 0; i < n; i++ {
			D.Set(i, p, cols[p][i])
		}
		for j := 0; j < h; j++ {
			G.Set(j, p, gates[p][j])
		}
	}
	return X, y, D, G
}

// fcProgram builds the §2 program (gated=false: A = C = X, Weight = D, Sign = 2D − 1,
// Signs = {+1, −1}) or the §3 gated program (C = nil, Signs = {+1}).
func fcProgram(seed int64, n, d, draws int, beta float64, bias, gated, pm1 bool) *convex.Program {
	X, y, D, G := fcData(seed, n, d, draws, pm1)
	return familyProgram(X, y, D, G, beta, bias, gated)
}

func familyProgram(X *mat.Dense, y []float64, D, G *mat.Dense, beta float64, bias, gated bool) *convex.Program {
	n, h := X.Dims()
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{Name: "u", H: h, A: X, Sample: sample, Weight: convex.MustDenseWeights(D), Signs: []float64{1, -1}, Gates: G}
	if gated {
		f.Signs = []float64{1}
	} else {
		r, c := D.Dims()
		S := mat.NewDense(r, c, nil)
		S.Apply(func(_, _ int, v float64) float64 { return 2*v - 1 }, D)
		f.C = X
		f.Sign = convex.MustDenseSigns(S)
	}
	return &convex.Program{Model: "test", Loss: "squared", Y: y, N: n, Beta: beta, OutputBias: bias, Families: []*convex.Family{f}}
}
