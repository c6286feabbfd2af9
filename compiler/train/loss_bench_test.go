package train

import (
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// BenchmarkQuickstartLosses solves examples/quickstart.cnn (40 spiral samples, exact
// patterns: 1561 patterns, 3122 blocks, β = 1e-3, tol 1e-6) with each loss through the
// pipeline (derive, structured solver, certificate, recovery) and reports the wall
// time of each against the squared loss's, measured in the same run (issue #15: at
// most 3×). Run:
//
//	go test ./compiler/train -run '^$' -bench QuickstartLosses -benchtime 1x
func BenchmarkQuickstartLosses(b *testing.B) {
	secs := map[string]float64{}
	for _, loss := range []string{ir.Squared, ir.Hinge, ir.Logistic} {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			in := loadExample(b, "quickstart.cnn")
			in.Train.Loss = loss
			start := time.Now()
			out, err := Run(in, Options{})
			if err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			b.Logf("%s: %s, objective %.10g, certified bound %.10g [%s], %d IPM iterations, %.2f s",
				loss, out.Status, out.ConvexObjective, out.DualObjective, out.Cert.Scope, out.Iterations, time.Since(start).Seconds())
		}
		secs[loss] = total.Seconds() / float64(b.N)
		b.ReportMetric(secs[loss], loss+"-s")
	}
	b.ReportMetric(secs[ir.Hinge]/secs[ir.Squared], "hinge/squared")
	b.ReportMetric(secs[ir.Logistic]/secs[ir.Squared], "logistic/squared")
}
