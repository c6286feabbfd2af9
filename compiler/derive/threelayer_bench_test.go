package derive

import (
	"testing"

	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/native/group"
	"github.com/cnnc-org/cnnc/compiler/canon"
)

// BenchmarkThreeLayerSolvers: the structured solver (group.Solve, method ws: for the
// CostMaps rows §8 and §9b (F) its restricted solves are conic IPM solves on the
// working set) against the conic path as compiler/train runs it (canon.Canonicalize,
// then cone.Solve with ε = tol/100, method auto) on the reference instances of §8 and
// §9b (exact patterns, tol 1e-6). The objective and status of each are reported as
// metrics (obj, optimal = 1 when the status is optimal).
//
//	go test ./compiler/derive -run '^$' -bench ThreeLayerSolvers -benchtime 3x
func BenchmarkThreeLayerSolvers(b *testing.B) {
	sp := loadThreeSpec(b)
	cases := []struct {
		name, data, src string
		scale           float64
	}{
		{"circ3", "circ3", circ3Src, 1},
		{"A-path", "A", threeSrc(false, false, "path", sp["A"].Beta), 1},
		{"A1-group", "A", threeSrc(false, false, "group", sp["A"].Beta), 1},
		{"B-path", "B", threeSrc(false, true, "path", sp["B"].Beta), 1},
		{"CNN-path", "cnn", threeSrc(true, false, "path", sp["cnn"].Beta), 3},
	}
	const tol = 1e-6
	for _, c := range cases {
		d := sp[c.data]
		in := threeInput(b, c.src, dense(d.X, c.scale), d.Y)
		_, prog, ds := Derive(in)
		if ds.HasErrors() {
			b.Fatalf("%s: %v", c.name, ds)
		}
		b.Run(c.name+"/group", func(b *testing.B) {
			var obj float64
			ok := 0.0
			for i := 0; i < b.N; i++ {
				r, err := group.Solve(prog, nil, group.Settings{Tol: tol}, nil)
				if err != nil {
					b.Fatal(err)
				}
				obj, ok = r.Objective, 0
				if r.Status == "optimal" {
					ok = 1
				}
			}
			b.ReportMetric(obj, "obj")
			b.ReportMetric(ok, "optimal")
		})
		b.Run(c.name+"/conic", func(b *testing.B) {
			var obj float64
			ok := 0.0
			for i := 0; i < b.N; i++ {
				cp, m, err := canon.Canonicalize(prog)
				if err != nil {
					b.Fatal(err)
				}
				s := cone.DefaultSettings()
				s.EpsAbs, s.EpsRel = tol/100, tol/100
				r, err := cone.Solve(cp, s, nil)
				if err != nil {
					b.Fatal(err)
				}
				obj, ok = prog.Objective(m.Solution(r.X)), 0
				if r.Status == "optimal" {
					ok = 1
				}
			}
			b.ReportMetric(obj, "obj")
			b.ReportMetric(ok, "optimal")
		})
	}
}
