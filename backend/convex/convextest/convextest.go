// Package convextest holds test helpers for code that produces or solves template
// programs (convex.Program with families only): an independent reference solver,
// CVXOPT run on the program's own data through an embedded Python script
// (cvxopt_program.py: squared and hinge loss as CVXOPT cone programs, logistic loss
// as the nonlinear objective of cvxopt.solvers.cp, which has no exponential cone).
//
// It is imported only from _test.go files. SolveCVXOPT skips the calling test when
// /usr/bin/python3 or its cvxopt and numpy modules are missing, so `go test ./...`
// passes with only Go installed.
package convextest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// Python is the interpreter the reference script runs with.
const Python = "/usr/bin/python3"

//go:embed cvxopt_program.py
var script []byte

// Result is CVXOPT's answer: its status ("optimal", "unknown", "error", …), the
// program's objective at its point (evaluated in the script from the point, on cnnc's
// scale) and the tolerance it met.
type Result struct {
	Status    string
	Objective float64
	Tolerance float64
	Message   string
}

func rows(m *mat.Dense) [][]float64 {
	if m == nil {
		return nil
	}
	r, _ := m.Dims()
	out := make([][]float64, r)
	for i := range out {
		out[i] = mat.Row(nil, i, m)
	}
	return out
}

// SolveCVXOPT solves the template program p with CVXOPT. It returns ok = false after
// t.Skip when python3, numpy or cvxopt is missing; a script failure fails the test.
func SolveCVXOPT(t testing.TB, p *convex.Program) (Result, bool) {
	t.Helper()
	if _, err := os.Stat(Python); err != nil {
		t.Skip("/usr/bin/python3 not found (apt-get install -y python3 python3-numpy python3-cvxopt)")
		return Result{}, false
	}
	if err := exec.Command(Python, "-c", "import numpy, cvxopt").Run(); err != nil {
		t.Skip("python3-cvxopt or python3-numpy not installed (apt-get install -y python3-numpy python3-cvxopt)")
		return Result{}, false
	}
	type famJSON struct {
		H          int           `json:"H"`
		A          [][]float64   `json:"A"`
		Sample     []int         `json:"sample"`
		Weight     [][]float64   `json:"weight"`
		C          [][]float64   `json:"C"`
		Sign       [][]float64   `json:"sign"`
		Signs      []float64     `json:"signs"`
		Maps       [][][]float64 `json:"maps"`
		MapWeights []float64     `json:"map_weights"`
	}
	in := map[string]any{"n": p.N, "y": p.Y, "beta": p.Beta, "bias": p.OutputBias, "loss": p.Loss}
	var fs []famJSON
	for _, f := range p.Families {
		fj := famJSON{H: f.H, A: rows(f.A), Sample: f.Sample, Weight: rows(f.Weight.Dense()), C: rows(f.C), Signs: f.Signs}
		if f.Sign != nil {
			fj.Sign = rows(f.Sign.Dense())
		}
		if f.Cost.Kind == convex.CostMaps {
			for _, T := range f.Cost.Maps {
				fj.Maps = append(fj.Maps, rows(T))
			}
			fj.MapWeights = f.Cost.Weights
		}
		fs = append(fs, fj)
	}
	in["families"] = fs
	dir := t.TempDir()
	inPath, outPath, sp := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json"), filepath.Join(dir, "cvxopt_program.py")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if dump := os.Getenv("CNNC_CONVEXTEST_DUMP"); dump != "" {
		// debugging aid: keep the reference's input (run the script by hand on it)
		_ = os.WriteFile(dump, b, 0o644)
	}
	if err := os.WriteFile(sp, script, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, sp, inPath, outPath)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("convextest: %s %s: %v\n%s", Python, sp, err, stderr.String())
	}
	var w struct {
		Status    string   `json:"status"`
		Objective *float64 `json:"objective"`
		Tolerance float64  `json:"tolerance"`
		Message   string   `json:"message"`
	}
	out, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatalf("convextest: reading CVXOPT's answer: %v\n%s", err, out)
	}
	r := Result{Status: w.Status, Tolerance: w.Tolerance, Message: w.Message}
	if w.Objective != nil {
		r.Objective = *w.Objective
	}
	return r, true
}
