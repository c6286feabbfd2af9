package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// idxBytes builds an IDX file by hand: 00 00 type ndims, big-endian uint32 dims,
// then data (already encoded).
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Three 2×2 uint8 images with pixel value 10·i + k, labels 7, 3, 7.
func tinyIDX() (images, labels []byte) {
	px := []byte{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}
	return idxBytes(0x08, []uint32{3, 2, 2}, px), idxBytes(0x08, []uint32{3}, []byte{7, 3, 7})
}

func TestIDXPlainAndGzip(t *testing.T) {
	im, lb := tinyIDX()
	for _, zip := range []bool{false, true} {
		a, b := im, lb
		if zip {
			a, b = gz(t, im), gz(t, lb)
		}
		// names say nothing about compression: detection is by magic bytes
		d := idxData(writeTemp(t, "images.idx", a), writeTemp(t, "labels.bin", b))
		ds, _, _ := mustLoad(t, d, ir.Shape{1, 2, 2}, nil)
		if ds.N() != 3 || ds.Features() != 4 {
			t.Fatalf("gzip=%v: %d×%d", zip, ds.N(), ds.Features())
		}
		for i := 0; i < 3; i++ {
			for k := 0; k < 4; k++ {
				if ds.X.At(i, k) != float64(10*i+k) {
					t.Errorf("gzip=%v: X[%d,%d] = %g, want %d", zip, i, k, ds.X.At(i, k), 10*i+k)
				}
			}
			if want := []float64{7, 3, 7}[i]; ds.Y.At(i, 0) != want {
				t.Errorf("gzip=%v: y[%d] = %g, want %g", zip, i, ds.Y.At(i, 0), want)
			}
		}
	}
}

func TestIDXOtherTypes(t *testing.T) {
	// int16 −2, 300; float32 0.5, −1.25; float64 π, 1e300: two samples of one value.
	_, lb := tinyIDX()
	lb2 := idxBytes(0x08, []uint32{2}, []byte{0, 1})
	i16 := idxBytes(0x0B, []uint32{2, 1}, []byte{0xff, 0xfe, 0x01, 0x2c})
	f32 := idxBytes(0x0D, []uint32{2, 1}, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, math.Float32bits(0.5)), math.Float32bits(-1.25)))
	f64 := idxBytes(0x0E, []uint32{2, 1}, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, math.Float64bits(math.Pi)), math.Float64bits(1e300)))
	i8 := idxBytes(0x09, []uint32{2}, []byte{0x80, 0x7f})
	i32 := idxBytes(0x0C, []uint32{2}, []byte{0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0})
	for _, c := range []struct {
		name string
		file []byte
		want [2]float64
	}{{"i16", i16, [2]float64{-2, 300}}, {"f32", f32, [2]float64{0.5, -1.25}}, {"f64", f64, [2]float64{math.Pi, 1e300}}, {"i8", i8, [2]float64{-128, 127}}, {"i32", i32, [2]float64{-1, 65536}}} {
		ds, _, _ := mustLoad(t, idxData(writeTemp(t, c.name, c.file), writeTemp(t, "l", lb2)), nil, nil)
		if ds.X.At(0, 0) != c.want[0] || ds.X.At(1, 0) != c.want[1] {
			t.Errorf("%s: got %v, want %v", c.name, ds.X.RawMatrix().Data, c.want)
		}
	}
	_ = lb
	nan := idxBytes(0x0E, []uint32{2, 1}, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 0), math.Float64bits(math.Inf(1))))
	wantError(t, idxData(writeTemp(t, "nan.idx", nan), writeTemp(t, "l", lb2)), nil, nil, CodeNonFinite, "nan.idx", "item 1", "byte offset 20")
}

// examples/data/fashion64-*: the first 64 Fashion-MNIST test images. Reference
// values were computed with Python's gzip module: labels start 9 2 1 1 6, image
// pixel sums are 33456, 100994, 51520; classes 0 and 9 sit at rows 0, 19, 23, 27,
// 28, 35, 39, 59 (labels 9, 0, 9, 0, 9, 0, 9, 0).
func TestIDXExampleFashion64(t *testing.T) {
	d := idxData(exampleData("fashion64-images-idx3-ubyte.gz"), exampleData("fashion64-labels-idx1-ubyte.gz"))
	ds, _, _ := mustLoad(t, d, ir.Shape{1, 28, 28}, nil)
	if ds.N() != 64 || ds.Features() != 784 {
		t.Fatalf("%d×%d, want 64×784", ds.N(), ds.Features())
	}
	for i, want := range []float64{33456, 100994, 51520} {
		var s float64
		for _, v := range ds.X.RawRowView(i) {
			s += v
		}
		if s != want {
			t.Errorf("image %d sum %g, want %g", i, s, want)
		}
	}
	for i, want := range []float64{9, 2, 1, 1, 6} {
		if ds.Y.At(i, 0) != want {
			t.Errorf("label %d = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
	d.Classes = []int{0, 9}
	ds, _, _ = mustLoad(t, d, ir.Shape{1, 28, 28}, nil)
	wantLabels := []int{9, 0, 9, 0, 9, 0, 9, 0}
	if ds.N() != 8 {
		t.Fatalf("classes 0 9 kept %d rows, want 8", ds.N())
	}
	for i, c := range wantLabels {
		if ds.Labels[i] != c || ds.Y.At(i, 0) != map[int]float64{0: -1, 9: 1}[c] {
			t.Errorf("row %d: label %d y %g, want label %d", i, ds.Labels[i], ds.Y.At(i, 0), c)
		}
	}
	if s := sumRow(ds.X.RawRowView(0)); s != 33456 {
		t.Errorf("first kept image sum %g, want 33456 (test image 0)", s)
	}
}

func sumRow(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func TestIDXErrors(t *testing.T) {
	im, lb := tinyIDX()
	L := writeTemp(t, "labels", lb)
	I := writeTemp(t, "images", im)

	bad := append([]byte{}, im...)
	bad[2] = 0x07
	wantError(t, idxData(writeTemp(t, "magic", bad), L), nil, nil, CodeIDXMagic, "magic", "0x00000703")
	bad[0], bad[2] = 0x1e, 0x08
	wantError(t, idxData(writeTemp(t, "magic2", bad), L), nil, nil, CodeIDXMagic, "0x1e000803")
	wantError(t, idxData(writeTemp(t, "gzmagic", gz(t, bad)), L), nil, nil, CodeIDXMagic, "decompressed byte offset 0")

	// Dimensions whose product exceeds the file: refused before allocating.
	huge := idxBytes(0x08, []uint32{60000, 28, 28}, make([]byte, 100))
	wantError(t, idxData(writeTemp(t, "huge", huge), L), nil, nil, CodeSize, "huge", "truncated", "100 of 47040000 data bytes", "item 0 of 60000")
	hugeGz := gz(t, huge)
	wantError(t, idxData(writeTemp(t, "hugegz", hugeGz), L), nil, nil, CodeSize, "hugegz", "more than a")
	wantError(t, idxData(writeTemp(t, "maxdims", idxBytes(0x0E, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil)), L), nil, nil, CodeSize, "more than")
	// Declared size plausible for the gzip size, but the stream holds less.
	shortGz := gz(t, idxBytes(0x08, []uint32{3, 2, 2}, []byte{1, 2, 3, 4, 5, 6}))
	wantError(t, idxData(writeTemp(t, "shortgz", shortGz), L), nil, nil, CodeSize, "shortgz", "truncated", "6 of 12 data bytes", "item 1 of 3")
	longGz := gz(t, append(append([]byte{}, im...), 9))
	wantError(t, idxData(writeTemp(t, "longgz", longGz), L), nil, nil, CodeSize, "longgz", "trailing bytes")

	// A gzip stream cut short, and one with a damaged byte.
	z := gz(t, im)
	wantError(t, idxData(writeTemp(t, "cut.gz", z[:len(z)-6]), L), nil, nil, CodeGzip, "cut.gz", "all 12 data bytes present", "trailer")
	// a stream cut inside the data (a larger, incompressible file: 3 items of 400 random bytes)
	rnd := make([]byte, 1200)
	for i := range rnd {
		rnd[i] = byte(i*7919>>3) ^ byte(i*31)
	}
	zr := gz(t, idxBytes(0x08, []uint32{3, 20, 20}, rnd))
	wantError(t, idxData(writeTemp(t, "cut2.gz", zr[:len(zr)/2]), L), nil, nil, CodeGzip, "cut2.gz", "truncated gzip stream", "data bytes decompressed", "item")
	dmg := append([]byte{}, z...)
	dmg[len(dmg)-5] ^= 0xff // the stored length
	wantError(t, idxData(writeTemp(t, "dmg.gz", dmg), L), nil, nil, CodeGzip, "dmg.gz", "corrupt gzip")

	wantError(t, idxData(I, writeTemp(t, "l4", idxBytes(0x08, []uint32{4}, []byte{1, 2, 3, 4}))), nil, nil, CodeCount, "3 images", "4 labels")
	wantError(t, idxData(I, writeTemp(t, "l3d", idxBytes(0x08, []uint32{3, 1, 1}, []byte{1, 2, 3}))), nil, nil, CodeTargetShape, "[3 1 1]")
	wantError(t, idxData(writeTemp(t, "zero", idxBytes(0x08, []uint32{0, 28, 28}, nil)), L), nil, nil, CodeEmpty, "no samples")
	wantError(t, idxData(writeTemp(t, "empty", nil), L), nil, nil, CodeEmpty, "empty file")
	wantError(t, idxData(t.TempDir(), L), nil, nil, CodeRead, "is a directory")
	wantError(t, idxData(filepath.Join(t.TempDir(), "nope.gz"), L), nil, nil, CodeRead, "nope.gz")
	wantError(t, idxData(I, L), ir.Shape{1, 28, 28}, nil, CodeShape, "4 values", "784")
}

// Every prefix of a gzip IDX file and of a plain one gives an error, never a panic
// or a hang; so do seeded single-byte corruptions.
func TestIDXPrefixesAndCorruption(t *testing.T) {
	im, lb := tinyIDX()
	dir := t.TempDir()
	L := writeAt(t, dir, "labels", lb)
	for _, file := range [][]byte{im, gz(t, im)} {
		for k := 0; k < len(file); k++ {
			p := writeAt(t, dir, "p", file[:k])
			if ds, _, dl := Load(idxData(p, L), nil, nil); ds != nil || !dl.HasErrors() {
				t.Fatalf("prefix %d of %d: no error", k, len(file))
			}
		}
		for k := 0; k < 300; k++ {
			b := append([]byte{}, file...)
			b[(k*7919)%len(b)] ^= byte(1 + k%255)
			p := writeAt(t, dir, "c", b)
			if ds, _, dl := Load(idxData(p, L), nil, nil); ds == nil && !dl.HasErrors() {
				t.Fatal("nil data set without an error")
			}
		}
	}
}

const fashionDir = "/usr/share/datasets/fashion-mnist"

func fashion(tb testing.TB) *ir.Data {
	tb.Helper()
	im := filepath.Join(fashionDir, "train-images-idx3-ubyte.gz")
	if _, err := os.Stat(im); err != nil {
		tb.Skip("Fashion-MNIST not installed (apt-get install -y dataset-fashion-mnist)")
	}
	return idxData(im, filepath.Join(fashionDir, "train-labels-idx1-ubyte.gz"))
}

// The real Fashion-MNIST training set: 60000 images of 28×28, labels 0..9, 6000 of
// each. Reference values from Python's gzip + NumPy: labels start 9 0 0 3 0 2 7 2
// 5 5; pixel sums of images 0, 1, 59999 are 76247, 84598, 16684; row 10 of image 0
// has pixels 0 0 0 193 228 218 213 198 180 212 in columns 10..19.
func TestFashionMNIST(t *testing.T) {
	d := fashion(t)
	ds, _, _ := mustLoad(t, d, ir.Shape{1, 28, 28}, nil)
	if ds.N() != 60000 || ds.Features() != 784 || !ir.Shape(ds.Shape).Equal(ir.Shape{1, 28, 28}) {
		t.Fatalf("%d×%d shape %v, want 60000×784 1x28x28", ds.N(), ds.Features(), ds.Shape)
	}
	count := make([]int, 10)
	for i := 0; i < 60000; i++ {
		c, ok := intLabel(ds.Y.At(i, 0))
		if !ok || c < 0 || c > 9 {
			t.Fatalf("label %d = %g outside 0..9", i, ds.Y.At(i, 0))
		}
		count[c]++
	}
	for c, k := range count {
		if k != 6000 {
			t.Errorf("class %d has %d samples, want 6000", c, k)
		}
	}
	for i, want := range []float64{9, 0, 0, 3, 0, 2, 7, 2, 5, 5} {
		if ds.Y.At(i, 0) != want {
			t.Errorf("label %d = %g, want %g", i, ds.Y.At(i, 0), want)
		}
	}
	for i, want := range map[int]float64{0: 76247, 1: 84598, 59999: 16684} {
		if s := sumRow(ds.X.RawRowView(i)); s != want {
			t.Errorf("image %d sum %g, want %g", i, s, want)
		}
	}
	row := ds.X.RawRowView(0)[10*28+10 : 10*28+20]
	for k, want := range []float64{0, 0, 0, 193, 228, 218, 213, 198, 180, 212} {
		if row[k] != want {
			t.Errorf("image 0 pixel (10, %d) = %g, want %g", 10+k, row[k], want)
		}
	}
}

func BenchmarkLoadFashionMNIST(b *testing.B) {
	d := fashion(b)
	for b.Loop() {
		if ds, _, dl := Load(d, ir.Shape{1, 28, 28}, nil); ds == nil {
			b.Fatal(dl)
		}
	}
}

// The language.md example: classes 0 9, limit 500, scale 1/255.
func BenchmarkLoadFashionMNISTClasses(b *testing.B) {
	d := fashion(b)
	d.Classes, d.Limit, d.Scale, d.HasScale = []int{0, 9}, 500, 1.0/255, true
	for b.Loop() {
		if ds, _, dl := Load(d, ir.Shape{1, 28, 28}, nil); ds == nil {
			b.Fatal(dl)
		}
	}
}
