package vecout

import (
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// BenchmarkExactPath: the exact path (face enumeration + column generation to a 1e-6
// relative bracket) on seeded problem 7 (n = 8, two features and a bias, C = 3).
// Reports the rounds and the final relative gap.
func BenchmarkExactPath(b *testing.B) {
	s := seededProblems[6]
	A, Y := s.data()
	for i := 0; i < b.N; i++ {
		p := fcProgram(A, Y, s.beta, convex.LossSquared, s.bias)
		o, err := NewExactOracle(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ColumnGeneration(p, o, Settings{Tol: 1e-6})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Rounds), "rounds")
		b.ReportMetric((r.Upper-r.Lower)/r.Upper*1e9, "relgap·1e9")
	}
}

// BenchmarkExactOracle: one evaluation of the exact cone-constrained PCA over all
// faces of seeded problem 7's arrangement (n = 8 rows of rank 3) at V = −Y.
func BenchmarkExactOracle(b *testing.B) {
	A, Y := seededProblems[6].data()
	p := fcProgram(A, Y, 0.1, convex.LossSquared, false)
	o, err := NewExactOracle(p)
	if err != nil {
		b.Fatal(err)
	}
	V := convex.VectorLossGrad(p.Loss, p.Predict(&convex.VectorSolution{}), p.Y)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o.Max(V, 6, 0)
	}
	b.ReportMetric(float64(o.Faces()), "faces")
}
