package convex

import (
	"fmt"
	"math/bits"

	"gonum.org/v1/gonum/mat"
)

// Mask is a Rows × Cols matrix of bits stored column by column: column c (one
// activation pattern) occupies Stride = ⌈Rows/64⌉ consecutive words, bit r%64 of word
// r/64 being entry (r, c). A pattern's column is contiguous and appending a pattern
// (AppendCol) copies nothing else, which is what the adaptive mode does every round.
// At 490 000 rows and 200 patterns a Mask takes 12 MB, a float64 matrix 784 MB.
type Mask struct {
	rows, cols, stride int
	w                  []uint64
}

// NewMask returns a rows × cols mask of zeros.
func NewMask(rows, cols int) *Mask {
	s := (rows + 63) / 64
	return &Mask{rows: rows, cols: cols, stride: s, w: make([]uint64, s*cols)}
}

// Dims returns (rows, cols).
func (m *Mask) Dims() (int, int) { return m.rows, m.cols }

// At reports entry (r, c).
func (m *Mask) At(r, c int) bool {
	return m.w[c*m.stride+r>>6]>>(uint(r)&63)&1 != 0
}

// Set sets entry (r, c).
func (m *Mask) Set(r, c int, v bool) {
	k := c*m.stride + r>>6
	bit := uint64(1) << (uint(r) & 63)
	if v {
		m.w[k] |= bit
	} else {
		m.w[k] &^= bit
	}
}

// Words returns column c's words (a view: Stride words, bits beyond Rows are 0).
func (m *Mask) Words(c int) []uint64 { return m.w[c*m.stride : (c+1)*m.stride] }

// Stride is the number of words per column.
func (m *Mask) Stride() int { return m.stride }

// AppendCol appends a column whose entry r is set when nz(r) is true.
func (m *Mask) AppendCol(nz func(r int) bool) {
	m.w = append(m.w, make([]uint64, m.stride)...)
	col := m.w[m.cols*m.stride:]
	for r := 0; r < m.rows; r++ {
		if nz(r) {
			col[r>>6] |= 1 << (uint(r) & 63)
		}
	}
	m.cols++
}

// AppendWords appends a column given as Stride words (bits beyond Rows are cleared).
func (m *Mask) AppendWords(w []uint64) {
	if len(w) != m.stride {
		panic(fmt.Sprintf("convex: AppendWords: %d words, mask stride %d", len(w), m.stride))
	}
	m.w = append(m.w, w...)
	if r := m.rows & 63; r != 0 && m.stride > 0 {
		m.w[len(m.w)-1] &= 1<<uint(r) - 1
	}
	m.cols++
}

// Count returns the number of set entries of column c.
func (m *Mask) Count(c int) int {
	n := 0
	for _, x := range m.Words(c) {
		n += bits.OnesCount64(x)
	}
	return n
}

// Each calls fn(r) for every set entry of column c, in increasing r.
func (m *Mask) Each(c int, fn func(r int)) {
	for k, x := range m.Words(c) {
		for x != 0 {
			t := bits.TrailingZeros64(x)
			fn(k<<6 + t)
			x &= x - 1
		}
	}
}

// Dense returns the mask as a rows × cols matrix of 0/1 floats (small problems, tests).
func (m *Mask) Dense() *mat.Dense {
	if m.rows == 0 || m.cols == 0 {
		return nil
	}
	D := mat.NewDense(m.rows, m.cols, nil)
	for c := 0; c < m.cols; c++ {
		m.Each(c, func(r int) { D.Set(r, c, 1) })
	}
	return D
}

// Clone returns a deep copy.
func (m *Mask) Clone() *Mask {
	return &Mask{rows: m.rows, cols: m.cols, stride: m.stride, w: append([]uint64(nil), m.w...)}
}

// PatternWeights is a family's Weight matrix (Np × P): Weight[r,p] = Row[r] when
// row r enters pattern p's prediction (Mask bit set) and 0 otherwise. Row holds the
// pooling weight of each prediction row (average pooling: 1/|window|); nil means 1
// (FC, gated, max pooling). Build it with NewPatternWeights and AppendCol (or
// Family.AddPattern), or from a dense matrix with DenseWeights.
type PatternWeights struct {
	Mask *Mask
	Row  []float64
}

// NewPatternWeights returns an Np × 0 weight matrix with row weights row (nil: 1).
func NewPatternWeights(np int, row []float64) *PatternWeights {
	if row != nil && len(row) != np {
		panic(fmt.Sprintf("convex: NewPatternWeights: %d row weights for %d rows", len(row), np))
	}
	return &PatternWeights{Mask: NewMask(np, 0), Row: row}
}

// Dims returns (Np, P).
func (w *PatternWeights) Dims() (int, int) { return w.Mask.Dims() }

// RowWeight is the weight row r carries when active (Row[r], or 1).
func (w *PatternWeights) RowWeight(r int) float64 {
	if w.Row == nil {
		return 1
	}
	return w.Row[r]
}

// At returns Weight[r,p].
func (w *PatternWeights) At(r, p int) float64 {
	if !w.Mask.At(r, p) {
		return 0
	}
	return w.RowWeight(r)
}

// Col returns column p as floats (into dst when it has room).
func (w *PatternWeights) Col(p int, dst []float64) []float64 {
	np, _ := w.Dims()
	dst = zeroed(dst, np)
	w.Mask.Each(p, func(r int) { dst[r] = w.RowWeight(r) })
	return dst
}

// AppendCol appends a pattern given as a float column: col[r] must be 0 or Row[r]
// (1 without Row); anything else is an error.
func (w *PatternWeights) AppendCol(col []float64) error {
	np, _ := w.Dims()
	if len(col) != np {
		return fmt.Errorf("convex: weight column has %d entries, want %d", len(col), np)
	}
	for r, v := range col {
		if v != 0 && v != w.RowWeight(r) {
			return fmt.Errorf("convex: weight column entry %d is %g; a pattern's weights are 0 or the row weight %g", r, v, w.RowWeight(r))
		}
	}
	w.Mask.AppendCol(func(r int) bool { return col[r] != 0 })
	return nil
}

// Dense returns the Np × P float matrix (for small problems and exporters).
func (w *PatternWeights) Dense() *mat.Dense {
	np, P := w.Dims()
	if np == 0 || P == 0 {
		return nil
	}
	D := mat.NewDense(np, P, nil)
	for p := 0; p < P; p++ {
		w.Mask.Each(p, func(r int) { D.Set(r, p, w.RowWeight(r)) })
	}
	return D
}

// DenseWeights converts a dense Np × P weight matrix: the nonzero entries of each row
// must all be equal (that value becomes the row weight).
func DenseWeights(W mat.Matrix) (*PatternWeights, error) {
	np, P := W.Dims()
	row := make([]float64, np)
	general := false
	for r := 0; r < np; r++ {
		for p := 0; p < P; p++ {
			v := W.At(r, p)
			if v == 0 {
				continue
			}
			if row[r] == 0 {
				row[r] = v
			} else if row[r] != v {
				return nil, fmt.Errorf("convex: weight row %d has entries %g and %g; a row carries one weight", r, row[r], v)
			}
		}
		if row[r] != 0 && row[r] != 1 {
			general = true
		}
	}
	if !general {
		row = nil
	}
	w := NewPatternWeights(np, row)
	col := make([]float64, np)
	for p := 0; p < P; p++ {
		for r := range col {
			col[r] = W.At(r, p)
		}
		w.Mask.AppendCol(func(r int) bool { return col[r] != 0 })
	}
	return w, nil
}

// MustDenseWeights is DenseWeights that panics on error (tests, literals).
func MustDenseWeights(W mat.Matrix) *PatternWeights {
	w, err := DenseWeights(W)
	if err != nil {
		panic(err)
	}
	return w
}

// ConeSigns is a family's Sign matrix (Nc × P) with entries in {−1, 0, +1}: row r is
// a constraint of pattern p's cone (Sign[r,p]·C_r x ≥ 0) when On is set, with sign −1
// when Neg is set too. Two bits per entry.
type ConeSigns struct {
	On, Neg *Mask
}

// NewConeSigns returns an Nc × 0 sign matrix.
func NewConeSigns(nc int) *ConeSigns {
	return &ConeSigns{On: NewMask(nc, 0), Neg: NewMask(nc, 0)}
}

// Dims returns (Nc, P).
func (s *ConeSigns) Dims() (int, int) { return s.On.Dims() }

// At returns Sign[r,p].
func (s *ConeSigns) At(r, p int) float64 {
	if !s.On.At(r, p) {
		return 0
	}
	if s.Neg.At(r, p) {
		return -1
	}
	return 1
}

// Col returns column p as floats (into dst when it has room).
func (s *ConeSigns) Col(p int, dst []float64) []float64 {
	nc, _ := s.Dims()
	dst = zeroed(dst, nc)
	s.On.Each(p, func(r int) { dst[r] = 1 })
	s.Neg.Each(p, func(r int) { dst[r] = -1 })
	return dst
}

// Count is the number of rows of pattern p's cone.
func (s *ConeSigns) Count(p int) int { return s.On.Count(p) }

// AppendCol appends a pattern's column of signs (each −1, 0 or +1).
func (s *ConeSigns) AppendCol(col []float64) error {
	nc, _ := s.Dims()
	if len(col) != nc {
		return fmt.Errorf("convex: sign column has %d entries, want %d", len(col), nc)
	}
	for r, v := range col {
		if v != 0 && v != 1 && v != -1 {
			return fmt.Errorf("convex: sign column entry %d is %g, not −1, 0 or +1", r, v)
		}
	}
	s.On.AppendCol(func(r int) bool { return col[r] != 0 })
	s.Neg.AppendCol(func(r int) bool { return col[r] < 0 })
	return nil
}

// AppendWords appends a column given as bit words: on marks the cone's rows, neg
// those with sign −1 (neg is masked by on).
func (s *ConeSigns) AppendWords(on, neg []uint64) {
	s.On.AppendWords(on)
	nw := make([]uint64, len(neg))
	for k := range neg {
		nw[k] = neg[k] & on[k]
	}
	s.Neg.AppendWords(nw)
}

// PatternSigns returns the signs of activation-pattern cones, Sign = 2D − 1: for every
// column p of active, Sign[r,p] = +1 where active is set and −1 where not, on the rows
// with rowOn[r] (nil: every row); other rows are absent (blank rows of C, whose
// constraint reads 0 ≥ 0). The FC (§2) and average-pooling CNN (§4, §5.2) families.
func PatternSigns(active *Mask, rowOn []bool) *ConeSigns {
	nc, P := active.Dims()
	s := NewConeSigns(nc)
	on := make([]uint64, active.Stride())
	for r := 0; r < nc; r++ {
		if rowOn == nil || rowOn[r] {
			on[r>>6] |= 1 << (uint(r) & 63)
		}
	}
	neg := make([]uint64, len(on))
	for p := 0; p < P; p++ {
		for k, x := range active.Words(p) {
			neg[k] = on[k] &^ x
		}
		s.AppendWords(on, neg)
	}
	return s
}

// Dense returns the Nc × P float matrix.
func (s *ConeSigns) Dense() *mat.Dense {
	nc, P := s.Dims()
	if nc == 0 || P == 0 {
		return nil
	}
	D := mat.NewDense(nc, P, nil)
	for p := 0; p < P; p++ {
		s.On.Each(p, func(r int) { D.Set(r, p, s.At(r, p)) })
	}
	return D
}

// DenseSigns converts a dense Nc × P matrix with entries in {−1, 0, +1}.
func DenseSigns(S mat.Matrix) (*ConeSigns, error) {
	nc, P := S.Dims()
	s := NewConeSigns(nc)
	col := make([]float64, nc)
	for p := 0; p < P; p++ {
		for r := range col {
			col[r] = S.At(r, p)
		}
		if err := s.AppendCol(col); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// MustDenseSigns is DenseSigns that panics on error (tests, literals).
func MustDenseSigns(S mat.Matrix) *ConeSigns {
	s, err := DenseSigns(S)
	if err != nil {
		panic(err)
	}
	return s
}

func zeroed(dst []float64, n int) []float64 {
	if cap(dst) < n {
		return make([]float64, n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = 0
	}
	return dst
}
