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

// pollCtx is a context that reports cancellation from its n-th Err call on: a stop
// that lands at a chosen poll of the solve, inside an iteration or between them.
type pollCtx struct {
	context.Context
	n, calls int
}

func (c *pollCtx) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestStopAtEveryPoll: a stop at any of the solve's polls — between iterations,
// between the blocks of a Newton factorisation, during the certificate — ends the
// ws method with status interrupted (or optimal, when the point was certified before
// the stop was seen), a finite objective and a bound not above it. Without a stop
// the same solve is optimal; the early stops must all end it interrupted.
func TestStopAtEveryPoll(t *testing.T) {
	p := fcProgram(4, 30, 3, 40, 1e-3, true, false, false)
	full := &pollCtx{Context: context.Background(), n: math.MaxInt}
	r, err := Solve(p, nil, Settings{Context: full}, nil)
	if err != nil || r.Status != solver.Optimal {
		t.Fatalf("unstopped: %v %v", err, r.Status)
	}
	polls := full.calls
	if polls < 10 {
		t.Fatalf("only %d polls in the whole solve", polls)
	}
	for n := 1; n < polls; n += max(1, polls/25) {
		r, err := Solve(p, nil, Settings{Context: &pollCtx{Context: context.Background(), n: n}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ok := r.Status == solver.Interrupted || r.Status == solver.Optimal && n > polls/2
		if !ok || math.IsNaN(r.Objective) || r.Dual > r.Objective*(1+1e-9)+1e-12 {
			t.Fatalf("stop at poll %d of %d: status %s, objective %v, dual %v", n, polls, r.Status, r.Objective, r.Dual)
		}
	}
}
