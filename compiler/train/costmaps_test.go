package train

import (
	"math"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
)

// TestCostMapsRouting: a program with CostMaps block costs (§9b's group regulariser on
// reference instance A, exact pairs) goes through the structured solver by default and
// through the conic path with Solver "conic"; both reach the reference optimum
// 0.60386212 (to 1e-6 relative for the structured solver, whose status must be
// optimal; the conic IPM's stopping rule gives 1e-5), the recovered network's
// objective equals the structured optimum to 1e-6, and neither run reports a
// certified bound (the certificate does not cover CostMaps: docs/math/09-three-layer.md
// §9b.5, docs/math/08-circular3.md §8.5).
func TestCostMapsRouting(t *testing.T) {
	const want = 0.60386212
	for _, name := range []string{"", "conic"} {
		out, err := Run(threeInput(t, "group", "exact"), Options{Solver: name, Settings: SolverSettings{Tol: 1e-7}})
		if err != nil {
			t.Fatalf("solver %q: %v", name, err)
		}
		t.Logf("solver %q: %s, status %s, convex %.10g, recovered %.10g, %.2f s, dual source %q", name, out.SolverName, out.Status, out.ConvexObjective, out.NonconvexObjective, out.Seconds, out.DualSource)
		if !math.IsNaN(out.DualObjective) || !strings.HasPrefix(out.DualSource, "none") {
			t.Errorf("solver %q: a certified bound %g (%s) for a CostMaps program", name, out.DualObjective, out.DualSource)
		}
		if name == "" {
			if out.SolverName != "native group" || out.Status != solver.Optimal {
				t.Fatalf("default solver: %s, status %s; want the structured solver, optimal", out.SolverName, out.Status)
			}
			if math.Abs(out.ConvexObjective-want) > 1e-6*want || math.Abs(out.NonconvexObjective-out.ConvexObjective) > 1e-6*want {
				t.Fatalf("convex %.10g, recovered %.10g, want %.8f", out.ConvexObjective, out.NonconvexObjective, want)
			}
			continue
		}
		if out.SolverName != "conic" {
			t.Fatalf("solver conic ran %s", out.SolverName)
		}
		if math.Abs(out.ConvexObjective-want) > 1e-5*want {
			t.Fatalf("conic: convex %.10g, want %.8f", out.ConvexObjective, want)
		}
	}
}

// TestStructuredCosts: CostMaps programs go to the structured solver with the squared
// loss only; ‖·‖₂ programs with every loss it handles.
func TestStructuredCosts(t *testing.T) {
	in := threeInput(t, "group", "exact")
	_, prog, ds := derive.Derive(in)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	for _, c := range []struct {
		loss string
		maps bool
		want bool
	}{{"squared", true, true}, {"", true, true}, {"hinge", true, false}, {"logistic", true, false}, {"hinge", false, true}} {
		p := *prog
		p.Loss = c.loss
		if !c.maps {
			f := *p.Families[0]
			f.Cost = convex.Cost{Kind: convex.CostL2}
			p.Families = []*convex.Family{&f}
		}
		if got := structuredCosts(&p); got != c.want {
			t.Errorf("loss %q, CostMaps %v: structuredCosts %v, want %v", c.loss, c.maps, got, c.want)
		}
	}
}
