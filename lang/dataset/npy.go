package dataset

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/cnnc-org/cnnc/lang/budget"
	"io"
	"strconv"
	"strings"
)

// npyArray is a decoded NPY file: the shape and either the raw bytes (uint8 data,
// kept unconverted) or float64 values.
type npyArray struct {
	shape  []int
	dt     dtype
	bytes  []byte    // dtype |u1 when asked to keep bytes
	values []float64 // otherwise
	offset int       // byte offset of the data in the file
}

// readNPY reads one NPY file (format versions 1.0, 2.0 and 3.0): the magic
// "\x93NUMPY", major and minor version bytes, the header length (uint16 LE in 1.0,
// uint32 LE in 2.0/3.0), then a Python dict literal with 'descr' (one of
// [<>|=]{f4,f8,i1,i2,i4,i8,u1,u2,u4,u8}; '=' is read as little-endian),
// 'fortran_order' (must be False) and 'shape' (a tuple), then the data in C order.
// The data size must equal prod(shape)·itemsize exactly, checked against the file
// size before anything is allocated. keepBytes keeps |u1 data as bytes.
func (l *loader) readNPY(path, role string, keepBytes bool) *npyArray {
	rg := l.srcRange()
	f, size, err := openRegular(path)
	if err != nil {
		l.errf(CodeRead, rg, "", "cannot read NPY file (%s): %v", role, err)
		return nil
	}
	defer f.Close()
	if size == 0 {
		l.errf(CodeEmpty, rg, "", "%s: empty file", path)
		return nil
	}
	br := bufio.NewReaderSize(f, int(min(size, 1<<16)))
	pre := make([]byte, 8)
	if _, err := io.ReadFull(br, pre); err != nil || string(pre[:6]) != "\x93NUMPY" {
		l.errf(CodeNPYHeader, rg, "An NPY file starts with the bytes \\x93NUMPY; write it with numpy.save.", "%s: not an NPY file (bad magic at byte offset 0)", path)
		return nil
	}
	major, minor := pre[6], pre[7]
	var hlen, off int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			l.errf(CodeNPYHeader, rg, "", "%s: truncated NPY header at byte offset 8", path)
			return nil
		}
		hlen, off = int(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			l.errf(CodeNPYHeader, rg, "", "%s: truncated NPY header at byte offset 8", path)
			return nil
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[:])), 12
	default:
		l.errf(CodeNPYHeader, rg, "Versions 1.0, 2.0 and 3.0 are supported.", "%s: unsupported NPY format version %d.%d (byte offset 6)", path, major, minor)
		return nil
	}
	if int64(off)+int64(hlen) > size || hlen > 1<<20 {
		l.errf(CodeNPYHeader, rg, "", "%s: NPY header length %d (byte offset 8) exceeds the file (%d bytes)", path, hlen, size)
		return nil
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		l.errf(CodeNPYHeader, rg, "", "%s: truncated NPY header: %v", path, err)
		return nil
	}
	h, perr := parsePyDict(string(hdr))
	if perr != nil {
		l.errf(CodeNPYHeader, rg, "", "%s: bad NPY header at byte offset %d: %s", path, off+perr.pos, perr.msg)
		return nil
	}
	descr, ok1 := h["descr"].(string)
	fortran, ok2 := h["fortran_order"].(bool)
	shapeV, ok3 := h["shape"].([]int)
	if !ok1 || !ok2 || !ok3 {
		l.errf(CodeNPYHeader, rg, "The header dict needs 'descr' (a string), 'fortran_order' (a bool) and 'shape' (a tuple).", "%s: bad NPY header at byte offset %d: missing or mistyped key", path, off)
		return nil
	}
	dt, ok := parseDescr(descr)
	if !ok {
		l.errf(CodeNPYDtype, rg, "Supported dtypes are float64, float32, int8/16/32/64 and uint8/16/32/64, either byte order. Convert with X.astype(numpy.float64).", "%s: unsupported NPY dtype %q", path, descr)
		return nil
	}
	if fortran {
		l.errf(CodeNPYOrder, rg, "Save the array in C order: numpy.save(path, numpy.ascontiguousarray(X)).", "%s: array is in Fortran order (fortran_order=True)", path)
		return nil
	}
	count, okc := mulBounded(shapeV, MaxElements)
	if !okc {
		l.errf(CodeSize, rg, "", "%s: shape %s declares more than %d elements", path, fmtShape(shapeV), MaxElements)
		return nil
	}
	data := off + hlen
	need := int64(count) * int64(dt.size)
	if !l.fits(budget.Add(need, budget.Floats(2*int64(count))), fmt.Sprintf("%s: %s elements of %s", path, fmtShape(shapeV), descr)) {
		return nil
	}
	have := size - int64(data)
	if need != have {
		what := "truncated"
		if have > need {
			what = "trailing bytes"
		}
		l.errf(CodeSize, rg, "", "%s: %s: shape %s of %s needs %d data bytes from byte offset %d, but the file holds %d", path, what, fmtShape(shapeV), descr, need, data, have)
		return nil
	}
	buf := make([]byte, need)
	if _, err := io.ReadFull(br, buf); err != nil {
		l.errf(CodeRead, rg, "", "%s: reading data at byte offset %d: %v", path, data, err)
		return nil
	}
	a := &npyArray{shape: shapeV, dt: dt, offset: data}
	if keepBytes && dt.kind == 'u' && dt.size == 1 {
		a.bytes = buf
		return a
	}
	a.values = make([]float64, count)
	dt.decode(buf, a.values)
	if dt.float() {
		if k := firstNonFinite(a.values); k >= 0 {
			l.errf(CodeNonFinite, rg, "Data must be finite; remove or impute missing values first.", "%s: non-finite value %g at element %s (byte offset %d)", path, a.values[k], fmtIndex(k, shapeV), data+k*dt.size)
			return nil
		}
	}
	return a
}

// parseDescr reads a simple NumPy dtype string such as "<f8" or "|u1".
func parseDescr(s string) (dtype, bool) {
	if len(s) != 3 {
		return dtype{}, false
	}
	var t dtype
	switch s[0] {
	case '<', '=', '|':
	case '>':
		t.big = true
	default:
		return dtype{}, false
	}
	t.kind = s[1]
	t.size = int(s[2] - '0')
	if !t.valid() || (s[0] == '|' && t.size != 1) {
		return dtype{}, false
	}
	return t, true
}

func fmtShape(s []int) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = strconv.Itoa(v)
	}
	if len(p) == 1 {
		return "(" + p[0] + ",)"
	}
	return "(" + strings.Join(p, ", ") + ")"
}

// fmtIndex turns a flat C-order index into a multi-index "[i, j, k]".
func fmtIndex(k int, shape []int) string {
	idx := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = strconv.Itoa(k % shape[d])
			k /= shape[d]
		}
	}
	return "[" + strings.Join(idx, ", ") + "]"
}

// readNPYPair reads `npy "X.npy" "y.npy"`: X of shape (n, ...) gives n samples of
// shape (...) ((n,) gives one feature each); y of shape (n,) or (n, C).
func (l *loader) readNPYPair() *raw {
	src := l.d.Source
	rg := l.srcRange()
	X := l.readNPY(src.XPath, "X", true)
	if X == nil {
		return nil
	}
	if len(X.shape) == 0 {
		l.errf(CodeTargetShape, rg, "X must have one row per sample: shape (n, ...).", "%s: X is a scalar (shape ())", src.XPath)
		return nil
	}
	n := X.shape[0]
	sample := X.shape[1:]
	if len(sample) == 0 {
		sample = []int{1}
	}
	p, _ := mulBounded(sample, MaxElements)
	if n == 0 || p == 0 {
		l.errf(CodeEmpty, rg, "", "%s: no samples (shape %s)", src.XPath, fmtShape(X.shape))
		return nil
	}
	var feat features
	if X.bytes != nil {
		feat = &u8rows{p: p, v: X.bytes}
	} else {
		feat = &f64rows{p: p, v: X.values}
	}
	if src.YPath == "" { // features only: an unlabeled prediction input
		return &raw{
			n: n, shape: sample, feat: feat,
			where:  func(i int) string { return fmt.Sprintf("%s row %d", src.XPath, i) },
			source: fmt.Sprintf("npy %s (X %s %s, no targets)", src.XPath, fmtShape(X.shape), X.dt),
		}
	}
	Y := l.readNPY(src.YPath, "y", false)
	if Y == nil {
		return nil
	}
	yc := 1
	switch len(Y.shape) {
	case 1:
	case 2:
		yc = Y.shape[1]
	default:
		l.errf(CodeTargetShape, rg, "y must have shape (n,) or (n, C).", "%s: y has shape %s", src.YPath, fmtShape(Y.shape))
		return nil
	}
	if len(Y.shape) == 0 || Y.shape[0] != n {
		l.errf(CodeCount, rg, "X and y must have the same first dimension.", "%s has %d samples but %s has %d targets", src.XPath, n, src.YPath, Y.shape[0])
		return nil
	}
	if yc == 0 {
		l.errf(CodeTargetShape, rg, "y must have at least one column.", "%s: y has shape %s", src.YPath, fmtShape(Y.shape))
		return nil
	}
	ypath := src.YPath
	return &raw{
		n: n, shape: sample, feat: feat, y: Y.values, yc: yc,
		where:  func(i int) string { return fmt.Sprintf("%s row %d", ypath, i) },
		source: fmt.Sprintf("npy %s %s (X %s %s, y %s %s)", src.XPath, src.YPath, fmtShape(X.shape), X.dt, fmtShape(Y.shape), Y.dt),
	}
}

// pyError is a header parse error at byte offset pos of the header text.
type pyError struct {
	pos int
	msg string
}

// parsePyDict parses the dict literal of an NPY header: string keys; values
// that are strings, True/False, or tuples of non-negative integers (an optional
// trailing L, as Python 2 wrote them). Anything else is an error with its offset.
func parsePyDict(s string) (map[string]any, *pyError) {
	p := &pyParser{s: s}
	out := map[string]any{}
	p.space()
	if !p.eat('{') {
		return nil, p.fail("expected '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			return out, nil
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, p.fail("expected ':' after key")
		}
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out[key] = v
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if p.eat('}') {
			return out, nil
		}
		return nil, p.fail("expected ',' or '}'")
	}
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) fail(msg string) *pyError { return &pyError{pos: p.i, msg: msg} }

func (p *pyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) str() (string, *pyError) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", p.fail("expected a quoted string")
	}
	q := p.s[p.i]
	start := p.i + 1
	end := strings.IndexByte(p.s[start:], q)
	if end < 0 {
		return "", p.fail("unterminated string")
	}
	p.i = start + end + 1
	return p.s[start : start+end], nil
}

func (p *pyParser) value() (any, *pyError) {
	if p.i >= len(p.s) {
		return nil, p.fail("expected a value")
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.str()
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	case c == '(':
		p.i++
		dims := []int{}
		for {
			p.space()
			if p.eat(')') {
				return dims, nil
			}
			start := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			if start == p.i {
				return nil, p.fail("expected a non-negative integer in the shape")
			}
			v, err := strconv.Atoi(p.s[start:p.i])
			if err != nil || v > MaxElements {
				p.i = start
				return nil, p.fail("shape dimension too large")
			}
			p.eat('L')
			dims = append(dims, v)
			p.space()
			if p.eat(',') {
				continue
			}
			p.space()
			if p.eat(')') {
				return dims, nil
			}
			return nil, p.fail("expected ',' or ')' in the shape")
		}
	}
	return nil, p.fail("unsupported value (expected a string, True, False or a tuple)")
}
