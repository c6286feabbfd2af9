package train

import (
	"math"
	"testing"

	"cnnc/backend/conic/conictest"
	"cnnc/backend/solver"
	"cnnc/compiler/derive"
	"cnnc/lang/ir"
)

// TestConicAgreesWithStructured: on small two-layer ReLU programs with exact patterns
// (squared loss, so the conic path uses LSQ′), `solver conic` (backend/native/cone
// through compiler/canon) and the structured solver (backend/native/group) reach the
// same convex optimum to 1e-6 relative. CVXOPT (interior point, independent code, on
// the LSQ cone form) is the reference both are checked against when it is installed;
// the structured solver is compared only when it reports Optimal.
func TestConicAgreesWithStructured(t *testing.T) {
	cases := []struct {
		n, d int
		beta float64
		seed int64
	}{
		{12, 2, 0.01, 1},
	}
	haveCVX := conictest.Available() == nil
	for _, c := range cases {
		in := func() *derive.Input {
			return input(model(c.d, ir.ReLU, true, false, ir.Auto), data(c.n, c.d, c.seed), c.beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
		}
		cone, err := Run(in(), Options{Solver: "conic", Settings: SolverSettings{Tol: 1e-7}})
		if err != nil {
			t.Fatal(err)
		}
		grp, err := Run(in(), Options{Settings: SolverSettings{Tol: 1e-7}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: conic %s %.10g (%d it), structured %s %.10g (%d it), %d patterns", c,
			cone.Status, cone.ConvexObjective, cone.Iterations, grp.Status, grp.ConvexObjective, grp.Iterations, cone.Sizes.Patterns)
		if cone.Status != solver.Optimal {
			t.Errorf("%+v: conic status %s", c, cone.Status)
		}
		// The reported point (after the pipeline's convex.Prune) must stay feasible:
		// an objective below the optimum from an infeasible point is not agreement.
		if v := cone.Program.Violation(cone.Solution); v > 1e-6 {
			t.Errorf("%+v: conic solution (after pruning) violates the cone constraints by %g", c, v)
		}
		rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(1e-12, math.Abs(b)) }
		compared := false
		if grp.Status == solver.Optimal {
			compared = true
			if e := rel(cone.ConvexObjective, grp.ConvexObjective); e > 1e-6 {
				t.Errorf("%+v: conic %.10g, structured %.10g (rel %.2g)", c, cone.ConvexObjective, grp.ConvexObjective, e)
			}
		}
		if haveCVX {
			cv, err := Run(in(), Options{Solver: "conic", Conic: cvxoptSolver(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v: CVXOPT %s %.10g", c, cv.Status, cv.ConvexObjective)
			if cv.Status == solver.Optimal {
				compared = true
				if e := rel(cone.ConvexObjective, cv.ConvexObjective); e > 1e-6 {
					t.Errorf("%+v: conic %.10g, CVXOPT %.10g (rel %.2g)", c, cone.ConvexObjective, cv.ConvexObjective, e)
				}
				if grp.Status == solver.Optimal {
					if e := rel(grp.ConvexObjective, cv.ConvexObjective); e > 1e-6 {
						t.Errorf("%+v: structured %.10g, CVXOPT %.10g (rel %.2g)", c, grp.ConvexObjective, cv.ConvexObjective, e)
					}
				}
			}
		}
		if !compared {
			t.Skipf("no reference: structured solver status %s and CVXOPT unavailable (apt-get install -y python3-cvxopt)", grp.Status)
		}
	}
}
