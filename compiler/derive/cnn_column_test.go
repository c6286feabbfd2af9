package derive

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestPatternColumnMatchesBuild: for every CNN family (average pooling global and
// windowed, flatten, max pooling global and windowed, 2-D with a conv bias, data with
// a blank region; exact and sampled patterns), PatternColumn applied to the stored gate
// of pattern q returns exactly column q of Weight and Sign — the adaptive search and
// the initial build cannot disagree. Independently of the column code, the gate's
// column must reproduce the pooled ReLU unit at that gate (Σ_{r: sample i} W_r·A_r u =
// Σ_k p_k (x_ikᵀu)₊ for average pooling, max_k (x_ikᵀu)₊ for max pooling) and the gate
// must lie in the column's cone (Sign ⊙ C u ≥ 0).
func TestPatternColumnMatchesBuild(t *testing.T) {
	conv := func(k ...int) ly { return ly{kind: ir.Conv, kernel: k} }
	relu := ly{kind: ir.ReLU}
	out := ly{kind: ir.Linear, width: 1}
	sampled := ir.Patterns{Mode: ir.Sample, N: 25, Seed: 4}
	cases := []struct {
		name   string
		in     ir.Shape
		layers []ly
		n      int
		ps     ir.Patterns
		blank  bool // zero the first two input entries of every sample
	}{
		{"gap-exact", ir.Shape{1, 6}, []ly{conv(2), relu, {kind: ir.AvgPool, global: true}, out}, 4, exact(), false},
		{"gap-exact-h3-blank", ir.Shape{1, 7}, []ly{conv(3), relu, {kind: ir.AvgPool, global: true}, out}, 4, exact(), true},
		{"gap-sampled", ir.Shape{1, 6}, []ly{conv(3), relu, {kind: ir.AvgPool, global: true}, out}, 5, sampled, false},
		{"pool3-exact", ir.Shape{1, 7}, []ly{conv(2), relu, {kind: ir.AvgPool, kernel: []int{3}}, {kind: ir.Flatten}, out}, 4, exact(), false},
		{"flatten-sampled", ir.Shape{1, 5}, []ly{conv(2), relu, {kind: ir.Flatten}, out}, 4, sampled, true},
		{"maxpool-exact", ir.Shape{1, 6}, []ly{conv(2), relu, {kind: ir.MaxPool, global: true}, out}, 4, exact(), false},
		{"maxpool-exact-blank", ir.Shape{1, 6}, []ly{conv(2), relu, {kind: ir.MaxPool, global: true}, out}, 4, exact(), true},
		{"maxpool-window-sampled", ir.Shape{1, 7}, []ly{conv(2), relu, {kind: ir.MaxPool, kernel: []int{3}}, out}, 4, sampled, false},
		{"2d-bias-maxpool", ir.Shape{1, 4, 4}, []ly{{kind: ir.Conv, kernel: []int{2, 2}, stride: []int{2, 2}, bias: true}, relu, {kind: ir.MaxPool, global: true}, out}, 3, sampled, false},
		{"2d-bias-avg", ir.Shape{2, 3, 3}, []ly{{kind: ir.Conv, kernel: []int{2, 2}, bias: true}, relu, {kind: ir.AvgPool, global: true}, out}, 3, sampled, false},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ci), 31))
			X, y := randXY(r, tc.n, tc.in.Size())
			if tc.blank {
				for i := 0; i < tc.n; i++ {
					X.Set(i, 0, 0)
					X.Set(i, 1, 0)
				}
			}
			in := mkInput(mkModel(tc.in, tc.layers...), X, y, 0.05, tc.ps)
			_, prog, ds := Derive(in)
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			checked := 0
			for _, f := range prog.Families {
				for q := 0; q < f.Patterns(); q++ {
					u := mat.Col(nil, q, f.Gates)
					w, s, ok := PatternColumn(f, u)
					if !ok {
						t.Fatalf("family %s pattern %d: no column for its own gate", f.Name, q)
					}
					if !slices.Equal(w, f.Weight.Col(q, nil)) || !slices.Equal(s, f.Sign.Col(q, nil)) {
						t.Fatalf("family %s pattern %d: PatternColumn differs from the built column", f.Name, q)
					}
					checkUnit(t, f, u, w, s)
					checked++
				}
				// fresh gates: the same two properties; and PatternWeights (batched)
				// gives PatternColumn's Weight for every gate at once
				np, _ := f.A.Dims()
				U := mat.NewDense(f.H, 20, nil)
				for k := 0; k < 20; k++ {
					u := make([]float64, f.H)
					for j := range u {
						u[j] = r.NormFloat64()
					}
					U.SetCol(k, u)
					if w, s, ok := PatternColumn(f, u); ok {
						checkUnit(t, f, u, w, s)
					}
				}
				Z := mat.NewDense(np, 20, nil)
				Z.Mul(f.A, U)
				PatternWeights(f)(Z)
				for k := 0; k < 20; k++ {
					w, _, ok := PatternColumn(f, mat.Col(nil, k, U))
					if !ok {
						w = make([]float64, np)
					}
					if !slices.Equal(w, mat.Col(nil, k, Z)) {
						t.Fatalf("family %s gate %d: PatternWeights differs from PatternColumn's Weight", f.Name, k)
					}
				}
			}
			if checked == 0 {
				t.Fatal("no pattern checked")
			}
		})
	}
	// not a CNN family, wrong gate length: no column, no panic
	if _, _, ok := PatternColumn(&convex.Family{}, nil); ok {
		t.Error("empty family gave a column")
	}
	if PatternWeights(&convex.Family{}) != nil {
		t.Error("empty family gave a weight map")
	}
}

// checkUnit: Weight reproduces the pooled unit at u, and u ∈ 𝒦 (Sign ⊙ C u ≥ 0).
func checkUnit(t *testing.T, f *convex.Family, u, w, s []float64) {
	t.Helper()
	np, _ := f.A.Dims()
	ks := f.Meta["positions"].([]int)
	n := np / len(ks)
	for i := 0; i < n; i++ {
		got, want := 0.0, 0.0
		for j := range ks {
			r := j*n + i
			z := dot(f.A.RawRowView(r), u)
			got += w[r] * z
			switch f.Meta["pool"] {
			case "max":
				want = math.Max(want, z)
			default:
				want += f.Meta["row_weight"].([]float64)[r] * math.Max(z, 0)
			}
		}
		if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
			t.Fatalf("family %s sample %d: column predicts %.15g, pooled unit %.15g", f.Name, i, got, want)
		}
	}
	nc, _ := f.C.Dims()
	for r := 0; r < nc; r++ {
		if v := s[r] * dot(f.C.RawRowView(r), u); v < -1e-12 {
			t.Fatalf("family %s: gate outside its cone at row %d (%.3g)", f.Name, r, v)
		}
	}
}
