package pattern

import (
	"fmt"
	"math"
	"math/rand"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// Pattern pairs of three-layer networks with two ReLU layers
// (docs/math/09-three-layer.md, §9b.3, §9b.4, §9b.7).
//
// A branch of the parallel network f(x) = Σ_k w3_k·(Σ_j w2_kj·φ(x; w1_kj))₊ has m1
// first-layer units. Unit j's output is φ_j = Σ_p pool·(x_p·q_j)₊ over the K positions
// p of the sample (fully connected: K = 1, x_0 = x, pool = 1; the pooled CNN of §9b.7:
// the patches of a convolution, pool = 1/K for average pooling). On the cell where unit
// j has the first-layer pattern D_j (nK bits, row p·n + t for position p of sample t,
// a pattern of the stacked matrix M = [X_0; …; X_{K−1}]) and the second-layer unit the
// pattern D2 (n bits), the branch is linear in q = (q_1, …, q_m1) (q_j = |w2_j|·w1_j):
//
//	branch(x_t) = D2[t]·Σ_j s_j Σ_p D_j[p·n+t]·pool·x_{t,p}·q_j,   s_j = sign w2_j,
//
// subject to the cone of the pair: (2D_j − I)·M·q_j ≥ 0 for every unit and
// (2D2 − I)·g(q) ≥ 0 for the second-layer pre-activation g_t = Σ_j s_j Σ_p D_j·x_{t,p}q_j.
//
// A sign family is one vector s (m1 signs, + before −; the all-minus vector is left
// out: its second-layer unit is never positive). A configuration is a tuple of
// first-layer patterns, one per slot, in canonical order within each run of equal
// signs (pattern keys descending, the order of Set), so each multiset of (pattern,
// sign) items appears once. For a configuration, a sample t is
//
//   - inactive when no unit is active on it (g_t ≡ 0; its D2 bit is 1 and irrelevant),
//   - positive (negative) when every active unit has sign + (−): g_t > 0 (< 0) on the
//     open cone, so D2[t] is 1 (0),
//   - mixed otherwise: D2[t] depends on q.
//
// Exact enumeration (§9b.4): the second-layer patterns of a configuration are the
// sign vectors of its mixed rows g_t over the open product cone of its first-layer
// cells — the cells of the arrangement {g_t = 0} inside that cone. They are found
// incrementally: start from one cell (a point inside the cone: the units' first-layer
// gates), and for each mixed row split every cell found so far into the sides of
// {g_t = 0} that intersect it, deciding each side by strict feasibility (ldp.go; the
// side containing the cell's current point needs no test). Every cell keeps a point
// strictly inside it (its Gate). Pairs whose prediction vanishes (no sample with
// D2 = 1 and an active unit) are dropped. No general-position assumption is needed
// beyond the first layer's (Exact).
//
// Sampling (§9b.4): random branches — W1 with N(0, 1) columns, w2 ~ N(0, 1) — read
// off their configuration (slots sorted canonically) and second-layer pattern;
// duplicates, branches with a dead unit (zero first-layer pattern) and all-minus
// branches are skipped. The gate of a sampled pair is the branch's own q.

// PairProblem is the first layer of a three-layer network.
type PairProblem struct {
	// Pos holds the K position matrices X_p (n × h): FC has one, X.
	Pos []*mat.Dense
	// First is the first-layer pattern set of the stacked M = [X_0; …; X_{K−1}]
	// (row p·n + t), without the zero pattern (Exact or Sample).
	First *Set
	// M1 is the number of first-layer units per branch.
	M1 int
	// Opts reports progress (configurations enumerated, branches drawn) and stops the
	// work early (checked every 64 configurations or 256 branches; the error is
	// ctx.Err()). Memory is the caller's to check before (PairBytes).
	Opts Options

	unit   [][]float64 // unit rows of M (nil for zero rows)
	centre [][]float64 // centres of the first-layer cones (centres)
	cols   [][]float64 // First's patterns as 0/1 floats
}

// firstCols returns First's patterns as 0/1 floats (cached).
func (pp *PairProblem) firstCols() [][]float64 {
	if pp.cols == nil {
		pp.cols = make([][]float64, pp.First.Len())
		for i := range pp.cols {
			pp.cols[i] = pp.First.Pattern(i)
		}
	}
	return pp.cols
}

// bitKey is a pattern as a string of '1' and '0' from row 0 on: comparing keys in
// descending order is Set's pattern order (ones first).
func bitKey(d []float64) string {
	b := make([]byte, len(d))
	for i, v := range d {
		if v != 0 {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
	}
	return string(b)
}

// Pair is one pattern pair of a sign family.
type Pair struct {
	// Config is the index in First of each slot's pattern (nil for pairs that do not
	// come from First: sampled or searched ones).
	Config []int
	// Slots holds each slot's first-layer pattern (nK bits).
	Slots [][]float64
	// D2 is the second-layer pattern (n bits; 1 on inactive samples).
	D2 []float64
	// Gate is a point strictly inside the pair's cone (m1·h entries, slot-major).
	Gate []float64
}

// PairSet is the pairs of one sign family, without duplicates.
type PairSet struct {
	Signs []float64
	Pairs []Pair
	// Exhaustive is true when the set is every pair of the family (exact enumeration
	// over an exhaustive first layer).
	Exhaustive bool
	// Configurations counts the configurations enumerated; Tests the strict
	// feasibility problems solved.
	Configurations, Tests int

	keys map[string]bool
}

// SignFamilies lists the sign vectors of m1 slots with + before − and at least one +:
// m1 families, the j-th with m1 − j plus signs.
func SignFamilies(m1 int) [][]float64 {
	var out [][]float64
	for plus := m1; plus >= 1; plus-- {
		s := make([]float64, m1)
		for j := range s {
			if j < plus {
				s[j] = 1
			} else {
				s[j] = -1
			}
		}
		out = append(out, s)
	}
	return out
}

// ConfigCount is the number of configurations of a sign family over P1 first-layer
// patterns: the multisets of each run of equal signs, C(P1 + r − 1, r) per run of
// length r (as float64: it overflows quickly).
func ConfigCount(P1 int, signs []float64) float64 {
	plus := 0
	for _, s := range signs {
		if s > 0 {
			plus++
		}
	}
	return binom(P1+plus-1, plus) * binom(P1+len(signs)-plus-1, len(signs)-plus)
}

func (pp *PairProblem) dims() (n, h, K int) {
	n, h = pp.Pos[0].Dims()
	return n, h, len(pp.Pos)
}

func (pp *PairProblem) units() [][]float64 {
	if pp.unit != nil {
		return pp.unit
	}
	n, h, K := pp.dims()
	pp.unit = make([][]float64, n*K)
	for p, X := range pp.Pos {
		for t := 0; t < n; t++ {
			row := X.RawRowView(t)
			nr := math.Sqrt(dotp(row, row))
			if nr == 0 {
				continue
			}
			u := make([]float64, h)
			for i, v := range row {
				u[i] = v / nr
			}
			pp.unit[p*n+t] = u
		}
	}
	return pp.unit
}

// active reports whether a unit with first-layer pattern D is active on sample t: on
// at least one position whose data row is nonzero (a zero row's bit is 1 by the ≥
// convention but contributes nothing).
func (pp *PairProblem) active(D []float64, t int) bool {
	n, _, K := pp.dims()
	U := pp.units()
	for p := 0; p < K; p++ {
		if D[p*n+t] != 0 && U[p*n+t] != nil {
			return true
		}
	}
	return false
}

// RowKind classifies sample t for the slots' patterns and signs: 0 inactive, +1
// positive, −1 negative, 2 mixed (see the file comment).
func (pp *PairProblem) RowKind(slots [][]float64, signs []float64, t int) int {
	pos, neg := false, false
	for j, D := range slots {
		if pp.active(D, t) {
			if signs[j] > 0 {
				pos = true
			} else {
				neg = true
			}
		}
	}
	switch {
	case pos && neg:
		return 2
	case pos:
		return 1
	case neg:
		return -1
	}
	return 0
}

// Row is the second-layer pre-activation's coefficient vector on sample t:
// g_t(q) = Row·q = Σ_j s_j Σ_p D_j[p·n+t]·x_{t,p}·q_j (without the pooling weight).
func (pp *PairProblem) Row(slots [][]float64, signs []float64, t int) []float64 {
	n, h, K := pp.dims()
	r := make([]float64, len(slots)*h)
	for j, D := range slots {
		for p := 0; p < K; p++ {
			if D[p*n+t] == 0 {
				continue
			}
			x := pp.Pos[p].RawRowView(t)
			for i, v := range x {
				r[j*h+i] += signs[j] * v
			}
		}
	}
	return r
}

// firstRows are the signed unit rows (2D_j − 1)·M_r of every slot's first-layer cone,
// embedded in the slot's coordinates.
func (pp *PairProblem) firstRows(slots [][]float64) [][]float64 {
	_, h, _ := pp.dims()
	U := pp.units()
	H := len(slots) * h
	var G [][]float64
	for j, D := range slots {
		for r, u := range U {
			if u == nil {
				continue
			}
			g := make([]float64, H)
			s := 2*D[r] - 1
			for i, v := range u {
				g[j*h+i] = s * v
			}
			G = append(G, g)
		}
	}
	return G
}

func unitVec(v []float64) []float64 {
	nv := math.Sqrt(dotp(v, v))
	out := make([]float64, len(v))
	if nv == 0 {
		return out
	}
	for i, x := range v {
		out[i] = x / nv
	}
	return out
}

// PairKey identifies a pair of a family: its slot patterns and D2.
func PairKey(slots [][]float64, d2 []float64) string {
	k := ""
	for _, D := range slots {
		k += bitKey(D) + "|"
	}
	return k + bitKey(d2)
}

// add appends p unless its key is present; it reports whether p was added.
func (s *PairSet) add(p Pair) bool {
	if s.keys == nil {
		s.keys = map[string]bool{}
	}
	k := PairKey(p.Slots, p.D2)
	if s.keys[k] {
		return false
	}
	s.keys[k] = true
	s.Pairs = append(s.Pairs, p)
	return true
}

// Has reports whether the set holds the pair with these slots and D2.
func (s *PairSet) Has(slots [][]float64, d2 []float64) bool {
	return s.keys != nil && s.keys[PairKey(slots, d2)]
}

// Add adds a pair (e.g. one found by the adaptive search); it reports whether it was new.
func (s *PairSet) Add(p Pair) bool { return s.add(p) }

// PairBytes estimates the memory of P pairs of m1 slots over n samples, nK first-layer
// rows and h features per unit: each pair's gate (m1·h floats), D2 (n floats), slot
// references, its key (m1·nK + n bytes) and some overhead.
func PairBytes(P, n, nK, m1, h int64) int64 {
	per := budget.Add(budget.Add(budget.Mul(8, budget.Add(budget.Mul(m1, h), n)), budget.Add(budget.Mul(m1, nK), n)), budget.Add(budget.Mul(24, m1), 96))
	return budget.Mul(P, per)
}

// ErrTooMany is returned (wrapped) when an enumeration exceeds its budget.
type ErrTooMany struct {
	What  string
	Count float64 // the count reached or computed
	Max   int
}

func (e *ErrTooMany) Error() string {
	return fmt.Sprintf("%s: %.0f exceed max = %d", e.What, e.Count, e.Max)
}

// Exact enumerates every pair of the sign family signs (see the file comment). It
// refuses, before enumerating, when the family has more than max configurations, and
// stops with an *ErrTooMany error as soon as more than max pairs are found.
func (pp *PairProblem) Exact(signs []float64, max int) (*PairSet, error) {
	m1 := len(signs)
	P1 := pp.First.Len()
	if c := ConfigCount(P1, signs); c > float64(max) {
		return nil, &ErrTooMany{What: fmt.Sprintf("configurations of sign family %v over %d first-layer patterns", signs, P1), Count: c, Max: max}
	}
	set := &PairSet{Signs: append([]float64(nil), signs...), Exhaustive: pp.First.Exhaustive}
	task := progress.Start(pp.Opts.Progress, fmt.Sprintf("pattern pairs %v", signs), int64(ConfigCount(P1, signs)), "configurations")
	defer task.End()
	cfg := make([]int, m1)
	var rec func(j, lo int) error
	rec = func(j, lo int) error {
		if j == m1 {
			set.Configurations++
			task.Add(1)
			if set.Configurations%64 == 0 {
				if err := stopped(pp.Opts.Context); err != nil {
					return err
				}
			}
			return pp.configPairs(set, cfg, max)
		}
		start := 0
		if j > 0 && signs[j] == signs[j-1] {
			start = lo
		}
		for i := start; i < P1; i++ {
			cfg[j] = i
			if err := rec(j+1, i); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec(0, 0); err != nil {
		return nil, err
	}
	return set, nil
}

// configPairs adds the pairs of configuration cfg to set.
func (pp *PairProblem) configPairs(set *PairSet, cfg []int, max int) error {
	n, h, _ := pp.dims()
	m1 := len(cfg)
	slots := make([][]float64, m1)
	gate := make([]float64, m1*h)
	centres := pp.centres()
	for j, i := range cfg {
		slots[j] = pp.firstCols()[i]
		copy(gate[j*h:], centres[i])
	}
	d2 := make([]float64, n)
	var mixed []int
	output := false
	for t := 0; t < n; t++ {
		switch pp.RowKind(slots, set.Signs, t) {
		case 2:
			mixed = append(mixed, t)
		case 1:
			d2[t] = 1
			output = true
		case 0:
			d2[t] = 1
		}
	}
	if !output && len(mixed) == 0 {
		return nil
	}
	type cell struct {
		rows [][]float64 // assigned mixed rows, signed and normalised
		bits []float64   // their D2 bits
		q    []float64
	}
	cells := []cell{{q: gate}}
	var first [][]float64
	for _, t := range mixed {
		row := unitVec(pp.Row(slots, set.Signs, t))
		var next []cell
		for _, c := range cells {
			v := dotp(row, c.q)
			margin := reuseMargin * math.Sqrt(dotp(c.q, c.q))
			for _, side := range []float64{1, -1} {
				sr := make([]float64, len(row))
				for i, x := range row {
					sr[i] = side * x
				}
				q := c.q
				if !(side*v > margin) {
					if first == nil {
						first = pp.firstRows(slots)
					}
					G := append(append(append([][]float64(nil), first...), c.rows...), sr)
					var ok bool
					set.Tests++
					if q, ok = strictPoint(G, m1*h); !ok {
						continue
					}
				}
				bit := 0.0
				if side > 0 {
					bit = 1
				}
				next = append(next, cell{
					rows: append(append([][]float64(nil), c.rows...), sr),
					bits: append(append([]float64(nil), c.bits...), bit),
					q:    q,
				})
			}
		}
		cells = next
	}
	for _, c := range cells {
		D2 := append([]float64(nil), d2...)
		out := output
		for k, t := range mixed {
			D2[t] = c.bits[k]
			out = out || c.bits[k] == 1
		}
		if !out {
			continue
		}
		set.add(Pair{Config: append([]int(nil), cfg...), Slots: slots, D2: D2, Gate: c.q})
		if len(set.Pairs) > max {
			return &ErrTooMany{What: fmt.Sprintf("pattern pairs of sign family %v (after %d configurations)", set.Signs, set.Configurations), Count: float64(len(set.Pairs)), Max: max}
		}
	}
	return nil
}

// reuseMargin: a cell's point is reused for the side of a new row it lies on when
// its distance to the row's hyperplane exceeds reuseMargin·‖q‖ (unit rows); closer
// points are replaced by a strict-feasibility solve, so every gate keeps a margin.
const reuseMargin = 1e-6

// centres returns, for every first-layer pattern, a point with margin ≥ ½ inside its
// cone {u : (2D − I)·M u ≥ 0} (unit rows; ldp.go), falling back to the pattern's gate
// when the solve fails (degenerate data).
func (pp *PairProblem) centres() [][]float64 {
	if pp.centre != nil {
		return pp.centre
	}
	_, h, _ := pp.dims()
	U := pp.units()
	pp.centre = make([][]float64, pp.First.Len())
	for i := range pp.centre {
		D := pp.firstCols()[i]
		var G [][]float64
		for r, u := range U {
			if u == nil {
				continue
			}
			g := make([]float64, h)
			for c, v := range u {
				g[c] = (2*D[r] - 1) * v
			}
			G = append(G, g)
		}
		q, ok := strictPoint(G, h)
		if !ok {
			q = append([]float64(nil), pp.First.Gate(i)...)
		}
		pp.centre[i] = q
	}
	return pp.centre
}

// PairOf is the pair of the gate q in sign family signs, in q's own slot order:
// slot j's pattern 1[M q_j ≥ 0], D2 by RowKind on non-mixed samples and
// 1[g_t(q) ≥ 0] on mixed ones. ok is false when a slot's pattern is zero (a dead
// unit) or the branch predicts nothing.
func (pp *PairProblem) PairOf(signs, q []float64) (Pair, bool) {
	n, h, _ := pp.dims()
	m1 := len(signs)
	if len(q) != m1*h {
		return Pair{}, false
	}
	M := pp.stacked()
	slots := make([][]float64, m1)
	for j := range slots {
		slots[j] = Of(M, q[j*h:(j+1)*h])
		zero := true
		for _, v := range slots[j] {
			if v != 0 {
				zero = false
				break
			}
		}
		if zero {
			return Pair{}, false
		}
	}
	d2 := make([]float64, n)
	out := false
	for t := 0; t < n; t++ {
		switch pp.RowKind(slots, signs, t) {
		case 2:
			if dotp(pp.Row(slots, signs, t), q) >= 0 {
				d2[t] = 1
				out = true
			}
		case 1:
			d2[t] = 1
			out = true
		case 0:
			d2[t] = 1
		}
	}
	if !out {
		return Pair{}, false
	}
	return Pair{Slots: slots, D2: d2, Gate: append([]float64(nil), q...)}, true
}

func (pp *PairProblem) stacked() *mat.Dense {
	n, h, K := pp.dims()
	M := mat.NewDense(n*K, h, nil)
	for p, X := range pp.Pos {
		M.Slice(p*n, (p+1)*n, 0, h).(*mat.Dense).Copy(X)
	}
	return M
}

// Sample draws N random branches (seeded) and returns the distinct pairs they reach,
// one PairSet per sign family of m1 = pp.M1 (SignFamilies order), each pair with its
// branch's q as gate, slots in canonical order (see the file comment). The error is
// the context's when the work is stopped early.
func (pp *PairProblem) Sample(N int, seed int64) ([]*PairSet, error) {
	_, h, _ := pp.dims()
	m1 := pp.M1
	fams := SignFamilies(m1)
	sets := make([]*PairSet, len(fams))
	for i, s := range fams {
		sets[i] = &PairSet{Signs: s}
	}
	rng := rand.New(rand.NewSource(seed))
	M := pp.stacked()
	w1 := make([]float64, m1*h)
	w2 := make([]float64, m1)
	task := progress.Start(pp.Opts.Progress, "pattern pairs sample", int64(N), "branches")
	defer task.End()
	for k := 0; k < N; k++ {
		task.Add(1)
		if k%256 == 255 && stopped(pp.Opts.Context) != nil {
			return sets, stopped(pp.Opts.Context)
		}
		for i := range w1 {
			w1[i] = rng.NormFloat64()
		}
		plus := 0
		for j := range w2 {
			w2[j] = rng.NormFloat64()
			if w2[j] >= 0 {
				plus++
			}
		}
		if plus == 0 {
			continue
		}
		// canonical slot order: + before −, then pattern keys descending
		type slot struct {
			s   float64
			key string
			q   []float64
		}
		sl := make([]slot, m1)
		for j := range sl {
			s := 1.0
			if w2[j] < 0 {
				s = -1
			}
			q := make([]float64, h)
			for i := range q {
				q[i] = math.Abs(w2[j]) * w1[j*h+i]
			}
			sl[j] = slot{s: s, key: bitKey(Of(M, q)), q: q}
		}
		sort.SliceStable(sl, func(a, b int) bool {
			if sl[a].s != sl[b].s {
				return sl[a].s > sl[b].s
			}
			return sl[a].key > sl[b].key
		})
		signs := make([]float64, m1)
		q := make([]float64, 0, m1*h)
		for j, s := range sl {
			signs[j] = s.s
			q = append(q, s.q...)
		}
		p, ok := pp.PairOf(signs, q)
		if !ok {
			continue
		}
		sets[m1-plus].add(p)
	}
	return sets, nil
}
