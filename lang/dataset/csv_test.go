package dataset

import (
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

func TestCSVLabelColumns(t *testing.T) {
	const src = "a, b, c\n1, 2, 3\n4, 5, 6\n\n7, 8, 9\n"
	p := writeTemp(t, "t.csv", []byte(src))
	cases := []struct {
		label  string
		header bool
		x      [][]float64
		y      []float64
	}{
		{"", true, [][]float64{{1, 2}, {4, 5}, {7, 8}}, []float64{3, 6, 9}},
		{"last", true, [][]float64{{1, 2}, {4, 5}, {7, 8}}, []float64{3, 6, 9}},
		{"first", true, [][]float64{{2, 3}, {5, 6}, {8, 9}}, []float64{1, 4, 7}},
		{"b", true, [][]float64{{1, 3}, {4, 6}, {7, 9}}, []float64{2, 5, 8}},
		{"1", true, [][]float64{{1, 3}, {4, 6}, {7, 9}}, []float64{2, 5, 8}},
	}
	for _, c := range cases {
		ds, _, _ := mustLoad(t, csvData(p, c.label, c.header), nil, nil)
		if ds.N() != 3 || ds.Features() != 2 {
			t.Fatalf("label=%q: %d×%d, want 3×2", c.label, ds.N(), ds.Features())
		}
		for i := range c.x {
			for j := range c.x[i] {
				if ds.X.At(i, j) != c.x[i][j] {
					t.Errorf("label=%q: X[%d,%d] = %g, want %g", c.label, i, j, ds.X.At(i, j), c.x[i][j])
				}
			}
			if ds.Y.At(i, 0) != c.y[i] {
				t.Errorf("label=%q: y[%d] = %g, want %g", c.label, i, ds.Y.At(i, 0), c.y[i])
			}
		}
	}
	// Without a header, the first line is data and a column is chosen by index.
	q := writeTemp(t, "n.csv", []byte("1,2,3\n4,5,6\n"))
	ds, _, _ := mustLoad(t, csvData(q, "0", false), nil, nil)
	if ds.N() != 2 || ds.Y.At(1, 0) != 4 || ds.X.At(1, 1) != 6 {
		t.Errorf("label=0 header=false: X %v y %v", ds.X.RawMatrix().Data, ds.Y.RawMatrix().Data)
	}
}

// examples/data/blobs.csv: 40 rows, classes alternate 0, 1; the first two rows are
// (-0.9993, -0.3208, 0) and (1.3355, 0.4656, 1).
func TestCSVExampleBlobs(t *testing.T) {
	d := csvData(exampleData("blobs.csv"), "class", true)
	d.Classes = []int{0, 1}
	ds, _, _ := mustLoad(t, d, ir.Shape{2}, nil)
	if ds.N() != 40 || !ds.Classification || ds.X.At(0, 0) != -0.9993 || ds.X.At(1, 1) != 0.4656 {
		t.Fatalf("blobs: n=%d X[0]=%v", ds.N(), ds.X.RawRowView(0))
	}
	for i := 0; i < 40; i++ {
		if want := float64(2*(i%2) - 1); ds.Y.At(i, 0) != want || ds.Labels[i] != i%2 {
			t.Fatalf("row %d: y %g label %d, want %g and %d", i, ds.Y.At(i, 0), ds.Labels[i], want, i%2)
		}
	}
}

func TestCSVErrors(t *testing.T) {
	w := func(name, s string) string { return writeTemp(t, name, []byte(s)) }
	wantError(t, csvData(w("cell.csv", "1,2,3\n4,x5,6\n"), "", false), nil, nil, CodeCSVCell, "cell.csv", "line 2, field 2", `"x5"`)
	wantError(t, csvData(w("rag.csv", "a,b,c\n1,2,3\n4,5\n"), "", true), nil, nil, CodeCSVRagged, "rag.csv", "line 3 has 2 fields", "the header has 3")
	wantError(t, csvData(w("rag2.csv", "1,2,3\n4,5,6,7\n"), "", false), nil, nil, CodeCSVRagged, "rag2.csv", "line 2 has 4 fields", "line 1 has 3")
	wantError(t, csvData(w("nan.csv", "1,2,3\n4,NaN,6\n"), "", false), nil, nil, CodeNonFinite, "nan.csv", "line 2, field 2")
	wantError(t, csvData(w("inf.csv", "1,2,3\n4,5,-Inf\n"), "", false), nil, nil, CodeNonFinite, "inf.csv", "line 2, field 3")
	wantError(t, csvData(w("big.csv", "1,2,3\n4,5,1e999\n"), "", false), nil, nil, CodeNonFinite, "big.csv", "line 2, field 3")
	wantError(t, csvData(w("empty.csv", ""), "", false), nil, nil, CodeEmpty, "empty.csv", "empty file")
	wantError(t, csvData(w("blank.csv", "\n\n"), "", false), nil, nil, CodeEmpty, "blank.csv", "no data rows")
	wantError(t, csvData(w("hdr.csv", "a,b\n"), "", true), nil, nil, CodeEmpty, "hdr.csv", "no data rows")
	wantError(t, csvData(w("one.csv", "1\n2\n"), "", false), nil, nil, CodeCSVLabel, "one.csv", "1 column per row")
	wantError(t, csvData(w("lab.csv", "a,b\n1,2\n"), "label", true), nil, nil, CodeCSVLabel, "lab.csv", `"label" not found`)
	wantError(t, csvData(w("lab2.csv", "1,2\n"), "5", false), nil, nil, CodeCSVLabel, "lab2.csv", `"5" not found`)
	wantError(t, csvData(w("quote.csv", "1,2\n\"3,4\n"), "", false), nil, nil, CodeCSVCell, "quote.csv", "malformed CSV")
	wantError(t, csvData(t.TempDir(), "", false), nil, nil, CodeRead, "is a directory")
	wantError(t, csvData(w("shape.csv", "1,2,3\n"), "", false), ir.Shape{1, 3}, nil, CodeShape, "2 values", "1x3 needs 3")
}

func TestCSVByteOrderMarkAndCRLF(t *testing.T) {
	p := writeTemp(t, "bom.csv", []byte("\xef\xbb\xbfa,y\r\n1,2\r\n3,4\r\n"))
	ds, _, _ := mustLoad(t, csvData(p, "y", true), nil, nil)
	if ds.N() != 2 || ds.X.At(1, 0) != 3 || ds.Y.At(1, 0) != 4 {
		t.Errorf("X %v y %v, want [1 3] [2 4]", ds.X.RawMatrix().Data, ds.Y.RawMatrix().Data)
	}
}
