package dataset

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// The fixtures in testdata were written by NumPy (testdata/gen_npy.py): each X
// fixture holds v[i, j] = 4i + j − 6 (unsigned dtypes: 4i + j) with shape (3, 4).
func TestNPYDtypes(t *testing.T) {
	signed := []string{"f8", "f4", "i1", "i2", "i4", "i8", "be_f8", "be_f4", "be_i2", "be_i4", "be_i8", "v2", "v3"}
	unsigned := []string{"u1", "u2", "be_u4", "u8"}
	for _, group := range []struct {
		names  []string
		offset float64
	}{{signed, -6}, {unsigned, 0}} {
		for _, name := range group.names {
			t.Run(name, func(t *testing.T) {
				ds, _, _ := mustLoad(t, npyData(testdata("x_"+name+".npy"), testdata("y3.npy")), nil, nil)
				if ds.N() != 3 || ds.Features() != 4 || !ir.Shape(ds.Shape).Equal(ir.Shape{4}) {
					t.Fatalf("got %d×%d shape %v, want 3×4 shape [4]", ds.N(), ds.Features(), ds.Shape)
				}
				for i := 0; i < 3; i++ {
					for j := 0; j < 4; j++ {
						if got, want := ds.X.At(i, j), float64(4*i+j)+group.offset; got != want {
							t.Errorf("X[%d,%d] = %g, want %g", i, j, got, want)
						}
					}
				}
				for i, want := range []float64{0, 1, 0} {
					if ds.Y.At(i, 0) != want {
						t.Errorf("y[%d] = %g, want %g", i, ds.Y.At(i, 0), want)
					}
				}
				// Targets 0, 1, 0 take two values: they count as two classes
				// (levels 0 and 1) without a classes statement.
				if !ds.Classification || len(ds.Levels) != 2 || ds.Levels[0] != 0 || ds.Levels[1] != 1 {
					t.Errorf("two-valued targets: Classification %v, Levels %v; want true, [0 1]", ds.Classification, ds.Levels)
				}
			})
		}
	}
}

func TestNPYMatrixTargetsAndReshape(t *testing.T) {
	ds, _, _ := mustLoad(t, npyData(testdata("x_f8.npy"), testdata("y3x2.npy")), ir.Shape{1, 2, 2}, nil)
	if r, c := ds.Y.Dims(); r != 3 || c != 2 || ds.Y.At(0, 0) != 1.5 || ds.Y.At(2, 1) != 4 {
		t.Errorf("Y = %v, want [[1.5 -1] [0 2] [3 4]]", ds.Y.RawMatrix().Data)
	}
	if !ir.Shape(ds.Shape).Equal(ir.Shape{1, 2, 2}) {
		t.Errorf("shape %v, want the model's 1x2x2", ds.Shape)
	}
	// (2, 1, 2, 3) array: samples of shape 1x2x3, values 0..11 row-major.
	ds, _, _ = mustLoad(t, npyData(testdata("x_4d.npy"), testdata("y2.npy")), nil, nil)
	if !ir.Shape(ds.Shape).Equal(ir.Shape{1, 2, 3}) || ds.N() != 2 || ds.X.At(1, 5) != 11 || ds.X.At(1, 0) != 6 {
		t.Errorf("4-D X: shape %v, X %v; want 2 samples 1x2x3 with values 0..11", ds.Shape, ds.X.RawMatrix().Data)
	}
}

func TestNPYShapeMismatchStatesBothSizes(t *testing.T) {
	wantError(t, npyData(testdata("x_f8.npy"), testdata("y3.npy")), ir.Shape{1, 28, 28}, nil, CodeShape, "4 values", "1x28x28", "784")
}

func TestNPYErrors(t *testing.T) {
	y := testdata("y3.npy")
	wantError(t, npyData(testdata("x_fortran.npy"), y), nil, nil, CodeNPYOrder, "x_fortran.npy", "fortran_order=True")
	wantError(t, npyData(testdata("x_bool.npy"), y), nil, nil, CodeNPYDtype, "x_bool.npy", "|b1")
	wantError(t, npyData(testdata("x_c16.npy"), y), nil, nil, CodeNPYDtype, "x_c16.npy", "<c16")
	wantError(t, npyData(testdata("x_nan.npy"), y), nil, nil, CodeNonFinite, "x_nan.npy", "[1, 2]", "byte offset 176")
	wantError(t, npyData(testdata("x_f8.npy"), testdata("y4.npy")), nil, nil, CodeCount, "3 samples", "4 targets")
	wantError(t, npyData(testdata("x_f8.npy"), testdata("x_4d.npy")), nil, nil, CodeTargetShape, "(2, 1, 2, 3)")
	wantError(t, npyData(testdata("missing.npy"), y), nil, nil, CodeRead, "missing.npy")
	wantError(t, npyData(t.TempDir(), y), nil, nil, CodeRead, "is a directory")
	wantError(t, npyData(writeTemp(t, "empty.npy", nil), y), nil, nil, CodeEmpty, "empty.npy", "empty file")

	good := readFile(t, testdata("x_f8.npy")) // 128-byte header + 96 data bytes
	wantError(t, npyData(writeTemp(t, "short.npy", good[:len(good)-8]), y), nil, nil, CodeSize, "short.npy", "truncated", "needs 96 data bytes", "offset 128", "holds 88")
	wantError(t, npyData(writeTemp(t, "long.npy", append(append([]byte{}, good...), 0, 0)), y), nil, nil, CodeSize, "long.npy", "trailing bytes")
	wantError(t, npyData(writeTemp(t, "magic.npy", append([]byte("XNUMPY"), good[6:]...)), y), nil, nil, CodeNPYHeader, "magic.npy", "not an NPY file")

	bad := append([]byte{}, good...)
	copy(bad[10:], "['descr'")
	wantError(t, npyData(writeTemp(t, "hdr.npy", bad), y), nil, nil, CodeNPYHeader, "hdr.npy", "byte offset 10", "expected '{'")

	ver := append([]byte{}, good...)
	ver[6] = 9
	wantError(t, npyData(writeTemp(t, "ver.npy", ver), y), nil, nil, CodeNPYHeader, "ver.npy", "version 9.0")

	huge := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(huge[8:], 60000)
	wantError(t, npyData(writeTemp(t, "hlen.npy", huge), y), nil, nil, CodeNPYHeader, "hlen.npy", "header length 60000")

	// A shape whose product is far larger than the file: refused before allocation.
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }"
	big := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), 0)
	big = append(big, hdr...)
	wantError(t, npyData(writeTemp(t, "big.npy", big), y), nil, nil, CodeSize, "big.npy", "more than")
	hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 1000), }"
	big = append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), 0)
	big = append(big, hdr...)
	wantError(t, npyData(writeTemp(t, "big2.npy", big), y), nil, nil, CodeSize, "big2.npy", "truncated", "8000000")
}

// Every prefix of a valid file, and seeded random single-byte corruptions, give an
// error or a valid data set — never a panic.
func TestNPYPrefixesAndCorruption(t *testing.T) {
	good := readFile(t, testdata("x_f4.npy"))
	y := testdata("y3.npy")
	dir := t.TempDir()
	for k := 0; k < len(good); k++ {
		p := writeAt(t, dir, "p.npy", good[:k])
		if ds, _, dl := Load(npyData(p, y), nil, nil); ds != nil || !dl.HasErrors() {
			t.Fatalf("prefix %d of %d bytes: no error", k, len(good))
		}
	}
	for k := 0; k < 400; k++ {
		b := append([]byte{}, good...)
		b[(k*7919)%len(b)] ^= byte(1 + k%255)
		p := writeAt(t, dir, "c.npy", b)
		ds, _, dl := Load(npyData(p, y), nil, nil)
		if ds == nil && !dl.HasErrors() {
			t.Fatal("nil data set without an error")
		}
		if ds != nil {
			for _, v := range ds.X.RawMatrix().Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("corruption %d: non-finite value accepted", k)
				}
			}
		}
	}
}
