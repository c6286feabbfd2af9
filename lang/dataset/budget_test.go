package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestReadersBudget: every reader refuses data over the memory budget with
// CodeTooLarge on the data statement, before allocating them, and accepts them
// under it.
func TestReadersBudget(t *testing.T) {
	dir := t.TempDir()
	im, lb := tinyIDX()
	imP, lbP := filepath.Join(dir, "im"), filepath.Join(dir, "lb")
	os.WriteFile(imP, im, 0o644)
	os.WriteFile(lbP, lb, 0o644)
	csvP := filepath.Join(dir, "d.csv")
	os.WriteFile(csvP, []byte(strings.Repeat("1,2,3\n", 3000)), 0o644)
	cases := []struct {
		name string
		d    *ir.Data
	}{
		{"npy", npyData(testdata("x_f8.npy"), testdata("y3.npy"))},
		{"idx", idxData(imP, lbP)},
		{"csv", csvData(csvP, "last", false)},
		{"planted", &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.Synthetic, Range: stmt, Generator: "planted", Params: map[string]float64{"n": 5000, "d": 20}}}},
	}
	for _, c := range cases {
		ds, _, dl := LoadWith(c.d, nil, nil, Options{MaxMemory: 64})
		if ds != nil || len(dl) == 0 || dl[0].Code != CodeTooLarge || dl[0].Range != stmt {
			t.Errorf("%s under a 64-byte budget: %v, diagnostics %v", c.name, ds != nil, summaries(dl))
		}
		if ds, _, dl := LoadWith(c.d, nil, nil, Options{MaxMemory: 64 << 20}); ds == nil {
			t.Errorf("%s under a 64 MiB budget: %v", c.name, summaries(dl))
		}
	}
}

// TestReadersRefuseSpecialFiles: a FIFO as data is refused at once (it would
// block), a folder is named a folder.
func TestReadersRefuseSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs: %v", err)
	}
	_, _, dl := Load(csvData(fifo, "last", false), nil, nil)
	if len(dl) != 1 || dl[0].Code != CodeRead || !strings.Contains(dl[0].Summary, "FIFO") {
		t.Fatalf("FIFO: %v", summaries(dl))
	}
	_, _, dl = Load(csvData(dir, "last", false), nil, nil)
	if len(dl) != 1 || !strings.Contains(dl[0].Summary, "directory") {
		t.Fatalf("folder: %v", summaries(dl))
	}
}
