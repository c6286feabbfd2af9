package dataset

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

func meanVar(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, s / float64(len(v))
}

func TestSpiralGeometry(t *testing.T) {
	ds, _, _ := mustLoad(t, synthData("spiral", map[string]float64{"n": 40, "turns": 1.25, "seed": 3}), ir.Shape{2}, nil)
	if ds.N() != 40 || !ds.Classification || ds.Classes[0] != 0 || ds.Classes[1] != 1 {
		t.Fatalf("n %d classification %v classes %v", ds.N(), ds.Classification, ds.Classes)
	}
	for i := 0; i < 40; i++ {
		x, y := ds.X.At(i, 0), ds.X.At(i, 1)
		// radius t = (j+1)/20 of arm point j = ⌊i/2⌋
		if r := math.Hypot(x, y); !near(r, float64(i/2+1)/20) {
			t.Errorf("row %d: radius %g, want %g", i, r, float64(i/2+1)/20)
		}
		// the two arms are point reflections of each other: row 2j+1 = −row 2j
		if i%2 == 1 && (!near(x, -ds.X.At(i-1, 0)) || !near(y, -ds.X.At(i-1, 1))) {
			t.Errorf("row %d is not the reflection of row %d", i, i-1)
		}
		if want := float64(2*(i%2) - 1); ds.Y.At(i, 0) != want || ds.Labels[i] != i%2 {
			t.Errorf("row %d: y %g label %d, want %g %d", i, ds.Y.At(i, 0), ds.Labels[i], want, i%2)
		}
	}
	// angle of the last point of arm 0: θ = 2π·1.25·1 = 2.5π ≡ π/2, i.e. (0, 1)
	if !near(ds.X.At(38, 0)+1, 1) || !near(ds.X.At(38, 1), 1) {
		t.Errorf("row 38 = %v, want (0, 1)", ds.X.RawRowView(38))
	}
	// classes all gives two one-hot columns; limit keeps both classes.
	d := synthData("spiral", map[string]float64{"n": 10})
	d.AllClasses, d.Limit = true, 4
	ds, _, _ = mustLoad(t, d, nil, nil)
	if _, c := ds.Y.Dims(); c != 2 || ds.Y.At(0, 0) != 1 || ds.Y.At(1, 1) != 1 {
		t.Errorf("one-hot spiral Y %v", ds.Y.RawMatrix().Data)
	}
}

func TestSpiralNoiseAndSeed(t *testing.T) {
	load := func(p map[string]float64) []float64 {
		ds, _, _ := mustLoad(t, synthData("spiral", p), nil, nil)
		return ds.X.RawMatrix().Data
	}
	a := load(map[string]float64{"n": 2000, "noise": 0.1, "seed": 1})
	b := load(map[string]float64{"n": 2000, "noise": 0.1, "seed": 1})
	c := load(map[string]float64{"n": 2000, "noise": 0.1, "seed": 2})
	clean := load(map[string]float64{"n": 2000, "seed": 1})
	same, diff := true, false
	for i := range a {
		same = same && a[i] == b[i]
		diff = diff || a[i] != c[i]
	}
	if !same || !diff {
		t.Fatalf("same seed identical: %v; different seed different: %v", same, diff)
	}
	e := make([]float64, len(a))
	for i := range a {
		e[i] = (a[i] - clean[i]) / 0.1
	}
	// 4000 draws of N(0,1): mean within 4/√4000 ≈ 0.063, variance within 0.1
	if m, v := meanVar(e); math.Abs(m) > 0.07 || math.Abs(v-1) > 0.1 {
		t.Errorf("noise/σ has mean %g variance %g, want ≈ 0 and 1", m, v)
	}
}

// The vector teacher (no conv model): y_i = (x_iᵀ w*)_+ with a unit-norm w*,
// recomputed here.
func TestPlantedVector(t *testing.T) {
	ds, _, _ := mustLoad(t, synthData("planted", map[string]float64{"n": 400, "seed": 5}), ir.Shape{5}, nil)
	T := ds.Teacher
	if T == nil || T.Layer != 0 || T.K() != 1 || T.C[0] != 1 || len(T.Filter) != 5 {
		t.Fatalf("teacher %+v", T)
	}
	w := T.Filter
	if !near(math.Sqrt(plantedDot(w, w)), 1) {
		t.Errorf("w* = %v is not a unit vector", w)
	}
	for i := 0; i < ds.N(); i++ {
		if want := math.Max(plantedDot(ds.X.RawRowView(i), w), 0); !near(ds.Y.At(i, 0), want) {
			t.Fatalf("y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
	if m, v := meanVar(ds.X.RawMatrix().Data); math.Abs(m) > 0.1 || math.Abs(v-1) > 0.15 {
		t.Errorf("X mean %g variance %g, want ≈ 0 and 1", m, v)
	}
	if ds.Classification {
		t.Error("planted targets are real numbers")
	}
	// d= stands in for a model shape
	dd, _, _ := mustLoad(t, synthData("planted", map[string]float64{"n": 400, "seed": 5, "d": 5}), nil, nil)
	if !ir.Shape(dd.Shape).Equal(ir.Shape{5}) || dd.X.At(7, 3) != ds.X.At(7, 3) {
		t.Errorf("d=5 without a model: shape %v, X differs from the model-shaped set", dd.Shape)
	}
	// the first samples do not depend on n
	small, _, _ := mustLoad(t, synthData("planted", map[string]float64{"n": 10, "seed": 5}), ir.Shape{5}, nil)
	if small.X.At(9, 4) != ds.X.At(9, 4) || small.Y.At(9, 0) != ds.Y.At(9, 0) {
		t.Error("sample 9 changed with n")
	}
}

func plantedDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// convModel builds a checked-looking model input · conv · relu · rest… by hand
// (lang/dataset cannot use the checker).
func convModel(in ir.Shape, kind ir.LayerKind, kernel, stride, padding []int, rest ...*ir.Layer) *ir.Model {
	sp := []int(in[1:])
	out := make([]int, len(sp))
	for d := range sp {
		if kind == ir.CircConv {
			out[d] = sp[d]
			continue
		}
		out[d] = (sp[d]+2*padding[d]-kernel[d])/stride[d] + 1
	}
	m := &ir.Model{Name: "m", Layers: []*ir.Layer{
		{Index: 0, Kind: ir.Input, Out: in},
		{Index: 1, Kind: kind, In: in, Out: append(ir.Shape{1}, out...), Kernel: kernel, Stride: stride, Padding: padding, Width: 1},
		{Index: 2, Kind: ir.ReLU},
	}}
	for i, l := range rest {
		l.Index = 3 + i
		m.Layers = append(m.Layers, l)
	}
	return m
}

func fixedOut(v float64) *ir.Layer { return &ir.Layer{Kind: ir.Linear, Width: 1, Fixed: &v} }

func loadFor(t *testing.T, p map[string]float64, m *ir.Model) *Dataset {
	t.Helper()
	ds, _, dl := LoadFor(synthData("planted", p), m, nil)
	if dl.HasErrors() || ds == nil {
		t.Fatalf("LoadFor: %v", dl)
	}
	return ds
}

// Conv teacher on 2×4×4 images, the model's conv 2×2 stride 2, avgpool global,
// linear 1 fixed=2: four patches, each the 2×2 window at rows 2p..2p+1, columns
// 2q..2q+1 of both channels in (c, dr, dc) order, c_k = 2/4; recomputed here by
// index arithmetic on the (C, H, W) layout.
func TestPlantedConv(t *testing.T) {
	m := convModel(ir.Shape{2, 4, 4}, ir.Conv, []int{2, 2}, []int{2, 2}, []int{0, 0},
		&ir.Layer{Kind: ir.AvgPool, Global: true}, fixedOut(2))
	ds := loadFor(t, map[string]float64{"n": 50, "seed": 9}, m)
	T := ds.Teacher
	if T.K() != 4 || len(T.Filter) != 8 || T.Layer != 1 || T.C[3] != 0.5 {
		t.Fatalf("teacher %+v", T)
	}
	w := T.Filter
	for i := 0; i < ds.N(); i++ {
		x := ds.X.RawRowView(i)
		var want float64
		for p := 0; p < 2; p++ {
			for q := 0; q < 2; q++ {
				var z float64
				k := 0
				for c := 0; c < 2; c++ {
					for dr := 0; dr < 2; dr++ {
						for dc := 0; dc < 2; dc++ {
							z += x[c*16+(2*p+dr)*4+2*q+dc] * w[k]
							k++
						}
					}
				}
				want += 0.5 * math.Max(z, 0)
			}
		}
		if !near(ds.Y.At(i, 0), want) {
			t.Fatalf("y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
}

// Padding, pooling windows and wrap-around: 1-D signals of length 6.
func TestPlantedConvOptions(t *testing.T) {
	one := func(x, w []float64, at func(o, j int) int, c []float64) float64 {
		y := 0.0
		for o, ck := range c {
			z := 0.0
			for j := range w {
				if q := at(o, j); q >= 0 && q < len(x) {
					z += x[q] * w[j]
				}
			}
			y += ck * math.Max(z, 0)
		}
		return y
	}
	check := func(name string, m *ir.Model, K int, c []float64, at func(o, j int) int) {
		t.Helper()
		ds := loadFor(t, map[string]float64{"n": 30, "seed": 1}, m)
		if ds.Teacher.K() != K {
			t.Fatalf("%s: K = %d, want %d", name, ds.Teacher.K(), K)
		}
		for k := range c {
			if !near(ds.Teacher.C[k], c[k]) {
				t.Fatalf("%s: c = %v, want %v", name, ds.Teacher.C, c)
			}
		}
		for i := 0; i < ds.N(); i++ {
			if want := one(ds.X.RawRowView(i), ds.Teacher.Filter, at, c); !near(ds.Y.At(i, 0), want) {
				t.Fatalf("%s: y[%d] = %g, want %g", name, i, ds.Y.At(i, 0), want)
			}
		}
	}
	// kernel 3, stride 2, padding 1: outputs (6+2−3)/2+1 = 3, position o reads 2o−1+j;
	// flatten · linear 1 fixed=1.5: c = 1.5 everywhere
	check("padding", convModel(ir.Shape{1, 6}, ir.Conv, []int{3}, []int{2}, []int{1}, &ir.Layer{Kind: ir.Flatten}, fixedOut(1.5)),
		3, []float64{1.5, 1.5, 1.5}, func(o, j int) int { return 2*o - 1 + j })
	// kernel 2, stride 1: 5 positions; avgpool 2 (stride 2) covers {0,1}, {2,3}: c = (½, ½, ½, ½, 0)
	check("windows", convModel(ir.Shape{1, 6}, ir.Conv, []int{2}, []int{1}, []int{0}, &ir.Layer{Kind: ir.AvgPool, Kernel: []int{2}}, fixedOut(1)),
		5, []float64{0.5, 0.5, 0.5, 0.5, 0}, func(o, j int) int { return o + j })
	// circconv 3 on 1x6: 6 positions reading (o + j − 1) mod 6; a learnable output: c = 1/K
	sixth := 1.0 / 6
	check("circular", convModel(ir.Shape{1, 6}, ir.CircConv, []int{3}, []int{1}, []int{0}, &ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1}),
		6, []float64{sixth, sixth, sixth, sixth, sixth, sixth}, func(o, j int) int { return ((o+j-1)%6 + 6) % 6 })
}

// noise adds noise·e_i to y and leaves X unchanged.
func TestPlantedNoise(t *testing.T) {
	p := map[string]float64{"n": 3000, "seed": 2, "d": 3}
	clean, _, _ := mustLoad(t, synthData("planted", p), nil, nil)
	p["noise"] = 0.5
	noisy, _, _ := mustLoad(t, synthData("planted", p), nil, nil)
	e := make([]float64, clean.N())
	for i := range e {
		for j := 0; j < 3; j++ {
			if clean.X.At(i, j) != noisy.X.At(i, j) {
				t.Fatalf("X changed with noise at (%d, %d)", i, j)
			}
		}
		e[i] = (noisy.Y.At(i, 0) - clean.Y.At(i, 0)) / 0.5
	}
	if m, v := meanVar(e); math.Abs(m) > 0.08 || math.Abs(v-1) > 0.1 {
		t.Errorf("noise/σ mean %g variance %g, want ≈ 0 and 1", m, v)
	}
}

func TestSyntheticErrors(t *testing.T) {
	s := func(gen string, p map[string]float64) *ir.Data { return synthData(gen, p) }
	wantError(t, s("spirals", nil), nil, nil, CodeGenerator, `"spirals"`)
	wantError(t, s("spiral", map[string]float64{"m": 3, "turn": 2}), nil, nil, CodeGenParam, "unknown parameter m, turn")
	wantError(t, s("spiral", map[string]float64{"n": 0}), nil, nil, CodeGenParam, "n=0")
	wantError(t, s("spiral", map[string]float64{"n": 2.5}), nil, nil, CodeGenParam, "n=2.5", "integer")
	wantError(t, s("spiral", map[string]float64{"noise": -1}), nil, nil, CodeGenParam, "noise=-1")
	wantError(t, s("spiral", map[string]float64{"turns": 0}), nil, nil, CodeGenParam, "turns=0")
	wantError(t, s("spiral", map[string]float64{"noise": math.Inf(1)}), nil, nil, CodeGenParam, "noise=+Inf")
	wantError(t, s("spiral", nil), ir.Shape{3}, nil, CodeShape, "2 values", "needs 3")
	wantError(t, s("planted", nil), nil, nil, CodeGenParam, "no input shape and no d=")
	wantError(t, s("planted", map[string]float64{"d": 4}), ir.Shape{5}, nil, CodeGenParam, "d=4", "5 values")
	wantError(t, s("planted", map[string]float64{"kernel": 5}), ir.Shape{1, 4, 6}, nil, CodeGenParam, "unknown parameter kernel")
	wantError(t, s("planted", map[string]float64{"width": 2}), ir.Shape{7}, nil, CodeGenParam, "unknown parameter width")
	wantError(t, s("planted", map[string]float64{"n": 1e6}), ir.Shape{1, 28, 28}, nil, CodeGenParam, "more than")
	d := s("planted", map[string]float64{"d": 3})
	d.Classes = []int{0, 1}
	wantError(t, d, nil, nil, CodeNotClasses, "generated sample", "not an integer class label")
}
