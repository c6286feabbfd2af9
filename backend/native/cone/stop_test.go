package cone

import (
	"context"
	"testing"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// TestContextStops: both methods end at their first poll with status interrupted
// when the context is cancelled.
func TestContextStops(t *testing.T) {
	p := reluProgram(20, 3, 30, 1e-3, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []string{"ipm", "admm"} {
		r, err := Solve(p, Settings{Method: m, Context: ctx}, nil)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if r.Status != solver.Interrupted || r.Iterations > 1 {
			t.Fatalf("%s: status %s after %d iterations", m, r.Status, r.Iterations)
		}
	}
}
