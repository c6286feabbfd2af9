package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func solveFileCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(append([]string{"solve-file"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// The worked example of spec/formats.md as a cnnc-conic/1 JSON file:
// minimise −x₁ − x₂ s.t. ‖(x₁, x₂)‖₂ ≤ 1, optimum −√2 (Cauchy–Schwarz); the file sets
// objective_scale 2 and offset 1, so the user objective is 1 − 2√2.
const discJSON = `{"format": "cnnc-conic/1", "objective_offset": 1, "objective_scale": 2,
 "cones": {"z": 0, "l": 0, "q": [3], "s": [], "ep": 0, "ed": 0},
 "m": 3, "n": 2, "b": [1, 0, 0], "c": [-1, -1],
 "A": {"colptr": [0, 1, 2], "rowidx": [1, 2], "values": [-1, -1]}, "P": null}`

// x ≥ 1 and x ≤ 0: infeasible.
const infeasibleJSON = `{"format": "cnnc-conic/1", "objective_offset": 0, "objective_scale": 1,
 "cones": {"z": 0, "l": 2, "q": [], "s": [], "ep": 0, "ed": 0},
 "m": 2, "n": 1, "b": [-1, 0], "c": [1],
 "A": {"colptr": [0, 2], "rowidx": [0, 1], "values": [-1, 1]}, "P": null}`

func writeSolveFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSolveFileJSON(t *testing.T) {
	path := writeSolveFile(t, "disc.json", discJSON)
	out, errs, code := solveFileCLI(path, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	if errs != "" {
		t.Errorf("--quiet printed to stderr: %q", errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"status", "objective", "dual_objective", "iterations", "solve_seconds"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if rep["status"] != "optimal" {
		t.Errorf("status %v", rep["status"])
	}
	if v, _ := rep["objective"].(float64); math.Abs(v+math.Sqrt2) > 1e-6 {
		t.Errorf("objective %v, want −√2", rep["objective"])
	}
	if v, _ := rep["user_objective"].(float64); math.Abs(v-(1-2*math.Sqrt2)) > 1e-6 {
		t.Errorf("user objective %v, want 1 − 2√2", rep["user_objective"])
	}
}

func TestSolveFileText(t *testing.T) {
	path := writeSolveFile(t, "disc.json", discJSON)
	out, errs, code := solveFileCLI(path)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{"status:          optimal", "objective:       -1.41421", "user objective:", "dual objective:", "iterations:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "iter") || !strings.Contains(errs, "status: optimal") {
		t.Errorf("no iteration table on stderr:\n%s", errs)
	}
}

func TestSolveFileExitCodes(t *testing.T) {
	inf := writeSolveFile(t, "inf.json", infeasibleJSON)
	if out, errs, code := solveFileCLI(inf, "--quiet"); code != exitNotSolved || !strings.Contains(out, "infeasible") {
		t.Errorf("infeasible: exit %d, stdout %q, stderr %q; want 3 and status infeasible", code, out, errs)
	}
	garbage := writeSolveFile(t, "garbage.bin", "hello, not a conic program")
	if _, errs, code := solveFileCLI(garbage); code != exitError || !strings.Contains(errs, "garbage.bin") {
		t.Errorf("garbage: exit %d, stderr %q; want 1 naming the file", code, errs)
	}
	if _, _, code := solveFileCLI(filepath.Join(t.TempDir(), "missing")); code != exitError {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	if _, _, code := solveFileCLI(); code != exitUsage {
		t.Errorf("no argument: exit %d, want 2", code)
	}
	if _, _, code := solveFileCLI(inf, "--eps", "-1"); code != exitUsage {
		t.Errorf("--eps -1: exit %d, want 2", code)
	}
	// A complex PSD cone is unsupported: exit 1 with "unsupported cone".
	cs := strings.Replace(discJSON, `"ed": 0}`, `"ed": 0, "cs": [1]}`, 1)
	cs = strings.Replace(cs, `"q": [3]`, `"q": [2]`, 1)
	p := writeSolveFile(t, "cs.json", cs)
	if _, errs, code := solveFileCLI(p, "--quiet"); code != exitError || !strings.Contains(errs, "unsupported cone") {
		t.Errorf("complex PSD: exit %d, stderr %q; want 1 and unsupported cone", code, errs)
	}
}

// TestSolveFileSCS solves an SCS-written file from shared/data/scs (skipped if the
// data folder is absent): mpc_bug1, optimum −0.4739577945 (README).
func TestSolveFileSCS(t *testing.T) {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
	path := filepath.Join(dir, "..", "shared", "data", "scs", "mpc_bug1")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SCS data not found at %s", path)
	}
	out, errs, code := solveFileCLI(path, "--json", "--quiet", "--eps", "1e-7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Status    string  `json:"status"`
		Objective float64 `json:"objective"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "optimal" || math.Abs(rep.Objective+0.4739577945)/0.4739577945 > 1e-4 {
		t.Errorf("got %s %.10g, want optimal −0.4739577945", rep.Status, rep.Objective)
	}
}
