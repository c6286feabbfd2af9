package dataset

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// checkOutcome asserts the invariants of any Load: a data set exactly when there
// is no error, every diagnostic on the data statement or block, finite values, and
// dimensions that agree.
func checkOutcome(t *testing.T, ds *Dataset, dl diag.List) {
	if (ds == nil) != dl.HasErrors() {
		t.Fatalf("data set %v with diagnostics %v", ds != nil, summaries(dl))
	}
	for _, d := range dl {
		if d.Range != stmt && d.Range != block {
			t.Fatalf("diagnostic %s outside the data statement: %v", d.Code, d.Range)
		}
	}
	if ds == nil {
		return
	}
	n, p := ds.X.Dims()
	if r, _ := ds.Y.Dims(); r != n || ir.Shape(ds.Shape).Size() != p {
		t.Fatalf("X %d×%d, Y %d rows, shape %v", n, p, r, ds.Shape)
	}
	for _, v := range ds.X.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatal("non-finite feature")
		}
	}
}

func fuzzFile(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func FuzzNPY(f *testing.F) {
	for _, name := range []string{"x_f8.npy", "x_be_i2.npy", "x_u1.npy", "x_v3.npy", "x_4d.npy", "x_fortran.npy"} {
		b, err := os.ReadFile(testdata(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	y := testdata("y3.npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			t.Skip("input over the per-input size limit")
		}
		ds, _, dl := LoadWith(npyData(fuzzFile(t, b), y), nil, nil, fuzzOpts)
		checkOutcome(t, ds, dl)
	})
}

func FuzzIDX(f *testing.F) {
	im, lb := tinyIDX()
	f.Add(im)
	f.Add(gz(f, im))
	f.Add(idxBytes(0x0D, []uint32{3, 1}, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			t.Skip("input over the per-input size limit")
		}
		L := fuzzFile(t, lb)
		ds, _, dl := LoadWith(idxData(fuzzFile(t, b), L), nil, nil, fuzzOpts)
		checkOutcome(t, ds, dl)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,3\n4,5,6\n"), true, "b")
	f.Add([]byte("1,2\n\"3\",4\n"), false, "first")
	f.Add([]byte("1;2\n"), false, "0")
	f.Fuzz(func(t *testing.T, b []byte, header bool, label string) {
		if len(b)+len(label) > maxFuzzInput {
			t.Skip("input over the per-input size limit")
		}
		ds, _, dl := LoadWith(csvData(fuzzFile(t, b), label, header), nil, nil, fuzzOpts)
		checkOutcome(t, ds, dl)
	})
}

// maxFuzzInput is the per-input size limit of the data fuzz targets (1 MiB), and
// fuzzOpts their memory budget (256 MiB): a header may declare any size, and the
// budget must refuse what does not fit.
const maxFuzzInput = 1 << 20

var fuzzOpts = Options{MaxMemory: 256 << 20}

// FuzzSynthetic: any generator name, parameter values and model input shape give
// a data set or diagnostics on the data statement, never a panic, and never more
// than the budget.
func FuzzSynthetic(f *testing.F) {
	f.Add("planted", 100.0, 1.0, 0.1, 2.0, 3.0, 1.0, 1, 8, 8)
	f.Add("spiral", 50.0, 2.0, 0.05, 1.5, 0.0, 0.0, 0, 0, 0)
	f.Add("planted", 1e9, -1.0, math.Inf(1), 1e6, 0.5, 1e12, 3, 28, 28)
	f.Fuzz(func(t *testing.T, gen string, n, seed, noise, a, b, c float64, ch, h, w int) {
		if len(gen) > 64 {
			t.Skip("input over the per-input size limit")
		}
		params := map[string]float64{"n": n, "seed": seed, "noise": noise}
		switch gen {
		case "planted":
			params["width"], params["kernel"], params["stride"] = a, b, c
		case "spiral":
			params["turns"] = a
		}
		var shape ir.Shape
		if ch > 0 && ch < 1<<10 && h > 0 && h < 1<<12 {
			shape = ir.Shape{ch, h}
			if w > 0 && w < 1<<12 {
				shape = append(shape, w)
			}
		}
		// Per-input size limit: at most 2²⁰ generated values and 10⁸ multiply-adds of
		// the teacher (the fuzzing engine takes an input running for seconds for a
		// hang; the generator's own limits are tested in TestReadersBudget).
		size := float64(max(ch, 1)) * float64(max(h, 1)) * float64(max(w, 1))
		if n*size > 1<<20 || n*size*math.Max(1, b*b)*math.Max(1, a) > 1e8 {
			t.Skip("input over the per-input size limit")
		}
		d := &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.Synthetic, Range: stmt, Generator: gen, Params: params}}
		ds, _, dl := LoadWith(d, shape, nil, fuzzOpts)
		checkOutcome(t, ds, dl)
	})
}
