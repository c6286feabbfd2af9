package conic

import (
	"encoding/json"
	"math"
	"math/rand"
	"testing"
)

// TestAppendJSONFloat: the streaming writer formats every float64 exactly as
// encoding/json does (the reference), on edge cases around the format switches and on
// random bit patterns.
func TestAppendJSONFloat(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.999999999999999e-7, 1e-7, -1e-7,
		1e20, 1e21, 9.99999999999999e20, 1e-300, 5e-324, math.MaxFloat64, -math.MaxFloat64,
		1e-10, 123456789.125, 2.5e-5, 1.5e300}
	rng := rand.New(rand.NewSource(1))
	for len(xs) < 200000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			xs = append(xs, f)
		}
		xs = append(xs, rng.NormFloat64()*math.Pow(10, float64(rng.Intn(60)-30)))
	}
	for _, f := range xs {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Fatalf("%v: got %s, encoding/json writes %s", f, got, want)
		}
	}
}
