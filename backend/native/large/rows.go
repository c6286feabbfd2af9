package large

import (
	"container/heap"
	"math"
	"sort"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/certify"
)

// coneSign returns Sign[r,p] of family fm (0 when the row is not in p's cone).
func (fm *fam) coneSign(r, p int) float64 { return fm.f.Sign.At(r, p) }

// slacks calls fn(r, sgn·C_r·x) for every cone row r of pattern p of fm.
//
// When the pattern's cone uses at least a quarter of C's rows (a CNN: every patch
// row), C·x is one matrix–vector product over all rows (BLAS, a pooled buffer) and
// the rows are then read from it: 3–5× faster than a dot product per row.
func (fm *fam) slacks(p int, x []float64, fn func(r int, s float64)) {
	f := fm.f
	neg := f.Sign.Neg.Words(p)
	rows, h := f.C.Dims()
	if 4*f.Sign.Count(p) >= rows && rows >= 256 {
		bp := slackBufs.Get().(*[]float64)
		if cap(*bp) < rows {
			*bp = make([]float64, rows)
		}
		buf := (*bp)[:rows]
		raw := f.C.RawMatrix()
		blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: h, Inc: 1, Data: x}, 0, blas64.Vector{N: rows, Inc: 1, Data: buf})
		f.Sign.On.Each(p, func(r int) {
			s := buf[r]
			if neg[r>>6]>>(uint(r)&63)&1 != 0 {
				s = -s
			}
			fn(r, s)
		})
		slackBufs.Put(bp)
		return
	}
	f.Sign.On.Each(p, func(r int) {
		s := dot(f.C.RawRowView(r), x)
		if neg[r>>6]>>(uint(r)&63)&1 != 0 {
			s = -s
		}
		fn(r, s)
	})
}

// slackBufs holds slacks' product buffers (one per concurrent caller).
var slackBufs = sync.Pool{New: func() any { return new([]float64) }}

// rowMatrix returns the rows idx of pattern p's cone, sign applied (len(idx) × H,
// row-major).
func (fm *fam) rowMatrix(p int, idx []int32) []float64 {
	h := fm.H
	out := make([]float64, len(idx)*h)
	for i, r := range idx {
		s := fm.coneSign(int(r), p)
		for j, v := range fm.f.C.RawRowView(int(r)) {
			out[i*h+j] = s * v
		}
	}
	return out
}

// smallestRows returns up to k rows of pattern p with the smallest distance
// sgn·C_r·x/‖C_r‖ to their facet, excluding excl (sorted ascending), in increasing
// distance order (ties by row); with below ≥ 0 only rows with distance < below
// qualify. A bounded max-heap keeps the k best, so the cost is one pass over the
// pattern's rows plus O(m log k).
func (fm *fam) smallestRows(p int, x []float64, k int, excl []int32, below float64) []int32 {
	if k <= 0 {
		return nil
	}
	h := &rowHeap{}
	fm.slacks(p, x, func(r int, s float64) {
		if fm.cnorm[r] == 0 {
			return
		}
		d := s / fm.cnorm[r]
		if below >= 0 && !(d < below) {
			return
		}
		e := rd{int32(r), d}
		if len(*h) == k && !e.less((*h)[0]) {
			return
		}
		if has(excl, e.r) {
			return
		}
		if len(*h) < k {
			heap.Push(h, e)
		} else {
			(*h)[0] = e
			heap.Fix(h, 0)
		}
	})
	out := make([]rd, len(*h))
	copy(out, *h)
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	rows := make([]int32, len(out))
	for i, e := range out {
		rows[i] = e.r
	}
	return rows
}

// rd is a row with its distance; less orders by distance, then row.
type rd struct {
	r int32
	d float64
}

func (a rd) less(b rd) bool { return a.d < b.d || a.d == b.d && a.r < b.r }

// rowHeap is a max-heap of rd (the worst of the kept rows on top).
type rowHeap []rd

func (h rowHeap) Len() int           { return len(h) }
func (h rowHeap) Less(i, j int) bool { return h[j].less(h[i]) }
func (h rowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)        { *h = append(*h, x.(rd)) }
func (h *rowHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func has(sorted []int32, r int32) bool {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i] >= r })
	return i < len(sorted) && sorted[i] == r
}

func merge(a, b []int32) []int32 {
	out := append(append([]int32(nil), a...), b...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	k := 0
	for i, v := range out {
		if i == 0 || v != out[k-1] {
			out[k] = v
			k++
		}
	}
	return out[:k]
}

// coneMax computes an upper bound on max_{u ∈ B₂ ∩ 𝒦_p} gᵀu for the full cone 𝒦_p of
// pattern p of fm, by NNLS (certify.ConeMax) over the working rows *rows (a superset
// cone, so an upper bound), then checking the maximiser against every row of the
// pattern: if none is violated by more than tol·‖u‖ the value is exact; otherwise the
// most violated rows (at most 2H) join *rows and the NNLS is repeated, at most
// maxTries times. The value returned is always a valid upper bound (ConeMax's value
// ‖g + Mᵀλ‖ bounds the maximum for any λ ≥ 0). exact reports whether the final
// maximiser satisfied every row.
func (fm *fam) coneMax(p int, g []float64, rows *[]int32, tol float64, maxTries int) (val float64, exact bool) {
	val, _, exact = fm.coneProject(p, g, rows, tol, maxTries)
	return val, exact
}

// coneProject is coneMax that also returns the unit maximiser u (so val·u is the
// projection of g onto the cone when exact).
func (fm *fam) coneProject(p int, g []float64, rows *[]int32, tol float64, maxTries int) (val float64, unit []float64, exact bool) {
	if fm.Nc == 0 {
		n := norm(g)
		u := append([]float64(nil), g...)
		if n > 0 {
			scale(u, 1/n)
		}
		return n, u, true
	}
	h := fm.H
	for try := 0; ; try++ {
		var M *mat.Dense
		if len(*rows) > 0 {
			M = mat.NewDense(len(*rows), h, fm.rowMatrix(p, *rows))
		}
		v, u, _, _ := certify.ConeMax(g, M)
		if v == 0 {
			return 0, u, true
		}
		// check u against every row of the pattern
		type rs struct {
			r int32
			s float64
		}
		var bad []rs
		fm.slacks(p, u, func(r int, s float64) {
			if fm.cnorm[r] > 0 && s < -tol*fm.cnorm[r] {
				bad = append(bad, rs{int32(r), s / fm.cnorm[r]})
			}
		})
		if len(bad) == 0 {
			return v, u, true
		}
		if try >= maxTries {
			return v, u, false
		}
		sort.Slice(bad, func(i, j int) bool {
			if bad[i].s != bad[j].s {
				return bad[i].s < bad[j].s
			}
			return bad[i].r < bad[j].r
		})
		var add []int32
		for _, b := range bad {
			if len(add) >= 2*h {
				break
			}
			add = append(add, b.r)
		}
		*rows = merge(*rows, add)
	}
}

// violatedRows returns the rows of pattern p violated at x by more than
// tol·‖x‖·‖C_r‖, most violated first, at most k, and the largest relative violation.
func (fm *fam) violatedRows(p int, x []float64, tol float64, k int) ([]int32, float64) {
	nx := norm(x)
	if nx == 0 || fm.Nc == 0 {
		return nil, 0
	}
	type rs struct {
		r int32
		s float64
	}
	var bad []rs
	worst := 0.0
	fm.slacks(p, x, func(r int, s float64) {
		if fm.cnorm[r] == 0 {
			return
		}
		d := s / (fm.cnorm[r] * nx)
		if d < -tol {
			bad = append(bad, rs{int32(r), d})
		}
		worst = math.Max(worst, -d)
	})
	sort.Slice(bad, func(i, j int) bool {
		if bad[i].s != bad[j].s {
			return bad[i].s < bad[j].s
		}
		return bad[i].r < bad[j].r
	})
	var out []int32
	for _, b := range bad {
		if len(out) >= k {
			break
		}
		out = append(out, b.r)
	}
	return out, worst
}
