package train

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestConicCertificateFromDual: on the conic path the certified bound comes from the
// conic solver's dual point (its loss-row multipliers, canon.Map.LossDual) recomputed
// by certify — never from its dual objective — and it is tight: within 1e-5 relative
// of the optimum for squared and hinge loss on a small exact FC program (the signs of
// LossDual are right: a wrong sign would make ρ ≫ 1 and the bound useless), and below
// the structured solver's optimum.
func TestConicCertificateFromDual(t *testing.T) {
	for _, loss := range []string{ir.Squared, ir.Hinge} {
		ds := signLabels(data(10, 2, 401))
		in := input(model(2, ir.ReLU, true, false, ir.Auto), ds, 0.02, ir.Patterns{Mode: ir.Exact, Max: 100000})
		in.Train.Loss = loss
		cone, err := Run(in, Options{Solver: "conic", Settings: SolverSettings{Tol: 1e-7}})
		if err != nil {
			t.Fatal(err)
		}
		grp, err := Run(in, Options{Settings: SolverSettings{Tol: 1e-8}})
		if err != nil {
			t.Fatal(err)
		}
		if cone.Cert == nil {
			t.Fatalf("%s: conic path without a certificate (%s)", loss, cone.DualSource)
		}
		t.Logf("%s: conic %s %.10g bound %.10g (ρ %.9f from %s; solver dual %.10g), structured %.10g",
			loss, cone.Status, cone.ConvexObjective, cone.DualObjective, cone.Cert.Rho, cone.Cert.Source, cone.SolverDual, grp.ConvexObjective)
		// the solver's own dual point, recomputed, must be tight by itself
		c, err := certify.CertifyDual(cone.Program, cone.dualPoint, nil)
		if err != nil || cone.dualPoint == nil {
			t.Fatalf("%s: no conic dual point (%v)", loss, err)
		}
		if gap := (grp.ConvexObjective - c.LowerBound) / grp.ConvexObjective; gap > 1e-5 {
			t.Errorf("%s: the conic solver's dual point gives ρ %.9f and bound %.12g, optimum %.12g (relative gap %.2e)", loss, c.Ratio, c.LowerBound, grp.ConvexObjective, gap)
		}
		if gap := (grp.ConvexObjective - cone.DualObjective) / grp.ConvexObjective; gap > 1e-5 || gap < -1e-9 {
			t.Errorf("%s: conic certified bound %.12g vs optimum %.12g (relative gap %.2e)", loss, cone.DualObjective, grp.ConvexObjective, gap)
		}
		if math.IsNaN(cone.SolverDual) {
			t.Errorf("%s: no solver dual recorded", loss)
		}
	}
}
