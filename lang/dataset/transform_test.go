package dataset

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
)

func hasWarning(dl diag.List, code string) bool {
	for _, d := range dl {
		if d.Code == code && d.Severity == diag.Warning {
			return true
		}
	}
	return false
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// Train: feature 0 = 1, 2, 3, 4; feature 1 = 5 (constant). scale 2 gives 2, 4, 6, 8
// (mean 5, population variance (9+1+1+9)/4 = 5) and 10; standardize gives
// (−3, −1, 1, 3)/√5 and 0 — not NaN, because σ of a constant feature is taken as 1.
// Test: 5, 9 and 7 → scaled 10, 18 and 14 → (10−5)/√5 = √5, 13/√5 and 14 − 10 = 4.
func TestScaleStandardizeTrainTest(t *testing.T) {
	train := csvData(writeTemp(t, "train.csv", []byte("1,5,0\n2,5,1\n3,5,0\n4,5,1\n")), "", false)
	train.Scale, train.HasScale, train.Standardize = 2, true, true
	ds, st, dl := mustLoad(t, train, nil, nil)
	if len(dl) != 0 {
		t.Errorf("unexpected diagnostics %v", summaries(dl))
	}
	r5 := math.Sqrt(5)
	for i, want := range []float64{-3 / r5, -1 / r5, 1 / r5, 3 / r5} {
		if !near(ds.X.At(i, 0), want) || ds.X.At(i, 1) != 0 {
			t.Errorf("row %d: %v, want [%g 0]", i, ds.X.RawRowView(i), want)
		}
	}
	if !near(st.Mean[0], 5) || st.Mean[1] != 10 || !near(st.Std[0], r5) || st.Std[1] != 1 {
		t.Errorf("stats mean %v std %v, want [5 10] [√5 1]", st.Mean, st.Std)
	}

	test := csvData(writeTemp(t, "test.csv", []byte("5,7,1\n9,7,0\n")), "", false)
	test.Name, test.Scale, test.HasScale, test.Standardize = "test", 2, true, true
	dt, st2, dl := mustLoad(t, test, nil, st)
	if st2 != st || len(dl) != 0 {
		t.Errorf("test: stats not passed through or diagnostics %v", summaries(dl))
	}
	if !near(dt.X.At(0, 0), r5) || !near(dt.X.At(1, 0), 13/r5) || dt.X.At(0, 1) != 4 {
		t.Errorf("test X %v, want [√5 4; 13/√5 4]", dt.X.RawMatrix().Data)
	}

	// Train standardised, test not: a warning. Test standardised, train not: its own
	// statistics, with a warning.
	test.Standardize = false
	if _, _, dl := mustLoad(t, test, nil, st); !hasWarning(dl, CodeStandardize) {
		t.Errorf("no %s warning for an unstandardised test set: %v", CodeStandardize, summaries(dl))
	}
	test.Standardize = true
	dt, _, dl = mustLoad(t, test, nil, &Stats{})
	if !hasWarning(dl, CodeStandardize) || !near(dt.X.At(0, 0), -1) || !near(dt.X.At(1, 0), 1) {
		t.Errorf("own statistics: X %v (want ±1), diagnostics %v", dt.X.RawMatrix().Data, summaries(dl))
	}
	// Feature count differs from train's statistics.
	wantError(t, test, nil, &Stats{Mean: []float64{0}, Std: []float64{1}}, CodeStats, "1 features", "has 2")

	train.Scale = math.NaN()
	wantError(t, train, nil, nil, CodeScale, "not a finite number")
}

// Labels 0 1 2 0 1 2 0: `classes 0 1` keeps rows 0 1 3 4 6 (targets −1 +1 −1 +1 −1),
// then `limit 3` keeps rows 0 1 3.
func TestClassesThenLimit(t *testing.T) {
	p := writeTemp(t, "c.csv", []byte("10,0\n11,1\n12,2\n13,0\n14,1\n15,2\n16,0\n"))
	d := csvData(p, "", false)
	d.Classes = []int{0, 1}
	ds, _, _ := mustLoad(t, d, nil, nil)
	wantX := []float64{10, 11, 13, 14, 16}
	wantY := []float64{-1, 1, -1, 1, -1}
	if ds.N() != 5 || !ds.Classification || ds.Classes[0] != 0 || ds.Classes[1] != 1 {
		t.Fatalf("n %d classification %v classes %v", ds.N(), ds.Classification, ds.Classes)
	}
	for i := range wantX {
		if ds.X.At(i, 0) != wantX[i] || ds.Y.At(i, 0) != wantY[i] {
			t.Errorf("row %d: x %g y %g, want %g %g", i, ds.X.At(i, 0), ds.Y.At(i, 0), wantX[i], wantY[i])
		}
	}
	d.Limit = 3
	ds, _, _ = mustLoad(t, d, nil, nil)
	if ds.N() != 3 || ds.X.At(2, 0) != 13 || len(ds.Labels) != 3 || ds.Labels[2] != 0 {
		t.Errorf("limit 3: X %v labels %v, want 10 11 13 and 0 1 0", ds.X.RawMatrix().Data, ds.Labels)
	}
	// Reversed order: classes 1 0 maps 1 → −1, 0 → +1.
	d.Classes, d.Limit = []int{1, 0}, 0
	ds, _, _ = mustLoad(t, d, nil, nil)
	if ds.Y.At(0, 0) != 1 || ds.Y.At(1, 0) != -1 {
		t.Errorf("classes 1 0: y %v", ds.Y.RawMatrix().Data)
	}
	// Without classes the label is a real target and nothing is a class.
	d.Classes = nil
	ds, _, _ = mustLoad(t, d, nil, nil)
	if ds.Classification || ds.Labels != nil || ds.Y.At(2, 0) != 2 {
		t.Errorf("no classes: classification %v labels %v y %v", ds.Classification, ds.Labels, ds.Y.RawMatrix().Data)
	}

	d.Limit = -1
	wantError(t, d, nil, nil, CodeLimit, "limit -1")
	d.Limit, d.Classes = 0, []int{0, 7}
	wantError(t, d, nil, nil, CodeClassAbsent, "class 7 has no sample", "c.csv")
	d.Classes = []int{5, 7}
	_, _, dl := Load(d, nil, nil)
	if n := len(dl); n != 2 {
		t.Errorf("classes 5 7: %d diagnostics, want one per absent class: %v", n, summaries(dl))
	}
	d.Classes = []int{1, 1}
	wantError(t, d, nil, nil, CodeClassAbsent, "same class")
}

// Labels 3 1 3 2: classes all → classes 1 2 3, one-hot rows [0 0 1] [1 0 0] [0 0 1]
// [0 1 0]. A test set uses the train classes: labels 2 2 → [0 1 0] twice.
func TestClassesAllOneHot(t *testing.T) {
	d := csvData(writeTemp(t, "a.csv", []byte("0,3\n1,1\n2,3\n3,2\n")), "", false)
	d.AllClasses = true
	ds, st, _ := mustLoad(t, d, nil, nil)
	want := [][]float64{{0, 0, 1}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}}
	if _, c := ds.Y.Dims(); c != 3 || len(st.Classes) != 3 || st.Classes[0] != 1 || st.Classes[2] != 3 {
		t.Fatalf("Y has %d columns, stats classes %v; want 3 and [1 2 3]", c, st.Classes)
	}
	for i := range want {
		for j := range want[i] {
			if ds.Y.At(i, j) != want[i][j] {
				t.Errorf("Y[%d] = %v, want %v", i, ds.Y.RawRowView(i), want[i])
			}
		}
	}
	// limit 2 keeps rows 0 and 1; the classes still come from every row.
	d.Limit = 2
	dl2, st2, _ := mustLoad(t, d, nil, nil)
	if r, c := dl2.Y.Dims(); r != 2 || c != 3 || len(st2.Classes) != 3 || dl2.Y.At(1, 0) != 1 {
		t.Errorf("classes all + limit 2: Y %d×%d %v, classes %v", r, c, dl2.Y.RawMatrix().Data, st2.Classes)
	}
	test := csvData(writeTemp(t, "b.csv", []byte("0,2\n1,2\n")), "", false)
	test.Name, test.AllClasses = "test", true
	dt, _, _ := mustLoad(t, test, nil, st)
	if _, c := dt.Y.Dims(); c != 3 || dt.Y.At(0, 1) != 1 || dt.Y.At(1, 1) != 1 || dt.Y.At(0, 0) != 0 {
		t.Errorf("test one-hot %v, want [0 1 0] twice", dt.Y.RawMatrix().Data)
	}
	bad := csvData(writeTemp(t, "c.csv", []byte("0,2\n1,5\n")), "", false)
	bad.AllClasses = true
	wantError(t, bad, nil, st, CodeClassAbsent, "label 5", "c.csv line 2")
	// One class only: every one-hot row is equal, a degenerate training problem.
	one := csvData(writeTemp(t, "d.csv", []byte("0,4\n1,4\n")), "", false)
	one.AllClasses = true
	if _, _, dl := mustLoad(t, one, nil, nil); !hasWarning(dl, CodeDegenerate) {
		t.Errorf("no %s warning: %v", CodeDegenerate, summaries(dl))
	}
}

func TestLabelProblems(t *testing.T) {
	d := csvData(writeTemp(t, "r.csv", []byte("0,1\n1,2.5\n")), "", false)
	d.Classes = []int{1, 2}
	wantError(t, d, nil, nil, CodeNotClasses, "2.5", "r.csv line 2")
	d = npyData(testdata("x_f8.npy"), testdata("y3x2.npy"))
	d.AllClasses = true
	wantError(t, d, nil, nil, CodeNotClasses, "2 columns")

	// All targets equal: the data set loads, with a warning the caller can show.
	d = csvData(writeTemp(t, "e.csv", []byte("0,1\n1,1\n2,1\n")), "", false)
	ds, _, dl := mustLoad(t, d, nil, nil)
	if ds == nil || !hasWarning(dl, CodeDegenerate) {
		t.Fatalf("want a data set and a %s warning, got %v", CodeDegenerate, summaries(dl))
	}
	// A test set (stats given) is not a training problem: no warning.
	if _, _, dl := mustLoad(t, d, nil, &Stats{}); hasWarning(dl, CodeDegenerate) {
		t.Error("degenerate warning on a test set")
	}
	_, _, dl = Load(nil, nil, nil)
	if !dl.HasErrors() {
		t.Error("Load(nil) gave no error")
	}
}

func TestScaleOverflow(t *testing.T) {
	d := csvData(writeTemp(t, "o.csv", []byte("1,0\n1e300,1\n")), "", false)
	d.Scale, d.HasScale = 1e10, true
	wantError(t, d, nil, nil, CodeNonFinite, "feature 0 of sample 1", "not finite after scaling")
}

// A test set under `classes all` whose train set did not use classes: its own class
// order, and the caller's Stats are left alone.
func TestClassesAllDoesNotMutateStats(t *testing.T) {
	d := csvData(writeTemp(t, "a.csv", []byte("0,3\n1,1\n")), "", false)
	d.AllClasses = true
	st := &Stats{}
	ds, _, _ := mustLoad(t, d, nil, st)
	if st.Classes != nil || len(ds.Classes) != 2 || ds.Classes[0] != 1 {
		t.Errorf("stats %+v, classes %v", st, ds.Classes)
	}
}
