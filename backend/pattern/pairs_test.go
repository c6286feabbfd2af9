package pattern

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// bruteRays lists the extreme rays of the pointed cone {u ∈ Rᵈ : C u ≥ 0} by brute
// force over (d−1)-subsets of its rows (the reference script's method), for d ≤ 3.
func bruteRays(C *mat.Dense) [][]float64 {
	n, d := C.Dims()
	var cands [][]float64
	switch d {
	case 1:
		cands = [][]float64{{1}}
	case 2:
		for i := 0; i < n; i++ {
			r := C.RawRowView(i)
			cands = append(cands, []float64{-r[1], r[0]})
		}
	case 3:
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				a, b := C.RawRowView(i), C.RawRowView(j)
				cands = append(cands, []float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]})
			}
		}
	default:
		panic("bruteRays: d > 3")
	}
	var rays [][]float64
	for _, c := range cands {
		nc := math.Sqrt(dotp(c, c))
		if nc < 1e-12 {
			continue
		}
		for _, s := range []float64{1, -1} {
			u := make([]float64, d)
			for i := range u {
				u[i] = s * c[i] / nc
			}
			ok := true
			for r := 0; r < n && ok; r++ {
				row := C.RawRowView(r)
				ok = dotp(row, u) >= -1e-9*math.Sqrt(dotp(row, row))
			}
			dup := false
			for _, v := range rays {
				if math.Abs(v[0]-u[0])+math.Abs(v[1%d]-u[1%d])+math.Abs(v[d-1]-u[d-1]) < 1e-8 {
					dup = true
				}
			}
			if ok && !dup {
				rays = append(rays, u)
			}
		}
	}
	return rays
}

// brutePairs is an independent enumeration of the pairs of one sign family (the
// reference script's method, §9b.4): for every configuration, q = blkdiag(R_j)·λ over
// the extreme rays R_j of the units' cones, and the second-layer patterns are the sign
// vectors of H = X̃·blkdiag(R) over the open orthant λ > 0, found by perturbing around
// every extreme ray of the arrangement of [H_mixed; I] (all 2^p sign choices) plus
// 3000 random orthant points. It returns the set of pair keys.
func brutePairs(t *testing.T, pp *PairProblem, signs []float64) map[string]bool {
	n, h, _ := pp.dims()
	M := pp.stacked()
	P1 := pp.First.Len()
	m1 := len(signs)
	rays := make([][][]float64, P1)
	for i := 0; i < P1; i++ {
		D := pp.firstCols()[i]
		C := mat.DenseCopyOf(M)
		rowsM, _ := C.Dims()
		for r := 0; r < rowsM; r++ { // every (position, sample) row of the stacked patches
			if D[r] == 0 {
				row := C.RawRowView(r)
				for c := range row {
					row[c] = -row[c]
				}
			}
		}
		rays[i] = bruteRays(C)
	}
	rng := rand.New(rand.NewSource(7))
	out := map[string]bool{}
	cfg := make([]int, m1)
	var rec func(j, lo int)
	rec = func(j, lo int) {
		if j < m1 {
			start := 0
			if j > 0 && signs[j] == signs[j-1] {
				start = lo
			}
			for i := start; i < P1; i++ {
				cfg[j] = i
				rec(j+1, i)
			}
			return
		}
		slots := make([][]float64, m1)
		var cols [][]float64 // q = Σ λ_c cols[c]
		for j, i := range cfg {
			slots[j] = pp.firstCols()[i]
			for _, r := range rays[i] {
				c := make([]float64, m1*h)
				copy(c[j*h:], r)
				cols = append(cols, c)
			}
		}
		p := len(cols)
		var mixed []int
		base := make([]float64, n)
		for tt := 0; tt < n; tt++ {
			switch pp.RowKind(slots, signs, tt) {
			case 2:
				mixed = append(mixed, tt)
			case 1, 0:
				base[tt] = 1
			}
		}
		Hm := mat.NewDense(max(len(mixed), 1), p, nil)
		for k, tt := range mixed {
			row := pp.Row(slots, signs, tt)
			for c := range cols {
				Hm.Set(k, c, dotp(row, cols[c]))
			}
		}
		record := func(lam []float64) {
			d2 := append([]float64(nil), base...)
			out2 := false
			for tt := 0; tt < n; tt++ {
				if pp.RowKind(slots, signs, tt) == 1 {
					out2 = true
				}
			}
			for k, tt := range mixed {
				if dotp(Hm.RawRowView(k), lam) >= 0 {
					d2[tt] = 1
					out2 = true
				} else {
					d2[tt] = 0
				}
			}
			if out2 {
				out[PairKey(slots, d2)] = true
			}
		}
		lam := make([]float64, p)
		for s := 0; s < 3000; s++ {
			for c := range lam {
				lam[c] = math.Exp(2 * rng.NormFloat64())
			}
			record(lam)
		}
		if len(mixed) == 0 {
			return
		}
		// A = [H_mixed; I]: perturb around each extreme ray
		A := mat.NewDense(len(mixed)+p, p, nil)
		A.Slice(0, len(mixed), 0, p).(*mat.Dense).Copy(Hm.Slice(0, len(mixed), 0, p))
		for c := 0; c < p; c++ {
			A.Set(len(mixed)+c, c, 1)
		}
		rows, _ := A.Dims()
		sub := make([]int, p-1)
		var choose func(k, lo int)
		choose = func(k, lo int) {
			if k < p-1 {
				for r := lo; r < rows; r++ {
					sub[k] = r
					choose(k+1, r+1)
				}
				return
			}
			As := mat.NewDense(p-1, p, nil)
			for k, r := range sub {
				As.SetRow(k, A.RawRowView(r))
			}
			var svd mat.SVD
			if !svd.Factorize(As, mat.SVDFullV) {
				return
			}
			sv := svd.Values(nil)
			if sv[len(sv)-1] < 1e-10 {
				return
			}
			var V mat.Dense
			svd.VTo(&V)
			w := mat.Col(nil, p-1, &V)
			// dual basis: As·Vd = I
			var Vd mat.Dense
			if err := Vd.Solve(As, eye(p-1)); err != nil {
				return
			}
			u := make([]float64, p)
			for _, s0 := range []float64{1, -1} {
				for bits := 0; bits < 1<<(p-1); bits++ {
					for c := range u {
						u[c] = s0 * w[c]
						for k := 0; k < p-1; k++ {
							sg := 1.0
							if bits>>k&1 == 1 {
								sg = -1
							}
							u[c] += 1e-7 * sg * Vd.At(c, k)
						}
					}
					pos := true
					for _, v := range u {
						pos = pos && v > 0
					}
					// degenerate rays (several units in one cone make H's columns
					// repeat) leave rows through the ray uncontrolled by the
					// perturbation: skip points that lie on a hyperplane
					nu := math.Sqrt(dotp(u, u))
					for k := range mixed {
						hr := Hm.RawRowView(k)
						if math.Abs(dotp(hr, u)) < 1e-10*math.Sqrt(dotp(hr, hr))*nu {
							pos = false
						}
					}
					if pos {
						record(u)
					}
				}
			}
		}
		choose(0, 0)
	}
	rec(0, 0)
	return out
}

func eye(k int) *mat.Dense {
	I := mat.NewDense(k, k, nil)
	for i := 0; i < k; i++ {
		I.Set(i, i, 1)
	}
	return I
}

// TestPairsBruteForce: on tiny instances (2-D data without bias, 2 features plus a
// bias column; m1 = 2 and 3) the exact enumeration finds exactly the pairs of the
// independent brute force (extreme-ray perturbation of the reference method plus
// random points), family by family, and every pair's gate lies strictly inside its
// cone: its slots' patterns and its D2 are the ones PairOf reads off the gate. Two
// instances always, six with CNNC_LONG=1.
func TestPairsBruteForce(t *testing.T) {
	type tc struct {
		n, feat int
		bias    bool
		m1      int
		seed    int64
	}
	cases := []tc{{5, 2, false, 2, 1}, {4, 2, true, 2, 3}}
	if os.Getenv("CNNC_LONG") != "" {
		cases = append(cases, tc{5, 2, false, 2, 2}, tc{4, 2, true, 2, 4}, tc{4, 2, false, 3, 5}, tc{5, 2, true, 2, 6})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_d%d_bias%v_m%d_s%d", c.n, c.feat, c.bias, c.m1, c.seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(c.seed))
			d := c.feat
			if c.bias {
				d++
			}
			X := mat.NewDense(c.n, d, nil)
			for i := 0; i < c.n; i++ {
				for j := 0; j < c.feat; j++ {
					X.Set(i, j, rng.NormFloat64())
				}
				if c.bias {
					X.Set(i, d-1, 1)
				}
			}
			F, err := Exact(X, 10000)
			if err != nil {
				t.Fatal(err)
			}
			pp := &PairProblem{Pos: []*mat.Dense{X}, First: F, M1: c.m1}
			total := 0
			for _, s := range SignFamilies(c.m1) {
				ex, err := pp.Exact(s, 100000)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for _, p := range ex.Pairs {
					got[PairKey(p.Slots, p.D2)] = true
					q, ok := pp.PairOf(s, p.Gate)
					if !ok || PairKey(q.Slots, q.D2) != PairKey(p.Slots, p.D2) {
						t.Fatalf("signs %v: the gate of pair %v/%v reads as %v/%v", s, p.Slots, p.D2, q.Slots, q.D2)
					}
				}
				want := brutePairs(t, pp, s)
				var miss, extra []string
				for k := range want {
					if !got[k] {
						miss = append(miss, k)
					}
				}
				for k := range got {
					if !want[k] {
						extra = append(extra, k)
					}
				}
				sort.Strings(miss)
				sort.Strings(extra)
				if len(miss)+len(extra) > 0 {
					t.Fatalf("signs %v: exact %d pairs, brute force %d; missing %v, extra %v", s, len(got), len(want), miss, extra)
				}
				if float64(ex.Configurations) != ConfigCount(F.Len(), s) {
					t.Errorf("signs %v: %d configurations, ConfigCount %v", s, ex.Configurations, ConfigCount(F.Len(), s))
				}
				total += len(got)
			}
			t.Logf("P1 = %d, %d pairs", F.Len(), total)
		})
	}
}

// TestPairsBruteForceCNN: the pooled CNN's pairs (§9b.7: K positions, a slot is
// active on sample t when any of its positions is) on tiny instances — 2 or 3 signals
// of length 4, filters of 2, so 3 positions, m1 = 2 — are exactly those of the
// independent brute force (brutePairs on the stacked patches), family by family.
func TestPairsBruteForceCNN(t *testing.T) {
	cases := []struct {
		n    int
		seed int64
	}{{2, 1}}
	if os.Getenv("CNNC_LONG") != "" {
		cases = append(cases, struct {
			n    int
			seed int64
		}{2, 2}, struct {
			n    int
			seed int64
		}{3, 3})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_s%d", c.n, c.seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(c.seed))
			const L, k = 4, 2
			sig := make([][]float64, c.n)
			for i := range sig {
				sig[i] = make([]float64, L)
				for j := range sig[i] {
					sig[i][j] = rng.NormFloat64()
				}
			}
			var pos []*mat.Dense
			for p := 0; p+k <= L; p++ {
				X := mat.NewDense(c.n, k, nil)
				for i := 0; i < c.n; i++ {
					X.SetRow(i, sig[i][p:p+k])
				}
				pos = append(pos, X)
			}
			pp := &PairProblem{Pos: pos, M1: 2}
			F, err := Exact(pp.stacked(), 10000)
			if err != nil {
				t.Fatal(err)
			}
			pp.First = F
			total := 0
			for _, s := range SignFamilies(2) {
				ex, err := pp.Exact(s, 100000)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for _, p := range ex.Pairs {
					got[PairKey(p.Slots, p.D2)] = true
				}
				want := brutePairs(t, pp, s)
				for k := range want {
					if !got[k] {
						t.Errorf("signs %v: brute-force pair %s missing from the enumeration", s, k)
					}
				}
				for k := range got {
					if !want[k] {
						t.Errorf("signs %v: enumerated pair %s not found by brute force", s, k)
					}
				}
				total += len(got)
			}
			t.Logf("%d positions, P1 = %d, %d pairs", len(pos), F.Len(), total)
		})
	}
}

// TestPairsSampleSubset: sampled pairs are pairs of the exact enumeration, their gates
// read back as themselves, and sampling is deterministic per seed.
func TestPairsSampleSubset(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	X := mat.NewDense(6, 3, nil)
	for i := 0; i < 6; i++ {
		X.Set(i, 0, rng.NormFloat64())
		X.Set(i, 1, rng.NormFloat64())
		X.Set(i, 2, 1)
	}
	F, err := Exact(X, 10000)
	if err != nil {
		t.Fatal(err)
	}
	pp := &PairProblem{Pos: []*mat.Dense{X}, First: F, M1: 2}
	S, _ := pp.Sample(3000, 4)
	S2, _ := pp.Sample(3000, 4)
	for fi, s := range SignFamilies(2) {
		ex, err := pp.Exact(s, 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(S[fi].Pairs) == 0 || len(S[fi].Pairs) != len(S2[fi].Pairs) {
			t.Fatalf("signs %v: %d and %d sampled pairs", s, len(S[fi].Pairs), len(S2[fi].Pairs))
		}
		for k, p := range S[fi].Pairs {
			if !ex.Has(p.Slots, p.D2) {
				t.Fatalf("signs %v: sampled pair %v/%v is not in the exact set", s, p.Slots, p.D2)
			}
			if PairKey(p.Slots, p.D2) != PairKey(S2[fi].Pairs[k].Slots, S2[fi].Pairs[k].D2) {
				t.Fatal("sampling is not deterministic")
			}
		}
		t.Logf("signs %v: %d of %d pairs sampled", s, len(S[fi].Pairs), len(ex.Pairs))
	}
}

// TestPairsBudget: more configurations than max is refused before enumerating, with
// the count.
func TestPairsBudget(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	X := mat.NewDense(8, 2, nil)
	for i := 0; i < 8; i++ {
		X.SetRow(i, []float64{rng.NormFloat64(), rng.NormFloat64()})
	}
	F, _ := Exact(X, 1000)
	pp := &PairProblem{Pos: []*mat.Dense{X}, First: F, M1: 2}
	_, err := pp.Exact([]float64{1, -1}, 100)
	e, ok := err.(*ErrTooMany)
	if !ok || e.Count != float64(F.Len()*F.Len()) {
		t.Fatalf("error %v, want ErrTooMany with count %d", err, F.Len()*F.Len())
	}
}
