package train

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// largeCases are seeded sampled-pattern problems of every template the large solver
// takes: FC ReLU (with and without biases), gated ReLU, and 1-D CNNs with global
// average, windowed average, global max and windowed max pooling.
func largeCases() []struct {
	name string
	in   *derive.Input
} {
	samp := func(n int) ir.Patterns { return ir.Patterns{Mode: ir.Sample, N: n, Max: 100000, Seed: 3} }
	return []struct {
		name string
		in   *derive.Input
	}{
		{"fc", input(model(4, ir.ReLU, false, false, ir.Auto), data(60, 4, 11), 1e-2, samp(40))},
		{"fc-bias", input(model(4, ir.ReLU, true, true, ir.Auto), data(60, 4, 12), 1e-2, samp(40))},
		{"gated", input(model(3, ir.Gated, true, false, ir.Auto), data(50, 3, 13), 1e-2, samp(30))},
		{"cnn-gap", input(cnnModel(10, 3, "gap", 0), signals(40, 10, 14), 1e-2, samp(30))},
		{"cnn-avgW", input(cnnModel(11, 3, "avgW", 3), signals(30, 11, 15), 1e-2, samp(20))},
		{"cnn-max", input(cnnModel(8, 3, "max", 0), signals(30, 8, 16), 1e-2, samp(20))},
		{"cnn-maxW", input(cnnModel(9, 2, "maxW", 4), signals(25, 9, 17), 1e-2, samp(15))},
	}
}

// TestLargeAgreesWithGroup runs each of largeCases through Run with the group solver
// (an independent implementation: Newton systems in sample space) and with the large
// solver's two methods, and checks for the large solver:
//   - the strong-duality invariant: the recovered network's non-convex objective,
//     computed from its weights alone (compiler/network), equals the convex
//     objective to 1e-8 relative;
//   - the reported bound is the pipeline's own certificate (recomputed from the
//     solver's dual point or the prediction), below every objective of either solver,
//     and within tol of the objective when the status is optimal (ipm: always);
//   - the objective agrees with group's within the two certified gaps.
func TestLargeAgreesWithGroup(t *testing.T) {
	const tol = 1e-7
	for _, c := range largeCases() {
		t.Run(c.name, func(t *testing.T) {
			ref, err := Run(c.in, Options{Settings: SolverSettings{Tol: tol, Method: "group"}})
			if err != nil {
				t.Fatal(err)
			}
			if ref.Status != solver.Optimal {
				t.Fatalf("group: status %s", ref.Status)
			}
			methods := []string{"ipm", "al"}
			if !long() && c.name != "cnn-gap" {
				methods = methods[:1] // the augmented Lagrangian on every case: CNNC_LONG=1
			}
			for _, method := range methods {
				s := SolverSettings{Tol: tol, Method: method}
				if method == "al" {
					s.Tol, s.MaxIters = 1e-5, 20000
				}
				o, err := Run(c.in, Options{Settings: s})
				if err != nil {
					t.Fatalf("%s: %v", method, err)
				}
				t.Logf("%s (%s): %s, objective %.10g, bound %.10g (%s), nonconvex %.10g; group %.10g, bound %.10g",
					method, o.SolverName, o.Status, o.ConvexObjective, o.DualObjective, o.Cert.Source, o.NonconvexObjective, ref.ConvexObjective, ref.DualObjective)
				if o.SolverName != "native large "+method {
					t.Errorf("%s: solver %q", method, o.SolverName)
				}
				if method == "ipm" && o.Status != solver.Optimal {
					t.Errorf("ipm: status %s", o.Status)
				}
				scale := math.Max(1, math.Abs(o.ConvexObjective))
				// the invariant holds to rounding at a feasible point; the augmented
				// Lagrangian's point, projected onto the cones to 1e-9, may move a
				// prediction by that much when it stops short of the tolerance
				inv := 1e-8
				if o.Status != solver.Optimal {
					inv = 1e-7
				}
				if d := math.Abs(o.NonconvexObjective - o.ConvexObjective); d > inv*scale {
					t.Errorf("%s: recovered network's objective %.12g, convex %.12g", method, o.NonconvexObjective, o.ConvexObjective)
				}
				if o.DualObjective > o.ConvexObjective || o.DualObjective > ref.ConvexObjective || ref.DualObjective > o.ConvexObjective {
					t.Errorf("%s: bounds cross: bound %.12g, objective %.12g; group bound %.12g, objective %.12g", method, o.DualObjective, o.ConvexObjective, ref.DualObjective, ref.ConvexObjective)
				}
				gap := o.ConvexObjective - o.DualObjective
				if o.Status == solver.Optimal && gap > s.Tol*scale {
					t.Errorf("%s: optimal with certified gap %.3g > tol·scale %.3g", method, gap, s.Tol*scale)
				}
				if d := math.Abs(o.ConvexObjective - ref.ConvexObjective); d > gap+(ref.ConvexObjective-ref.DualObjective)+1e-12 {
					t.Errorf("%s: objective %.12g vs group %.12g", method, o.ConvexObjective, ref.ConvexObjective)
				}
			}
		})
	}
}

// cancelOnRecord is a recorder that calls cancel at its first Record after Begin
// and remembers when.
type cancelOnRecord struct {
	solver.Nop
	cancel  func()
	at, end time.Time
}

func (c *cancelOnRecord) End(solver.Status, solver.Iterate) { c.end = time.Now() }

func (c *cancelOnRecord) Record(it solver.Iterate) {
	if c.at.IsZero() {
		c.at = time.Now()
		c.cancel()
	}
}

// TestLargeStops: a time limit or a cancellation (at the solver's first progress
// record) during a large-solver run ends Run within about a second of the stop
// (recovery included) with status time_limit or interrupted, a recovered network
// whose objective (from its weights) equals the convex objective, and a certified
// bound (recomputed by the pipeline) not above it.
func TestLargeStops(t *testing.T) {
	for _, method := range []string{"ipm", "al"} {
		for _, want := range []solver.Status{solver.TimeLimit, solver.Interrupted} {
			// a fresh input per run (Run keeps the context it derives with)
			in := input(cnnModel(14, 3, "gap", 0), signals(600, 14, 21), 1e-4, ir.Patterns{Mode: ir.Sample, N: 300, Max: 100000, Seed: 1})
			s := SolverSettings{Tol: 1e-12, Method: method}
			opts := Options{}
			var rec *cancelOnRecord
			var stopAt time.Time
			t0 := time.Now()
			if want == solver.TimeLimit {
				s.TimeLimit = 300 * time.Millisecond
			} else {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				s.Context = ctx
				rec = &cancelOnRecord{cancel: cancel}
				opts.Recorder = rec
			}
			opts.Settings = s
			o, err := Run(in, opts)
			if err != nil {
				t.Fatalf("%s %s: %v", method, want, err)
			}
			end := time.Now()
			if rec != nil {
				stopAt = rec.at
			} else {
				stopAt = t0.Add(300 * time.Millisecond) // at the earliest (the limit counts from the derivation's end)
			}
			if rec != nil {
				t.Logf("%s %s: the solver ended %v after the stop", method, want, rec.end.Sub(rec.at))
			}
			t.Logf("%s %s: %s, Run returned %v after the stop, objective %.8g, bound %.8g, nonconvex %.8g", method, want, o.Status, end.Sub(stopAt), o.ConvexObjective, o.DualObjective, o.NonconvexObjective)
			if o.Status != want {
				t.Errorf("%s %s: status %s", method, want, o.Status)
			}
			if rec != nil && rec.at.IsZero() {
				t.Errorf("%s: no progress record", method)
			}
			if d := end.Sub(stopAt); d > 3*time.Second {
				t.Errorf("%s %s: Run returned %v after the stop", method, want, d)
			}
			if d := math.Abs(o.NonconvexObjective - o.ConvexObjective); d > 1e-8*math.Max(1, o.ConvexObjective) {
				t.Errorf("%s %s: recovered objective %.12g, convex %.12g", method, want, o.NonconvexObjective, o.ConvexObjective)
			}
			if !(o.DualObjective <= o.ConvexObjective) {
				t.Errorf("%s %s: bound %.12g above the objective %.12g", method, want, o.DualObjective, o.ConvexObjective)
			}
		}
	}
}
