package scs

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// writer accumulates the file in memory, so nothing partial reaches w when a
// value turns out not to fit.
type writer struct {
	b       []byte
	intSize int
	err     error
}

func (w *writer) u32(v uint32) {
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

func (w *writer) int(field string, v int) {
	if w.err != nil {
		return
	}
	if w.intSize == 4 {
		if v < math.MinInt32 || v > math.MaxInt32 {
			w.err = fmt.Errorf("scs data file: %s = %d does not fit a 4-byte integer (write with IntSize 8)", field, v)
			return
		}
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(int32(v)))
		return
	}
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(int64(v)))
}

func (w *writer) ints(field string, v []int) {
	for _, x := range v {
		w.int(field, x)
	}
}

func (w *writer) float(v float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v))
}

func (w *writer) floats(v []float64) {
	for _, x := range v {
		w.float(x)
	}
}

func (w *writer) matrix(name string, m, n int, colptr, rowidx []int, val []float64) {
	w.int(name+".m", m)
	w.int(name+".n", n)
	w.ints(name+".colptr", colptr)
	w.floats(val)
	w.ints(name+".rowidx", rowidx)
}

// Write writes f in SCS's binary layout (see the package comment). The problem
// must pass conic.Problem.Validate; the Dev16 layout needs Version DevVersion
// (no SCS reads 16 fields from any other). Complex PSD cones need the Dev16 layout
// (no SCS release reads them from a file); with Dev16 and a verbatim
// Extension, the extension's complex PSD cones must equal the problem's.
// Values that do not fit IntSize are an error; nothing is written to w then.
func Write(w io.Writer, f *File) error {
	if f.Problem == nil {
		return fmt.Errorf("scs data file: no problem to write")
	}
	p := f.Problem
	if err := p.Validate(); err != nil {
		return fmt.Errorf("scs data file: %v", err)
	}
	if f.IntSize != 4 && f.IntSize != 8 {
		return fmt.Errorf("scs data file: integer size %d, want 4 or 8", f.IntSize)
	}
	if len(f.Version) >= 16 {
		return fmt.Errorf("scs data file: version string %q is %d bytes, SCS reads fewer than 16", f.Version, len(f.Version))
	}
	if f.Layout != Legacy13 && f.Layout != Dev16 {
		return fmt.Errorf("scs data file: unknown layout %d", int(f.Layout))
	}
	if f.Layout == Dev16 && f.Version != DevVersion {
		return fmt.Errorf("scs data file: the 16-field layout is read only from files with version string %q, not %q", DevVersion, f.Version)
	}
	k := &p.Cones
	if len(k.CS) > 0 {
		if f.Layout != Dev16 {
			return fmt.Errorf("scs data file: complex PSD cones can only be stored in the 16-field layout (version %q)", DevVersion)
		}
		if f.Extension != nil {
			ext, err := parseExtension(f.Extension, f.IntSize, 0)
			if err != nil {
				return err
			}
			if ext == nil || !slices.Equal(ext.cs, k.CS) {
				return fmt.Errorf("scs data file: the verbatim extension block does not hold the problem's complex PSD cones %v", k.CS)
			}
		}
	}

	wr := &writer{intSize: f.IntSize}
	wr.u32(uint32(f.IntSize))
	wr.u32(floatSize)
	wr.u32(uint32(len(f.Version)))
	wr.b = append(wr.b, f.Version...)

	wr.int("cones.z", k.Z)
	wr.int("cones.l", k.L)
	wr.int("cones.bsize", k.BSize)
	wr.floats(k.BL)
	wr.floats(k.BU)
	wr.int("cones.qsize", len(k.Q))
	wr.ints("cones.q", k.Q)
	wr.int("cones.ssize", len(k.S))
	wr.ints("cones.s", k.S)
	wr.int("cones.ep", k.EP)
	wr.int("cones.ed", k.ED)
	wr.int("cones.psize", len(k.P))
	wr.floats(k.P)

	wr.int("m", p.M)
	wr.int("n", p.N)
	wr.floats(p.B)
	wr.floats(p.C)
	wr.matrix("A", p.A.M, p.A.N, p.A.ColPtr, p.A.RowIdx, p.A.Val)
	if p.P != nil {
		wr.int("has_P", 1)
		wr.matrix("P", p.P.M, p.P.N, p.P.ColPtr, p.P.RowIdx, p.P.Val)
	} else {
		wr.int("has_P", 0)
	}

	s := f.Settings
	names := settingsNames[f.Layout]
	for i, v := range settingsFields(&s, f.Layout) {
		switch v := v.(type) {
		case *int:
			wr.int("settings."+names[i], *v)
		case *float64:
			wr.float(*v)
		}
	}

	switch {
	case f.Extension != nil:
		wr.b = append(wr.b, f.Extension...)
	case f.Layout == Dev16:
		// What SCS's development branch writes without spectral cones.
		wr.u32(extMagic)
		wr.u32(extVersion)
		wr.int("extension.cssize", len(k.CS))
		wr.ints("extension.cs", k.CS)
		for _, name := range []string{"dsize", "nucsize", "ell1_size", "sl_size"} {
			wr.int("extension."+name, 0)
		}
		wr.float(s.TimeLimitSecs)
	}
	if wr.err != nil {
		return wr.err
	}
	_, err := w.Write(wr.b)
	return err
}
