package cbf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// A CBF file means the same program: random strictly feasible problems (LP,
// SOC, PSD blocks, with and without a quadratic objective, with an objective
// scale and offset) are solved by CVXOPT directly and from their CBF file
// converted back (the quadratic term then through the QR epigraph); the
// optima on the user scale agree to 1e-6 relative.
func TestCBFSameOptimumCVXOPT(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 11))
		k := conic.Cones{Z: 1, L: 4, Q: []int{3}, S: []int{2}}
		p := conictest.Feasible(rng, 4, k, seed%2 == 0)
		p.ObjScale, p.ObjOffset = 0.5+float64(seed), float64(seed)-2
		direct, ok := conictest.SolveCVXOPT(t, p)
		if !ok {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, p); err != nil {
			t.Fatal(err)
		}
		f, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		q, err := f.Problem()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		via, _ := conictest.SolveCVXOPT(t, q)
		if direct.Status != "optimal" || via.Status != "optimal" {
			t.Fatalf("seed %d: statuses %q / %q (%s%s)", seed, direct.Status, via.Status, direct.Message, via.Message)
		}
		if d := math.Abs(direct.Objective - via.Objective); d > 1e-6*(1+math.Abs(direct.Objective)) {
			t.Errorf("seed %d: optimum %.12g directly, %.12g through CBF", seed, direct.Objective, via.Objective)
		}
	}
}

// Problem converts the cones Write never emits (variable cones, L-, QR rows) by
// their definitions: min x₀ − x₁ − x₂ over x ∈ L+³ with x₀ + x₁ = 1 (L=),
// 0.4 − x₁ ≥ 0 written as an L- row, and the rotated cone 2·x₀·1 ≥ x₂² gives
// x₁ = 0.4, x₀ = 0.6, x₂ = √1.2, optimum 0.6 − 0.4 − √1.2.
func TestProblemCones(t *testing.T) {
	src := `VER
3

OBJSENSE
MIN

VAR
3 1
L+ 3

CON
5 3
L= 1
L- 1
QR 3

OBJACOORD
3
0 1
1 -1
2 -1

ACOORD
5
0 0 1
0 1 1
1 1 1
2 0 1
4 2 1

BCOORD
3
0 -1
1 -0.4
3 1
`
	f, err := Read(bytes.NewBufferString(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Problem()
	if err != nil {
		t.Fatal(err)
	}
	if p.Cones.Z != 1 || p.Cones.L != 4 || len(p.Cones.Q) != 1 || p.Cones.Q[0] != 3 {
		t.Fatalf("cones %+v, want Z 1, L 4 (3 variable rows + the L- row), Q [3]", p.Cones)
	}
	r, ok := conictest.SolveCVXOPT(t, p)
	if !ok {
		return
	}
	want := 0.6 - 0.4 - math.Sqrt(1.2)
	if r.Status != "optimal" || math.Abs(r.Objective-want) > 1e-7 {
		t.Errorf("CVXOPT on the converted file: %.10g (%s), want %.10g", r.Objective, r.Status, want)
	}
	if _, err := (&Parsed{Sense: "MAX"}).Problem(); err == nil {
		t.Error("a maximisation converted without error")
	}
	g, _ := Read(bytes.NewBufferString("VER\n3\n\nVAR\n3 1\nEXP 3\n"))
	if g != nil {
		if _, err := g.Problem(); err == nil {
			t.Error("an exponential cone converted without error")
		}
	}
}
