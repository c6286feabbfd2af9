package vecout

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
)

// Candidate is a unit found by an oracle: a unit-norm filter U with value
// ‖Vᵀφ(U)‖ (ReLU) or ‖Vᵀ F_p U‖ (gated / pattern oracle, Gate = p).
type Candidate struct {
	U     []float64
	Value float64
	Gate  int
}

// Oracle evaluates the dual constraint of the vector program at a dual matrix V
// (N × C): it returns ρ̄, an upper bound on sup_{‖u‖ ≤ 1} ‖Vᵀφ(u)‖ over the oracle's
// scope, and up to k candidates with value > floor, best first.
type Oracle interface {
	Max(V *mat.Dense, k int, floor float64) (rho float64, cands []Candidate)
	// Scope says what ρ̄ ranges over, in words.
	Scope() string
	// Global reports whether ρ̄ bounds the supremum over every unit (the exact
	// arrangement), so that a dual bound built on it bounds the global optimum.
	Global() bool
}

// rhoSafety inflates every ρ̄ relatively: it covers the rounding of the small
// eigen-solves and of the face membership tests (documented in the package doc).
const rhoSafety = 1e-8

// memberTol is the relative violation (A_r u against ‖A_r‖ for a unit u) up to which
// a face's top eigenvector counts as inside the face for ρ̄ (accepting more faces can
// only raise ρ̄, so the bound stays valid).
const memberTol = 1e-6

// degenerateGap: when σ₂ ≥ (1 − degenerateGap)·σ₁ the top singular vector is not
// unique; the face's σ₁ is then accepted for ρ̄ without a membership test.
const degenerateGap = 1e-6

// ExactOracle solves the cone-constrained PCA max_{‖u‖=1} ‖Vᵀφ(u)‖ exactly by
// enumerating the faces of the arrangement of A (pattern.Faces): on a face with
// pattern D and span L, φ(u) = F_D u with F_D = Σ_r e_{Sample[r]} RowWeight[r] D_r A_r,
// and the maximiser over the sphere lies at the top right singular vector of
// Vᵀ F_D restricted to L of the face that contains it. The largest σ₁ whose singular
// vector lies in its face (or is not unique) is the maximum.
type ExactOracle struct {
	p          *convex.VectorProgram
	faces      []face
	exhaustive bool
	rowNorm    []float64
}

type face struct {
	D     []float64
	Basis *mat.Dense // H × dim
	FB    *mat.Dense // N × dim: F_D · Basis
}

// MaxFaceVisits bounds the face enumeration of NewExactOracle.
const MaxFaceVisits = 2e6

// NewExactOracle enumerates the faces of p's arrangement (error when there are more
// than MaxFaceVisits visits).
func NewExactOracle(p *convex.VectorProgram) (*ExactOracle, error) {
	o := &ExactOracle{p: p}
	np, h := p.A.Dims()
	var err error
	o.exhaustive, err = pattern.Faces(p.A, MaxFaceVisits, func(f pattern.Face) {
		F := mat.NewDense(p.N, h, nil)
		any := false
		for r := 0; r < np; r++ {
			if f.D[r] == 0 || p.RowWeight[r] == 0 {
				continue
			}
			any = true
			dst := F.RawRowView(p.Sample[r])
			w := p.RowWeight[r]
			for j, a := range p.A.RawRowView(r) {
				dst[j] += w * a
			}
		}
		if !any {
			return
		}
		var FB mat.Dense
		FB.Mul(F, f.Basis)
		o.faces = append(o.faces, face{D: f.D, Basis: f.Basis, FB: &FB})
	})
	if err != nil {
		return nil, err
	}
	o.rowNorm = make([]float64, np)
	for r := range o.rowNorm {
		o.rowNorm[r] = mat.Norm(p.A.RowView(r), 2)
	}
	return o, nil
}

// Faces is the number of faces with a nonzero pattern.
func (o *ExactOracle) Faces() int { return len(o.faces) }

// Global reports whether the enumeration was exhaustive (data in general position).
func (o *ExactOracle) Global() bool { return o.exhaustive }

// Scope describes ρ̄'s range.
func (o *ExactOracle) Scope() string {
	if o.exhaustive {
		return fmt.Sprintf("every unit (cone-constrained PCA solved exactly over all %d faces of the arrangement)", len(o.faces))
	}
	return fmt.Sprintf("the %d faces found (the data are not in general position, so the enumeration may have missed faces: not a global bound)", len(o.faces))
}

type faceVal struct {
	i      int
	s1, s2 float64
	v      []float64
}

// Max implements Oracle.
func (o *ExactOracle) Max(V *mat.Dense, k int, floor float64) (float64, []Candidate) {
	vals := make([]faceVal, len(o.faces))
	for i, f := range o.faces {
		var G mat.Dense
		G.Mul(V.T(), f.FB) // C × dim
		s1, s2, v := topSV(&G)
		vals[i] = faceVal{i, s1, s2, v}
	}
	sort.SliceStable(vals, func(a, b int) bool { return vals[a].s1 > vals[b].s1 })
	rho, done := 0.0, false
	var cands []Candidate
	for _, fv := range vals {
		if done && (len(cands) >= k || fv.s1 <= floor) {
			break
		}
		f := o.faces[fv.i]
		u := make([]float64, o.p.H)
		mv := mat.NewVecDense(o.p.H, u)
		mv.MulVec(f.Basis, mat.NewVecDense(len(fv.v), fv.v))
		nu := mat.Norm(mv, 2)
		if nu == 0 {
			continue
		}
		for j := range u {
			u[j] /= nu
		}
		viol := o.violation(f.D, u)
		neg := make([]float64, len(u))
		for j := range u {
			neg[j] = -u[j]
		}
		if vn := o.violation(f.D, neg); vn < viol {
			u, viol = neg, vn
		}
		if viol <= memberTol || fv.s2 >= (1-degenerateGap)*fv.s1 {
			if !done {
				rho, done = fv.s1, true
			}
		}
		if viol <= memberTol && fv.s1 > floor && len(cands) < k && !duplicate(cands, u) {
			cands = append(cands, Candidate{U: u, Value: fv.s1, Gate: -1})
		}
	}
	return rho * (1 + rhoSafety), cands
}

// violation is max_r of the relative sign violation of u against pattern D.
func (o *ExactOracle) violation(D, u []float64) float64 {
	np, _ := o.p.A.Dims()
	worst := 0.0
	for r := 0; r < np; r++ {
		if o.rowNorm[r] == 0 {
			continue
		}
		z := dot(o.p.A.RawRowView(r), u) / o.rowNorm[r]
		if D[r] != 0 {
			worst = math.Max(worst, -z)
		} else {
			worst = math.Max(worst, z)
		}
	}
	return worst
}

func duplicate(cs []Candidate, u []float64) bool {
	for _, c := range cs {
		if dot(c.U, u) > 1-1e-12 {
			return true
		}
	}
	return false
}

// topSV returns σ₁, σ₂ and the top right singular vector of G (C × dim).
func topSV(G *mat.Dense) (s1, s2 float64, v []float64) {
	_, d := G.Dims()
	if d == 1 {
		v = []float64{1}
		return mat.Norm(G, 2), 0, v
	}
	var svd mat.SVD
	if !svd.Factorize(G, mat.SVDThinV) {
		// fall back to the Frobenius norm: an upper bound on σ₁
		return mat.Norm(G, 2), mat.Norm(G, 2), make([]float64, d)
	}
	sv := svd.Values(nil)
	var Vm mat.Dense
	svd.VTo(&Vm)
	v = mat.Col(nil, 0, &Vm)
	s1 = sv[0]
	if len(sv) > 1 {
		s2 = sv[1]
	}
	return s1, s2, v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// PatternOracle is the dual constraint of relaxation (a) over a finite pattern set:
// for each pattern p the units are all of R^H with φ_p(u) = F_p u (the gated unit
// map), so sup_{‖u‖≤1} ‖Vᵀ F_p u‖ = σ₁(Vᵀ F_p) exactly. For a gated model this is the
// exact program; for a ReLU model it bounds relaxation (a) restricted to the patterns,
// i.e. every network whose units' activation patterns lie in the set.
type PatternOracle struct {
	p    *convex.VectorProgram
	F    *mat.Dense // N × (H·P): block p is F_p
	P    int
	note string
}

// NewPatternOracle builds F_p for every gate of p.
func NewPatternOracle(p *convex.VectorProgram) *PatternOracle {
	o := &PatternOracle{p: p}
	o.P = p.Patterns()
	o.F = PooledFeatures(p, p.Gates)
	return o
}

// PooledFeatures returns [F_1 … F_P] (N × H·P) for the gates G (H × P):
// F_p = Σ_r e_{Sample[r]} RowWeight[r]·1[A_r g_p > 0]·A_r.
func PooledFeatures(p *convex.VectorProgram, G *mat.Dense) *mat.Dense {
	_, P := G.Dims()
	h := p.H
	F := mat.NewDense(p.N, max(1, h*P), nil)
	if P == 0 {
		return F
	}
	np, _ := p.A.Dims()
	var AG mat.Dense
	AG.Mul(p.A, G) // Np × P
	for r := 0; r < np; r++ {
		w := p.RowWeight[r]
		if w == 0 {
			continue
		}
		ar := p.A.RawRowView(r)
		z := AG.RawRowView(r)
		dst := F.RawRowView(p.Sample[r])
		for q, v := range z {
			if v > 0 {
				blk := dst[q*h : (q+1)*h]
				for j, a := range ar {
					blk[j] += w * a
				}
			}
		}
	}
	return F
}

// AddGates appends the patterns of the gates G (H × k) to the oracle (e.g. the
// patterns of a recovered network's units, so that the bound covers that network).
func (o *PatternOracle) AddGates(G *mat.Dense) {
	_, k := G.Dims()
	if k == 0 {
		return
	}
	Fn := PooledFeatures(o.p, G)
	n, c1 := o.F.Dims()
	_, c2 := Fn.Dims()
	if o.P == 0 {
		c1 = 0
	}
	F := mat.NewDense(n, c1+c2, nil)
	if c1 > 0 {
		F.Slice(0, n, 0, c1).(*mat.Dense).Copy(o.F)
	}
	F.Slice(0, n, c1, c1+c2).(*mat.Dense).Copy(Fn)
	o.F = F
	o.P += k
	o.note = fmt.Sprintf(" (%d of them the patterns of the recovered units)", k)
}

// Global is false: a finite pattern set bounds relaxation (a) over that set only.
func (o *PatternOracle) Global() bool { return false }

// Scope describes ρ̄'s range.
func (o *PatternOracle) Scope() string {
	return fmt.Sprintf("relaxation (a) over %d activation patterns%s", o.P, o.note)
}

// Max implements Oracle: σ₁(Vᵀ F_p) for every p.
func (o *PatternOracle) Max(V *mat.Dense, k int, floor float64) (float64, []Candidate) {
	if o.P == 0 {
		return 0, nil
	}
	var G mat.Dense
	G.Mul(V.T(), o.F) // C × H·P
	h := o.p.H
	vals := make([]faceVal, o.P)
	for q := 0; q < o.P; q++ {
		blk := G.Slice(0, o.p.C, q*h, (q+1)*h).(*mat.Dense)
		s1, s2, v := topSV(mat.DenseCopyOf(blk))
		vals[q] = faceVal{q, s1, s2, v}
	}
	sort.SliceStable(vals, func(a, b int) bool { return vals[a].s1 > vals[b].s1 })
	var cands []Candidate
	for _, fv := range vals {
		if len(cands) >= k || fv.s1 <= floor {
			break
		}
		cands = append(cands, Candidate{U: fv.v, Value: fv.s1, Gate: fv.i})
	}
	return vals[0].s1 * (1 + rhoSafety), cands
}
