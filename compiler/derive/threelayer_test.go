package derive

import (
	"fmt"
	"math"
	"testing"
)

// threeSrc is the .cnn source of the §9b reference instances: FC with m1 = 2 (bias
// when bias), or the pooled CNN (signals of length 4, filters of 2, 3 positions).
func threeSrc(cnn, bias bool, reg string, beta float64) string {
	first := "linear 2 branches=auto"
	if bias {
		first = "linear 2 bias=true branches=auto"
	}
	input, pool := "2", ""
	if cnn {
		input, first, pool = "1x4", "conv 2 filters=2 branches=auto", "\n    avgpool global"
	}
	return fmt.Sprintf(`model three {
    input  %s
    %s
    relu%s
    linear 1 branches=auto
    relu
    linear 1
}
train {
    regularizer %s
    beta        %g
    patterns    exact
}
`, input, first, pool, reg, beta)
}

// TestThreeLayerSpecNumbers: the §9b reference instances — A (n = 6, d = 2, path,
// β = 0.1): 0.53361107; A1 (same data, group): 0.60386212; B (n = 5, two features and
// a bias, path, β = 0.05): 0.08932420; the pooled CNN (4 signals of length 4, filters
// of 2, β = 0.05): 0.05284063 — are reproduced to 1e-6 relative by the native
// solvers over the exact pattern pairs, and so is the recovered network's objective
// computed from its weights alone (solveThree: the structured solver for both
// regularisers, checked against the conic IPM). (The reference CNN sums its 3 positions; average pooling on
// 3·X is the same network.)
func TestThreeLayerSpecNumbers(t *testing.T) {
	sp := loadThreeSpec(t)
	cases := []struct {
		name, data, reg string
		cnn, bias       bool
		scale           float64
		want            float64
	}{
		{"A-path", "A", "path", false, false, 1, 0.53361107},
		{"A1-group", "A", "group", false, false, 1, 0.60386212},
		{"B-path", "B", "path", false, true, 1, 0.08932420},
		{"CNN-path", "cnn", "path", true, false, 3, 0.05284063},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := sp[c.data]
			in := threeInput(t, threeSrc(c.cnn, c.bias, c.reg, d.Beta), dense(d.X, c.scale), d.Y)
			rule, prog, ds := Derive(in)
			if ds.HasErrors() {
				t.Fatalf("derive: %v", ds)
			}
			pairs := 0
			for _, f := range prog.Families {
				pairs += f.Patterns()
			}
			sol, p := solveThree(t, prog)
			rec, w := recoveredObjective(t, rule, in, prog, sol)
			t.Logf("%s (%s): %d pairs, p = %.8f, recovered %.8f (%d branches), spec %.8f", c.name, rule.Name, pairs, p, rec, w.Layers[1].Branches, c.want)
			if math.Abs(p-c.want) > 1e-6*c.want || math.Abs(rec-c.want) > 1e-6*c.want {
				t.Fatalf("convex %.10g, recovered %.10g, want %.8f", p, rec, c.want)
			}
		})
	}
}
