package derive

import (
	"math"
	"testing"
)

const circ3Src = `model c3 {
    input    1x4
    circconv branches=auto
    linear   1 branches=auto
    relu
    linear   1
}
train {
    regularizer path
    beta        0.1
    patterns    exact
}
`

// TestCirc3SpecNumber: the §8 reference instance (n = 6, d = 4, β = 0.1, the data of
// the reference script) has optimum 0.29675319 over 51 nonzero exact patterns (the
// script's 52 count the all-zero pattern, which cnnc drops); the structured solver
// (solveThree, checked there against the conic IPM) and the native conic IPM at 1e-9
// each reproduce it to 1e-6 relative, and so does the recovered three-layer network's
// objective computed from its weights alone.
func TestCirc3SpecNumber(t *testing.T) {
	sp := loadThreeSpec(t)["circ3"]
	in := threeInput(t, circ3Src, dense(sp.X, 1), sp.Y)
	rule, prog, ds := Derive(in)
	if ds.HasErrors() || rule.Name != "circ3" {
		t.Fatalf("rule %v: %v", rule, ds)
	}
	if P := prog.Families[0].Patterns(); P != 51 {
		t.Errorf("%d patterns, want 51", P)
	}
	const want = 0.29675319
	_, pc := solveConic(t, prog, 1e-9)
	sol, p := solveThree(t, prog)
	rec, w := recoveredObjective(t, rule, in, prog, sol)
	t.Logf("p = %.8f (structured), %.8f (conic IPM), recovered %.8f (%d branches)", p, pc, rec, w.Layers[1].Branches)
	if math.Abs(p-want) > 1e-6*want || math.Abs(pc-want) > 1e-6*want || math.Abs(rec-want) > 1e-6*want {
		t.Fatalf("convex %.10g (conic %.10g), recovered %.10g, want %.8f", p, pc, rec, want)
	}
}
