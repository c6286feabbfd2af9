package certify

import (
	"math"
	"math/rand"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestConeMaxWorkingSet: on cones with thousands of rows (the working-set path of
// ConeMax) the maximum, the maximiser and the certified bound agree with
// Lawson–Hanson on every row (coneMaxLH), and the maximiser is in the cone.
func TestConeMaxWorkingSet(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	projected := 0
	for trial := 0; trial < 40; trial++ {
		h := 3 + rng.Intn(14)
		m := wsMinRows + 1 + rng.Intn(3000)
		M := mat.NewDense(m, h, nil)
		// rows around a random axis so the cone is pointed and nontrivial; a few
		// duplicated and scaled rows (degenerate faces)
		axis := make([]float64, h)
		for k := range axis {
			axis[k] = rng.NormFloat64()
		}
		for j := 0; j < m; j++ {
			if j > 0 && rng.Intn(20) == 0 {
				src := M.RawRowView(rng.Intn(j))
				c := 0.5 + rng.Float64()
				for k := range src {
					M.Set(j, k, c*src[k])
				}
				continue
			}
			for k := 0; k < h; k++ {
				M.Set(j, k, rng.NormFloat64()+float64(1+trial%3)*axis[k])
			}
		}
		g := make([]float64, h)
		for k := range g {
			g[k] = rng.NormFloat64() + 0.3*axis[k]
		}
		if trial%10 == 9 {
			copy(g, axis) // often inside the cone or near it
		}
		v1, u1, _, ok1 := ConeMax(g, M)
		v0, u0, _, ok0 := coneMaxLH(g, M, coneTol(g, M))
		if !ok1 || !ok0 {
			t.Fatalf("trial %d: ok %v (working set) %v (full)", trial, ok1, ok0)
		}
		if math.Abs(v1-v0) > 1e-9*math.Max(1, v0) {
			t.Fatalf("trial %d (m=%d h=%d): max %.15g (working set) vs %.15g (full)", trial, m, h, v1, v0)
		}
		d := 0.0
		for k := range u1 {
			d = math.Max(d, math.Abs(u1[k]-u0[k]))
		}
		if v0 > 1e-8 && d > 1e-7 {
			t.Fatalf("trial %d: maximisers differ by %g", trial, d)
		}
		if v0 > 1e-8 && v0 < norm(g)*(1-1e-6) {
			projected++ // g outside the cone, a nonzero maximum: the working set ran
		}
		var w mat.VecDense
		w.MulVec(M, mat.NewVecDense(h, u1))
		for j := 0; j < m; j++ {
			if w.AtVec(j) < -1e-9 {
				t.Fatalf("trial %d: maximiser violates row %d by %g", trial, j, w.AtVec(j))
			}
		}
		b, val, _, _ := ConeMaxUp(g, M, 0)
		if b < val || b > val*(1+1e-9)+1e-12 {
			t.Fatalf("trial %d: bound %.15g for value %.15g", trial, b, val)
		}
	}
	if projected < 20 {
		t.Fatalf("only %d of 40 trials had g outside the cone with a nonzero maximum", projected)
	}
}

// TestMostNegative: the heap selection equals sorting every qualifying index.
func TestMostNegative(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 200; trial++ {
		m := 1 + rng.Intn(300)
		w := make([]float64, m)
		skip := make([]bool, m)
		for j := range w {
			w[j] = float64(rng.Intn(40) - 30) // many ties
			skip[j] = rng.Intn(7) == 0
		}
		k := rng.Intn(20)
		got := mostNegative(w, k, -0.5, skip)
		var want []int
		for j := range w {
			if w[j] < -0.5 && !skip[j] {
				want = append(want, j)
			}
		}
		sort.SliceStable(want, func(a, b int) bool { return w[want[a]] < w[want[b]] })
		if len(want) > k {
			want = want[:k]
		}
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d selected, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("trial %d: position %d is %d, want %d", trial, i, got[i], want[i])
			}
		}
	}
}
