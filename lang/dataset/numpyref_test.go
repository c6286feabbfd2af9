package dataset

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// numpyRef computes the planted targets with NumPy slicing (an independent
// implementation of the windows): for each window position (p, q) the slice
// X[:, :, p·s : p·s+k, q·s : q·s+k], flattened in (C, kh, kw) order, times the
// filter; y_i = Σ_(p,q) c·relu(·). It prints the largest |y − y_ref| and the
// number of windows.
const numpyRef = `
import json, sys
import numpy as np
d = json.load(sys.stdin)
C, H, W = d["shape"]; k = d["kernel"]; s = d["stride"]
X = np.array(d["X"]).reshape(-1, C, H, W)
F = np.array(d["W"]).reshape(-1, C * k * k)
a = np.array([d["c"]])
y = np.zeros(X.shape[0]); count = 0
for p in range((H - k) // s + 1):
    for q in range((W - k) // s + 1):
        patch = X[:, :, p*s:p*s+k, q*s:q*s+k].reshape(X.shape[0], -1)
        y += np.maximum(patch @ F.T, 0) @ a
        count += 1
print(float(np.abs(y - np.array(d["y"])).max()), count)
`

func TestPlantedConvAgainstNumPy(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import numpy").Run(); err != nil {
		t.Skip("python3-numpy not installed (apt-get install -y python3-numpy)")
	}
	shape := ir.Shape{3, 7, 9}
	m := convModel(shape, ir.Conv, []int{3, 3}, []int{2, 2}, []int{0, 0}, &ir.Layer{Kind: ir.Flatten}, fixedOut(0.75))
	ds := loadFor(t, map[string]float64{"n": 30, "seed": 4}, m)
	in, _ := json.Marshal(map[string]any{
		"shape": shape, "kernel": 3, "stride": 2,
		"X": ds.X.RawMatrix().Data, "W": ds.Teacher.Filter, "c": 0.75, "y": ds.Y.RawMatrix().Data,
	})
	cmd := exec.Command("/usr/bin/python3", "-c", numpyRef)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	diff, err1 := strconv.ParseFloat(f[0], 64)
	patches, err2 := strconv.Atoi(f[len(f)-1])
	if err1 != nil || err2 != nil {
		t.Fatalf("python output %q", out)
	}
	// (7−3)/2+1 = 3 rows × (9−3)/2+1 = 4 columns of windows
	if patches != 12 || ds.Teacher.K() != 12 {
		t.Errorf("patches: numpy %d, ours %d, want 12", patches, ds.Teacher.K())
	}
	if diff > 1e-12 {
		t.Errorf("max |y − y_numpy| = %g > 1e-12", diff)
	}
}
