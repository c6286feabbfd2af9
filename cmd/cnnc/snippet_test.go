package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// docSnippet returns the Python script of docs/cli.md (the ```python block).
func docSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "```python\n")
	if i < 0 {
		t.Fatal("docs/cli.md has no ```python block")
	}
	s = s[i+len("```python\n"):]
	j := strings.Index(s, "```")
	if j < 0 {
		t.Fatal("unterminated ```python block in docs/cli.md")
	}
	return s[:j]
}

// TestPredictSnippetInTorch runs the PyTorch script of docs/cli.md ("predict.py")
// on raw inputs with weights.json alone, for several architectures (FC ReLU with
// standardised inputs and class labels, gated ReLU, CNN with global average
// pooling, CNN with windowed max pooling, circular linear CNN), and checks its
// outputs against `cnnc predict --json` to 1e-9 and its labels exactly.
func TestPredictSnippetInTorch(t *testing.T) {
	if err := exec.Command(conictest.Python, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch is not importable by %s (apt-get install -y python3-torch): the docs snippet is not run", conictest.Python)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "predict.py")
	if err := os.WriteFile(script, []byte(docSnippet(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	writeClassData(t, filepath.Join(dir, "train.csv"), 60, 1)
	writeClassData(t, filepath.Join(dir, "test.csv"), 30, 2)
	cases := []struct {
		name, src string
		features  int
	}{
		{"fc-standardised", standardised, 3},
		{"fc-gated", strings.Replace(strings.Replace(standardised, "    relu\n", "    gated\n", 1), "patterns sample 60 seed=2", "patterns sample 20 seed=2", 1), 3},
		{"cnn-gap", "model net {\n    input 1x8\n    conv 3 bias=true\n    relu\n    avgpool global\n    linear 1\n}\ndata train {\n    synthetic planted n=12 seed=2\n    scale 2\n}\ntrain {\n    patterns sample 20\n}\n", 8},
		{"cnn-maxpool", "model net {\n    input 1x6x6\n    conv 2x2 stride=2\n    relu\n    maxpool 2x2 stride=1\n    linear 1\n}\ndata train {\n    synthetic planted n=10 seed=4\n}\ntrain {\n    beta 1e-2\n    patterns sample 12\n}\n", 36},
		{"circ-linear", "model net {\n    input 1x8\n    circconv\n    linear 1\n}\ndata train {\n    synthetic planted n=10 seed=3\n    standardize\n}\ntrain {\n    beta 1e-1\n}\n", 8},
	}
	// Solve each case and write its raw inputs; then run the script once per case
	// inside one Python process (runpy), so PyTorch is imported once.
	type run struct {
		name, weights, raw, out string
		want                    predictOut
	}
	var runs []run
	for _, c := range cases {
		file := filepath.Join(dir, c.name+".cnn")
		os.WriteFile(file, []byte(c.src), 0o644)
		out := filepath.Join(dir, c.name+".out")
		if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK && code != exitNotSolved {
			t.Fatalf("%s: solve: exit %d\n%s%s", c.name, code, so, se)
		}
		weights := filepath.Join(out, "weights.json")
		// Raw inputs: deterministic values on the scale of the data.
		var raw strings.Builder
		for i := 0; i < 7; i++ {
			for j := 0; j < c.features; j++ {
				if j > 0 {
					raw.WriteByte(',')
				}
				v := math.Sin(float64(3*i+7*j+1)) * 2
				if c.features == 3 {
					v = []float64{10, -4, 0}[j] + 3*v
				}
				fmt.Fprintf(&raw, "%.17g", v)
			}
			raw.WriteByte('\n')
		}
		rawPath := filepath.Join(dir, c.name+".csv")
		os.WriteFile(rawPath, []byte(raw.String()), 0o644)
		runs = append(runs, run{name: c.name, weights: weights, raw: rawPath, out: filepath.Join(dir, c.name+".torch"),
			want: predictJSON(t, file, "--weights", weights, "--data", rawPath+",label=none")})
	}
	var driver strings.Builder
	driver.WriteString("import contextlib, runpy, sys\n")
	for _, r := range runs {
		fmt.Fprintf(&driver, "sys.argv = [%q, %q, %q]\nwith open(%q, 'w') as f, contextlib.redirect_stdout(f):\n    runpy.run_path(%q, run_name='__main__')\n",
			script, r.weights, r.raw, r.out, script)
	}
	drv := filepath.Join(dir, "driver.py")
	os.WriteFile(drv, []byte(driver.String()), 0o644)
	if out, err := exec.Command(conictest.Python, drv).CombinedOutput(); err != nil {
		t.Fatalf("python3 predict.py: %v\n%s", err, out)
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			stdout, err := os.ReadFile(r.out)
			if err != nil {
				t.Fatal(err)
			}
			want := r.want
			sc := bufio.NewScanner(strings.NewReader(string(stdout)))
			i := 0
			for sc.Scan() {
				var got struct {
					Index  int       `json:"index"`
					Label  *float64  `json:"label"`
					Output []float64 `json:"output"`
				}
				if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
					t.Fatalf("line %d of the script's output: %v: %s", i, err, sc.Text())
				}
				w := want.Predictions[i]
				for k := range w.Output {
					if d := math.Abs(got.Output[k] - w.Output[k]); d > 1e-9*math.Max(1, math.Abs(w.Output[k])) {
						t.Errorf("sample %d output %d: torch %.15g, cnnc predict %.15g", i, k, got.Output[k], w.Output[k])
					}
				}
				if (got.Label == nil) != (w.Label == nil) || got.Label != nil && *got.Label != *w.Label {
					t.Errorf("sample %d: torch label %v, cnnc predict %v", i, fmtPtr(got.Label), fmtPtr(w.Label))
				}
				i++
			}
			if i != want.Samples || i != 7 {
				t.Fatalf("the script printed %d predictions, cnnc predict %d, inputs 7", i, want.Samples)
			}
		})
	}
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
