package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportThreeLayerRows runs the export round trip of export_test.go (SCS, JSON,
// CBF and CVXPY files; CVXOPT on the SCS and JSON files against the native pipeline;
// the CVXPY script's own recovery against the Go recovery) on a tiny problem of every
// three-layer row: §8 (circ3), §9b with the path and the group regulariser, and the
// pooled CNN of §9b.7, each with exact patterns — small enough for CVXOPT (the CNN
// row has one signal of length 4: its 3 patches still give mixed second-layer rows).
// The circ3 and path rows always run; the group and CNN rows with CNNC_LONG=1.
func TestExportThreeLayerRows(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	dir := t.TempDir()
	csv := func(name string, n, d int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			for j := 0; j <= d; j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%.17g", rng.NormFloat64())
			}
			b.WriteByte('\n')
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows := []struct{ name, model, data, reg string }{
		{"circ3", "input 1x4\n    circconv branches=auto\n    linear 1 branches=auto\n    relu\n    linear 1", csv("c.csv", 4, 4), "path"},
		{"path", "input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1 bias=true", csv("p.csv", 3, 2), "path"},
		{"group", "input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1", csv("g.csv", 3, 2), "group"},
		{"cnn", "input 1x4\n    conv 2 filters=2 branches=auto\n    relu\n    avgpool global\n    linear 1 branches=auto\n    relu\n    linear 1", csv("n.csv", 1, 4), "path"},
	}
	for i, r := range rows {
		if i >= 2 && os.Getenv("CNNC_LONG") == "" {
			t.Logf("%s: CNNC_LONG=1 runs this row (CVXOPT takes tens of seconds under load)", r.name)
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			src := fmt.Sprintf("model m {\n    %s\n}\ndata train {\n    csv %q\n}\ntrain {\n    regularizer %s\n    beta 0.1\n    patterns exact\n}\n", r.model, r.data, r.reg)
			path := filepath.Join(dir, r.name+".cnn")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			if !exportRoundTrip(t, path) {
				t.Fatalf("%s: too large for the solver checks", r.name)
			}
		})
	}
}
