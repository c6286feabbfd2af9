package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// dtype is a fixed-size numeric element type of an NPY or IDX file.
type dtype struct {
	kind byte // 'f' float, 'i' signed, 'u' unsigned
	size int  // bytes
	big  bool // big-endian
}

func (t dtype) String() string {
	order := "<"
	if t.big {
		order = ">"
	}
	if t.size == 1 {
		order = "|"
	}
	return fmt.Sprintf("%s%c%d", order, t.kind, t.size)
}

func (t dtype) float() bool { return t.kind == 'f' }

func (t dtype) valid() bool {
	switch t.kind {
	case 'f':
		return t.size == 4 || t.size == 8
	case 'i', 'u':
		return t.size == 1 || t.size == 2 || t.size == 4 || t.size == 8
	}
	return false
}

// decode converts len(dst) elements of src (len(src) = len(dst)·size) to float64.
// The switch sits outside the loops, so each loop is a straight conversion.
func (t dtype) decode(src []byte, dst []float64) {
	var bo binary.ByteOrder = binary.LittleEndian
	if t.big {
		bo = binary.BigEndian
	}
	switch {
	case t.kind == 'u' && t.size == 1:
		for i := range dst {
			dst[i] = float64(src[i])
		}
	case t.kind == 'i' && t.size == 1:
		for i := range dst {
			dst[i] = float64(int8(src[i]))
		}
	case t.kind == 'u' && t.size == 2:
		for i := range dst {
			dst[i] = float64(bo.Uint16(src[2*i:]))
		}
	case t.kind == 'i' && t.size == 2:
		for i := range dst {
			dst[i] = float64(int16(bo.Uint16(src[2*i:])))
		}
	case t.kind == 'u' && t.size == 4:
		for i := range dst {
			dst[i] = float64(bo.Uint32(src[4*i:]))
		}
	case t.kind == 'i' && t.size == 4:
		for i := range dst {
			dst[i] = float64(int32(bo.Uint32(src[4*i:])))
		}
	case t.kind == 'u' && t.size == 8:
		for i := range dst {
			dst[i] = float64(bo.Uint64(src[8*i:]))
		}
	case t.kind == 'i' && t.size == 8:
		for i := range dst {
			dst[i] = float64(int64(bo.Uint64(src[8*i:])))
		}
	case t.kind == 'f' && t.size == 4:
		for i := range dst {
			dst[i] = float64(math.Float32frombits(bo.Uint32(src[4*i:])))
		}
	case t.kind == 'f' && t.size == 8:
		for i := range dst {
			dst[i] = math.Float64frombits(bo.Uint64(src[8*i:]))
		}
	}
}

// firstNonFinite returns the index of the first NaN or ±Inf in v, or −1.
func firstNonFinite(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}

// openRegular opens path for reading and returns its size; a directory or a
// missing file is an error whose message names the path.
func openRegular(path string) (*os.File, int64, error) {
	if path == "" {
		return nil, 0, errors.New("no file name given")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%s is a directory, not a file", path)
	}
	if !st.Mode().IsRegular() {
		// A FIFO would block until a writer appears, a device may never end.
		return nil, 0, fmt.Errorf("%s is a %s, not a regular file; copy the data into a file first", path, fileKind(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// mulBounded multiplies dims, failing when the product exceeds max (or any
// dimension is negative), without overflow.
func mulBounded(dims []int, max int) (int, bool) {
	p := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			p = 0
			continue
		}
		if p > max/d {
			return 0, false
		}
		p *= d
	}
	return p, p <= max
}

// readCapped reads r until EOF or until limit bytes, starting with a buffer of
// capacity prealloc and growing by doubling, so that memory follows the bytes
// actually present rather than a size claimed by a header.
func readCapped(r io.Reader, limit int64, prealloc int) ([]byte, error) {
	if int64(prealloc) > limit {
		prealloc = int(limit)
	}
	buf := make([]byte, 0, prealloc)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			nc := int64(2*cap(buf) + 4096)
			if nc > limit {
				nc = limit
			}
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			buf = nb
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// fileKind names a non-regular file mode for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}
