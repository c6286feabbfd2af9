package group

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// TestRowGeneration: on an FC program with 60 cone rows per block (more than the
// 2·4H = 24 that trigger row generation for H = 3), the working-set method with row
// generation forced on and forced off both certify optimality at Tol 1e-5 (the
// restricted IPM's directions break down near 1e-6 relative here; package doc,
// Known limits), their objectives
// agree within the sum of their certified gaps (each Objective − Dual bounds its own
// suboptimality, so |f₁ − f₂| ≤ gap₁ + gap₂ is a property of two correct solves,
// not of the code), and the row-generated point satisfies EVERY cone row of the full
// program, checked here directly against the program's C and Sign.
func TestRowGeneration(t *testing.T) {
	for _, seed := range []int64{3, 4} {
		p := fcProgram(seed, 60, 2, 30, 1e-2, false, false, true)
		on, err := Solve(p, nil, Settings{RowGen: 1, Tol: 1e-5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		off, err := Solve(p, nil, Settings{RowGen: -1, Tol: 1e-5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if on.Status != solver.Optimal || off.Status != solver.Optimal {
			t.Fatalf("seed %d: status row generation %s (gap %.3g, violation %.3g), without %s", seed, on.Status, on.Objective-on.Dual, on.MaxViolation, off.Status)
		}
		g1, g2 := on.Objective-on.Dual, off.Objective-off.Dual
		if d := math.Abs(on.Objective - off.Objective); d > g1+g2+1e-12 {
			t.Errorf("seed %d: objectives %.12g vs %.12g differ by %.3g > gaps %.3g + %.3g", seed, on.Objective, off.Objective, d, g1, g2)
		}
		f := p.Families[0]
		nc, h := f.C.Dims()
		worst := 0.0
		for s := range f.Signs {
			B := on.Solution.Blocks[0][s]
			for pp := 0; pp < f.Patterns(); pp++ {
				x := B.RawRowView(pp)
				for r := 0; r < nc; r++ {
					sg := f.Sign.At(r, pp)
					if sg == 0 {
						continue
					}
					v := 0.0
					for j := 0; j < h; j++ {
						v += f.C.At(r, j) * x[j]
					}
					worst = math.Max(worst, -sg*v)
				}
			}
		}
		if worst > 1e-6 {
			t.Errorf("seed %d: row-generated point violates a cone row by %.3g", seed, worst)
		}
	}
}
