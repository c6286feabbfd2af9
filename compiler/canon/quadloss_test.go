package canon

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// TestQuadraticLossMatchesLSQ: the LSQ′ rewrite (Options.QuadraticLoss) and the LSQ
// cone give the same optimum, each solved independently by CVXOPT (coneqp with P for
// LSQ′, conelp for LSQ); the mapped-back LSQ′ solution is feasible and its program
// objective equals the conic optimum (so ½rᵀr = ½‖ŷ − y‖² is tight); and the
// zero-row multipliers are the residual dual μ = y − ŷ (stationarity in r, derived in
// the package doc).
func TestQuadraticLossMatchesLSQ(t *testing.T) {
	cvxoptEnv(t)
	cases := []struct {
		gated, outBias bool
		n, d           int
		beta           float64
		seed           int64
	}{
		{false, false, 8, 2, 0.01, 1},
		{false, true, 9, 1, 0.05, 2},
		{true, false, 8, 2, 0.01, 3},
	}
	for _, c := range cases {
		p := fcProgram(t, c.n, c.d, c.beta, "squared", c.gated, c.outBias, c.seed)
		soc, _, err := Canonicalize(p)
		if err != nil {
			t.Fatal(err)
		}
		qp, m, err := CanonicalizeWith(p, Options{QuadraticLoss: true})
		if err != nil {
			t.Fatal(err)
		}
		if qp.P == nil || qp.Cones.Z != p.N || len(qp.Cones.Q) != len(soc.Cones.Q)-1 {
			t.Fatalf("%+v: LSQ′ form has P=%v, z=%d, %d SOC blocks (LSQ form %d)", c, qp.P != nil, qp.Cones.Z, len(qp.Cones.Q), len(soc.Cones.Q))
		}
		rs, ok := conictest.SolveCVXOPT(t, soc)
		if !ok {
			return
		}
		rq, ok := conictest.SolveCVXOPT(t, qp)
		if !ok {
			return
		}
		if rs.Status != "optimal" || rq.Status != "optimal" {
			t.Fatalf("%+v: CVXOPT status %s (LSQ), %s (LSQ′): %s %s", c, rs.Status, rq.Status, rs.Message, rq.Message)
		}
		if !relClose(rs.Objective, rq.Objective, 1e-6) {
			t.Errorf("%+v: LSQ optimum %.10g, LSQ′ optimum %.10g", c, rs.Objective, rq.Objective)
		}
		sol := m.Solution(rq.X)
		if v := p.Violation(sol); v > 1e-7 {
			t.Errorf("%+v: mapped LSQ′ solution violates the cone constraints by %g", c, v)
		}
		if obj := p.Objective(sol); !relClose(obj, rq.Objective, 1e-6) {
			t.Errorf("%+v: LSQ′ optimum %.10g, program objective at the mapped solution %.10g", c, rq.Objective, obj)
		}
		yhat := p.Predict(sol)
		for i := 0; i < p.N; i++ {
			if mu := rq.Y[i]; math.Abs(mu-(p.Y[i]-yhat[i])) > 1e-5 {
				t.Errorf("%+v: zero-row multiplier %d is %.8g, y − ŷ = %.8g", c, i, mu, p.Y[i]-yhat[i])
				break
			}
		}
	}
}
