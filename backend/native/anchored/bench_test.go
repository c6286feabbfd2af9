package anchored

import (
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// BenchmarkAnchored2000: one relaxation at n = 2000 samples, h = 25, K = 16
// (1-D signals of length 400, disjoint patches; the LP of §11's acceptance size:
// 32 025 variables, 66 000 rows).
func BenchmarkAnchored2000(b *testing.B) {
	a, y, w0 := planted(2000, 400, 25, 25, 0, 1)
	for i := 0; i < b.N; i++ {
		res, err := Solve(a, y, Settings{}, nil)
		if err != nil || res.Status != solver.Optimal {
			b.Fatalf("status %v, err %v", res.Status, err)
		}
		b.ReportMetric(float64(res.Iterations), "iterations")
		b.ReportMetric(dist(res.W, w0), "error")
	}
}

// BenchmarkAnchoredSOCP2000 is the same size with noise σ = 0.01, ε = σ√n.
func BenchmarkAnchoredSOCP2000(b *testing.B) {
	a, y, _ := planted(2000, 400, 25, 25, 0.01, 1)
	for i := 0; i < b.N; i++ {
		res, err := Solve(a, y, Settings{}, nil)
		if err != nil || res.Status != solver.Optimal {
			b.Fatalf("status %v, err %v", res.Status, err)
		}
		b.ReportMetric(float64(res.Iterations), "iterations")
	}
}

// BenchmarkStructuredVsConic compares the structured IPM with the native conic IPM
// (backend/native/cone, method ipm, whose block elimination does not see this
// structure: every t column shares rows with every w column) on the same conic data
// at n = 50, h = 25, K = 16 (825 variables, 1 650 rows).
func BenchmarkStructuredVsConic(b *testing.B) {
	a, y, _ := planted(50, 400, 25, 25, 0, 1)
	p := conicOf(a, y)
	b.Run("structured", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := Solve(a, y, Settings{}, nil)
			if err != nil || res.Status != solver.Optimal {
				b.Fatalf("status %v, err %v", res.Status, err)
			}
			b.ReportMetric(float64(res.Iterations), "iterations")
		}
	})
	b.Run("conic-ipm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := cone.Solve(p, cone.Settings{Method: "ipm", EpsAbs: 1e-9, EpsRel: 1e-9, TimeLimit: 5 * time.Minute}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Iterations), "iterations")
			b.Logf("conic IPM: %s, objective %.10g, %d iterations, %v", res.Status, res.UserObjective, res.Iterations, res.SolveTime)
		}
	})
}
