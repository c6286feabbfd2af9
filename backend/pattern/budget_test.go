package pattern

import (
	"context"
	"errors"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/budget"
)

func randomMatrix(n, h int, seed int64) *mat.Dense {
	rng := rand.New(rand.NewSource(seed))
	A := mat.NewDense(n, h, nil)
	for i := range A.RawMatrix().Data {
		A.RawMatrix().Data[i] = rng.NormFloat64()
	}
	return A
}

// TestSampleStopsAtCoverBound: with N ≤ h linearly independent rows every one of
// the 2^N − 1 nonzero sign patterns is a cell, and sampling stops as soon as it has
// all of them, long before the gates run out.
func TestSampleStopsAtCoverBound(t *testing.T) {
	A := randomMatrix(4, 5, 1)
	s, err := SampleWith(A, 1000000, 7, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 15 || s.Evaluations >= 1000000 {
		t.Fatalf("%d patterns after %d gates, want all 15 long before 10⁶", s.Len(), s.Evaluations)
	}
	// the same patterns as without the early stop: a set found by brute force
	for m := 1; m < 16; m++ {
		d := make([]float64, 4)
		for i := range d {
			d[i] = float64(m >> i & 1)
		}
		if !s.Has(d) {
			t.Fatalf("pattern %v missing", d)
		}
	}
}

// TestBudgetRefusals: a pattern request larger than the budget is refused before
// sampling or enumerating, with a TooLarge error naming it; a cancelled context
// stops sampling.
func TestBudgetRefusals(t *testing.T) {
	A := randomMatrix(2000, 10, 2)
	_, err := SampleWith(A, 16000000, 0, Options{MaxMemory: 64 << 20})
	if tl := budget.AsTooLarge(err); tl == nil || tl.Budget != 64<<20 {
		t.Fatalf("sample 16e6: %v", err)
	}
	_, err = ExactWith(randomMatrix(300, 3, 3), 100000000, Options{MaxMemory: 1 << 20})
	if budget.AsTooLarge(err) == nil {
		t.Fatalf("exact max=1e8: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SampleWith(A, 100000, 0, Options{Context: ctx}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sampling: %v", err)
	}
}
