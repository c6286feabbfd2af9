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
		ds, _, dl := Load(npyData(fuzzFile(t, b), y), nil, nil)
		checkOutcome(t, ds, dl)
	})
}

func FuzzIDX(f *testing.F) {
	im, lb := tinyIDX()
	f.Add(im)
	f.Add(gz(f, im))
	f.Add(idxBytes(0x0D, []uint32{3, 1}, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, b []byte) {
		L := fuzzFile(t, lb)
		ds, _, dl := Load(idxData(fuzzFile(t, b), L), nil, nil)
		checkOutcome(t, ds, dl)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,3\n4,5,6\n"), true, "b")
	f.Add([]byte("1,2\n\"3\",4\n"), false, "first")
	f.Add([]byte("1;2\n"), false, "0")
	f.Fuzz(func(t *testing.T, b []byte, header bool, label string) {
		ds, _, dl := Load(csvData(fuzzFile(t, b), label, header), nil, nil)
		checkOutcome(t, ds, dl)
	})
}
