package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func svgParses(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal(b, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("%s is not an SVG document: %v (root %q)", path, err, doc.XMLName.Local)
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestSolvePlots: solve --plots writes the three figures of a circular model with
// the report and weights; solving again into the same folder (which now holds the
// figures) is allowed, and a solve without --plots replaces the folder as a whole,
// so no stale figure stays beside new weights. `cnnc plot` redraws them from the
// folder, into another folder with a prefix, and skips what does not apply.
func TestSolvePlots(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "circ")
	file := filepath.Join("..", "..", "examples", "circular_signal.cnn")
	for i := 0; i < 2; i++ {
		so, se, code := runCLI("solve", file, "-o", out, "--quiet", "--plots")
		if code != exitOK {
			t.Fatalf("solve --plots: exit %d\n%s%s", code, so, se)
		}
		if !strings.Contains(so, "spectrum.svg") {
			t.Errorf("the summary does not name the plots:\n%s", so)
		}
	}
	if got := names(t, out); got != "convergence.svg filters.svg report.json spectrum.svg weights.json" {
		t.Fatalf("output folder holds %s", got)
	}
	for _, f := range []string{"convergence.svg", "filters.svg", "spectrum.svg"} {
		svgParses(t, filepath.Join(out, f))
	}
	figs := filepath.Join(dir, "figs") // created by plot
	so, se, code := runCLI("plot", out, "-o", figs, "--prefix", "circ")
	if code != exitOK {
		t.Fatalf("plot: exit %d\n%s%s", code, so, se)
	}
	if got := names(t, figs); got != "circ-convergence.svg circ-filters.svg circ-spectrum.svg" {
		t.Fatalf("plot -o wrote %s", got)
	}
	for _, f := range []string{"convergence.svg", "filters.svg", "spectrum.svg"} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(figs, "circ-"+f))
		if string(a) != string(b) {
			t.Errorf("plot's %s differs from solve --plots' (the same report and weights must give the same figure)", f)
		}
	}
	if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK {
		t.Fatalf("solve without --plots: exit %d\n%s%s", code, so, se)
	}
	if got := names(t, out); got != "report.json weights.json" {
		t.Errorf("after a solve without --plots the folder holds %s (stale figures?)", got)
	}
	// A model without conv layers: only the convergence plot, with notes.
	src := "model fc {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\ndata train {\n    synthetic spiral n=10 seed=1\n}\ntrain {\n    beta 1e-2\n    patterns exact\n}\n"
	fc := filepath.Join(dir, "fc.cnn")
	os.WriteFile(fc, []byte(src), 0o644)
	fout := filepath.Join(dir, "fc.out")
	if so, se, code := runCLI("solve", fc, "-o", fout, "--quiet"); code != exitOK {
		t.Fatalf("solve fc: exit %d\n%s%s", code, so, se)
	}
	so, se, code = runCLI("plot", fout)
	if code != exitOK || !strings.Contains(se, "filters.svg not drawn") || !strings.Contains(se, "spectrum.svg not drawn") {
		t.Fatalf("plot fc: exit %d\n%s%s", code, so, se)
	}
	if got := names(t, fout); got != "convergence.svg report.json weights.json" {
		t.Errorf("plot of an FC model wrote %s", got)
	}
	if _, se, code := runCLI("plot", filepath.Join(dir, "nothing")); code != exitError || !strings.Contains(se, "report.json") {
		t.Errorf("plot of a missing folder: exit %d, %s", code, se)
	}
}

// TestSolvePlantedTwice: planted.json is written with the other outputs as one
// unit, so solving a planted model again into the same folder works (it used to be
// written after the folder and then block the next solve as a foreign file).
func TestSolvePlantedTwice(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fixed")
	file := filepath.Join("..", "..", "examples", "fixed_out.cnn")
	for i := 0; i < 2; i++ {
		if so, se, code := runCLI("solve", file, "-o", out, "--quiet"); code != exitOK {
			t.Fatalf("solve %d: exit %d\n%s%s", i+1, code, so, se)
		}
	}
	if got := names(t, out); got != "planted.json report.json weights.json" {
		t.Errorf("output folder holds %s", got)
	}
}
