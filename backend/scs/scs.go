// Package scs reads and writes the binary data files of the SCS conic solver
// (the files SCS's read_data routine reads and its write_data_filename setting
// writes; docs/exports.md, "--format scs").
//
// Input and output: a *File, which wraps a conic.Problem (SCS's own form,
// minimize cᵀx + ½xᵀPx s.t. Ax + s = b, s ∈ K, §1.5, docs/math/01-machinery.md) together
// with the file's version string, integer size, settings layout and SCS
// settings. It sits at the end of the pipeline, beside the other exporters
// (backend/cbf, conic.WriteJSON): `cnnc export --format scs` writes a File, and
// the conformance tests read files written by SCS itself (scs_test.go says where).
//
// The byte layout (little-endian, no padding; I is an integer of IntSize bytes,
// F a float64):
//
//	header    u32 int_size · u32 float_size (= 8) · u32 version_len (< 16) · version
//	cones     I z · I l · I bsize · F bl[bsize−1] · F bu[bsize−1] · I qsize · I q[qsize]
//	          · I ssize · I s[ssize] · I ep · I ed · I psize · F p[psize]
//	data      I m · I n · F b[m] · F c[n] · A · I has_P · [P]
//	          where a matrix is I m · I n · I colptr[n+1] · F values[nnz] · I rowidx[nnz]
//	settings  Legacy13 or Dev16 (see Settings)
//	extension (Dev16) u32 0x53435345 · u32 1 · I cssize · I cs[…] · I dsize · I d[…]
//	          · I nucsize · I nuc_m[…] · I nuc_n[…] · I ell1_size · I ell1[…]
//	          · I sl_size · I sl_n[…] · I sl_k[…] · F time_limit_secs
//
// Which settings layout a file has is decided, as SCS does, by its version
// string: every 3.x release writes and reads the 13-field legacy layout; SCS's
// development branch (version string "3.2.11") writes 16 fields followed by the
// extension block, and reads 16 fields only from files whose version string is
// its own. Because the 3.2.11 release also writes "3.2.11" but with the legacy
// layout, a "3.2.11" file whose bytes after the data are exactly one legacy
// settings block is read as Legacy13 (SCS's development branch would misread
// such a file; this reader does not).
//
// The writer's defaults (NewFile) are the legacy layout with version string
// "3.2.7" and 8-byte integers: every SCS 3.2.x release and the development
// branch read the legacy layout; releases from 3.2.3 on convert either integer
// size, and 8 bytes is what SCS's Python interface (its default build uses
// 64-bit integers; 32-bit is an opt-in) and the C library built with DLONG
// expect, so their older releases read it as well; and it has no 2³¹ limit on
// nonzeros. IntSize 4 can be requested for the C library's default build.
//
// Bad input never panics: every count is checked against the bytes left in
// the file before anything is allocated, and errors say which field, at which
// byte offset, was wrong.
package scs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// Layout is the settings layout of a data file.
type Layout int

const (
	// Legacy13 is the 13-field settings block of SCS 3.x releases.
	Legacy13 Layout = iota
	// Dev16 is the 16-field block of SCS's development branch, followed by an
	// optional extension block.
	Dev16
)

func (l Layout) String() string {
	switch l {
	case Legacy13:
		return "legacy 13-field settings (SCS 3.x releases)"
	case Dev16:
		return "16-field settings (SCS development branch)"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

const (
	// DefaultVersion is the version string NewFile writes: a released SCS
	// version other than DevVersion, so every reader picks the legacy layout.
	DefaultVersion = "3.2.7"
	// DefaultIntSize is the integer width NewFile writes, in bytes.
	DefaultIntSize = 8
	// DefaultLayout is the settings layout NewFile writes.
	DefaultLayout = Legacy13
	// DevVersion is the version string of SCS's development branch, the only
	// one for which it reads (and with which it writes) the Dev16 layout.
	DevVersion = "3.2.11"

	extMagic   = 0x53435345 // "SCSE"
	extVersion = 1
	floatSize  = 8
)

// Settings are the solver settings stored in a data file. The first 13
// fields (through AdaptiveScale) form the Legacy13 block, in file order
// Normalize, Scale, RhoX, MaxIters, EpsAbs, EpsRel, EpsInfeas, Alpha, Verbose,
// WarmStart, AccelerationLookback, AccelerationInterval, AdaptiveScale. Dev16
// stores the first 12, then AccelerationType1, AccelerationRegularization,
// AccelerationRelaxation, AdaptiveScale. TimeLimitSecs lives in the Dev16
// extension block.
type Settings struct {
	Normalize            int
	Scale                float64
	RhoX                 float64
	MaxIters             int
	EpsAbs               float64
	EpsRel               float64
	EpsInfeas            float64
	Alpha                float64
	Verbose              int
	WarmStart            int
	AccelerationLookback int
	AccelerationInterval int
	AdaptiveScale        int

	AccelerationType1          int
	AccelerationRegularization float64
	AccelerationRelaxation     float64

	TimeLimitSecs float64
}

// DefaultSettings returns SCS's default settings (glbopts.h of SCS 3.2.x and
// its development branch): normalize 1, scale 0.1, rho_x 1e-6, max_iters
// 100000, eps_abs = eps_rel = 1e-4, eps_infeas 1e-7, alpha 1.5, verbose 1,
// warm_start 0, acceleration_lookback 10, acceleration_interval 10,
// adaptive_scale 1, acceleration_type_1 1, acceleration_regularization 1e-8,
// acceleration_relaxation 1, time_limit_secs 0.
func DefaultSettings() Settings {
	return Settings{
		Normalize: 1, Scale: 0.1, RhoX: 1e-6, MaxIters: 100000,
		EpsAbs: 1e-4, EpsRel: 1e-4, EpsInfeas: 1e-7, Alpha: 1.5,
		Verbose: 1, WarmStart: 0, AccelerationLookback: 10, AccelerationInterval: 10,
		AdaptiveScale: 1, AccelerationType1: 1, AccelerationRegularization: 1e-8,
		AccelerationRelaxation: 1,
	}
}

// File is one SCS data file.
type File struct {
	Version  string // SCS version string in the header (ASCII, < 16 bytes)
	IntSize  int    // 4 or 8
	Layout   Layout
	Problem  *conic.Problem
	Settings Settings
	// Extension holds the raw bytes after the settings block, kept verbatim
	// (for Dev16, the extension block; for Legacy13, trailing data SCS
	// releases ignore). nil means "none read": the writer then writes nothing
	// for Legacy13 and a version-1 extension block, as SCS's development
	// branch does, for Dev16. A non-nil slice (even empty) is written as is.
	Extension []byte
}

// NewFile wraps p with the writer's defaults: DefaultVersion, DefaultIntSize,
// DefaultLayout, SCS's default settings except verbose = 0 and
// eps_abs = eps_rel = eps (SCS's 1e-4 when eps ≤ 0).
func NewFile(p *conic.Problem, eps float64) *File {
	s := DefaultSettings()
	s.Verbose = 0
	if eps > 0 {
		s.EpsAbs, s.EpsRel = eps, eps
	}
	return &File{Version: DefaultVersion, IntSize: DefaultIntSize, Layout: DefaultLayout, Problem: p, Settings: s}
}

// FormatNote describes what NewFile writes, for `cnnc version`.
func FormatNote() string {
	return fmt.Sprintf("scs data files: legacy layout (13 settings fields, read by every SCS 3.2.x release and the development branch), "+
		"version string %q, %d-byte integers, little-endian; the 16-field %q layout on request", DefaultVersion, DefaultIntSize, DevVersion)
}

// ReadFile reads the SCS data file at path; errors name the file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Read reads one SCS data file from r (to its end).
func Read(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return decode(data)
}

// reader is a cursor over the file's bytes.
type reader struct {
	data    []byte
	off     int
	intSize int
}

type fieldError struct {
	off   int
	field string
	msg   string
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("scs data file: %s at byte %d: %s", e.field, e.off, e.msg)
}

func (r *reader) fail(field, format string, args ...any) error {
	return &fieldError{off: r.off, field: field, msg: fmt.Sprintf(format, args...)}
}

func (r *reader) left() int { return len(r.data) - r.off }

func (r *reader) u32(field string) (uint32, error) {
	if r.left() < 4 {
		return 0, r.fail(field, "file ends (%d bytes left, need 4)", r.left())
	}
	v := binary.LittleEndian.Uint32(r.data[r.off:])
	r.off += 4
	return v, nil
}

func (r *reader) int(field string) (int, error) {
	if r.left() < r.intSize {
		return 0, r.fail(field, "file ends (%d bytes left, need %d)", r.left(), r.intSize)
	}
	var v int64
	if r.intSize == 4 {
		v = int64(int32(binary.LittleEndian.Uint32(r.data[r.off:])))
	} else {
		v = int64(binary.LittleEndian.Uint64(r.data[r.off:]))
	}
	r.off += r.intSize
	return int(v), nil
}

func (r *reader) float(field string) (float64, error) {
	if r.left() < floatSize {
		return 0, r.fail(field, "file ends (%d bytes left, need 8)", r.left())
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.data[r.off:]))
	r.off += floatSize
	return v, nil
}

// count checks that n elements of size bytes each fit in what is left.
func (r *reader) count(field string, n, size int) error {
	if n < 0 {
		return r.fail(field, "negative length %d", n)
	}
	if n > r.left()/size {
		return r.fail(field, "length %d needs %d bytes but only %d are left", n, n*size, r.left())
	}
	return nil
}

func (r *reader) ints(field string, n int) ([]int, error) {
	if err := r.count(field, n, r.intSize); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	v := make([]int, n)
	for i := range v {
		v[i], _ = r.int(field)
	}
	return v, nil
}

func (r *reader) floats(field string, n int) ([]float64, error) {
	if err := r.count(field, n, floatSize); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i], _ = r.float(field)
	}
	return v, nil
}

// lenInts reads a length and that many integers.
func (r *reader) lenInts(field string) ([]int, error) {
	n, err := r.int(field + " size")
	if err != nil {
		return nil, err
	}
	return r.ints(field, n)
}

func decode(data []byte) (*File, error) {
	r := &reader{data: data}
	isz, err := r.u32("int_size")
	if err != nil {
		return nil, err
	}
	if isz != 4 && isz != 8 {
		return nil, &fieldError{0, "int_size", fmt.Sprintf("%d, want 4 or 8 (is this an SCS data file?)", isz)}
	}
	r.intSize = int(isz)
	fsz, err := r.u32("float_size")
	if err != nil {
		return nil, err
	}
	if fsz != floatSize {
		return nil, &fieldError{4, "float_size", fmt.Sprintf("%d, want 8 (only double-precision files are supported)", fsz)}
	}
	vlen, err := r.u32("version_length")
	if err != nil {
		return nil, err
	}
	if vlen >= 16 || int(vlen) > r.left() {
		return nil, r.fail("version_length", "%d, want < 16 and within the file", vlen)
	}
	f := &File{IntSize: r.intSize, Version: string(r.data[r.off : r.off+int(vlen)])}
	r.off += int(vlen)

	p := &conic.Problem{}
	f.Problem = p
	if err := readCones(r, &p.Cones); err != nil {
		return nil, err
	}
	if err := readData(r, p); err != nil {
		return nil, err
	}

	legacySize := 7*r.intSize + 6*floatSize
	f.Layout = Legacy13
	if f.Version == DevVersion && r.left() != legacySize {
		f.Layout = Dev16
	}
	if err := readSettings(r, &f.Settings, f.Layout); err != nil {
		return nil, err
	}
	f.Extension = append([]byte{}, r.data[r.off:]...)
	if f.Layout == Dev16 && len(f.Extension) > 0 {
		ext, err := parseExtension(f.Extension, r.intSize, r.off)
		if err != nil {
			return nil, err
		}
		if ext != nil {
			p.Cones.CS = ext.cs
			f.Settings.TimeLimitSecs = ext.timeLimit
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("scs data file: %v", err)
	}
	return f, nil
}

func readCones(r *reader, k *conic.Cones) error {
	var err error
	if k.Z, err = r.int("cones.z"); err != nil {
		return err
	}
	if k.L, err = r.int("cones.l"); err != nil {
		return err
	}
	if k.BSize, err = r.int("cones.bsize"); err != nil {
		return err
	}
	if k.BSize < 0 {
		return r.fail("cones.bsize", "negative box cone size %d", k.BSize)
	}
	if k.BL, err = r.floats("cones.bl", max(k.BSize-1, 0)); err != nil {
		return err
	}
	if k.BU, err = r.floats("cones.bu", max(k.BSize-1, 0)); err != nil {
		return err
	}
	if k.Q, err = r.lenInts("cones.q"); err != nil {
		return err
	}
	if k.S, err = r.lenInts("cones.s"); err != nil {
		return err
	}
	if k.EP, err = r.int("cones.ep"); err != nil {
		return err
	}
	if k.ED, err = r.int("cones.ed"); err != nil {
		return err
	}
	np, err := r.int("cones.psize")
	if err != nil {
		return err
	}
	k.P, err = r.floats("cones.p", np)
	return err
}

func readMatrix(r *reader, name string) (conic.CSC, error) {
	var a conic.CSC
	var err error
	if a.M, err = r.int(name + ".m"); err != nil {
		return a, err
	}
	if a.N, err = r.int(name + ".n"); err != nil {
		return a, err
	}
	if a.M < 0 || a.N < 0 {
		return a, r.fail(name, "negative dimensions %d×%d", a.M, a.N)
	}
	if a.N == math.MaxInt {
		return a, r.fail(name+".n", "absurd column count %d", a.N)
	}
	if a.ColPtr, err = r.ints(name+".colptr", a.N+1); err != nil {
		return a, err
	}
	nnz := a.ColPtr[a.N]
	if a.Val, err = r.floats(name+".values", nnz); err != nil {
		return a, err
	}
	if a.RowIdx, err = r.ints(name+".rowidx", nnz); err != nil {
		return a, err
	}
	if err := a.Check(); err != nil {
		return a, r.fail(name, "%v", err)
	}
	return a, nil
}

func readData(r *reader, p *conic.Problem) error {
	var err error
	if p.M, err = r.int("data.m"); err != nil {
		return err
	}
	if p.N, err = r.int("data.n"); err != nil {
		return err
	}
	if p.B, err = r.floats("data.b", p.M); err != nil {
		return err
	}
	if p.C, err = r.floats("data.c", p.N); err != nil {
		return err
	}
	if p.B == nil {
		p.B = []float64{}
	}
	if p.C == nil {
		p.C = []float64{}
	}
	if p.A, err = readMatrix(r, "A"); err != nil {
		return err
	}
	if p.A.M != p.M || p.A.N != p.N {
		return r.fail("A", "matrix is %d×%d but the data block says m=%d, n=%d", p.A.M, p.A.N, p.M, p.N)
	}
	hasP, err := r.int("has_P")
	if err != nil {
		return err
	}
	switch hasP {
	case 0:
	case 1:
		pm, err := readMatrix(r, "P")
		if err != nil {
			return err
		}
		p.P = &pm
	default:
		return r.fail("has_P", "%d, want 0 or 1", hasP)
	}
	return nil
}

// settingsFields lists the settings in file order for a layout: each entry
// is an int or float64 pointer into s.
func settingsFields(s *Settings, l Layout) []any {
	f := []any{&s.Normalize, &s.Scale, &s.RhoX, &s.MaxIters, &s.EpsAbs, &s.EpsRel,
		&s.EpsInfeas, &s.Alpha, &s.Verbose, &s.WarmStart, &s.AccelerationLookback,
		&s.AccelerationInterval}
	if l == Dev16 {
		f = append(f, &s.AccelerationType1, &s.AccelerationRegularization, &s.AccelerationRelaxation)
	}
	return append(f, &s.AdaptiveScale)
}

var settingsNames = map[Layout][]string{
	Legacy13: {"normalize", "scale", "rho_x", "max_iters", "eps_abs", "eps_rel", "eps_infeas", "alpha",
		"verbose", "warm_start", "acceleration_lookback", "acceleration_interval", "adaptive_scale"},
	Dev16: {"normalize", "scale", "rho_x", "max_iters", "eps_abs", "eps_rel", "eps_infeas", "alpha",
		"verbose", "warm_start", "acceleration_lookback", "acceleration_interval",
		"acceleration_type_1", "acceleration_regularization", "acceleration_relaxation", "adaptive_scale"},
}

func readSettings(r *reader, s *Settings, l Layout) error {
	*s = DefaultSettings()
	names := settingsNames[l]
	for i, f := range settingsFields(s, l) {
		var err error
		switch v := f.(type) {
		case *int:
			*v, err = r.int("settings." + names[i])
		case *float64:
			*v, err = r.float("settings." + names[i])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// extension is the parsed version-1 extension block.
type extension struct {
	cs        []int
	timeLimit float64
}

// parseExtension parses the bytes after a Dev16 settings block. Data that
// does not start with the magic number is ignored, as SCS does (nil, nil).
// Spectral cones (SCS built with USE_SPECTRAL_CONES) are reported as an error:
// the conic form has no place for them.
func parseExtension(b []byte, intSize, base int) (*extension, error) {
	r := &reader{data: b, intSize: intSize}
	fail := func(err error) error {
		var fe *fieldError
		if errors.As(err, &fe) {
			fe.off += base
		}
		return err
	}
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != extMagic {
		return nil, nil
	}
	r.off = 4
	v, err := r.u32("extension.version")
	if err != nil {
		return nil, fail(err)
	}
	if v != extVersion {
		return nil, fail(r.fail("extension.version", "%d, this reader understands version %d", v, extVersion))
	}
	e := &extension{}
	if e.cs, err = r.lenInts("extension.cs"); err != nil {
		return nil, fail(err)
	}
	spectral := 0
	for _, name := range []string{"d", "nuc"} {
		n, err := r.int("extension." + name + " size")
		if err != nil {
			return nil, fail(err)
		}
		k := 1
		if name == "nuc" {
			k = 2 // nuc_m and nuc_n
		}
		for range k {
			if _, err := r.ints("extension."+name, n); err != nil {
				return nil, fail(err)
			}
		}
		spectral += n
	}
	for _, name := range []string{"ell1", "sl"} {
		n, err := r.int("extension." + name + " size")
		if err != nil {
			return nil, fail(err)
		}
		k := 1
		if name == "sl" {
			k = 2 // sl_n and sl_k
		}
		for range k {
			if _, err := r.ints("extension."+name, n); err != nil {
				return nil, fail(err)
			}
		}
		spectral += n
	}
	if spectral > 0 {
		return nil, fail(r.fail("extension", "file has %d spectral cones (log-det, nuclear norm, ℓ1, sum-of-largest-eigenvalues; SCS's USE_SPECTRAL_CONES build), which cnnc's conic form does not represent", spectral))
	}
	if e.timeLimit, err = r.float("extension.time_limit_secs"); err != nil {
		return nil, fail(err)
	}
	return e, nil
}
