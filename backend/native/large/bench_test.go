package large

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/group"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// structuredProgram is the structured benchmark's program (the group package's
// BenchmarkFCRelu200x10P100, the same recipe): X n × (d+1) Gaussian with a ones
// column, ±1 labels (signs of Gaussians), `draws` Gaussian gates deduplicated into
// patterns, §2 family (A = C = X, Signs ±1), β, squared loss, no output bias.
func structuredProgram(seed int64, n, d, draws int, beta float64) *convex.Program {
	rng := rand.New(rand.NewSource(seed))
	h := d + 1
	X := mat.NewDense(n, h, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		X.Set(i, d, 1)
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = 1
		if rng.NormFloat64() < 0 {
			y[i] = -1
		}
	}
	seen := map[string]bool{}
	var cols, gates [][]float64
	for k := 0; k < draws; k++ {
		g := make([]float64, h)
		for j := range g {
			g[j] = rng.NormFloat64()
		}
		key := make([]byte, n)
		col := make([]float64, n)
		nz := false
		for i := 0; i < n; i++ {
			if mat.Dot(X.RowView(i), mat.NewVecDense(h, g)) >= 0 {
				key[i], col[i], nz = 1, 1, true
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
	D := mat.NewDense(n, P, nil)
	S := mat.NewDense(n, P, nil)
	G := mat.NewDense(h, P, nil)
	for p := 0; p < P; p++ {
		for i := 0; i < n; i++ {
			D.Set(i, p, cols[p][i])
			S.Set(i, p, 2*cols[p][i]-1)
		}
		for j := 0; j < h; j++ {
			G.Set(j, p, gates[p][j])
		}
	}
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{Name: "u", H: h, A: X, Sample: sample, Weight: convex.MustDenseWeights(D), Signs: []float64{1, -1},
		Gates: G, C: X, Sign: convex.MustDenseSigns(S), Cost: convex.Cost{Kind: convex.CostL2}}
	return &convex.Program{Model: "bench", Loss: "squared", Y: y, N: n, Beta: beta, Families: []*convex.Family{f}}
}

// BenchmarkStructured200: the structured benchmark (n = 200, d = 10, 100 sampled
// patterns, β = 1e-3, ±1 labels, Tol 1e-7, the certified gap checked ≤ 1e-6
// relative) solved in the same run by the group solver (what auto picks at this
// size) and by this package's IPM and augmented Lagrangian; per solver the wall and
// CPU seconds of the last solve, iterations, and the CPU cost of one iteration
// against the two dense products a first-order iteration is built on, A·Vᵀ
// (n × S·P) and Zᵀ·A (S·P × H), measured in the same run:
//
//	go test ./backend/native/large -run '^$' -bench Structured200 -benchtime 5x
func BenchmarkStructured200(b *testing.B) {
	p := structuredProgram(1, 200, 10, 100, 1e-3)
	f := p.Families[0]
	n, h := f.A.Dims()
	SP := len(f.Signs) * f.Patterns()
	A := blas64.General{Rows: n, Cols: h, Stride: h, Data: f.A.RawMatrix().Data}
	V := blas64.General{Rows: SP, Cols: h, Stride: h, Data: make([]float64, SP*h)}
	Z := blas64.General{Rows: n, Cols: SP, Stride: SP, Data: make([]float64, n*SP)}
	Gm := blas64.General{Rows: SP, Cols: h, Stride: h, Data: make([]float64, SP*h)}
	for i := range V.Data {
		V.Data[i] = float64(i%7) * 1e-3
	}
	const reps = 200
	c0 := cpuSeconds()
	for k := 0; k < reps; k++ {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, A, V, 0, Z)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, Z, A, 0, Gm)
	}
	prod := (cpuSeconds() - c0) / reps // CPU seconds: wall time is noisy on a shared machine
	for _, method := range []string{"group", "ipm", "al"} {
		b.Run(method, func(b *testing.B) {
			var secs, cpu float64
			var iters int
			var obj, dual float64
			var st solver.Status
			for i := 0; i < b.N; i++ {
				t1, c1 := time.Now(), cpuSeconds()
				if method == "group" {
					r, err := group.Solve(p, nil, group.Settings{Tol: 1e-7}, nil)
					if err != nil {
						b.Fatal(err)
					}
					iters, obj, dual, st = r.Iterations, r.Objective, r.Dual, r.Status
				} else {
					s := Settings{Tol: 1e-7, Method: method}
					if method == "al" {
						s.Tol, s.MaxIter = 1e-4, 20000
					}
					r, err := Solve(p, nil, s, nil)
					if err != nil {
						b.Fatal(err)
					}
					iters, obj, dual, st = r.Iterations, r.Objective, r.Dual, r.Status
				}
				secs, cpu = time.Since(t1).Seconds(), cpuSeconds()-c1
			}
			gap := (obj - dual) / obj
			if method != "al" && (st != solver.Optimal || gap > 1e-6) {
				b.Fatalf("%s: status %s, relative gap %.3g", method, st, gap)
			}
			perIt := cpu / math.Max(1, float64(iters))
			b.ReportMetric(secs, "s/solve")
			b.ReportMetric(cpu, "cpu-s/solve")
			b.ReportMetric(prod*1e6, "cpu-µs/2-products")
			b.ReportMetric(float64(iters), "iters")
			b.ReportMetric(perIt*1e3, "cpu-ms/iter")
			b.ReportMetric(perIt/prod, "iter/2-products")
			b.ReportMetric(1e9*gap, "rel-gap-ppb")
			b.Logf("%s: %s, objective %.10g, dual %.10g, %d iterations, %.3f s (%.3f CPU-s)", method, st, obj, dual, iters, secs, cpu)
		})
	}
}
