package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestUnlabeledSources: prediction inputs without targets (CSV label=none, X.npy
// alone, IDX images alone) load with Y nil and the same features as the labeled
// source; transforms and the train set's statistics apply as usual.
func TestUnlabeledSources(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab.csv")
	unl := filepath.Join(dir, "unl.csv")
	if err := os.WriteFile(lab, []byte("1,2,0\n3,4,1\n5,7,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unl, []byte("1,2\n3,4\n5,7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	train, st, _ := mustLoad(t, &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.CSV, Range: stmt, Path: lab, Label: "last"}, Standardize: true, Scale: 2, HasScale: true}, nil, nil)
	d := csvData(unl, "", false)
	d.Source.NoLabel = true
	d.Standardize, d.Scale, d.HasScale = true, 2, true
	u, _, _ := mustLoad(t, d, nil, st)
	if u.Labeled() || u.Y != nil {
		t.Fatalf("label=none: Y = %v, want nil", u.Y)
	}
	if !u.Classification || len(u.Levels) != 2 || u.Levels[0] != 0 || u.Levels[1] != 1 {
		t.Errorf("unlabeled set of a two-class train set: Classification %v Levels %v", u.Classification, u.Levels)
	}
	if u.N() != 3 || u.Features() != 2 {
		t.Fatalf("got %d×%d, want 3×2", u.N(), u.Features())
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			if u.X.At(i, j) != train.X.At(i, j) {
				t.Errorf("X[%d,%d] = %g, the labeled train set has %g", i, j, u.X.At(i, j), train.X.At(i, j))
			}
		}
	}
	// X.npy alone and IDX images alone.
	x, _, _ := mustLoad(t, npyData(testdata("x_f8.npy"), ""), nil, nil)
	if x.Y != nil || x.N() != 3 || x.Features() != 4 {
		t.Errorf("X.npy alone: %d×%d, Y %v", x.N(), x.Features(), x.Y)
	}
	im, _, _ := mustLoad(t, idxData(exampleData("fashion64-images-idx3-ubyte.gz"), ""), ir.Shape{1, 28, 28}, nil)
	if im.Y != nil || im.N() != 64 || im.Features() != 784 {
		t.Errorf("IDX images alone: %d×%d, Y %v", im.N(), im.Features(), im.Y)
	}
	// With `classes A B` and no labels every row is kept and the classes are known.
	d2 := idxData(exampleData("fashion64-images-idx3-ubyte.gz"), "")
	d2.Classes, d2.Limit = []int{0, 9}, 10
	im2, _, _ := mustLoad(t, d2, nil, nil)
	if im2.N() != 10 || !im2.Classification || len(im2.Classes) != 2 || im2.Classes[1] != 9 {
		t.Errorf("unlabeled with classes 0 9, limit 10: n %d, classes %v", im2.N(), im2.Classes)
	}
}

// TestTwoValuedTargets: a single target column with exactly two values is a
// classification with those levels; a test set whose targets are among them is
// one too; three values or real numbers are regression.
func TestTwoValuedTargets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pm := write("pm.csv", "1,1\n2,-1\n3,1\n")
	ds, st, _ := mustLoad(t, csvData(pm, "last", false), nil, nil)
	if !ds.Classification || ds.Levels[0] != -1 || ds.Levels[1] != 1 || st.Levels == nil {
		t.Errorf("±1 targets: Classification %v, Levels %v, Stats.Levels %v", ds.Classification, ds.Levels, st.Levels)
	}
	test, _, _ := mustLoad(t, csvData(write("pm1.csv", "1,1\n2,1\n"), "last", false), nil, st)
	if !test.Classification {
		t.Error("a test set with targets among the train levels (all +1) is not a classification")
	}
	three, _, _ := mustLoad(t, csvData(write("three.csv", "1,1\n2,-1\n3,0\n"), "last", false), nil, nil)
	if three.Classification || three.Levels != nil {
		t.Errorf("three target values: Classification %v, Levels %v", three.Classification, three.Levels)
	}
	// `classes -1 1` on ±1 labels: −1 → −1, +1 → +1.
	d := csvData(pm, "last", false)
	d.Classes = []int{-1, 1}
	c, _, _ := mustLoad(t, d, nil, nil)
	if !c.Classification || c.Y.At(1, 0) != -1 || c.Y.At(0, 0) != 1 || c.Classes[0] != -1 {
		t.Errorf("classes -1 1: Y %v, classes %v", c.Y.RawMatrix().Data, c.Classes)
	}
}
