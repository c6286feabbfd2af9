package conictest

import (
	"math"
	"math/rand/v2"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// RandomOptions selects what Random puts in a problem.
type RandomOptions struct {
	Quadratic bool // add a random sparse PSD P (upper triangle)
	// Exotic adds the cones only SCS has: box (with some infinite bounds),
	// complex PSD and power cones, plus zero-size SOC and PSD cones.
	Exotic bool
}

// Random returns a structurally valid problem with every cone kind and
// arbitrary data (not necessarily feasible): for format round trips. Values
// mix integers, short fractions and full-precision doubles so that every bit
// of the float encoding is exercised.
func Random(rng *rand.Rand, o RandomOptions) *conic.Problem {
	k := conic.Cones{
		Z:  rng.IntN(3),
		L:  rng.IntN(4),
		EP: rng.IntN(2),
		ED: rng.IntN(2),
	}
	for range 1 + rng.IntN(2) {
		k.Q = append(k.Q, 1+rng.IntN(4))
	}
	for range 1 + rng.IntN(2) {
		k.S = append(k.S, 1+rng.IntN(3))
	}
	if o.Exotic {
		k.BSize = 1 + rng.IntN(3)
		for range k.BSize - 1 {
			lo, hi := -1-rng.Float64(), 1+rng.Float64()
			if rng.IntN(4) == 0 {
				lo = math.Inf(-1)
			}
			if rng.IntN(4) == 0 {
				hi = math.Inf(1)
			}
			k.BL, k.BU = append(k.BL, lo), append(k.BU, hi)
		}
		k.Q = append(k.Q, 0)
		k.S = append(k.S, 0)
		k.CS = []int{1 + rng.IntN(2)}
		k.P = []float64{0.25 + 0.5*rng.Float64(), -0.5, 0.3}
	}
	m := k.Rows()
	n := 1 + rng.IntN(6)
	p := &conic.Problem{M: m, N: n, Cones: k, B: randVec(rng, m), C: randVec(rng, n)}
	p.A = randCSC(rng, m, n, 0.4, false)
	if o.Quadratic {
		p.P = randPSDUpper(rng, n)
	}
	if rng.IntN(2) == 0 {
		p.ObjScale, p.ObjOffset = 0.5+rng.Float64(), rng.NormFloat64()
	}
	p.Vars = []conic.VarRange{{Name: "v_1", Start: 0, Len: n, Shape: []int{n}, Layer: 1}}
	return p
}

func randVal(rng *rand.Rand) float64 {
	switch rng.IntN(3) {
	case 0:
		return float64(rng.IntN(9) - 4)
	case 1:
		return float64(rng.IntN(17)-8) / 4
	}
	return rng.NormFloat64()
}

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = randVal(rng)
	}
	return v
}

// randCSC is a random m×n sparse matrix with about density·m·n nonzeros
// (sorted row indices; no explicit zeros).
func randCSC(rng *rand.Rand, m, n int, density float64, dense bool) conic.CSC {
	a := conic.CSC{M: m, N: n, ColPtr: make([]int, n+1)}
	for j := range n {
		for i := range m {
			if dense || rng.Float64() < density {
				v := randVal(rng)
				if v == 0 {
					v = 1
				}
				a.RowIdx = append(a.RowIdx, i)
				a.Val = append(a.Val, v)
			}
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	return a
}

// randPSDUpper returns the upper triangle of P = BᵀB + diag(d), d ≥ 0, with B
// sparse, so P is symmetric positive semidefinite.
func randPSDUpper(rng *rand.Rand, n int) *conic.CSC {
	b := randCSC(rng, n, n, 0.3, false)
	full := make([]float64, n*n)
	// P = BᵀB: P_ij = Σ_r B_ri B_rj.
	col := func(j int) []float64 {
		v := make([]float64, n)
		for p := b.ColPtr[j]; p < b.ColPtr[j+1]; p++ {
			v[b.RowIdx[p]] = b.Val[p]
		}
		return v
	}
	cols := make([][]float64, n)
	for j := range n {
		cols[j] = col(j)
	}
	for i := range n {
		for j := range n {
			s := 0.0
			for r := range n {
				s += cols[i][r] * cols[j][r]
			}
			full[i+j*n] = s
		}
		if rng.IntN(2) == 0 {
			full[i+i*n] += float64(rng.IntN(3))
		}
	}
	return upper(full, n)
}

// upper packs the upper triangle of the column-major n×n matrix full as CSC.
func upper(full []float64, n int) *conic.CSC {
	p := &conic.CSC{M: n, N: n, ColPtr: make([]int, n+1)}
	for j := range n {
		for i := 0; i <= j; i++ {
			if v := full[i+j*n]; v != 0 {
				p.RowIdx = append(p.RowIdx, i)
				p.Val = append(p.Val, v)
			}
		}
		p.ColPtr[j+1] = len(p.Val)
	}
	return p
}

// Feasible returns a problem with the cones k (any kind except complex PSD)
// and n variables that is strictly primal and dual feasible, so an optimum
// exists and strong duality holds: it draws x₀, s₀ ∈ int K, y₀ ∈ int K* and sets
//
//	b = A x₀ + s₀,   c = −Aᵀy₀ − P x₀
//
// (zero-cone rows get s₀ = 0 and a free y₀). A is dense with m ≥ n rows beyond
// the equalities, so it has full column rank with probability 1; with P it is
// the upper triangle of a random PSD matrix. The optimum is not known in
// closed form: compare two solvers, or check KKT residuals.
// It panics if k has complex PSD cones or fewer rows than needed.
func Feasible(rng *rand.Rand, n int, k conic.Cones, quadratic bool) *conic.Problem {
	if len(k.CS) > 0 {
		panic("conictest.Feasible: complex PSD cones are not supported")
	}
	m := k.Rows()
	if m-k.Z < n || k.Z > n {
		panic("conictest.Feasible: need z ≤ n ≤ m − z")
	}
	p := &conic.Problem{M: m, N: n, Cones: k}
	p.A = randCSC(rng, m, n, 1, true)
	for i := range p.A.Val {
		p.A.Val[i] = rng.NormFloat64()
	}
	s0, y0 := make([]float64, m), make([]float64, m)
	r := 0
	for ; r < k.Z; r++ {
		y0[r] = rng.NormFloat64()
	}
	for range k.L {
		s0[r], y0[r] = 0.5+rng.Float64(), 0.5+rng.Float64()
		r++
	}
	if k.BSize > 0 {
		// s₀ = (1, (l+u)/2) (finite bounds), y₀ = (1, 0): τt + λᵀx > 0 on K\{0}.
		s0[r], y0[r] = 1, 1
		for i := range k.BSize - 1 {
			lo, hi := k.BL[i], k.BU[i]
			switch {
			case math.IsInf(lo, -1) && math.IsInf(hi, 1):
				s0[r+1+i] = 0
			case math.IsInf(lo, -1):
				s0[r+1+i] = hi - 1
			case math.IsInf(hi, 1):
				s0[r+1+i] = lo + 1
			default:
				s0[r+1+i] = (lo + hi) / 2
			}
		}
		r += k.BSize
	}
	for _, q := range k.Q {
		socInterior(rng, s0[r:r+q])
		socInterior(rng, y0[r:r+q])
		r += q
	}
	for _, d := range k.S {
		t := d * (d + 1) / 2
		psdInterior(rng, s0[r:r+t], d)
		psdInterior(rng, y0[r:r+t], d)
		r += t
	}
	for range k.EP {
		copy(s0[r:], []float64{0, 1, 2})  // 1·e⁰ = 1 < 2
		copy(y0[r:], []float64{-1, 0, 1}) // −(−1)e⁰ = 1 < e·1
		r += 3
	}
	for range k.ED {
		copy(s0[r:], []float64{-1, 0, 1})
		copy(y0[r:], []float64{0, 1, 2})
		r += 3
	}
	for range k.P {
		// (1, 1, 0) is interior to the power cone and to its dual for every α.
		copy(s0[r:], []float64{1, 1, 0})
		copy(y0[r:], []float64{1, 1, 0})
		r += 3
	}
	x0 := make([]float64, n)
	for i := range x0 {
		x0[i] = rng.NormFloat64()
	}
	p.B = append([]float64(nil), s0...)
	p.A.MulVec(p.B, x0)
	p.C = make([]float64, n)
	if quadratic {
		p.P = randPSDUpper(rng, n)
		symMulVec(p.P, p.C, x0)
	}
	p.A.MulTVec(p.C, y0)
	for i := range p.C {
		p.C[i] = -p.C[i]
	}
	return p
}

// symMulVec computes y += P x for symmetric P stored as its upper triangle.
func symMulVec(p *conic.CSC, y, x []float64) {
	for j := 0; j < p.N; j++ {
		for q := p.ColPtr[j]; q < p.ColPtr[j+1]; q++ {
			i := p.RowIdx[q]
			y[i] += p.Val[q] * x[j]
			if i != j {
				y[j] += p.Val[q] * x[i]
			}
		}
	}
}

// socInterior fills v with (‖u‖ + 1, u) for a random u.
func socInterior(rng *rand.Rand, v []float64) {
	if len(v) == 0 {
		return
	}
	s := 0.0
	for i := 1; i < len(v); i++ {
		v[i] = rng.NormFloat64()
		s += v[i] * v[i]
	}
	v[0] = math.Sqrt(s) + 0.5 + rng.Float64()
}

// psdInterior fills v with svec(I + 0.3·RRᵀ/d) for a random d×d R.
func psdInterior(rng *rand.Rand, v []float64, d int) {
	r := make([]float64, d*d)
	for i := range r {
		r[i] = rng.NormFloat64()
	}
	t := 0
	for j := range d {
		for i := j; i < d; i++ {
			s := 0.0
			for l := range d {
				s += r[i+l*d] * r[j+l*d]
			}
			s *= 0.3 / float64(d)
			if i == j {
				v[t] = 1 + s
			} else {
				v[t] = math.Sqrt2 * s
			}
			t++
		}
	}
}
