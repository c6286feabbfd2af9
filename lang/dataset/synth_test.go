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

// The vector teacher: y_i = Σ_j a_j (x_iᵀ w_j)_+ with unit-norm w_j and
// a = (+1, −1, +1), recomputed here.
func TestPlantedVector(t *testing.T) {
	ds, _, _ := mustLoad(t, synthData("planted", map[string]float64{"n": 400, "seed": 5}), ir.Shape{5}, nil)
	T := ds.Teacher
	if T == nil || len(T.W) != 3 || T.A[0] != 1 || T.A[1] != -1 || T.A[2] != 1 || T.Kernel != nil || T.Patches != 1 {
		t.Fatalf("teacher %+v", T)
	}
	for j, w := range T.W {
		if len(w) != 5 || !near(math.Sqrt(dot(w, w)), 1) {
			t.Errorf("w%d = %v is not a unit vector in R^5", j, w)
		}
	}
	for i := 0; i < ds.N(); i++ {
		x := ds.X.RawRowView(i)
		var want float64
		for j, w := range T.W {
			var z float64
			for k := range x {
				z += x[k] * w[k]
			}
			want += T.A[j] * math.Max(z, 0)
		}
		if !near(ds.Y.At(i, 0), want) {
			t.Fatalf("y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
	// 2000 entries of N(0, 1)
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
}

// Conv teacher on 2×4×4 images, kernel 2, stride 2: four patches, each the 2×2
// window at rows 2p..2p+1, columns 2q..2q+1 of both channels, in (c, dr, dc)
// order; y_i = Σ_k (x_{ik}ᵀ w*)_+ (one filter, a = +1). Recomputed here by index
// arithmetic on the (C, H, W) layout.
func TestPlantedConv(t *testing.T) {
	ds, _, _ := mustLoad(t, synthData("planted", map[string]float64{"n": 50, "seed": 9, "kernel": 2}), ir.Shape{2, 4, 4}, nil)
	T := ds.Teacher
	if T.Patches != 4 || len(T.W) != 1 || len(T.W[0]) != 8 || T.Kernel[0] != 2 || T.Stride[1] != 2 || T.A[0] != 1 {
		t.Fatalf("teacher %+v", T)
	}
	w := T.W[0]
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
				want += math.Max(z, 0)
			}
		}
		if !near(ds.Y.At(i, 0), want) {
			t.Fatalf("y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
	// Patch counts: 1x5x5 kernel 3 stride 1 → 3·3 = 9; 1-D 1x6 kernel 3 stride 2 →
	// windows at 0 and 2 only (4 + 3 > 6); default kernel min(3, 28) = stride = 3
	// on 1x28x28 → 9·9 = 81.
	for _, c := range []struct {
		shape   ir.Shape
		params  map[string]float64
		patches int
	}{
		{ir.Shape{1, 5, 5}, map[string]float64{"kernel": 3, "stride": 1}, 9},
		{ir.Shape{1, 6}, map[string]float64{"kernel": 3, "stride": 2}, 2},
		{ir.Shape{1, 28, 28}, map[string]float64{}, 81},
	} {
		c.params["n"] = 3
		ds, _, _ := mustLoad(t, synthData("planted", c.params), c.shape, nil)
		if ds.Teacher.Patches != c.patches {
			t.Errorf("%v %v: %d patches, want %d", c.shape, c.params, ds.Teacher.Patches, c.patches)
		}
	}
	// 1-D check of y with two filters (a = +1, −1), kernel 3, stride 2 on 1x6.
	ds, _, _ = mustLoad(t, synthData("planted", map[string]float64{"n": 20, "kernel": 3, "stride": 2, "width": 2}), ir.Shape{1, 6}, nil)
	for i := 0; i < ds.N(); i++ {
		x := ds.X.RawRowView(i)
		var want float64
		for j, w := range ds.Teacher.W {
			for _, s := range []int{0, 2} {
				want += ds.Teacher.A[j] * math.Max(x[s]*w[0]+x[s+1]*w[1]+x[s+2]*w[2], 0)
			}
		}
		if !near(ds.Y.At(i, 0), want) {
			t.Fatalf("1-D y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
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
	wantError(t, s("planted", map[string]float64{"kernel": 5}), ir.Shape{1, 4, 6}, nil, CodeGenParam, "kernel=5")
	wantError(t, s("planted", map[string]float64{"kernel": 5}), ir.Shape{1, 6, 4}, nil, CodeGenParam, "kernel=5")
	wantError(t, s("planted", map[string]float64{"kernel": 2}), ir.Shape{7}, nil, CodeGenParam, "kernel=2", "vector")
	wantError(t, s("planted", map[string]float64{"n": 1e6}), ir.Shape{1, 28, 28}, nil, CodeGenParam, "more than")
	wantError(t, s("planted", nil), ir.Shape{1, 2, 3, 4}, nil, CodeGenParam, "too many dimensions")
	d := s("planted", map[string]float64{"d": 3})
	d.Classes = []int{0, 1}
	wantError(t, d, nil, nil, CodeNotClasses, "generated sample", "not an integer class label")
}
