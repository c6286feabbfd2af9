package canon

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// inConeLP is an independent reference (gonum's simplex, phase one): whether a is a
// nonnegative combination of rows (λ ≥ 0 with Σ λ_i row_i = a exists).
func inConeLP(t *testing.T, a []float64, rows [][]float64) bool {
	t.Helper()
	if len(rows) == 0 {
		return norm2(a) == 0
	}
	A := mat.NewDense(len(a), len(rows), nil)
	for i, r := range rows {
		A.SetCol(i, r)
	}
	c := make([]float64, len(rows))
	for i := range c {
		c[i] = 1
	}
	_, _, err := lp.Simplex(c, A, a, 1e-10, nil)
	switch err {
	case nil:
		return true
	case lp.ErrInfeasible:
		return false
	}
	t.Fatalf("reference LP: %v", err)
	return false
}

// randomCone returns n rows sign_r·a_r (a_r Gaussian in Rʰ, signs from a Gaussian gate,
// as an activation pattern's cone) with a few exact duplicates and positive multiples
// mixed in, and the gate.
func randomCone(rng *rand.Rand, n, h int) ([][]float64, []float64) {
	g := make([]float64, h)
	for j := range g {
		g[j] = rng.NormFloat64()
	}
	var rows [][]float64
	for len(rows) < n {
		r := make([]float64, h)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		if dot(r, g) < 0 {
			for j := range r {
				r[j] = -r[j]
			}
		}
		rows = append(rows, r)
		switch rng.Intn(8) {
		case 0:
			rows = append(rows, append([]float64(nil), r...))
		case 1:
			s := make([]float64, h)
			for j := range s {
				s[j] = 3 * r[j]
			}
			rows = append(rows, s)
		}
	}
	return rows, g
}

// TestIrredundantAgainstLP: on random pattern cones, every left-out row is a
// nonnegative combination of the kept rows and no kept row is one of the other rows
// (so each is a facet), by an independent simplex LP, with and without a gate as the
// interior point.
func TestIrredundantAgainstLP(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, c := range []struct{ n, h int }{{8, 2}, {30, 3}, {60, 4}, {80, 6}} {
		for _, useGate := range []bool{true, false} {
			rows, g := randomCone(rng, c.n, c.h)
			if !useGate {
				g = nil
			}
			keep, ok := irredundant(rows, g)
			if !ok {
				t.Fatalf("%+v gate=%v: reduction did not run on a cone with interior", c, useGate)
			}
			kept := map[int]bool{}
			var K [][]float64
			for _, k := range keep {
				kept[k] = true
				K = append(K, rows[k])
			}
			for j, r := range rows {
				if kept[j] {
					continue
				}
				if !inConeLP(t, r, K) {
					t.Errorf("%+v gate=%v: left-out row %d is not implied by the kept rows", c, useGate, j)
				}
			}
			for _, k := range keep {
				var others [][]float64
				for i, r := range rows {
					if i != k && !parallel(r, rows[k]) {
						others = append(others, r)
					}
				}
				if inConeLP(t, rows[k], others) {
					t.Errorf("%+v gate=%v: kept row %d is implied by the others", c, useGate, k)
				}
			}
			t.Logf("n=%d h=%d gate=%v: %d rows, %d kept", len(rows), c.h, useGate, len(rows), len(keep))
		}
	}
}

func parallel(a, b []float64) bool {
	return math.Abs(dot(a, b)-norm2(a)*norm2(b)) <= 1e-12*norm2(a)*norm2(b)
}

// TestIrredundantNoInterior: a cone inside a hyperplane (a row and its negation) has no
// interior point; the reduction keeps every row and says so.
func TestIrredundantNoInterior(t *testing.T) {
	rows := [][]float64{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, 1, 1}, {0, 2, 1}}
	keep, ok := irredundant(rows, nil)
	if ok || len(keep) != len(rows) {
		t.Fatalf("kept %v (ran %v), want every row kept and the reduction skipped", keep, ok)
	}
}

// TestIrredundantSameOptimum: the reduced conic program of an exact-pattern FC program
// has fewer rows, the same optimum (both solved by the native conic solver to 1e-8), and
// its solution, mapped back, satisfies every cone constraint of the full program.
func TestIrredundantSameOptimum(t *testing.T) {
	for _, loss := range []string{"squared", "hinge"} {
		p := fcProgram(t, 14, 2, 0.01, loss, false, true, 3)
		full, _, err := Canonicalize(p)
		if err != nil {
			t.Fatal(err)
		}
		red, m, err := CanonicalizeWith(p, Options{Irredundant: true, QuadraticLoss: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.Reduced.Kept >= m.Reduced.Rows || red.Cones.L >= full.Cones.L {
			t.Fatalf("%s: %+v; nonnegative rows %d → %d", loss, m.Reduced, full.Cones.L, red.Cones.L)
		}
		set := cone.Settings{EpsAbs: 1e-8, EpsRel: 1e-8, MaxIters: 1000000}
		rf, err := cone.Solve(full, set, nil)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := cone.Solve(red, set, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rf.Status != solver.Optimal || rr.Status != solver.Optimal {
			t.Fatalf("%s: status %s (full), %s (reduced)", loss, rf.Status, rr.Status)
		}
		if !relClose(rf.PrimalObjective, rr.PrimalObjective, 1e-6) {
			t.Errorf("%s: optimum %.10g (full), %.10g (reduced)", loss, rf.PrimalObjective, rr.PrimalObjective)
		}
		sol := m.Solution(rr.X)
		if v := p.Violation(sol); v > 1e-7 {
			t.Errorf("%s: the reduced program's solution violates the full cone constraints by %g", loss, v)
		}
		if obj := p.Objective(sol); !relClose(obj, rf.PrimalObjective, 1e-6) {
			t.Errorf("%s: program objective at the reduced solution %.10g, optimum %.10g", loss, obj, rf.PrimalObjective)
		}
		t.Logf("%s: %d of %d cone rows kept; optimum %.10g", loss, m.Reduced.Kept, m.Reduced.Rows, rr.PrimalObjective)
	}
}

// TestIrredundantSampledCNN: on a sampled-pattern CNN family (patch rows, gates) every
// left-out row of every pattern is a nonnegative combination of that pattern's kept rows
// (reference LP).
func TestIrredundantSampledCNN(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	n, k, h := 12, 6, 4 // 12 samples × 6 patches of size 4
	M := mat.NewDense(n*k, h, nil)
	for r := 0; r < n*k; r++ {
		for j := 0; j < h; j++ {
			if rng.Intn(3) > 0 {
				M.Set(r, j, float64(rng.Intn(4))) // small integers: many duplicate patches
			}
		}
	}
	fam := derive.FCFamily(M, pattern.Sample(M, 10, 3), 1, false)
	var st ReduceStats
	S := irredundantSigns(fam, &st, nil)
	if st.Kept >= st.Rows {
		t.Fatalf("nothing left out: %+v", st)
	}
	for q := 0; q < fam.Patterns(); q++ {
		var K [][]float64
		S.On.Each(q, func(r int) {
			if S.At(r, q) != fam.Sign.At(r, q) {
				t.Fatalf("pattern %d row %d: sign changed", q, r)
			}
			K = append(K, signed(fam.C.RawRowView(r), S.At(r, q)))
		})
		fam.Sign.On.Each(q, func(r int) {
			if S.At(r, q) == 0 {
				if !inConeLP(t, signed(fam.C.RawRowView(r), fam.Sign.At(r, q)), K) {
					t.Errorf("pattern %d: left-out row %d not implied by the kept rows", q, r)
				}
			}
		})
	}
	t.Logf("%+v", st)
}

func signed(r []float64, s float64) []float64 {
	out := make([]float64, len(r))
	for j, v := range r {
		out[j] = s * v
	}
	return out
}
