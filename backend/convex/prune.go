package convex

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Prune returns a solution with the same prediction, no larger objective and at most
// N nonzero family blocks (§1.3, docs/math/01-machinery.md, "The width m*": an optimum with
// at most n nonzero blocks exists, and the LP below finds one).
//
// Reformulation (Carathéodory). Let b range over the nonzero blocks of s, with
// contribution a_b = s_b·𝒫_b x_b ∈ Rᴺ to ŷ and cost c_b = R_b(x_b) > 0. Every block cost
// is positively homogeneous and every block constraint is a cone, so x_b → λ_b x_b with
// λ_b ≥ 0 stays feasible with cost λ_b c_b. The LP
//
//	min Σ_b λ_b c_b   s.t.  Σ_b λ_b a_b = ŷ (the current prediction),  λ ≥ 0
//
// has λ = 1 feasible, and its vertices have linearly independent columns a_b, hence at
// most N of them nonzero. From λ = 1 the loop moves along d ∈ null([a_b]) with cᵀd ≤ 0
// (the prediction is unchanged, the cost does not grow) until some λ_b reaches 0, drops
// that block, and repeats until the remaining columns are independent. Null vectors are
// taken from the SVD of at most N+1 active columns at a time, largest blocks first.
// The result's objective is never above s's: when rounding makes it so, s is returned.
// Generic variables and the output bias are kept as they are.
func (p *Program) Prune(s *Solution) *Solution {
	type blk struct {
		f, c, q int
		a       []float64
		cost    float64
		lam     float64
	}
	var bs []*blk
	for f, fam := range p.Families {
		for c, sign := range fam.Signs {
			B := s.Blocks[f][c]
			P, _ := B.Dims()
			for q := 0; q < P; q++ {
				x := B.RawRowView(q)
				cost := BlockCost(fam.Cost, x)
				if cost == 0 || math.IsNaN(cost) {
					continue
				}
				// Only feasible directions may be rescaled: a numerically tiny block
				// whose direction leaves its cone could absorb a large λ at almost
				// no cost. Such blocks stay as they are.
				if relViolation(fam, q, x) > PruneFeasTol {
					continue
				}
				bs = append(bs, &blk{f: f, c: c, q: q, a: contribution(fam, q, sign, x, p.N), cost: cost, lam: 1})
			}
		}
	}
	n := p.N
	if len(bs) == 0 || n == 0 {
		return s
	}
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].cost > bs[j].cost })
	active := append([]*blk(nil), bs...) // filtered in place below; bs keeps every block
	// Few blocks for many samples (len ≤ n/2): one Householder QR of all their columns,
	// A = QR, and each step works on the columns of R that are still active — A's
	// active columns are Q times them, so they have the same singular values and
	// right singular vectors — instead of a fresh n × m factorization per dropped
	// block (at n = 10 000 with 400 blocks: 2nm² flops once against per step).
	var R *mat.Dense
	col := map[*blk]int{}
	if 2*len(active) <= n {
		A := mat.NewDense(n, len(active), nil)
		for j, b := range active {
			A.SetCol(j, b.a)
			col[b] = j
		}
		var qr mat.QR
		qr.Factorize(A)
		var Rf mat.Dense
		qr.RTo(&Rf)
		R = mat.DenseCopyOf(Rf.Slice(0, len(active), 0, len(active)))
	}
	for len(active) > 0 {
		m := len(active)
		if m > n+1 {
			m = n + 1
		}
		var M *mat.Dense
		if R != nil {
			k, _ := R.Dims()
			M = mat.NewDense(k, m, nil)
			for j := 0; j < m; j++ {
				M.SetCol(j, mat.Col(nil, col[active[j]], R))
			}
		} else {
			M = mat.NewDense(n, m, nil)
			for j := 0; j < m; j++ {
				M.SetCol(j, active[j].a)
			}
		}
		var svd mat.SVD
		if !svd.Factorize(M, mat.SVDFullV) {
			break
		}
		sv := svd.Values(nil)
		// A null vector exists when m > n, or when the smallest singular value is
		// negligible relative to the largest.
		if m <= n && sv[m-1] > 1e-10*sv[0] {
			break
		}
		var V mat.Dense
		svd.VTo(&V)
		d := mat.Col(nil, m-1, &V) // right singular vector of the smallest value (or of the null space)
		cd := 0.0
		for j := 0; j < m; j++ {
			cd += active[j].cost * d[j]
		}
		if cd > 0 {
			for j := range d {
				d[j] = -d[j]
			}
		}
		neg := false
		for _, v := range d {
			if v < 0 {
				neg = true
			}
		}
		if !neg {
			// cᵀd = 0 and d ≥ 0: −d also keeps the cost and has negative entries.
			for j := range d {
				d[j] = -d[j]
			}
		}
		alpha, drop := math.Inf(1), -1
		for j := 0; j < m; j++ {
			if d[j] < 0 {
				if r := active[j].lam / -d[j]; r < alpha {
					alpha, drop = r, j
				}
			}
		}
		if drop < 0 {
			break
		}
		for j := 0; j < m; j++ {
			active[j].lam += alpha * d[j]
			if active[j].lam < 0 {
				active[j].lam = 0
			}
		}
		active[drop].lam = 0
		next := active[:0]
		for _, b := range active {
			if b.lam > 0 {
				next = append(next, b)
			}
		}
		active = next
	}
	out := &Solution{Bias: s.Bias, Vars: s.Vars, Blocks: make([][]*mat.Dense, len(s.Blocks))}
	for f := range s.Blocks {
		out.Blocks[f] = make([]*mat.Dense, len(s.Blocks[f]))
		for c := range s.Blocks[f] {
			out.Blocks[f][c] = mat.DenseCopyOf(s.Blocks[f][c])
		}
	}
	for _, b := range bs {
		row := out.Blocks[b.f][b.c].RawRowView(b.q)
		for j := range row {
			row[j] *= b.lam
		}
	}
	if p.Objective(out) > p.Objective(s) {
		return s
	}
	return out
}

// PruneFeasTol is the largest relative cone violation max_r (−Sign[r,q]·C_r x)₊/‖x‖₂
// of a block that Prune rescales.
const PruneFeasTol = 1e-9

// relViolation is max_r (−Sign[r,q]·C_r·x)₊ / ‖x‖₂ for pattern q of fam (0 without C).
func relViolation(fam *Family, q int, x []float64) float64 {
	if fam.C == nil {
		return 0
	}
	nx := math.Sqrt(dot(x, x))
	if nx == 0 {
		return 0
	}
	worst := 0.0
	fam.Sign.On.Each(q, func(r int) {
		if v := -fam.Sign.At(r, q) * dot(fam.C.RawRowView(r), x); v > worst {
			worst = v
		}
	})
	return worst / nx
}

// contribution is s·𝒫_q x for pattern q of fam: (𝒫_q x)_i = Σ_{r: Sample[r]=i} Weight[r,q]·A_r·x.
func contribution(fam *Family, q int, sign float64, x []float64, n int) []float64 {
	a := make([]float64, n)
	fam.Weight.Mask.Each(q, func(r int) {
		a[fam.Sample[r]] += sign * fam.Weight.RowWeight(r) * dot(fam.A.RawRowView(r), x)
	})
	return a
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
