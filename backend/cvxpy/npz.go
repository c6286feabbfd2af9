package cvxpy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Array is a float64 array in C (row-major) order, written to an .npz archive.
type Array struct {
	Shape []int
	Data  []float64
}

// npyBytes encodes a as a NumPy .npy file, format version 1.0: the magic string,
// the header length (u16 LE), a Python-dict header padded with spaces to a multiple
// of 64 bytes and ended by '\n', then the little-endian float64 data.
func npyBytes(a Array) ([]byte, error) {
	n := 1
	for _, s := range a.Shape {
		if s < 0 {
			return nil, fmt.Errorf("negative dimension %d", s)
		}
		n *= s
	}
	if n != len(a.Data) {
		return nil, fmt.Errorf("shape %v holds %d values, data has %d", a.Shape, n, len(a.Data))
	}
	dims := make([]string, len(a.Shape))
	for i, s := range a.Shape {
		dims[i] = fmt.Sprint(s)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(a.Shape) == 1 {
		shape += ","
	}
	shape += ")"
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape)
	// magic(6) + version(2) + hlen(2) + header + '\n' must be a multiple of 64.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return nil, fmt.Errorf("npy header too long")
	}
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	b := make([]byte, 8*len(a.Data))
	for i, v := range a.Data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	buf.Write(b)
	return buf.Bytes(), nil
}

// WriteNPZ writes arrays as an uncompressed .npz archive (what numpy.savez writes):
// a zip file with one NAME.npy member per array, in sorted name order so the bytes
// are deterministic.
func WriteNPZ(w io.Writer, arrays map[string]Array) error {
	names := make([]string, 0, len(arrays))
	for k := range arrays {
		names = append(names, k)
	}
	sort.Strings(names)
	zw := zip.NewWriter(w)
	for _, name := range names {
		b, err := npyBytes(arrays[name])
		if err != nil {
			return fmt.Errorf("array %s: %v", name, err)
		}
		// A fixed header (no timestamp) keeps the archive deterministic.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return zw.Close()
}
