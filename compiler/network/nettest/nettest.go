// Package nettest is a test helper: it evaluates a recovered network (network.Weights)
// with PyTorch, independently of cnnc, so that tests can check Forward and Objective —
// and the convex solvers they certify — against an outside implementation.
//
// It writes weights.json (network.Weights.Write) and the data (data.json: X and Y as
// JSON arrays, floats in shortest exact form) to a temporary folder and runs the
// embedded script torch_eval.py with /usr/bin/python3. The script builds a
// torch.nn.Sequential from weights.json alone, in float64 (see its doc string; it is
// also runnable by hand: python3 torch_eval.py weights.json data.json). When python3 or
// torch is missing the calling test is skipped with a message saying how to get it.
//
// Pipeline position: test-only, downstream of compiler/network.
package nettest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

//go:embed torch_eval.py
var script []byte

// Script returns the embedded torch_eval.py.
func Script() []byte { return append([]byte(nil), script...) }

// Python is the interpreter TorchEval runs.
const Python = "/usr/bin/python3"

// SkipMessage is the reason given when PyTorch is not available.
const SkipMessage = "python3-torch not installed (apt-get install -y python3-torch)"

// Timeout bounds one run of the script.
var Timeout = 10 * time.Minute

var missing struct {
	sync.Mutex
	why string
}

// Case is one network and data set to evaluate. Model may be nil; Y may be nil (then
// only predictions and the penalty are computed).
type Case struct {
	Model   *ir.Model
	Weights *network.Weights
	X, Y    *mat.Dense
}

// Result is PyTorch's evaluation of a Case: predictions n × out, and the objective on
// the docs/language.md scale (Loss and Objective are NaN when the case has no Y).
type Result struct {
	Pred                     *mat.Dense
	Loss, Penalty, Objective float64
}

// TorchEval evaluates one network with PyTorch: predictions and loss + (β/2)·Σ
// penalties. It skips the test when python3 or torch is missing; ok is false (and the
// test already marked failed) when the evaluation itself fails.
func TorchEval(t testing.TB, m *ir.Model, w *network.Weights, X, Y *mat.Dense) (pred *mat.Dense, obj float64, ok bool) {
	t.Helper()
	res, ok := TorchEvalAll(t, []Case{{Model: m, Weights: w, X: X, Y: Y}})
	if !ok {
		return nil, math.NaN(), false
	}
	return res[0].Pred, res[0].Objective, true
}

// TorchEvalAll evaluates several cases in one Python process (importing torch costs
// about a second, so batch where you can). Skips and failures as TorchEval.
func TorchEvalAll(t testing.TB, cases []Case) ([]Result, bool) {
	t.Helper()
	missing.Lock()
	why := missing.why
	missing.Unlock()
	if why != "" {
		t.Skip(why)
	}
	if _, err := os.Stat(Python); err != nil {
		skip(t, SkipMessage+": "+Python+" not found")
	}
	dir := t.TempDir()
	sp := filepath.Join(dir, "torch_eval.py")
	if err := os.WriteFile(sp, script, 0o644); err != nil {
		t.Errorf("nettest: %v", err)
		return nil, false
	}
	args := []string{sp}
	for i, c := range cases {
		if c.Model != nil {
			if err := c.Weights.CheckModel(c.Model); err != nil {
				t.Errorf("nettest: case %d: %v", i, err)
				return nil, false
			}
		}
		wp := filepath.Join(dir, fmt.Sprintf("weights%d.json", i))
		dp := filepath.Join(dir, fmt.Sprintf("data%d.json", i))
		var wb bytes.Buffer
		if err := c.Weights.Write(&wb); err != nil {
			t.Errorf("nettest: case %d: %v", i, err)
			return nil, false
		}
		if err := os.WriteFile(wp, wb.Bytes(), 0o644); err != nil {
			t.Errorf("nettest: %v", err)
			return nil, false
		}
		if err := os.WriteFile(dp, dataJSON(c.X, c.Y), 0o644); err != nil {
			t.Errorf("nettest: %v", err)
			return nil, false
		}
		args = append(args, wp, dp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 && bytes.Contains(stderr.Bytes(), []byte("cnnc-torch-missing")) {
		skip(t, SkipMessage+": "+string(bytes.TrimSpace(stderr.Bytes())))
	}
	if err != nil {
		t.Errorf("nettest: %s torch_eval.py: %v\n%s\n(the inputs are in %s)", Python, err, stderr.Bytes(), dir)
		return nil, false
	}
	var raw []struct {
		Pred      [][]float64 `json:"pred"`
		Loss      *float64    `json:"loss"`
		Penalty   float64     `json:"penalty"`
		Objective *float64    `json:"objective"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil || len(raw) != len(cases) {
		t.Errorf("nettest: cannot read torch_eval.py's output (%v, %d results for %d cases):\n%.2000s", err, len(raw), len(cases), stdout.Bytes())
		return nil, false
	}
	res := make([]Result, len(cases))
	for i, r := range raw {
		n := len(r.Pred)
		if n == 0 {
			t.Errorf("nettest: case %d: no predictions", i)
			return nil, false
		}
		P := mat.NewDense(n, len(r.Pred[0]), nil)
		for k, row := range r.Pred {
			copy(P.RawRowView(k), row)
		}
		res[i] = Result{Pred: P, Penalty: r.Penalty, Loss: math.NaN(), Objective: math.NaN()}
		if r.Loss != nil && r.Objective != nil {
			res[i].Loss, res[i].Objective = *r.Loss, *r.Objective
		}
	}
	return res, true
}

func skip(t testing.TB, why string) {
	t.Helper()
	missing.Lock()
	missing.why = why
	missing.Unlock()
	t.Skip(why)
}

// dataJSON is {"X": rows, "Y": rows or null} with exact float text.
func dataJSON(X, Y *mat.Dense) []byte {
	var b bytes.Buffer
	rows := func(M *mat.Dense) {
		if M == nil {
			b.WriteString("null")
			return
		}
		r, _ := M.Dims()
		b.WriteByte('[')
		for i := 0; i < r; i++ {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteByte('[')
			for k, v := range M.RawRowView(i) {
				if k > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	}
	b.WriteString(`{"X": `)
	rows(X)
	b.WriteString(",\n\"Y\": ")
	rows(Y)
	b.WriteString("}\n")
	return b.Bytes()
}
