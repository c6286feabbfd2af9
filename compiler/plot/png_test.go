package plot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// TestRenderPNG renders the figures of a solve's output folder as PNG, to look at
// them: CNNC_PLOT_PNG=DIR (the output folder of cnnc solve; PNGs are written there).
func TestRenderPNG(t *testing.T) {
	dir := os.Getenv("CNNC_PLOT_PNG")
	if dir == "" {
		t.Skip("CNNC_PLOT_PNG is not set (an output folder of cnnc solve to render as PNG)")
	}
	pngOut = true
	defer func() { pngOut = false }()
	w, err := network.ReadFile(filepath.Join(dir, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Model, Status string
		Convex        *float64 `json:"convex_objective"`
		Gap           *float64 `json:"gap"`
		Trace         struct {
			Phases []string
			Rows   json.RawMessage
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	run := &Run{Model: rep.Model, Status: rep.Status, Convex: rep.Convex, Gap: rep.Gap, Phases: rep.Trace.Phases}
	if len(rep.Trace.Rows) > 0 {
		if err := json.Unmarshal(rep.Trace.Rows, &run.Rows); err != nil {
			t.Fatal(err)
		}
	}
	save := func(name string, b []byte) {
		p := filepath.Join(dir, strings.TrimSuffix(name, ".svg")+".png")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote", p)
	}
	if b, err := ConvergenceSVG(run); err != nil {
		t.Fatal(err)
	} else {
		save(ConvergenceFile, b)
	}
	if b, ok, err := FiltersSVG(w); err != nil {
		t.Fatal(err)
	} else if ok {
		save(FiltersFile, b)
	}
	if b, ok, _, err := SpectrumSVG(w); err != nil {
		t.Fatal(err)
	} else if ok {
		save(SpectrumFile, b)
	}
}
