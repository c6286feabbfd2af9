package group

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

const python = "/usr/bin/python3"

// needCVXOPT skips the test unless /usr/bin/python3 with numpy and cvxopt is present.
func needCVXOPT(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skip("/usr/bin/python3 not found (apt-get install -y python3 python3-numpy python3-cvxopt)")
	}
	if err := exec.Command(python, "-c", "import numpy, cvxopt").Run(); err != nil {
		t.Skip("python3-cvxopt or python3-numpy not installed (apt-get install -y python3-numpy python3-cvxopt)")
	}
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

// cvxoptObjective solves p with testdata/socp_cvxopt.py and returns its optimal value.
func cvxoptObjective(t *testing.T, p *convex.Program) (float64, error) {
	type famJSON struct {
		H      int           `json:"H"`
		A      [][]float64   `json:"A"`
		Sample []int         `json:"sample"`
		Weight [][]float64   `json:"weight"`
		C      [][]float64   `json:"C"`
		Sign   [][]float64   `json:"sign"`
		Signs  []float64     `json:"signs"`
		Maps   [][][]float64 `json:"maps,omitempty"`
		Wts    []float64     `json:"weights,omitempty"`
	}
	in := map[string]any{"n": p.N, "y": p.Y, "beta": p.Beta, "bias": p.OutputBias}
	var fs []famJSON
	for _, f := range p.Families {
		fj := famJSON{H: f.H, A: rows(f.A), Sample: f.Sample, Weight: rows(f.Weight.Dense()), C: rows(f.C), Sign: rows(f.Sign.Dense()), Signs: f.Signs}
		if f.Cost.Kind == convex.CostMaps {
			for _, T := range f.Cost.Maps {
				fj.Maps = append(fj.Maps, rows(T))
			}
			fj.Wts = f.Cost.Weights
		}
		fs = append(fs, fj)
	}
	in["families"] = fs
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	b, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(inPath, b, 0o644); err != nil {
		return 0, err
	}
	cmd := exec.Command(python, "testdata/socp_cvxopt.py", inPath, outPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cvxopt script: %v\n%s", err, out)
	}
	var res struct {
		Status    string  `json:"status"`
		Objective float64 `json:"objective"`
	}
	b, err = os.ReadFile(outPath)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, err
	}
	if res.Status != "optimal" {
		return 0, fmt.Errorf("cvxopt status %q", res.Status)
	}
	return res.Objective, nil
}
