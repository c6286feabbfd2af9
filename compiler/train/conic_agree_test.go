package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
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
		{10, 2, 0.02, 2}, // (n = 20 takes CVXOPT minutes: keep these small)
	}
	if !long() {
		// CVXOPT needs about 10 s on the first case (133 patterns) on a quiet machine;
		// a smaller problem (8 samples, 58 patterns) checks the same agreement.
		cases = cases[:0]
		cases = append(cases, struct {
			n, d int
			beta float64
			seed int64
		}{8, 2, 0.02, 3})
		t.Log("one problem with 8 samples; CNNC_LONG=1 runs the two larger ones")
	}
	haveCVX := conictest.Available() == nil
	for _, c := range cases {
		in := func() *derive.Input {
			return input(model(c.d, ir.ReLU, true, false, ir.Auto), data(c.n, c.d, c.seed), c.beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
		}
		// tol 1e-6: the IPM then runs at ε = 1e-9 (native.go); at 1e-10 it can stall at
		// its precision floor on these small programs.
		cone, err := Run(in(), Options{Solver: "conic", Settings: SolverSettings{Tol: 1e-6}})
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

// loadExample checks an example file and loads its train set, as `cnnc solve` does.
func loadExample(t testing.TB, name string) *derive.Input {
	t.Helper()
	path := filepath.Join("..", "..", "examples", name)
	f, dl, _ := check.LoadFile(path, check.Options{})
	if dl.HasErrors() || f == nil || f.Trained == nil {
		t.Fatalf("%s: %v", path, dl)
	}
	train, _, dl := dataset.Load(f.Data["train"], f.Trained.Input(), nil)
	if dl.HasErrors() || train == nil {
		t.Fatalf("%s: data: %v", path, dl)
	}
	return &derive.Input{File: f, Model: f.Trained, Train: f.Train, Data: train}
}

// TestConicAgreesOnExamples: on every two-layer ReLU example file (spiral data, exact
// patterns: 1561 patterns, 9366 columns, 124 880 rows), `solver conic` (the
// interior-point method of backend/native/cone on the LSQ′ form) reaches Optimal, and
// its optimum is checked against two independent certificates:
//
//   - its own: the conic dual objective (a global lower bound with exact patterns)
//     is within 1e-6 relative of the primal one, and the pruned point is feasible;
//   - the structured solver's (backend/native/group, different algorithm and
//     formulation): the conic optimum must lie between its dual bound and its
//     feasible primal value, each widened by 1e-7 relative; when its own gap is
//     within 1e-6 relative the two optima must also agree to 1e-6. (On these files
//     it has stopped with gaps of 2.5e-6 to 9e-6 relative, so only the bracket
//     applied when measured.)
//
// CVXOPT is not run here: its dense KKT factorisation at this size needs gigabytes.
func TestConicAgreesOnExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("solves two two-layer ReLU examples with both solvers (about 20 s); skipped in -short")
	}
	rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(1e-12, math.Abs(b)) }
	names := []string{"spiral_relu.cnn", "quickstart.cnn"}
	if !long() {
		names = names[:1] // the same architecture and data generator; CNNC_LONG=1 runs both
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cone, err := Run(loadExample(t, name), Options{Solver: "conic"})
			if err != nil {
				t.Fatal(err)
			}
			// The structured solver's stopping rule is absolute below |objective| 1
			// (gap ≤ Tol·max(1, |f|)); these objectives are ≈ 0.1, so Tol 1e-7 makes
			// its certified gap ≤ 1e-6 relative.
			grp, err := Run(loadExample(t, name), Options{Solver: "native", Settings: SolverSettings{Tol: 1e-7}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: conic %s %.10g (dual %.10g, %d it, %.1f s); structured %s %.10g (dual %.10g, %d it, %.1f s); %d patterns",
				name, cone.Status, cone.ConvexObjective, cone.DualObjective, cone.Iterations, cone.Seconds,
				grp.Status, grp.ConvexObjective, grp.DualObjective, grp.Iterations, grp.Seconds, cone.Sizes.Patterns)
			if cone.Status != solver.Optimal {
				t.Fatalf("conic status %s", cone.Status)
			}
			if e := rel(cone.DualObjective, cone.ConvexObjective); e > 1e-6 {
				t.Errorf("conic primal %.10g and dual %.10g differ by %.2g relative", cone.ConvexObjective, cone.DualObjective, e)
			}
			if v := cone.Program.Violation(cone.Solution); v > 1e-6 {
				t.Errorf("conic solution (after pruning) violates the cone constraints by %g", v)
			}
			// At Tol 1e-7 the structured solver may end "inaccurate" just above that
			// absolute gap (its accuracy floor); what this test needs is its certified
			// bracket [dual, primal] to be 1e-6 relative, asserted next.
			if grp.Status != solver.Optimal && grp.Status != solver.Inaccurate {
				t.Fatalf("structured status %s", grp.Status)
			}
			if e := rel(grp.DualObjective, grp.ConvexObjective); e > 1e-6 {
				t.Errorf("structured primal %.10g and dual %.10g differ by %.2g relative", grp.ConvexObjective, grp.DualObjective, e)
			}
			if e := rel(cone.ConvexObjective, grp.ConvexObjective); e > 1e-6 {
				t.Errorf("conic %.10g, structured %.10g (rel %.2g)", cone.ConvexObjective, grp.ConvexObjective, e)
			}
			lo := grp.DualObjective - 1e-7*math.Abs(grp.DualObjective)
			hi := grp.ConvexObjective + 1e-7*math.Abs(grp.ConvexObjective)
			if !(cone.ConvexObjective >= lo && cone.ConvexObjective <= hi) {
				t.Errorf("conic optimum %.10g outside the structured solver's bracket [%.10g, %.10g]", cone.ConvexObjective, grp.DualObjective, grp.ConvexObjective)
			}
		})
	}
}
