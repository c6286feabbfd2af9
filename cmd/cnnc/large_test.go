package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// largeFC has more samples than pattern coordinates (20000 > 300·3), so auto picks
// the large solver's IPM; its Gram pass and IPM take longer than the time limit of
// TestLargeTimeLimit on this machine.
const largeFC = `model net {
    input 2
    linear auto bias=true
    relu
    linear 1
}

data train {
    synthetic spiral n=20000 seed=1 noise=0.05
}

train {
    beta 1e-4
    patterns sample 300 seed=1
    solver native tol=1e-9
}
`

// TestLargeTimeLimit: `cnnc solve --time-limit` stopping the large solver mid-solve
// writes report.json and weights.json (exit 3) with status time_limit, the large
// solver named, and a certified bound not above the recovered network's objective
// (computed from weights.json by the pipeline).
func TestLargeTimeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a solve of several seconds")
	}
	dir := t.TempDir()
	file := write(t, dir, "large.cnn", largeFC)
	out := filepath.Join(dir, "tl")
	r := cli(t, dir, "solve", file, "-o", out, "-q", "--time-limit", "3s")
	if r.code == exitOK {
		t.Skip("the solve ended before the time limit")
	}
	if r.code != exitNotSolved {
		t.Fatalf("--time-limit: exit %d\n%s", r.code, clipText(r.stderr))
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	if rep["status"] != "time_limit" {
		t.Fatalf("status %v", rep["status"])
	}
	if s, _ := rep["solver"].(string); !strings.HasPrefix(s, "native large") {
		t.Errorf("solver %v, want the large solver", rep["solver"])
	}
	nc := number(t, rep, "nonconvex_objective")
	if d, ok := rep["dual_objective"].(float64); !ok || d > nc*(1+1e-9) {
		t.Errorf("certified bound %v, recovered objective %v", rep["dual_objective"], nc)
	}
	if _, err := os.Stat(filepath.Join(out, "weights.json")); err != nil {
		t.Errorf("weights.json: %v", err)
	}
	t.Logf("status %v (CPU %v), objective %v, bound %v", rep["status"], r.cpu, nc, rep["dual_objective"])
}
