package group

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// TestContextAndMaxIter: every method returns at once with status interrupted
// (cancelled context) or time_limit (deadline passed), with a finite objective and
// a bound not above it; MaxIter caps the iterations of every method, ws included.
func TestContextAndMaxIter(t *testing.T) {
	p := fcProgram(3, 40, 3, 200, 1e-3, true, false, false)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, method := range []string{"ws", "ipm", "al"} {
		for _, c := range []struct {
			ctx  context.Context
			want solver.Status
		}{{cancelled, solver.Interrupted}, {expired, solver.TimeLimit}} {
			r, err := Solve(p, nil, Settings{Method: method, Context: c.ctx}, nil)
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			if r.Status != c.want || math.IsNaN(r.Objective) || r.Dual > r.Objective*(1+1e-9)+1e-12 {
				t.Fatalf("%s with %s: status %s, objective %v, dual %v", method, c.want, r.Status, r.Objective, r.Dual)
			}
		}
		r, err := Solve(p, nil, Settings{Method: method, MaxIter: 3}, nil)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if r.Iterations > 3 {
			t.Fatalf("%s MaxIter 3: %d iterations, status %s", method, r.Iterations, r.Status)
		}
	}
}
