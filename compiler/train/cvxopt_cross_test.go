package train

import (
	"bytes"
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestNativeAgreesWithCVXOPTOnExport: on six seeded two-layer problems (ReLU and gated,
// with and without hidden and output biases, exact patterns), the program's
// `--format json` export — written, read back, and solved by CVXOPT's interior-point
// method — reaches the native pipeline's optimum to 1e-6 relative.
func TestNativeAgreesWithCVXOPTOnExport(t *testing.T) {
	if err := conictest.Available(); err != nil {
		t.Skipf("CVXOPT cross-check skipped: %v", err)
	}
	t.Setenv("OMP_NUM_THREADS", "1")
	t.Setenv("OPENBLAS_NUM_THREADS", "1")
	cases := []struct {
		act    ir.LayerKind
		hb, ob bool
		n, d   int
		beta   float64
		seed   int64
	}{
		{ir.ReLU, true, false, 10, 2, 0.01, 11},
		{ir.ReLU, false, false, 9, 2, 0.05, 12},
		{ir.ReLU, true, true, 10, 2, 0.02, 13},
		{ir.ReLU, true, false, 12, 1, 0.01, 14},
		{ir.Gated, true, false, 10, 2, 0.01, 15},
		{ir.ReLU, true, false, 8, 3, 0.005, 16},
	}
	if !long() {
		// One ReLU case with both biases and the gated case; CNNC_LONG=1 runs all six.
		cases = []struct {
			act    ir.LayerKind
			hb, ob bool
			n, d   int
			beta   float64
			seed   int64
		}{cases[2], cases[4]}
		t.Log("2 of 6 problems (ReLU with both biases, gated); CNNC_LONG=1 runs all")
	}
	for _, c := range cases {
		in := input(model(c.d, c.act, c.hb, c.ob, ir.Auto), data(c.n, c.d, c.seed), c.beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
		out, err := Run(in, Options{Settings: SolverSettings{Tol: 1e-6}})
		if err != nil {
			t.Fatalf("seed %d: %v", c.seed, err)
		}
		if out.Status != "optimal" {
			t.Errorf("seed %d: native status %s at tol 1e-6", c.seed, out.Status)
		}
		cp, _, err := canon.Canonicalize(out.Program)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := conic.WriteJSON(&buf, cp); err != nil {
			t.Fatal(err)
		}
		back, err := conic.ReadJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		res, ok := conictest.SolveCVXOPT(t, back)
		if !ok {
			return
		}
		if res.Status != "optimal" {
			t.Logf("seed %d: CVXOPT status %s (%s); skipped", c.seed, res.Status, res.Message)
			continue
		}
		rel := math.Abs(out.ConvexObjective-res.Objective) / math.Max(1e-12, math.Abs(res.Objective))
		t.Logf("seed %d (%s): native %s %.10g, CVXOPT %.10g, relative %.1e, %d patterns", c.seed, c.act, out.Status, out.ConvexObjective, res.Objective, rel, out.Sizes.Patterns)
		if rel > 1e-6 {
			t.Errorf("seed %d: native %.10g vs CVXOPT on the JSON export %.10g (relative %.2e)", c.seed, out.ConvexObjective, res.Objective, rel)
		}
	}
}
