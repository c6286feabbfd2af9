// Package conictest holds test helpers for code that produces or consumes
// conic.Problem values: an independent reference solver (CVXOPT, run through an
// embedded Python script) and generators of random conic programs.
//
// Input: a *conic.Problem. Output: the external solver's Result (status,
// objective on the user scale, primal x, dual y and slack s in SCS conventions),
// or a random Problem. It sits beside backend/conic and is imported only from
// _test.go files: by the native solver's conformance tests, by the exporters'
// round-trip tests and by the compiler's end-to-end checks.
//
// SolveCVXOPT skips the calling test (t.Skip) when /usr/bin/python3 or its
// cvxopt module is missing, so `go test ./...` passes with only Go installed.
package conictest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// Python is the interpreter the reference scripts run with.
const Python = "/usr/bin/python3"

//go:embed cvxopt_solve.py
var cvxoptScript []byte

// Script returns the text of cvxopt_solve.py, the converter and CVXOPT driver
// (also runnable by hand: python3 cvxopt_solve.py problem.json).
func Script() []byte { return append([]byte(nil), cvxoptScript...) }

// Result is CVXOPT's answer, converted back to SCS conventions:
// Px + Aᵀy + c = 0, y ∈ K*, s = b − Ax ∈ K, PSD parts in svec (off-diagonals ×√2).
type Result struct {
	// Status is CVXOPT's: "optimal", "primal infeasible", "dual infeasible",
	// "unknown" (stopped without meeting its tolerances), or "error" (CVXOPT
	// raised, e.g. rank-deficient equalities; see Message).
	Status  string
	Message string
	// Objective is on the user scale: ObjScale·(cᵀx + ½xᵀPx) + ObjOffset.
	Objective float64
	// RawObjective is cᵀx + ½xᵀPx; DualObjective is CVXOPT's dual objective
	// (same scale as RawObjective).
	RawObjective  float64
	DualObjective float64
	X             []float64
	Y             []float64
	S             []float64
	Iterations    int
	// Tolerance is the abstol = reltol = feastol CVXOPT ran with: 1e-9, or
	// 1e-8 / 1e-7 when it failed numerically or ended "unknown" at the tighter ones.
	Tolerance    float64
	Gap          float64
	RelativeGap  float64
	PrimalInfeas float64
	DualInfeas   float64
	// Residuals are set when the status was "unknown" and the point could be
	// judged (see Judge and AcceptTol).
	Residuals *Residuals
}

var (
	haveOnce sync.Once
	haveErr  error
)

// Available reports whether /usr/bin/python3 with cvxopt can be run; the error
// says what is missing and how to get it.
func Available() error {
	haveOnce.Do(func() {
		if _, err := os.Stat(Python); err != nil {
			haveErr = fmt.Errorf("%s not found (apt-get install -y python3 python3-cvxopt)", Python)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, Python, "-c", "import cvxopt").CombinedOutput(); err != nil {
			haveErr = fmt.Errorf("python3-cvxopt not installed (apt-get install -y python3-cvxopt): %s", strings.TrimSpace(string(out)))
		}
	})
	return haveErr
}

// SolveCVXOPT solves p with CVXOPT (abstol = reltol = feastol = 1e-9, looser
// only if CVXOPT fails numerically; see Result.Tolerance).
// It returns ok = false after calling t.Skip when python3/cvxopt is missing or
// when p has a cone CVXOPT lacks (box, complex PSD, exponential, power). A
// script or interpreter failure fails the test. A run CVXOPT ended with status
// "unknown" is judged by the residuals of its point (Judge): when they are all at
// most AcceptTol the status becomes "optimal" (Message says so); other statuses
// are returned as CVXOPT gave them, for the caller to decide.
func SolveCVXOPT(t testing.TB, p *conic.Problem) (Result, bool) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err.Error())
		return Result{}, false
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := conic.WriteJSON(&buf, p); err != nil {
		t.Fatalf("conictest: writing the problem as JSON: %v", err)
	}
	prob := filepath.Join(dir, "problem.json")
	script := filepath.Join(dir, "cvxopt_solve.py")
	if err := os.WriteFile(prob, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, cvxoptScript, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, script, prob)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conictest: %s %s: %v\n%s", Python, script, err, stderr.String())
	}
	r, err := parseResult(stdout.Bytes())
	if err != nil {
		t.Fatalf("conictest: reading CVXOPT's answer: %v\n%s", err, stdout.String())
	}
	if r.Status == "unsupported" {
		t.Skipf("CVXOPT cannot solve this problem: %s", r.Message)
		return r, false
	}
	if r.Status == "unknown" && r.X != nil {
		// CVXOPT stopped short of its own targets (e.g. a singular KKT
		// system near the optimum); its last point may still be optimal to a
		// tolerance the callers need. Judge it by its residuals, not the status.
		if res, err := Judge(p, r); err == nil {
			r.Residuals = &res
			if res.Max() <= AcceptTol {
				r.Status = "optimal"
				r.Message = fmt.Sprintf("CVXOPT status unknown after %d iterations; its point is accepted by its own residuals (%s ≤ %g)", r.Iterations, res, AcceptTol)
				t.Log("conictest: " + r.Message)
			} else {
				r.Message = fmt.Sprintf("CVXOPT status unknown after %d iterations; residuals %s", r.Iterations, res)
			}
		}
	}
	return r, true
}

func parseResult(data []byte) (Result, error) {
	// The wire form: numbers may be null (e.g. no x for an infeasible problem).
	var w struct {
		Status        string    `json:"status"`
		Message       string    `json:"message"`
		Objective     *float64  `json:"objective"`
		RawObjective  *float64  `json:"raw_objective"`
		DualObjective *float64  `json:"dual_objective"`
		X             []float64 `json:"x"`
		Y             []float64 `json:"y"`
		S             []float64 `json:"s"`
		Iterations    *int      `json:"iterations"`
		Tolerance     *float64  `json:"tolerance"`
		Gap           *float64  `json:"gap"`
		RelativeGap   *float64  `json:"relative_gap"`
		PrimalInfeas  *float64  `json:"primal_infeasibility"`
		DualInfeas    *float64  `json:"dual_infeasibility"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Result{}, err
	}
	get := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	r := Result{
		Status: w.Status, Message: w.Message,
		Objective: get(w.Objective), RawObjective: get(w.RawObjective), DualObjective: get(w.DualObjective),
		X: w.X, Y: w.Y, S: w.S,
		Tolerance: get(w.Tolerance), Gap: get(w.Gap), RelativeGap: get(w.RelativeGap), PrimalInfeas: get(w.PrimalInfeas), DualInfeas: get(w.DualInfeas),
	}
	if w.Iterations != nil {
		r.Iterations = *w.Iterations
	}
	if r.Status == "" {
		return r, fmt.Errorf("no status in the answer")
	}
	return r, nil
}
