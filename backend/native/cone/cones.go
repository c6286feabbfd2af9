package cone

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
)

type blockKind int

const (
	kZero blockKind = iota
	kNonneg
	kBox
	kSOC
	kPSD
	kExpPrimal
	kExpDual
	kPow
)

// block is a contiguous run of rows of one cone kind. For kZero and kNonneg one block
// covers all z (l) rows; the other kinds have one block per cone (kExp*: one per
// triple).
type block struct {
	kind  blockKind
	start int
	size  int     // rows
	order int     // PSD order k
	alpha float64 // power cone parameter (negative: dual cone)
}

// layout is the cone product, checked.
type layout struct {
	blocks []block
	m      int
	z      int
	bl, bu []float64
	// work space for PSD projections, by order
	psd map[int]*psdWork
}

type psdWork struct {
	a   *mat.SymDense
	eig mat.EigenSym
	vec mat.Dense
}

// newLayout validates the cones and returns their layout.
func newLayout(k *conic.Cones, m int) (*layout, error) {
	L := &layout{m: m, z: k.Z, psd: map[int]*psdWork{}}
	if k.Z < 0 || k.L < 0 || k.EP < 0 || k.ED < 0 || k.BSize < 0 {
		return nil, fmt.Errorf("negative cone size (z=%d, l=%d, bsize=%d, ep=%d, ed=%d)", k.Z, k.L, k.BSize, k.EP, k.ED)
	}
	if len(k.CS) > 0 {
		for _, c := range k.CS {
			if c > 0 {
				return nil, fmt.Errorf("unsupported cone: complex PSD (cs=%v)", k.CS)
			}
		}
	}
	r := 0
	add := func(b block) {
		b.start = r
		r += b.size
		if b.size > 0 {
			L.blocks = append(L.blocks, b)
		}
	}
	add(block{kind: kZero, size: k.Z})
	add(block{kind: kNonneg, size: k.L})
	if k.BSize > 0 {
		if len(k.BL) != k.BSize-1 || len(k.BU) != k.BSize-1 {
			return nil, fmt.Errorf("box cone of size %d needs %d lower and upper bounds, have %d and %d", k.BSize, k.BSize-1, len(k.BL), len(k.BU))
		}
		for i := range k.BL {
			if math.IsNaN(k.BL[i]) || math.IsNaN(k.BU[i]) || k.BL[i] > k.BU[i] {
				return nil, fmt.Errorf("box cone bound %d: [%g, %g] is empty or NaN", i, k.BL[i], k.BU[i])
			}
		}
		L.bl, L.bu = k.BL, k.BU
		add(block{kind: kBox, size: k.BSize})
	}
	for i, q := range k.Q {
		if q < 0 {
			return nil, fmt.Errorf("second-order cone %d has negative size %d", i, q)
		}
		add(block{kind: kSOC, size: q})
	}
	for i, s := range k.S {
		if s < 0 {
			return nil, fmt.Errorf("PSD cone %d has negative order %d", i, s)
		}
		add(block{kind: kPSD, size: s * (s + 1) / 2, order: s})
		if s > 1 && L.psd[s] == nil {
			L.psd[s] = &psdWork{a: mat.NewSymDense(s, nil)}
		}
	}
	for i := 0; i < k.EP; i++ {
		add(block{kind: kExpPrimal, size: 3})
	}
	for i := 0; i < k.ED; i++ {
		add(block{kind: kExpDual, size: 3})
	}
	for i, a := range k.P {
		if !(a > -1 && a < 1 && a != 0) {
			return nil, fmt.Errorf("power cone %d has parameter %g, want 0 < |p| < 1", i, a)
		}
		add(block{kind: kPow, size: 3, alpha: a})
	}
	if r != m {
		return nil, fmt.Errorf("cones cover %d rows, A has %d", r, m)
	}
	return L, nil
}

// projectDual replaces v by Π_{K*}(v), block by block.
func (L *layout) projectDual(v []float64) {
	for _, b := range L.blocks {
		x := v[b.start : b.start+b.size]
		switch b.kind {
		case kZero:
			// K* = R^z: nothing to do.
		case kNonneg:
			for i, xi := range x {
				if xi < 0 {
					x[i] = 0
				}
			}
		case kBox:
			projBoxDual(x, L.bl, L.bu)
		case kSOC:
			projSOC(x)
		case kPSD:
			L.projPSD(x, b.order)
		case kExpPrimal:
			// K = K_exp, K* = K_exp*: Π_{K*}(v) = v + Π_K(−v).
			p := projExp(-x[0], -x[1], -x[2])
			x[0] += p[0]
			x[1] += p[1]
			x[2] += p[2]
		case kExpDual:
			// K = K_exp*, K* = K_exp.
			p := projExp(x[0], x[1], x[2])
			copy(x, p[:])
		case kPow:
			if b.alpha > 0 {
				p := projPow(-x[0], -x[1], -x[2], b.alpha)
				x[0] += p[0]
				x[1] += p[1]
				x[2] += p[2]
			} else {
				p := projPow(x[0], x[1], x[2], -b.alpha)
				copy(x, p[:])
			}
		}
	}
}

// projSOC projects (t, u) onto {‖u‖₂ ≤ t} in place:
// ‖u‖ ≤ t → unchanged; ‖u‖ ≤ −t → 0; else ((t+‖u‖)/2)·(1, u/‖u‖).
func projSOC(x []float64) {
	if len(x) == 0 {
		return
	}
	t := x[0]
	if len(x) == 1 {
		if t < 0 {
			x[0] = 0
		}
		return
	}
	nu := 0.0
	for _, v := range x[1:] {
		nu = math.Hypot(nu, v)
	}
	switch {
	case nu <= t:
	case nu <= -t:
		for i := range x {
			x[i] = 0
		}
	default:
		a := (t + nu) / 2
		x[0] = a
		f := a / nu
		for i := 1; i < len(x); i++ {
			x[i] *= f
		}
	}
}

// projPSD projects svec(S) of order k onto the PSD cone: S = QΛQᵀ → Q max(Λ,0) Qᵀ.
func (L *layout) projPSD(x []float64, k int) {
	if k == 1 {
		if x[0] < 0 {
			x[0] = 0
		}
		return
	}
	w := L.psd[k]
	data := w.a.RawSymmetric()
	idx := 0
	for j := 0; j < k; j++ {
		for i := j; i < k; i++ {
			v := x[idx]
			if i != j {
				v /= math.Sqrt2
			}
			data.Data[j*data.Stride+i] = v // upper storage: (j, i) with j ≤ i
			idx++
		}
	}
	if !w.eig.Factorize(w.a, true) {
		// EigenSym failing is a numerical breakdown (NaN input); zero the block.
		for i := range x {
			x[i] = 0
		}
		return
	}
	lam := w.eig.Values(nil)
	w.eig.VectorsTo(&w.vec)
	allNonneg := true
	for _, l := range lam {
		if l < 0 {
			allNonneg = false
		}
	}
	if allNonneg {
		return
	}
	idx = 0
	for j := 0; j < k; j++ {
		for i := j; i < k; i++ {
			s := 0.0
			for e, l := range lam {
				if l > 0 {
					s += l * w.vec.At(i, e) * w.vec.At(j, e)
				}
			}
			if i != j {
				s *= math.Sqrt2
			}
			x[idx] = s
			idx++
		}
	}
}
