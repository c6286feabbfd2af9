package cnnc

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestAdaptiveReport: a `patterns adaptive` solve writes report.json's "adaptive"
// object — rounds, patterns added per round (summing to the total), the search
// effort, ρ and (the search being exhaustive here) the global bound, why the loop stopped, the time split and one log entry per search whose
// objectives never increase and whose first entry has the program's starting size —
// and the summary prints it; another mode writes no such object.
func TestAdaptiveReport(t *testing.T) {
	src := func(patterns string) []byte {
		return []byte("model m {\n    input 2\n    linear auto bias=true\n    relu\n    linear 1\n}\n" +
			"data train {\n    synthetic spiral n=30 seed=1 noise=0.05\n    standardize\n}\n" +
			"train {\n    beta 1e-2\n    patterns " + patterns + "\n}\n")
	}
	p, err := Parse("adaptive.cnn", src("adaptive start=4 max=200 seed=2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Solve(SolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.Report.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var rj struct {
		Patterns int `json:"patterns"`
		Adaptive *struct {
			Rounds        int      `json:"rounds"`
			Added         int      `json:"added"`
			Seeded        int      `json:"seeded"`
			AddedPerRound []int    `json:"added_per_round"`
			Evaluations   int      `json:"search_evaluations"`
			Ratio         *float64 `json:"ratio"`
			Exhaustive    bool     `json:"exhaustive"`
			BestBound     *float64 `json:"best_bound"`
			Stopped       string   `json:"stopped"`
			Seconds       map[string]float64
			Log           []struct {
				Patterns  int     `json:"patterns"`
				Objective float64 `json:"objective"`
				Added     int     `json:"added"`
			} `json:"log"`
		} `json:"adaptive"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rj); err != nil {
		t.Fatal(err)
	}
	a := rj.Adaptive
	if a == nil || a.Rounds == 0 || len(a.AddedPerRound) != a.Rounds || a.Ratio == nil || a.Stopped == "" || len(a.Log) < a.Rounds {
		t.Fatalf("adaptive report: %s", buf.String())
	}
	// 30 samples in 2-D: the arrangement is enumerated, so the search is exhaustive
	// and the bound global
	if !a.Exhaustive || a.BestBound == nil {
		t.Errorf("exhaustive %v, best bound %v", a.Exhaustive, a.BestBound)
	}
	sum := 0
	for _, k := range a.AddedPerRound {
		sum += k
	}
	if sum != a.Added || a.Log[0].Patterns+a.Added != rj.Patterns {
		t.Errorf("added %d (per round %v), seeded %d, first log %d patterns, program %d", a.Added, a.AddedPerRound, a.Seeded, a.Log[0].Patterns, rj.Patterns)
	}
	for _, k := range []string{"seed", "search", "certificate", "local_search", "prune", "solve"} {
		if _, ok := a.Seconds[k]; !ok {
			t.Errorf("seconds.%s missing", k)
		}
	}
	for i := 1; i < len(a.Log); i++ {
		if a.Log[i].Objective > a.Log[i-1].Objective*(1+1e-7) {
			t.Errorf("log %d: objective %.10g above %.10g", i, a.Log[i].Objective, a.Log[i-1].Objective)
		}
	}
	var sum2 bytes.Buffer
	res.Report.WriteSummary(&sum2)
	if !strings.Contains(sum2.String(), "adaptive    ") || !strings.Contains(sum2.String(), "ρ ") {
		t.Errorf("summary without the adaptive lines:\n%s", sum2.String())
	}
	p2, err := Parse("sample.cnn", src("sample 20 seed=2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := p2.Solve(SolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	res2.Report.Write(&buf)
	if strings.Contains(buf.String(), `"adaptive"`) {
		t.Error("a sampled solve wrote an adaptive object")
	}
}

// TestTrainAccuracyReusesPrediction: the report's training loss and accuracy, taken
// from the forward pass behind the non-convex objective, equal those of an
// independent Predict on the training data, and that forward pass is the network's
// (bit for bit).
func TestTrainAccuracyReusesPrediction(t *testing.T) {
	src := []byte("model m {\n    input 2\n    linear auto bias=true\n    relu\n    linear 1\n}\n" +
		"data train {\n    synthetic spiral n=30 seed=1 noise=0.05\n    standardize\n}\n" +
		"train {\n    beta 1e-2\n    patterns sample 40 seed=2\n}\n")
	p, err := Parse("acc.cnn", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Solve(SolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y := res.Outcome.TrainPrediction
	if y == nil {
		t.Fatal("no training prediction kept")
	}
	pr, err := Predict(p.Model, res.Weights, p.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(y, pr.Outputs) {
		t.Error("the kept training prediction differs from a fresh forward pass")
	}
	r := res.Report
	if r.TrainAccuracy == nil || pr.Accuracy == nil || *r.TrainAccuracy != *pr.Accuracy {
		t.Errorf("train accuracy %v in the report, %v from Predict", r.TrainAccuracy, pr.Accuracy)
	}
	if r.TrainLoss == nil || pr.Loss == nil || math.Abs(*r.TrainLoss-*pr.Loss) > 1e-12*math.Max(1, *pr.Loss) {
		t.Errorf("train loss %v in the report, %v from Predict", r.TrainLoss, pr.Loss)
	}
}
