package certify

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"

	"gonum.org/v1/gonum/mat"
)

// TestAcrossFace: for random polyhedral cones in R³ and R⁴ and the maximiser u of a
// random direction (which lies on the faces J with positive multipliers), the gate
// acrossFaces returns for face j is strictly on the negative side of row j and
// strictly on the positive side of every other row (strictly inside the neighbouring
// cell), and for all of J at once strictly negative on J and positive elsewhere —
// checked by evaluating M u′ directly.
func TestAcrossFace(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	tried := 0
	for trial := 0; trial < 200; trial++ {
		h := 3 + trial%2
		m := 6 + trial%5
		M := mat.NewDense(m, h, nil)
		for i := 0; i < m; i++ {
			for k := 0; k < h; k++ {
				M.Set(i, k, rng.NormFloat64())
			}
		}
		g := make([]float64, h)
		for k := range g {
			g[k] = rng.NormFloat64()
		}
		val, u, active, ok := ConeMax(g, M)
		if !ok || val == 0 || len(active) == 0 {
			continue
		}
		for _, j := range active {
			u2 := acrossFaces(M, u, active, []int{j})
			if u2 == nil {
				continue
			}
			tried++
			for r := 0; r < m; r++ {
				z := dot(M.RawRowView(r), u2)
				if r == j && !(z < 0) {
					t.Fatalf("trial %d: row %d (the crossed face) is %.3g, want < 0", trial, r, z)
				}
				if r != j && !(z > 0) {
					t.Fatalf("trial %d: row %d is %.3g after crossing face %d, want > 0", trial, r, z, j)
				}
			}
		}
		if u2 := acrossFaces(M, u, active, active); u2 != nil {
			inJ := map[int]bool{}
			for _, j := range active {
				inJ[j] = true
			}
			for r := 0; r < m; r++ {
				if z := dot(M.RawRowView(r), u2); inJ[r] != (z < 0) || z == 0 {
					t.Fatalf("trial %d: row %d is %.3g after crossing all of J = %v", trial, r, z, active)
				}
			}
		}
	}
	if tried < 50 {
		t.Fatalf("only %d faces crossed", tried)
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestSearchCNNExhaustive: for a max-pooling CNN family built from 4 sampled gates,
// the exhaustive search over the cells of its stacked hyperplanes (gates mapped by
// derive.PatternColumn) finds exactly the new patterns whose value exceeds β — checked
// against PatternMax on every distinct max-pattern of the exact program (a separate
// build with `patterns exact`), with ŷ = 0 (v = y) and β below the largest value. The
// FC default needs the FC layout: a CNN family without a column map is an error.
func TestSearchCNNExhaustive(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	n, L := 4, 6
	X := mat.NewDense(n, L, nil)
	Y := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < L; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		Y.Set(i, 0, rng.NormFloat64())
	}
	m := &ir.Model{Name: "cnn", Layers: []*ir.Layer{
		{Index: 0, Kind: ir.Input, Out: ir.Shape{1, L}},
		{Index: 1, Kind: ir.Conv, In: ir.Shape{1, L}, Out: ir.Shape{ir.Auto, L - 1}, Kernel: []int{2}, Stride: []int{1}, Padding: []int{0}},
		{Index: 2, Kind: ir.ReLU, In: ir.Shape{ir.Auto, L - 1}, Out: ir.Shape{ir.Auto, L - 1}},
		{Index: 3, Kind: ir.MaxPool, Global: true, In: ir.Shape{ir.Auto, L - 1}, Out: ir.Shape{ir.Auto}},
		{Index: 4, Kind: ir.Linear, Width: 1, In: ir.Shape{ir.Auto}, Out: ir.Shape{1}},
	}}
	in := func(ps ir.Patterns) *derive.Input {
		return &derive.Input{Model: m, Data: &dataset.Dataset{Name: "train", Shape: []int{1, L}, X: X, Y: Y},
			Train: ir.Train{Loss: ir.Squared, Beta: 1, Patterns: ps}}
	}
	_, p, dl := derive.Derive(in(ir.Patterns{Mode: ir.Sample, N: 4, Seed: 1}))
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	_, ex, dl := derive.Derive(in(ir.Patterns{Mode: ir.Exact, Max: 100000}))
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	f, fe := p.Families[0], ex.Families[0]
	yhat := make([]float64, n)
	v := Residual(p, yhat)
	own := map[string]bool{}
	for q := 0; q < f.Patterns(); q++ {
		own[colKey(f.Weight.Col(q, nil), f.Sign.Col(q, nil))] = true
	}
	vals := map[string]float64{}
	top := 0.0
	for q := 0; q < fe.Patterns(); q++ {
		k := colKey(fe.Weight.Col(q, nil), fe.Sign.Col(q, nil))
		val, _, _, _ := PatternMax(fe, q, v)
		vals[k] = val
		top = math.Max(top, val)
	}
	p.Beta = top / 2
	want := 0
	for k, val := range vals {
		if !own[k] && val > p.Beta*(1+1e-6) {
			want++
		}
	}
	full, err := pattern.Exact(f.C, 100000)
	if err != nil {
		t.Fatal(err)
	}
	col := func(u []float64) ([]float64, []float64, bool) { return derive.PatternColumn(f, u) }
	cands, st, err := Search(p, yhat, 0, nil, SearchOptions{Full: full, Column: col})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Exhaustive || len(cands) != want || want == 0 {
		t.Fatalf("exhaustive search found %d violators (exhaustive %v), brute force over the exact program %d", len(cands), st.Exhaustive, want)
	}
	for i, c := range cands {
		k := colKey(c.Weight, c.Sign)
		if own[k] {
			t.Fatalf("candidate %d is one of the family's own patterns", i)
		}
		if math.Abs(c.Value-vals[k]) > 1e-9*vals[k] {
			t.Fatalf("candidate %d: value %.12g, PatternMax on the exact program's column %.12g", i, c.Value, vals[k])
		}
		if i > 0 && c.Value > cands[i-1].Value {
			t.Fatal("candidates not sorted by value")
		}
	}
	if _, _, err := Search(p, yhat, 0, nil, SearchOptions{}); err == nil {
		t.Fatal("a CNN family without a column map was searched with the FC layout")
	}
}

// TestSearchBatched: the batched gradient ascent (non-exhaustive search) on FC and
// CNN families (average and max pooling, through derive.PatternWeights). Every
// candidate must be a new pattern (not one of the family's), violate (value > β), have
// the value PatternMax gives its column independently, carry a gate strictly inside
// its cone (the structured solver needs one), and come sorted; and on these small
// problems the ascent must find the most violating pattern of the whole arrangement
// (checked against the exhaustive search).
func TestSearchBatched(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	fcModel := func(d int) *ir.Model {
		return &ir.Model{Name: "fc", Layers: []*ir.Layer{
			{Index: 0, Kind: ir.Input, Out: ir.Shape{d}},
			{Index: 1, Kind: ir.Linear, In: ir.Shape{d}, Out: ir.Shape{ir.Auto}, Width: ir.Auto, Bias: true},
			{Index: 2, Kind: ir.ReLU, In: ir.Shape{ir.Auto}, Out: ir.Shape{ir.Auto}},
			{Index: 3, Kind: ir.Linear, In: ir.Shape{ir.Auto}, Out: ir.Shape{1}, Width: 1},
		}}
	}
	cnnModel := func(L int, pool ir.LayerKind) *ir.Model {
		return &ir.Model{Name: "cnn", Layers: []*ir.Layer{
			{Index: 0, Kind: ir.Input, Out: ir.Shape{1, L}},
			{Index: 1, Kind: ir.Conv, In: ir.Shape{1, L}, Out: ir.Shape{ir.Auto, L - 1}, Kernel: []int{2}, Stride: []int{1}, Padding: []int{0}},
			{Index: 2, Kind: ir.ReLU, In: ir.Shape{ir.Auto, L - 1}, Out: ir.Shape{ir.Auto, L - 1}},
			{Index: 3, Kind: pool, Global: true, In: ir.Shape{ir.Auto, L - 1}, Out: ir.Shape{ir.Auto}},
			{Index: 4, Kind: ir.Linear, Width: 1, In: ir.Shape{ir.Auto}, Out: ir.Shape{1}},
		}}
	}
	cases := []struct {
		name  string
		m     *ir.Model
		n, in int
	}{
		{"fc", fcModel(3), 25, 3},
		{"cnn-avg", cnnModel(6, ir.AvgPool), 5, 6},
		{"cnn-max", cnnModel(6, ir.MaxPool), 5, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			X := mat.NewDense(tc.n, tc.in, nil)
			Y := mat.NewDense(tc.n, 1, nil)
			for i := 0; i < tc.n; i++ {
				for j := 0; j < tc.in; j++ {
					X.Set(i, j, rng.NormFloat64())
				}
				Y.Set(i, 0, rng.NormFloat64())
			}
			shape := []int{tc.in}
			if tc.name != "fc" {
				shape = []int{1, tc.in}
			}
			din := &derive.Input{Model: tc.m, Data: &dataset.Dataset{Name: "train", Shape: shape, X: X, Y: Y},
				Train: ir.Train{Loss: ir.Squared, Beta: 1, Patterns: ir.Patterns{Mode: ir.Sample, N: 3, Seed: 1}}}
			_, p, dl := derive.Derive(din)
			if dl.HasErrors() {
				t.Fatal(dl)
			}
			f := p.Families[0]
			yhat := make([]float64, tc.n)
			for i := range yhat {
				yhat[i] = 0.3 * rng.NormFloat64()
			}
			var o SearchOptions
			if tc.name != "fc" {
				o.Column = func(u []float64) ([]float64, []float64, bool) { return derive.PatternColumn(f, u) }
				o.Weights = derive.PatternWeights(f)
			}
			var A *mat.Dense = f.A
			if f.Meta["pool"] == "max" {
				A = f.C
			}
			full, err := pattern.Exact(A, 100000)
			if err != nil {
				t.Fatal(err)
			}
			// β: half the largest value over the arrangement, so that many patterns violate
			oe := o
			oe.Full = full
			top := 0.0
			for q := 0; q < full.Len(); q++ {
				var w, sg []float64
				if tc.name == "fc" {
					w = full.Pattern(q)
					sg = fcSign(f, w)
				} else {
					var ok bool
					if w, sg, ok = o.Column(full.Gate(q)); !ok {
						continue
					}
				}
				single := &convex.Family{A: f.A, C: f.C, Sample: f.Sample, Signs: f.Signs, H: f.H,
					Weight: convex.MustDenseWeights(colMatrix(w)), Sign: convex.MustDenseSigns(colMatrix(sg))}
				val, _, _, _ := PatternMax(single, 0, Residual(p, yhat))
				top = math.Max(top, val)
			}
			p.Beta = top / 2
			want, _, err := Search(p, yhat, 0, nil, oe)
			if err != nil {
				t.Fatal(err)
			}
			got, st, err := Search(p, yhat, 0, nil, o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Exhaustive || st.Gates == 0 || len(got) == 0 {
				t.Fatalf("batched search: %d candidates, %+v", len(got), st)
			}
			own := map[string]bool{}
			for q := 0; q < f.Patterns(); q++ {
				own[colKey(f.Weight.Col(q, nil), f.Sign.Col(q, nil))] = true
			}
			v := Residual(p, yhat)
			for i, c := range got {
				if own[colKey(c.Weight, c.Sign)] {
					t.Fatalf("candidate %d is one of the family's own patterns", i)
				}
				single := &convex.Family{A: f.A, C: f.C, Sample: f.Sample, Signs: f.Signs, H: f.H,
					Weight: convex.MustDenseWeights(colMatrix(c.Weight)), Sign: convex.MustDenseSigns(colMatrix(c.Sign))}
				val, _, _, _ := PatternMax(single, 0, v)
				if math.Abs(val-c.Value) > 1e-12*val || !(c.Value > p.Beta) {
					t.Fatalf("candidate %d: value %.15g, PatternMax %.15g, β %.15g", i, c.Value, val, p.Beta)
				}
				if !strictlyInside(f.C, c.Sign, c.Gate) {
					t.Fatalf("candidate %d: gate not strictly inside its cone", i)
				}
				if i > 0 && c.Value > got[i-1].Value {
					t.Fatal("candidates not sorted by value")
				}
			}
			if len(want) == 0 || got[0].Value < want[0].Value*(1-1e-12) {
				t.Fatalf("batched search's best %.12g, the arrangement's best new pattern %.12g", got[0].Value, want[0].Value)
			}
			t.Logf("%d of %d violators found (%d gate evaluations, %d exact); best %.6g = the arrangement's", len(got), len(want), st.Gates, st.Evaluations, got[0].Value)
		})
	}
}
