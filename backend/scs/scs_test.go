package scs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// dataDir locates shared/data/scs: the directory holding go.mod, then
// ../shared/data/scs. The test skips when it is absent.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data", "scs")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("SCS conformance data not found at %s (it lives beside the repository in shared/data/scs)", d)
	}
	return d
}

// conformance lists the files of shared/data/scs with what their README says.
var conformance = []struct {
	name, version string
	intSize       int
	cones         conic.Cones
	m, n          int
	hasP          bool
	optimum       float64 // cᵀx + ½xᵀPx, from the README (SCS's own tests)
}{
	{"random_prob", "3.0.0", 4, conic.Cones{Z: 10, L: 15, Q: []int{5, 10, 0, 1}, S: []int{3, 4, 0, 0, 1}, EP: 10, ED: 10, P: []float64{-0.25, 0.5, 0.75, -0.33}}, 130, 43, false, 5.751458006385587},
	{"max_ent", "3.2.2", 8, conic.Cones{Z: 1, L: 150, EP: 450}, 1501, 900, false, -6.067087663361563},
	{"mpc_bug1", "3.2.4", 8, conic.Cones{L: 120}, 120, 45, true, -0.473957794500},
	{"mpc_bug2", "3.2.4", 8, conic.Cones{L: 120}, 120, 45, true, -0.029336830816},
	{"mpc_bug3", "3.2.4", 8, conic.Cones{L: 120}, 120, 45, true, -0.002215217478},
}

// Every conformance file reads, reports the README's header and cones, and
// writes back byte for byte.
func TestConformanceFiles(t *testing.T) {
	dir := dataDir(t)
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.name))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(filepath.Join(dir, c.name))
			if err != nil {
				t.Fatal(err)
			}
			p := f.Problem
			if f.Version != c.version || f.IntSize != c.intSize || f.Layout != Legacy13 {
				t.Errorf("header: version %q, int size %d, layout %v; want %q, %d, legacy", f.Version, f.IntSize, f.Layout, c.version, c.intSize)
			}
			k := p.Cones
			if k.Z != c.cones.Z || k.L != c.cones.L || k.BSize != 0 || k.EP != c.cones.EP || k.ED != c.cones.ED ||
				!reflect.DeepEqual(k.Q, c.cones.Q) || !reflect.DeepEqual(k.S, c.cones.S) ||
				!reflect.DeepEqual(k.P, c.cones.P) || len(k.CS) != 0 {
				t.Errorf("cones %+v, want %+v", k, c.cones)
			}
			if p.M != c.m || p.N != c.n || (p.P != nil) != c.hasP {
				t.Errorf("size %d×%d has P %v, want %d×%d %v", p.M, p.N, p.P != nil, c.m, c.n, c.hasP)
			}
			var buf bytes.Buffer
			if err := Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("rewritten file differs (%d bytes vs %d)", buf.Len(), len(raw))
			}
		})
	}
}

// The QP conformance files (l cone and P only) solved by CVXOPT reach the
// optima in the README: an independent check that the reader puts every
// number of A, b, c and P where SCS does. Tolerance 1e-4 relative, the
// accuracy the README gives for SCS's optima.
func TestConformanceOptimaCVXOPT(t *testing.T) {
	dir := dataDir(t)
	for _, c := range conformance {
		if !strings.HasPrefix(c.name, "mpc") {
			continue
		}
		f, err := ReadFile(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		r, ok := conictest.SolveCVXOPT(t, f.Problem)
		if !ok {
			return
		}
		if r.Status != "optimal" && r.Status != "unknown" {
			t.Fatalf("%s: CVXOPT status %q", c.name, r.Status)
		}
		t.Logf("%s: CVXOPT %.12g (%s, %d iterations), README %.12g", c.name, r.Objective, r.Status, r.Iterations, c.optimum)
		if d := math.Abs(r.Objective - c.optimum); d > 1e-4*math.Max(1, math.Abs(c.optimum)) {
			t.Errorf("%s: CVXOPT optimum %.10g (status %s), README %.10g", c.name, r.Objective, r.Status, c.optimum)
		}
	}
}

// The worked example of spec/formats.md, byte for byte. The expected bytes
// are laid out here by hand from the spec's field list, independent of the
// writer: header (int_size 8, float_size 8, "3.2.7"), cones z=0 l=0 bsize=0
// qsize=1 q=[3] ssize=0 ep=0 ed=0 psize=0, data m=3 n=2 b=(1,0,0) c=(−1,−1),
// A (3, 2, colptr 0 1 2, values −1 −1, rowidx 1 2), has_P 0, then the 13
// legacy settings with SCS's defaults, verbose 0 and eps_abs = eps_rel = 1e-6.
func TestWorkedExampleBytes(t *testing.T) {
	var want []byte
	u32 := func(v uint32) { want = binary.LittleEndian.AppendUint32(want, v) }
	i64 := func(vs ...int64) {
		for _, v := range vs {
			want = binary.LittleEndian.AppendUint64(want, uint64(v))
		}
	}
	f64 := func(vs ...float64) {
		for _, v := range vs {
			want = binary.LittleEndian.AppendUint64(want, math.Float64bits(v))
		}
	}
	u32(8)
	u32(8)
	u32(5)
	want = append(want, "3.2.7"...)
	i64(0, 0, 0)    // z, l, bsize
	i64(1, 3)       // qsize, q
	i64(0)          // ssize
	i64(0, 0, 0)    // ep, ed, psize
	i64(3, 2)       // m, n
	f64(1, 0, 0)    // b
	f64(-1, -1)     // c
	i64(3, 2)       // A.m, A.n
	i64(0, 1, 2)    // colptr
	f64(-1, -1)     // values
	i64(1, 2)       // rowidx
	i64(0)          // has_P
	i64(1)          // normalize
	f64(0.1, 1e-6)  // scale, rho_x
	i64(100000)     // max_iters
	f64(1e-6, 1e-6) // eps_abs, eps_rel
	f64(1e-7, 1.5)  // eps_infeas, alpha
	i64(0, 0)       // verbose, warm_start
	i64(10, 10, 1)  // acceleration_lookback, acceleration_interval, adaptive_scale

	p := &conic.Problem{
		M: 3, N: 2, Cones: conic.Cones{Q: []int{3}},
		B: []float64{1, 0, 0}, C: []float64{-1, -1},
		A: conic.CSC{M: 3, N: 2, ColPtr: []int{0, 1, 2}, RowIdx: []int{1, 2}, Val: []float64{-1, -1}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, NewFile(p, 1e-6)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("worked example: wrote %d bytes, want %d\n got %x\nwant %x", buf.Len(), len(want), buf.Bytes(), want)
	}
}

// Random problems with every cone kind round-trip through every layout and
// integer size: the problem and settings come back unchanged, and a second
// write is byte-identical to the first.
func TestRoundTripRandom(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 3))
		p := conictest.Random(rng, conictest.RandomOptions{Quadratic: seed%2 == 0, Exotic: seed%4 != 0})
		p.ObjScale, p.ObjOffset, p.Vars = 0, 0, nil // not stored in SCS files
		for _, layout := range []Layout{Legacy13, Dev16} {
			for _, isz := range []int{4, 8} {
				q := *p
				if layout == Legacy13 {
					rows := 0
					for _, s := range q.Cones.CS {
						rows += s * s
					}
					// Drop the complex PSD rows (legacy files cannot hold them).
					q = dropRows(p, q.Cones.Rows()-3*(q.Cones.EP+q.Cones.ED+len(q.Cones.P))-rows, rows)
					q.Cones.CS = nil
				}
				f := NewFile(&q, 1e-5)
				f.Layout, f.IntSize = layout, isz
				if layout == Dev16 {
					f.Version = DevVersion
					f.Settings.TimeLimitSecs = 2.5
				}
				f.Settings.AccelerationLookback = -7 // negative integers survive
				var b1 bytes.Buffer
				if err := Write(&b1, f); err != nil {
					t.Fatalf("seed %d %v int %d: %v", seed, layout, isz, err)
				}
				g, err := Read(bytes.NewReader(b1.Bytes()))
				if err != nil {
					t.Fatalf("seed %d %v int %d: %v", seed, layout, isz, err)
				}
				if d := conictest.Diff(g.Problem, &q, false); d != "" {
					t.Fatalf("seed %d %v int %d: problem differs: %s", seed, layout, isz, d)
				}
				if g.Layout != layout || g.IntSize != isz || g.Version != f.Version {
					t.Fatalf("seed %d: header %v %d %q, want %v %d %q", seed, g.Layout, g.IntSize, g.Version, layout, isz, f.Version)
				}
				want := f.Settings
				if layout == Legacy13 {
					// Legacy files do not store these; the reader fills SCS's defaults.
					d := DefaultSettings()
					want.AccelerationType1, want.AccelerationRegularization, want.AccelerationRelaxation, want.TimeLimitSecs =
						d.AccelerationType1, d.AccelerationRegularization, d.AccelerationRelaxation, d.TimeLimitSecs
				}
				if g.Settings != want {
					t.Fatalf("seed %d %v: settings %+v, want %+v", seed, layout, g.Settings, want)
				}
				var b2 bytes.Buffer
				if err := Write(&b2, g); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
					t.Fatalf("seed %d %v int %d: second write differs", seed, layout, isz)
				}
			}
		}
	}
}

// dropRows returns a copy of p without rows [r0, r0+n).
func dropRows(p *conic.Problem, r0, n int) conic.Problem {
	q := *p
	q.M = p.M - n
	q.B = append(append([]float64{}, p.B[:r0]...), p.B[r0+n:]...)
	a := conic.CSC{M: q.M, N: p.N, ColPtr: make([]int, p.N+1)}
	for j := range p.N {
		for k := p.A.ColPtr[j]; k < p.A.ColPtr[j+1]; k++ {
			i := p.A.RowIdx[k]
			switch {
			case i < r0:
			case i >= r0+n:
				i -= n
			default:
				continue
			}
			a.RowIdx = append(a.RowIdx, i)
			a.Val = append(a.Val, p.A.Val[k])
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	q.A = a
	return q
}

// A file written by the SCS 3.2.11 release carries the development branch's
// version string with the legacy layout; the reader must tell them apart.
func TestVersion3211Layouts(t *testing.T) {
	p := &conic.Problem{M: 1, N: 1, Cones: conic.Cones{L: 1}, B: []float64{1}, C: []float64{1},
		A: conic.CSC{M: 1, N: 1, ColPtr: []int{0, 1}, RowIdx: []int{0}, Val: []float64{-1}}}
	for _, layout := range []Layout{Legacy13, Dev16} {
		f := NewFile(p, 0)
		f.Version, f.Layout = DevVersion, layout
		var buf bytes.Buffer
		if err := Write(&buf, f); err != nil {
			t.Fatal(err)
		}
		g, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if g.Layout != layout {
			t.Errorf("wrote %v with version %q, read back %v", layout, DevVersion, g.Layout)
		}
	}
	// Any other version string means the legacy layout, even with 16 fields'
	// worth of bytes: the extra bytes are kept verbatim as trailing data. The
	// writer refuses to produce such a file from a Dev16 File.
	f := NewFile(p, 0)
	f.Layout = Dev16
	if err := Write(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), DevVersion) {
		t.Errorf("Dev16 with version %q: error %v", f.Version, err)
	}
	f.Layout = Legacy13
	f.Extension = []byte("trailing bytes of 16 fields and an extension")
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if g.Layout != Legacy13 || len(g.Extension) == 0 {
		t.Errorf("version %q: read %v with %d trailing bytes, want legacy with trailing data", f.Version, g.Layout, len(g.Extension))
	}
	var again bytes.Buffer
	if err := Write(&again, g); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("trailing data not written back verbatim (err %v)", err)
	}
}

func TestWriteErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := conictest.Random(rng, conictest.RandomOptions{Exotic: true})
	f := NewFile(p, 0)
	if err := Write(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), "complex PSD") {
		t.Errorf("complex PSD cones in the legacy layout: error %v", err)
	}
	q := &conic.Problem{M: 1, N: 1, Cones: conic.Cones{L: 1}, B: []float64{1}, C: []float64{1},
		A: conic.CSC{M: 1, N: 1, ColPtr: []int{0, 1}, RowIdx: []int{0}, Val: []float64{-1}}}
	f = NewFile(q, 0)
	f.IntSize = 4
	f.Settings.MaxIters = 1 << 40
	var buf bytes.Buffer
	if err := Write(&buf, f); err == nil || !strings.Contains(err.Error(), "max_iters") || buf.Len() != 0 {
		t.Errorf("max_iters 2⁴⁰ in 4-byte ints: error %v, %d bytes written", err, buf.Len())
	}
	f = NewFile(q, 0)
	f.Version = "a-very-long-version-string"
	if err := Write(&bytes.Buffer{}, f); err == nil {
		t.Error("16-byte version string accepted")
	}
}

// Every truncation of a valid file is an error, and absurd sizes are
// rejected before allocation.
func TestReadErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := conictest.Random(rng, conictest.RandomOptions{Quadratic: true})
	p.ObjScale, p.ObjOffset, p.Vars = 0, 0, nil
	var buf bytes.Buffer
	if err := Write(&buf, NewFile(p, 0)); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for n := range len(full) {
		if _, err := Read(bytes.NewReader(full[:n])); err == nil {
			t.Fatalf("file cut at %d of %d bytes read without error", n, len(full))
		}
	}
	// qsize (at byte 12+5+3·8 = 41) set to 2⁶⁰: rejected by the size check.
	bad := append([]byte{}, full...)
	binary.LittleEndian.PutUint64(bad[41:], 1<<60)
	_, err := Read(bytes.NewReader(bad))
	var fe *fieldError
	if !errors.As(err, &fe) || fe.field != "cones.q" || !strings.Contains(err.Error(), "bytes but only") {
		t.Errorf("absurd qsize: error %v", err)
	}
	for _, c := range []struct {
		name string
		edit func([]byte)
		want string
	}{
		{"int size", func(b []byte) { b[0] = 3 }, "int_size"},
		{"float size", func(b []byte) { b[4] = 4 }, "float_size"},
		{"version length", func(b []byte) { b[8] = 40 }, "version_length"},
	} {
		b := append([]byte{}, full...)
		c.edit(b)
		if _, err := Read(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file read without error")
	}
}

// Random byte corruption never panics (the fuzz target below does the same
// with coverage guidance).
func TestReadCorruptNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	p := conictest.Random(rng, conictest.RandomOptions{Quadratic: true, Exotic: true})
	f := NewFile(p, 0)
	f.Layout, f.Version = Dev16, DevVersion
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	for range 3000 {
		b := append([]byte{}, buf.Bytes()...)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		_, _ = Read(bytes.NewReader(b))
	}
}

func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range 3 {
		p := conictest.Random(rng, conictest.RandomOptions{Quadratic: i == 1, Exotic: i == 2})
		fl := NewFile(p, 0)
		if i == 2 {
			fl.Layout, fl.Version = Dev16, DevVersion
		}
		var buf bytes.Buffer
		if err := Write(&buf, fl); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			t.Skip("input over the per-input size limit (1 MiB)")
		}
		g, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, g); err != nil {
			t.Fatalf("read a file it cannot write: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("read/write not byte-identical")
		}
	})
}

func TestFormatNote(t *testing.T) {
	n := FormatNote()
	for _, s := range []string{DefaultVersion, "8-byte", "legacy"} {
		if !strings.Contains(n, s) {
			t.Errorf("FormatNote %q does not mention %q", n, s)
		}
	}
}

// BenchmarkReadWriteMaxEnt reads and rewrites max_ent (1501×900, 1.1 MB).
func BenchmarkReadWriteMaxEnt(b *testing.B) {
	path := filepath.Join("..", "..", "..", "shared", "data", "scs", "max_ent")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("max_ent not found: %v", err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		f, err := Read(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(io.Discard, f); err != nil {
			b.Fatal(err)
		}
	}
}
