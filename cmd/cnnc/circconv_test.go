package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// circconvSnippet returns the circconv.py block of docs/cli.md.
func circconvSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const open = "```python\n# circconv.py"
	i := strings.Index(s, open)
	if i < 0 {
		t.Fatal("docs/cli.md has no ```python block starting with # circconv.py")
	}
	s = s[i+len("```python\n"):]
	j := strings.Index(s, "```")
	if j < 0 {
		t.Fatal("unterminated circconv.py block in docs/cli.md")
	}
	return s[:j]
}

// circconvDriver builds the network of weights.json in PyTorch with each circconv
// form and prints the outputs of every form as one JSON object. The forms: the
// three of docs/cli.md's circconv.py, the "cross-correlation from i" form with the
// documented shift (w⁺ = roll(W̄, −left)), and the same without the shift (W read as
// w⁺), which must not match.
const circconvDriver = `
import json, runpy, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
script, cases = sys.argv[1], json.loads(sys.argv[2])
ns = runpy.run_path(script)

def full(W, d):
    return F.pad(W, (0, d - W.shape[2]))

def from_i(x, w, b):
    return F.conv1d(F.pad(x, (0, x.shape[2] - 1), mode="circular"), w, b)

forms = {
    "module": lambda x, W, b: ns["circconv_module"](W, b)(x),
    "pad": ns["circconv_pad"],
    "textbook": ns["circconv_textbook"],
    "shifted": lambda x, W, b: from_i(x, torch.roll(full(W, x.shape[2]), -((W.shape[2] - 1) // 2), 2), b),
    "unshifted": lambda x, W, b: from_i(x, full(W, x.shape[2]), b),
}

def run(weights, spec):
    W = json.load(open(weights))
    layers = W["layers"]
    T = {t["name"]: torch.tensor(t["data"]).reshape(t["shape"]) for t in W["tensors"]}
    if "csv" in spec:
        X = np.loadtxt(spec["csv"], delimiter=",", ndmin=2)[:, :-1]
    else:
        X = np.load(spec["npy"])
    X = torch.tensor(X[: spec.get("limit", len(X))], dtype=torch.float64)
    pp = W.get("preprocess") or {}
    if "scale" in pp:
        X = X * pp["scale"]
    if "mean" in pp:
        X = (X - torch.tensor(pp["mean"])) / torch.tensor(pp["std"])
    X = X.reshape([-1] + layers[0]["shape"])

    def net(x, conv):
        for k, l in enumerate(layers[1:], start=1):
            w, b = T.get("L%d.weight" % k), T.get("L%d.bias" % k)
            if l["type"] == "circconv":
                x = conv(x, w, b)
            elif l["type"] == "linear":
                x = x.flatten(1) @ w.T + (0 if b is None else b)
            elif l["type"] == "relu":
                x = torch.relu(x)
            elif l["type"] == "flatten":
                x = x.flatten(1)
            else:
                raise SystemExit("layer type %s is not handled by this test" % l["type"])
        return x

    with torch.no_grad():
        out = {name: net(X, f).reshape(X.shape[0], -1).tolist() for name, f in forms.items()}
    return out

json.dump([run(w, spec) for w, spec in cases], sys.stdout)
`

// TestCircconvConventionTorch is the acceptance check of the documented circconv
// convention (docs/cli.md, "The circconv convention"): on shipped circular examples
// (examples/circular_signal.cnn, examples/signals_circ.cnn; with CNNC_LONG=1 also the
// three-layer examples/circ3_signals.cnn), the recovered network built in PyTorch
// from weights.json with each documented form of the layer — the padding='same'
// circular module, explicit circular padding, the textbook circular convolution with
// u = roll(flip(W̄), left + 1), and the cross-correlation from i with w⁺ = roll(W̄,
// −left) — reproduces `cnnc predict --json` on the training inputs to 1e-9, while
// reading W as w⁺ without the shift does not.
func TestCircconvConventionTorch(t *testing.T) {
	if err := exec.Command(conictest.Python, "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("PyTorch or NumPy is not importable by %s (apt-get install -y python3-torch): the circconv convention is not checked against PyTorch", conictest.Python)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "circconv.py")
	driver := filepath.Join(dir, "driver.py")
	os.WriteFile(script, []byte(circconvSnippet(t)), 0o644)
	os.WriteFile(driver, []byte(circconvDriver), 0o644)
	ex := filepath.Join("..", "..", "examples")
	cases := []struct {
		name string
		spec map[string]any
		long bool
	}{
		{"circular_signal", map[string]any{"csv": filepath.Join(ex, "data", "circular_signal.csv")}, false},
		{"signals_circ", map[string]any{"npy": filepath.Join(ex, "data", "signals_X.npy"), "limit": 24}, false},
		{"circ3_signals", map[string]any{"csv": filepath.Join(ex, "data", "circ3_signals.csv")}, true},
	}
	type run struct {
		name string
		want predictOut
	}
	var runs []run
	var args [][2]any
	for _, c := range cases {
		if c.long && os.Getenv("CNNC_LONG") == "" {
			t.Logf("%s: CNNC_LONG=1 runs this example (its solve takes tens of seconds)", c.name)
			continue
		}
		file := filepath.Join(ex, c.name+".cnn")
		out := filepath.Join(dir, c.name+".out")
		if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK && code != exitNotSolved {
			t.Fatalf("%s: solve: exit %d\n%s%s", c.name, code, so, se)
		}
		weights := filepath.Join(out, "weights.json")
		runs = append(runs, run{c.name, predictJSON(t, file, "--weights", weights, "--set", "train")})
		args = append(args, [2]any{weights, c.spec})
	}
	spec, _ := json.Marshal(args)
	stdout, err := exec.Command(conictest.Python, driver, script, string(spec)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 driver: %v\n%s", err, stderr)
	}
	var results []map[string][][]float64
	if err := json.Unmarshal(stdout, &results); err != nil || len(results) != len(runs) {
		t.Fatalf("driver output (%d results for %d examples): %v\n%s", len(results), len(runs), err, stdout)
	}
	for n, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			want, got := r.want, results[n]
			for _, form := range []string{"module", "pad", "textbook", "shifted", "unshifted"} {
				rows := got[form]
				if len(rows) != want.Samples || want.Samples == 0 {
					t.Fatalf("%s: %d outputs, cnnc predict %d", form, len(rows), want.Samples)
				}
				worst := 0.0
				for i, r := range rows {
					for k, v := range r {
						w := want.Predictions[i].Output[k]
						worst = math.Max(worst, math.Abs(v-w)/math.Max(1, math.Abs(w)))
					}
				}
				switch {
				case form == "unshifted" && worst < 1e-3:
					t.Errorf("%s: reading W as the cross-correlation kernel without the shift matches cnnc to %.2g; the documented shift would be wrong", form, worst)
				case form != "unshifted" && worst > 1e-9:
					t.Errorf("%s: PyTorch differs from cnnc predict by %.3g relative (want ≤ 1e-9)", form, worst)
				default:
					t.Logf("%s: largest relative difference from cnnc predict %.2g", form, worst)
				}
			}
		})
	}
}
