package large

import (
	"context"
	"github.com/cnnc-org/cnnc/backend/certify"
	"math"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/group"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// checkAgainstGroup solves p with this package and with the group solver (an
// independent implementation: working-set IPM with Newton systems in sample space)
// and checks that both are certified optimal with objectives within the sum of their
// certified gaps, that the returned point's objective recomputed by the program
// equals the reported one, and that it is feasible.
func checkAgainstGroup(t *testing.T, name string, p *convex.Program, tol float64) *Result {
	t.Helper()
	res, err := Solve(p, nil, Settings{Tol: tol}, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ref, err := group.Solve(p, nil, group.Settings{Tol: tol}, nil)
	if err != nil {
		t.Fatalf("%s: group: %v", name, err)
	}
	if res.Status != solver.Optimal || ref.Status != solver.Optimal {
		t.Fatalf("%s: status %s (group %s); objective %.10g dual %.10g", name, res.Status, ref.Status, res.Objective, res.Dual)
	}
	if obj := p.Objective(res.Solution); math.Abs(obj-res.Objective) > 1e-9*math.Max(1, math.Abs(obj)) {
		t.Errorf("%s: reported objective %.12g, program objective at the solution %.12g", name, res.Objective, obj)
	}
	if v := p.Violation(res.Solution); v > 1e-7 {
		t.Errorf("%s: cone violation %g", name, v)
	}
	if res.Dual > res.Objective+1e-12*math.Max(1, res.Objective) {
		t.Errorf("%s: dual %.12g above primal %.12g", name, res.Dual, res.Objective)
	}
	g1 := res.Objective - res.Dual
	g2 := ref.Objective - ref.Dual
	if d := math.Abs(res.Objective - ref.Objective); d > g1+g2+1e-12 {
		t.Errorf("%s: objective %.12g vs group %.12g differ by %.3g > gaps %.3g + %.3g", name, res.Objective, ref.Objective, d, g1, g2)
	}
	// the certified bound of each is below the other's objective
	if res.Dual > ref.Objective+1e-12 || ref.Dual > res.Objective+1e-12 {
		t.Errorf("%s: bounds cross: dual %.12g vs group objective %.12g; group dual %.12g vs objective %.12g", name, res.Dual, ref.Objective, ref.Dual, res.Objective)
	}
	return res
}

func TestAgreesWithGroupFC(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		p := fcProgram(seed, 60, 4, 40, 1e-2, seed == 2, false)
		res := checkAgainstGroup(t, "fc", p, 1e-7)
		t.Logf("seed %d: objective %.10g gap %.2e, %d iterations, %d rounds, support %d", seed, res.Objective, res.Objective-res.Dual, res.Iterations, res.Rounds, res.Support)
	}
}

func TestAgreesWithGroupGated(t *testing.T) {
	p := fcProgram(4, 50, 3, 30, 1e-2, true, true)
	checkAgainstGroup(t, "gated", p, 1e-7)
}

func TestAgreesWithGroupCNN(t *testing.T) {
	for seed := int64(1); seed <= 2; seed++ {
		p := cnnProgram(seed, 40, 8, 3, 40, 1e-2, seed == 2)
		res := checkAgainstGroup(t, "cnn", p, 1e-7)
		t.Logf("seed %d: objective %.10g gap %.2e, %d iterations, %d rounds, support %d, rows %d", seed, res.Objective, res.Objective-res.Dual, res.Iterations, res.Rounds, res.Support, res.Rows)
	}
}

// TestALBracketsIPM: the augmented Lagrangian's certified bracket [Dual, Objective]
// (a dual bound at its iterate, a feasible projected point) contains the IPM's
// optimum, on small FC and CNN programs, within 20 000 inner iterations.
func TestALBracketsIPM(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *convex.Program
	}{
		{"fc", fcProgram(1, 60, 4, 40, 1e-2, false, false)},
		{"cnn", cnnProgram(1, 40, 8, 3, 40, 1e-2, false)},
	} {
		al, err := Solve(c.p, nil, Settings{Tol: 1e-4, Method: "al", MaxIter: 20000}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ipm, err := Solve(c.p, nil, Settings{Tol: 1e-8, Method: "ipm"}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: al %s objective %.10g dual %.10g (%d iterations, %d outer); ipm %s %.10g", c.name, al.Status, al.Objective, al.Dual, al.Iterations, al.Rounds, ipm.Status, ipm.Objective)
		if ipm.Status != solver.Optimal {
			t.Errorf("%s: ipm status %s", c.name, ipm.Status)
		}
		if v := c.p.Violation(al.Solution); v > 1e-9*math.Max(1, al.Objective) {
			t.Errorf("%s: al solution violates its cones by %g", c.name, v)
		}
		if al.Dual > ipm.Objective+1e-10 || ipm.Dual > al.Objective+1e-10 {
			t.Errorf("%s: brackets do not overlap: al [%.10g, %.10g], ipm [%.10g, %.10g]", c.name, al.Dual, al.Objective, ipm.Dual, ipm.Objective)
		}
	}
}

// TestStops: a context cancelled or past its deadline ends the solve within about a
// second with status interrupted or time_limit, a feasible point and a certified
// bound not above its objective; the bound recomputed from the dual point and the
// returned cone multipliers (certify.CertifyDualMult, what the pipeline does after a
// stop) is below the optimum, at least the gradient-norm bound, and near the solver's.
func TestStops(t *testing.T) {
	p := cnnProgram(5, 400, 12, 4, 150, 1e-3, false)
	ref, err := Solve(p, nil, Settings{Tol: 1e-4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Status != solver.Optimal {
		t.Fatalf("reference solve: status %s, objective %.10g dual %.10g rho %.8g rounds %d iters %d", ref.Status, ref.Objective, ref.Dual, ref.MaxRatio, ref.Rounds, ref.Iterations)
	}
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want solver.Status
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, solver.TimeLimit},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, solver.Interrupted},
		{"late cancel", func() (context.Context, context.CancelFunc) {
			// inside the restricted IPM, after progress ticks certified iterates
			// with their multipliers
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Duration(0.6*ref.Seconds*float64(time.Second)), cancel)
			return ctx, cancel
		}, solver.Interrupted},
	} {
		ctx, cancel := c.ctx()
		t0 := time.Now()
		res, err := Solve(p, nil, Settings{Tol: 1e-12, Context: ctx, Progress: 10 * time.Millisecond}, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		el := time.Since(t0)
		t.Logf("%s: %s after %v, objective %.8g, dual %.8g", c.name, res.Status, el, res.Objective, res.Dual)
		if res.Status != c.want {
			t.Errorf("%s: status %s, want %s", c.name, res.Status, c.want)
		}
		if c.name != "late cancel" && el > 300*time.Millisecond+2*time.Second {
			t.Errorf("%s: returned %v after the stop", c.name, el-300*time.Millisecond)
		}
		if v := p.Violation(res.Solution); v > 1e-7*math.Max(1, res.Objective) {
			t.Errorf("%s: violation %g", c.name, v)
		}
		if obj := p.Objective(res.Solution); math.Abs(obj-res.Objective) > 1e-9*math.Max(1, obj) || res.Dual > obj {
			t.Errorf("%s: objective %.10g (program %.10g), dual %.10g", c.name, res.Objective, obj, res.Dual)
		}
		if res.DualPoint == nil {
			continue
		}
		mb, err := certify.CertifyDualMult(p, res.DualPoint, res.DualMult)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		nb, _ := certify.CertifyDualNorms(p, res.DualPoint, nil)
		t.Logf("%s: %d blocks with multipliers, bound %.10g (solver %.10g, gradient norms %.10g, optimum ≤ %.10g)", c.name, len(res.DualMult), mb.LowerBound, res.Dual, nb.LowerBound, ref.Objective)
		if mb.LowerBound > ref.Objective*(1+1e-8) || mb.LowerBound < nb.LowerBound {
			t.Errorf("%s: multiplier bound %.10g outside [gradient norms %.10g, optimum ≤ %.10g]", c.name, mb.LowerBound, nb.LowerBound, ref.Objective)
		}
		if len(res.DualMult) > 0 && math.Abs(mb.LowerBound-res.Dual) > 1e-6*math.Max(1, res.Dual) {
			t.Errorf("%s: multiplier bound %.10g, the solver's %.10g", c.name, mb.LowerBound, res.Dual)
		}
	}
}

// timedRec records when each progress row arrives.
type timedRec struct {
	solver.Nop
	begin, end time.Time
	rows       []time.Time
	extras     []string
}

func (t *timedRec) Begin(string) { t.begin = time.Now() }
func (t *timedRec) Record(it solver.Iterate) {
	t.rows = append(t.rows, time.Now())
	t.extras = append(t.extras, it.Extra)
}
func (t *timedRec) End(solver.Status, solver.Iterate) { t.end = time.Now() }

// TestProgressInterval: with Progress = 50 ms, no stretch between Begin, the rows and
// End is longer than Progress plus a scheduling allowance (2 s on a loaded machine),
// for both methods: the ticker covers the phases without iterations.
func TestProgressInterval(t *testing.T) {
	p := cnnProgram(5, 200, 10, 3, 60, 1e-3, false)
	for _, method := range []string{"ipm", "al"} {
		rec := &timedRec{}
		_, err := Solve(p, nil, Settings{Tol: 1e-6, Method: method, MaxIter: 500, Progress: 50 * time.Millisecond}, rec)
		if err != nil {
			t.Fatal(err)
		}
		marks := append(append([]time.Time{rec.begin}, rec.rows...), rec.end)
		worst := time.Duration(0)
		for i := 1; i < len(marks); i++ {
			worst = max(worst, marks[i].Sub(marks[i-1]))
		}
		t.Logf("%s: %d rows in %v, longest stretch %v", method, len(rec.rows), rec.end.Sub(rec.begin), worst)
		if worst > 50*time.Millisecond+2*time.Second {
			t.Errorf("%s: %v without a progress row", method, worst)
		}
	}
}
