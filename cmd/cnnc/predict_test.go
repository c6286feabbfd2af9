package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// standardised is a two-layer ReLU classifier on CSV data with `scale` and
// `standardize`, and a test block preprocessed with the training statistics.
const standardised = `model net {
    input  3
    linear auto bias=true
    relu
    linear 1
}

data train {
    csv         "train.csv" header=true
    classes     3 7
    scale       0.5
    standardize
}

data test {
    csv         "test.csv" header=true
    classes     3 7
    scale       0.5
    standardize
}

train {
    beta     1e-2
    patterns sample 60 seed=2
}
`

// writeClassData writes n rows "a,b,c,label" (header a,b,c,label): features with
// different means and spreads, labels 3 and 7 by a non-linear rule, plus a few
// rows of class 5 that `classes 3 7` drops.
func writeClassData(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("a,b,c,label\n")
	for i := 0; i < n; i++ {
		a, bb, c := 10+3*r.NormFloat64(), -4+0.5*r.NormFloat64(), r.NormFloat64()
		label := 3
		if (a-10)*(bb+4) > 0 {
			label = 7
		}
		if i%9 == 4 {
			label = 5
		}
		fmt.Fprintf(&b, "%.17g,%.17g,%.17g,%d\n", a, bb, c, label)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type predictOut struct {
	Task        string   `json:"task"`
	Samples     int      `json:"samples"`
	Loss        *float64 `json:"loss"`
	Accuracy    *float64 `json:"accuracy"`
	Predictions []struct {
		Index  int       `json:"index"`
		Label  *float64  `json:"label"`
		Output []float64 `json:"output"`
	} `json:"predictions"`
	Diagnostics []any `json:"diagnostics"`
}

func predictJSON(t *testing.T, args ...string) predictOut {
	t.Helper()
	stdout, stderr, code := runCLI(append([]string{"predict", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("predict %v: exit %d\n%s%s", args, code, stdout, stderr)
	}
	var p predictOut
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("predict %v: %v\n%s", args, err, stdout)
	}
	return p
}

// TestPredictNewData is the acceptance check of predict on new data: on the test
// rows of a standardised (and scaled) model, --data gives the same predictions as
// --set test, from weights.json's recorded preprocessing; without labels it prints
// the same predictions and no loss; labels come back as the user's classes.
func TestPredictNewData(t *testing.T) {
	dir := t.TempDir()
	writeClassData(t, filepath.Join(dir, "train.csv"), 60, 1)
	writeClassData(t, filepath.Join(dir, "test.csv"), 30, 2)
	file := filepath.Join(dir, "std.cnn")
	if err := os.WriteFile(file, []byte(standardised), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK {
		t.Fatalf("solve: exit %d\n%s%s", code, so, se)
	}
	weights := filepath.Join(out, "weights.json")
	var w struct {
		Preprocess struct {
			Scale   float64   `json:"scale"`
			Mean    []float64 `json:"mean"`
			Task    string    `json:"task"`
			Classes []int     `json:"classes"`
		} `json:"preprocess"`
	}
	b, _ := os.ReadFile(weights)
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if pp := w.Preprocess; pp.Scale != 0.5 || len(pp.Mean) != 3 || pp.Task != "binary" || fmt.Sprint(pp.Classes) != "[3 7]" {
		t.Fatalf("weights.json preprocess = %+v", pp)
	}

	set := predictJSON(t, file, "--weights", weights, "--set", "test")
	raw := predictJSON(t, file, "--weights", weights, "--data", filepath.Join(dir, "test.csv")+",header=true")
	if set.Samples == 0 || set.Samples != raw.Samples || set.Accuracy == nil || raw.Accuracy == nil || *set.Accuracy != *raw.Accuracy {
		t.Fatalf("--set test: %d samples accuracy %v; --data: %d samples accuracy %v", set.Samples, set.Accuracy, raw.Samples, raw.Accuracy)
	}
	for i := range set.Predictions {
		a, r := set.Predictions[i], raw.Predictions[i]
		if d := math.Abs(a.Output[0] - r.Output[0]); d > 1e-12 || *a.Label != *r.Label {
			t.Errorf("sample %d: --set test %.15g (label %g), --data %.15g (label %g)", i, a.Output[0], *a.Label, r.Output[0], *r.Label)
		}
		if *a.Label != 3 && *a.Label != 7 {
			t.Errorf("sample %d: label %g, want the user's class 3 or 7", i, *a.Label)
		}
	}

	// Unlabeled rows: the same rows without the label column (and without the
	// class-5 rows, which the labeled file drops by its labels).
	rows := readCSV(t, filepath.Join(dir, "test.csv"))
	var ub strings.Builder
	for _, r := range rows[1:] {
		if r[3] == "5" {
			continue
		}
		ub.WriteString(strings.Join(r[:3], ",") + "\n")
	}
	unl := filepath.Join(dir, "unlabeled.csv")
	os.WriteFile(unl, []byte(ub.String()), 0o644)
	u := predictJSON(t, file, "--weights", weights, "--data", unl+",label=none")
	if u.Samples != set.Samples || u.Loss != nil || u.Accuracy != nil {
		t.Fatalf("unlabeled: %d samples, loss %v, accuracy %v", u.Samples, u.Loss, u.Accuracy)
	}
	for i := range u.Predictions {
		if u.Predictions[i].Output[0] != raw.Predictions[i].Output[0] || *u.Predictions[i].Label != *raw.Predictions[i].Label {
			t.Errorf("unlabeled sample %d: %.15g, labeled %.15g", i, u.Predictions[i].Output[0], raw.Predictions[i].Output[0])
		}
	}

	// CSV output: a header and one row per sample, same numbers to the last bit.
	so, se, code := runCLI("predict", file, "--weights", weights, "--data", unl+",label=none", "--csv")
	if code != exitOK || !strings.Contains(se, "samples") {
		t.Fatalf("--csv: exit %d\n%s%s", code, so, se)
	}
	recs, err := csv.NewReader(strings.NewReader(so)).ReadAll()
	if err != nil || len(recs) != u.Samples+1 || strings.Join(recs[0], ",") != "index,label,output" {
		t.Fatalf("--csv output: %v\n%s", err, so)
	}
	for i, r := range recs[1:] {
		v, _ := strconv.ParseFloat(r[2], 64)
		if v != u.Predictions[i].Output[0] || r[1] != strconv.FormatFloat(*u.Predictions[i].Label, 'g', -1, 64) {
			t.Errorf("csv row %d = %v, json %v", i, r, u.Predictions[i])
		}
	}
	// Text output: the labeled summary line.
	so, _, _ = runCLI("predict", file, "--weights", weights, "--set", "test")
	if !strings.Contains(so, "# index\tlabel\toutput") || !strings.Contains(so, "accuracy") {
		t.Errorf("text output:\n%s", so)
	}
}

// TestPredictRegression: a regression model prints values (no label column).
func TestPredictRegression(t *testing.T) {
	file := writeTemp(t, "reg.cnn", "model net {\n    input 1x8\n    conv 3\n    relu\n    avgpool global\n    linear 1\n}\ndata train {\n    synthetic planted n=10 seed=2\n}\ntrain {\n    patterns sample 20\n}\n")
	out := filepath.Join(filepath.Dir(file), "out")
	if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK {
		t.Fatalf("solve: exit %d\n%s%s", code, so, se)
	}
	p := predictJSON(t, file, "--weights", filepath.Join(out, "weights.json"))
	if p.Task != "regression" || p.Loss == nil || p.Accuracy != nil || p.Predictions[0].Label != nil {
		t.Errorf("regression: task %s loss %v accuracy %v label %v", p.Task, p.Loss, p.Accuracy, p.Predictions[0].Label)
	}
	so, _, _ := runCLI("predict", file, "--weights", filepath.Join(out, "weights.json"))
	if !strings.HasPrefix(so, "# index\toutput\n") || strings.Contains(so, "accuracy") {
		t.Errorf("regression text output:\n%s", so)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
