package cnnc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// TestLoadNewPreprocessing: new raw rows preprocessed with the weights' recorded
// preprocessing give exactly the features of the training set (scale, then the
// training statistics); weights without a record (older files) fall back to the
// Problem's own training statistics with the same result.
func TestLoadNewPreprocessing(t *testing.T) {
	dir := t.TempDir()
	csv := "3,1,-1\n1,4,1\n-2,0.5,-1\n0,-3,1\n5,2,1\n-1,-1,-1\n"
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "raw.csv"), []byte("3,1\n1,4\n-2,0.5\n0,-3\n5,2\n-1,-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "model m {\n    input 2\n    linear auto bias=true\n    relu\n    linear 1\n}\ndata train {\n    csv \"d.csv\"\n    scale 0.5\n    standardize\n}\ntrain {\n    beta 1e-2\n    patterns exact\n}\n"
	p, err := Parse(filepath.Join(dir, "m.cnn"), []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Solve(SolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pp := res.Weights.Preprocess
	if pp == nil || pp.Scale == nil || *pp.Scale != 0.5 || len(pp.Mean) != 2 || pp.Task != network.TaskBinary || pp.Levels[0] != -1 || pp.Classes != nil {
		t.Fatalf("preprocess = %+v", pp)
	}
	check := func(what string, w *network.Weights) {
		ds, err := p.LoadNew(filepath.Join(dir, "raw.csv")+",label=none", w)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i := 0; i < p.Data.N(); i++ {
			for j := 0; j < 2; j++ {
				if ds.X.At(i, j) != p.Data.X.At(i, j) {
					t.Errorf("%s: X[%d,%d] = %.17g, training %.17g", what, i, j, ds.X.At(i, j), p.Data.X.At(i, j))
				}
			}
		}
		pr, err := Predict(p.Model, w, ds)
		if err != nil {
			t.Fatal(err)
		}
		train, err := Predict(p.Model, w, p.Data)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range pr.Labels {
			if l != train.Labels[i] || (l != -1 && l != 1) {
				t.Errorf("%s: label %d = %g, on the training row %g", what, i, l, train.Labels[i])
			}
		}
		if pr.Loss != nil || train.Loss == nil || train.Accuracy == nil {
			t.Errorf("%s: loss %v (unlabeled), training loss %v accuracy %v", what, pr.Loss, train.Loss, train.Accuracy)
		}
	}
	check("recorded", res.Weights)
	old := *res.Weights
	old.Preprocess = nil
	check("not recorded", &old)
}
