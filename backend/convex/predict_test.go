package convex

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPredictChunked: a family above predictSerial is predicted by chunked products;
// the result agrees with a dot product per row and pattern (the small-family path,
// written out here) to 1e-12 relative, with zero blocks skipped, and is bit-identical
// with one and two cores.
func TestPredictChunked(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	np, h, P, n := 9*predictChunk+77, 16, 16, 3000
	A := mat.NewDense(np, h, nil)
	row := make([]float64, np)
	sample := make([]int, np)
	for r := 0; r < np; r++ {
		for k := 0; k < h; k++ {
			A.Set(r, k, rng.NormFloat64())
		}
		row[r] = 0.25 + rng.Float64()
		sample[r] = rng.Intn(n)
	}
	w := NewPatternWeights(np, row)
	for q := 0; q < P; q++ {
		frac := 0.3 + 0.6*rng.Float64()
		w.Mask.AppendCol(func(int) bool { return rng.Float64() < frac })
	}
	f := &Family{H: h, A: A, Sample: sample, Weight: w, Signs: []float64{1, -1}}
	blocks := []*mat.Dense{mat.NewDense(P, h, nil), mat.NewDense(P, h, nil)}
	for q := 0; q < P; q++ {
		if q%4 == 3 {
			continue // a zero pattern
		}
		for k := 0; k < h; k++ {
			blocks[0].Set(q, k, rng.NormFloat64())
			if q%2 == 0 {
				blocks[1].Set(q, k, rng.NormFloat64())
			}
		}
	}
	work := 0.0
	for q := 0; q < P; q++ {
		if q%4 != 3 {
			work += float64(w.Mask.Count(q) * h) // the patterns with nonzero blocks
		}
	}
	if work <= predictSerial {
		t.Fatalf("work %g does not reach the chunked path", work)
	}
	want := make([]float64, n)
	u := make([]float64, h)
	for q := 0; q < P; q++ {
		for k := 0; k < h; k++ {
			u[k] = blocks[0].At(q, k) - blocks[1].At(q, k)
		}
		w.Mask.Each(q, func(r int) {
			want[sample[r]] += row[r] * dot(A.RawRowView(r), u)
		})
	}
	run := func(procs int) []float64 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		got := make([]float64, n)
		predictFamily(f, blocks, got)
		return got
	}
	one, two := run(1), run(2)
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if math.Abs(one[i]-want[i]) > 1e-12*scale {
			t.Fatalf("sample %d: %.17g, per-row reference %.17g", i, one[i], want[i])
		}
		if one[i] != two[i] {
			t.Fatalf("sample %d: %.17g with one core, %.17g with two", i, one[i], two[i])
		}
	}
}
