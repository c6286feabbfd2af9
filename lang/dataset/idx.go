package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/cnnc-org/cnnc/lang/budget"
	"io"
)

// maxDeflateRatio bounds how far deflate can expand its input (about 1032:1), so a
// gzip file of s bytes cannot hold more than ≈ 1032·s bytes.
const maxDeflateRatio = 1032

// idxArray is a decoded IDX file.
type idxArray struct {
	dims   []int
	dt     dtype
	bytes  []byte    // type 0x08 (uint8) data, unconverted
	values []float64 // other types
	gz     bool
}

// idxTypes maps IDX type codes to element types (all big-endian).
var idxTypes = map[byte]dtype{
	0x08: {kind: 'u', size: 1},
	0x09: {kind: 'i', size: 1},
	0x0B: {kind: 'i', size: 2, big: true},
	0x0C: {kind: 'i', size: 4, big: true},
	0x0D: {kind: 'f', size: 4, big: true},
	0x0E: {kind: 'f', size: 8, big: true},
}

// readIDX reads one IDX file (the MNIST layout): magic 0x00 0x00 TYPE NDIMS, then
// NDIMS big-endian uint32 dimensions, then the data in C order, big-endian. TYPE is
// 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64.
// The file may be gzip-compressed: detected by the magic bytes 1f 8b, not by name.
//
// Sizes are checked before allocation: for a plain file the declared data size must
// equal the file size minus the header; for gzip, a declared size beyond what
// deflate can produce from the file is refused, the stream is read through a limit
// of the declared size + 1, and a short stream is reported as truncated at the
// first incomplete item (item = one sample along the first dimension).
func (l *loader) readIDX(path, role string) *idxArray {
	rg := l.srcRange()
	f, size, err := openRegular(path)
	if err != nil {
		l.errf(CodeRead, rg, "", "cannot read IDX %s file: %v", role, err)
		return nil
	}
	defer f.Close()
	if size == 0 {
		l.errf(CodeEmpty, rg, "", "%s: empty file", path)
		return nil
	}
	br := bufio.NewReaderSize(f, int(min(size, 1<<20)))
	var r io.Reader = br
	a := &idxArray{}
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			l.errf(CodeGzip, rg, "", "%s: bad gzip header: %v", path, err)
			return nil
		}
		defer zr.Close()
		r, a.gz = zr, true
	}
	where := "byte offset"
	if a.gz {
		where = "decompressed byte offset"
	}
	streamErr := func(at int64, err error) {
		if a.gz && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			l.errf(CodeGzip, rg, "The file is not a valid gzip stream; download it again.", "%s: corrupt gzip stream near %s %d: %v", path, where, at, err)
			return
		}
		kind := "file"
		if a.gz {
			kind = "gzip stream"
		}
		l.errf(CodeSize, rg, "The file is shorter than its header says; download it again.", "%s: truncated %s: header ends early at %s %d", path, kind, where, at)
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		streamErr(0, err)
		return nil
	}
	dt, okType := idxTypes[head[2]]
	if head[0] != 0 || head[1] != 0 || !okType || head[3] == 0 {
		l.errf(CodeIDXMagic, rg, "An IDX file starts with 00 00, a type code (08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64) and the number of dimensions; MNIST images start 00 00 08 03, labels 00 00 08 01.",
			"%s: not an IDX file: magic 0x%02x%02x%02x%02x at %s 0", path, head[0], head[1], head[2], head[3], where)
		return nil
	}
	a.dt = dt
	nd := int(head[3])
	db := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, db); err != nil {
		streamErr(4, err)
		return nil
	}
	a.dims = make([]int, nd)
	for i := range a.dims {
		a.dims[i] = int(binary.BigEndian.Uint32(db[4*i:]))
	}
	count, ok := mulBounded(a.dims, MaxElements)
	if !ok {
		l.errf(CodeSize, rg, "", "%s: dimensions %v declare more than %d elements", path, a.dims, MaxElements)
		return nil
	}
	hdr := int64(4 + 4*nd)
	need := int64(count) * int64(dt.size)
	if !l.fits(budget.Add(need, budget.Floats(2*int64(count))), fmt.Sprintf("%s: dimensions %v of %s", path, a.dims, dt)) {
		return nil
	}
	item := int64(dt.size)
	if nd > 1 {
		item = need / max(int64(a.dims[0]), 1)
	}
	var buf []byte
	if !a.gz {
		have := size - hdr
		if have != need {
			l.errf(CodeSize, rg, fmt.Sprintf("The header declares dimensions %v of %s: %d data bytes after the %d-byte header. The file may be damaged; download it again.", a.dims, dt, need, hdr),
				"%s: %s", path, sizeMismatch(have, need, item, a.dims[0], "the file holds"))
			return nil
		}
		buf = make([]byte, need)
		if _, err := io.ReadFull(r, buf); err != nil {
			l.errf(CodeRead, rg, "", "%s: reading data at byte offset %d: %v", path, hdr, err)
			return nil
		}
	} else {
		if need > maxDeflateRatio*size+(1<<16) {
			l.errf(CodeSize, rg, "", "%s: header declares %d data bytes, more than a %d-byte gzip file can hold", path, need, size)
			return nil
		}
		var err error
		buf, err = readCapped(r, need+1, int(min(need+1, 1<<27)))
		got := int64(len(buf))
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			what := fmt.Sprintf("%d of %d data bytes decompressed", got, need)
			if got >= need {
				what = fmt.Sprintf("all %d data bytes present, but the gzip trailer is cut", need)
			} else if item > 0 {
				what += fmt.Sprintf(", ends inside item %d of %d", got/item, a.dims[0])
			}
			l.errf(CodeGzip, rg, "The gzip stream ends before its end marker; download the file again.",
				"%s: truncated gzip stream: %s", path, what)
			return nil
		case err != nil:
			streamErr(hdr+got, err)
			return nil
		case got != need:
			l.errf(CodeSize, rg, fmt.Sprintf("The header declares dimensions %v of %s: %d data bytes.", a.dims, dt, need),
				"%s: decompressed data %s", path, sizeMismatch(got, need, item, a.dims[0], "holds"))
			return nil
		}
	}
	if dt.kind == 'u' && dt.size == 1 {
		a.bytes = buf
		return a
	}
	a.values = make([]float64, count)
	dt.decode(buf, a.values)
	if dt.float() {
		if k := firstNonFinite(a.values); k >= 0 {
			l.errf(CodeNonFinite, rg, "Data must be finite.", "%s: non-finite value %g at element %s (item %d, %s %d)", path, a.values[k], fmtIndex(k, a.dims), int64(k)*int64(dt.size)/max(item, 1), where, hdr+int64(k*dt.size))
			return nil
		}
	}
	return a
}

// readIDXPair reads `images idx "…"` and `labels idx "…"`: images of dimensions
// (n, ...) give n samples of shape (...); labels of dimensions (n,) or (n, C).
func (l *loader) readIDXPair() *raw {
	src := l.d.Source
	rg := l.srcRange()
	im := l.readIDX(src.XPath, "images")
	if im == nil {
		return nil
	}
	n := im.dims[0]
	sample := im.dims[1:]
	if len(sample) == 0 {
		sample = []int{1}
	}
	p, _ := mulBounded(sample, MaxElements)
	if n == 0 || p == 0 {
		l.errf(CodeEmpty, rg, "", "%s: no samples (dimensions %v)", src.XPath, im.dims)
		return nil
	}
	var feat features
	if im.bytes != nil {
		feat = &u8rows{p: p, v: im.bytes}
	} else {
		feat = &f64rows{p: p, v: im.values}
	}
	if src.YPath == "" { // images only: an unlabeled prediction input
		return &raw{
			n: n, shape: sample, feat: feat,
			where:  func(i int) string { return fmt.Sprintf("%s item %d", src.XPath, i) },
			source: fmt.Sprintf("idx %s (%d samples of %s, no labels)", src.XPath, n, fmtDims(sample)),
		}
	}
	lb := l.readIDX(src.YPath, "labels")
	if lb == nil {
		return nil
	}
	if len(lb.dims) > 2 {
		l.errf(CodeTargetShape, rg, "Labels must have dimensions (n,) or (n, C).", "%s: labels have dimensions %v", src.YPath, lb.dims)
		return nil
	}
	if lb.dims[0] != n {
		l.errf(CodeCount, rg, "The images and labels files must describe the same samples.", "%s has %d images but %s has %d labels", src.XPath, n, src.YPath, lb.dims[0])
		return nil
	}
	yc := 1
	if len(lb.dims) == 2 {
		yc = lb.dims[1]
	}
	if yc == 0 {
		l.errf(CodeTargetShape, rg, "", "%s: labels have dimensions %v", src.YPath, lb.dims)
		return nil
	}
	y := lb.values
	if lb.bytes != nil {
		y = make([]float64, len(lb.bytes))
		lb.dt.decode(lb.bytes, y)
	}
	ypath := src.YPath
	return &raw{
		n: n, shape: sample, feat: feat, y: y, yc: yc,
		where:  func(i int) string { return fmt.Sprintf("%s item %d", ypath, i) },
		source: fmt.Sprintf("idx %s %s (%d samples of %s)", src.XPath, src.YPath, n, fmtDims(sample)),
	}
}

func fmtDims(d []int) string {
	s := ""
	for i, v := range d {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(v)
	}
	return s
}

// sizeMismatch describes have ≠ need data bytes, naming the item where data ends.
func sizeMismatch(have, need, item int64, items int, holds string) string {
	if have > need {
		return fmt.Sprintf("trailing bytes: %s %d data bytes, the header declares %d", holds, have, need)
	}
	s := fmt.Sprintf("truncated: %s %d of %d data bytes", holds, have, need)
	if item > 0 {
		s += fmt.Sprintf(", ends inside item %d of %d", have/item, items)
	}
	return s
}
