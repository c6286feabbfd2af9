package group

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// fam is one Family in the solver's own dense, row-major layout.
//
// The blocks of family f are stacked as V (S·P × H), row s·P+p = x_{f,s,p}. One
// forward product gives Z = A·Vᵀ (Np × S·P) and, when C ≠ A, Q = C·Vᵀ (Nc × S·P);
// one backward product gives the gradient Mᵀ·A (S·P × H) (+ Kᵀ·C when C ≠ A).
type fam struct {
	f         *convex.Family
	S, P, H   int
	Np, Nc    int
	shared    bool // C has the same contents as A: Q = Z, one product each way
	A, C      blas64.General
	W, Sign   []float64 // Np×P and Nc×P, row-major
	sample    []int
	signs     []float64
	nCons     int       // number of rows with Sign ≠ 0, summed over patterns and copies
	gateA     []float64 // Np×P: A·g_p, nil without usable gates
	gateC     []float64 // Nc×P: Sign∘(C·g_p)
	gateOK    []bool    // pattern p has a gate strictly inside its cone
	gateNorm2 []float64 // ‖g_p‖²
	gates     []float64 // P×H row-major: g_p
	cost      *costMaps // CostMaps block cost; nil for ‖·‖₂
}

// general copies a dense matrix into a row-major blas64.General.
func general(m *mat.Dense) blas64.General {
	r, c := m.Dims()
	g := blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			g.Data[i*c+j] = m.At(i, j)
		}
	}
	return g
}

// rowMajor returns the r × c matrix m (nil: zeros) as a row-major slice.
func rowMajor(m *mat.Dense, r, c int) []float64 {
	if m == nil {
		return make([]float64, r*c)
	}
	return general(m).Data
}

func finite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// setup validates p and converts its families. Every error names the family and field.
func setup(p *convex.Program) ([]*fam, error) {
	if p == nil {
		return nil, fmt.Errorf("group: nil program")
	}
	if len(p.Vars) > 0 || len(p.Terms) > 0 || len(p.Penalties) > 0 || len(p.Constraints) > 0 {
		return nil, fmt.Errorf("group: program %q has generic variables, terms, penalties or constraints (%d, %d, %d, %d); the structured solver handles Families only — use the conic solver",
			p.Model, len(p.Vars), len(p.Terms), len(p.Penalties), len(p.Constraints))
	}
	switch p.Loss {
	case "squared", "", "hinge", "logistic":
	default:
		return nil, fmt.Errorf("group: unsupported loss %q (the structured solver handles squared, hinge and logistic loss)", p.Loss)
	}
	if len(p.Families) == 0 {
		return nil, fmt.Errorf("group: program %q has no families", p.Model)
	}
	if p.N <= 0 || len(p.Y) != p.N {
		return nil, fmt.Errorf("group: program %q: N = %d but len(Y) = %d", p.Model, p.N, len(p.Y))
	}
	if !finite(p.Y) {
		return nil, fmt.Errorf("group: program %q: Y has NaN or Inf entries", p.Model)
	}
	if !(p.Beta > 0) || math.IsInf(p.Beta, 0) {
		return nil, fmt.Errorf("group: program %q: β = %g; the structured solver needs a finite β > 0 (its certificate scales the dual by β)", p.Model, p.Beta)
	}
	var fams []*fam
	for i, f := range p.Families {
		name := fmt.Sprintf("family %d (%q)", i, f.Name)
		if f == nil {
			return nil, fmt.Errorf("group: family %d is nil", i)
		}
		var cost *costMaps
		switch f.Cost.Kind {
		case convex.CostL2:
		case convex.CostMaps:
			var err error
			if cost, err = newCostMaps(f, name); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("group: %s: unknown block cost kind %d", name, f.Cost.Kind)
		}
		if f.A == nil || f.Weight == nil {
			return nil, fmt.Errorf("group: %s: A and Weight are required", name)
		}
		np, h := f.A.Dims()
		wr, P := f.Weight.Dims()
		if h != f.H || h == 0 {
			return nil, fmt.Errorf("group: %s: A is %d×%d but H = %d", name, np, h, f.H)
		}
		if wr != np || len(f.Sample) != np {
			return nil, fmt.Errorf("group: %s: A has %d rows, Weight %d rows, Sample %d entries; they must agree", name, np, wr, len(f.Sample))
		}
		if P == 0 {
			return nil, fmt.Errorf("group: %s: no patterns", name)
		}
		if len(f.Signs) == 0 {
			return nil, fmt.Errorf("group: %s: Signs is empty (want {+1} or {+1, −1})", name)
		}
		for _, s := range f.Signs {
			if s != 1 && s != -1 {
				return nil, fmt.Errorf("group: %s: output sign %g is not ±1", name, s)
			}
		}
		for r, i := range f.Sample {
			if i < 0 || i >= p.N {
				return nil, fmt.Errorf("group: %s: Sample[%d] = %d is outside [0, %d)", name, r, i, p.N)
			}
		}
		fm := &fam{f: f, S: len(f.Signs), P: P, H: h, Np: np, sample: f.Sample, signs: f.Signs, cost: cost}
		fm.A = general(f.A)
		fm.W = rowMajor(f.Weight.Dense(), np, P)
		if !finite(fm.A.Data) || !finite(fm.W) {
			return nil, fmt.Errorf("group: %s: A or Weight has NaN or Inf entries", name)
		}
		if f.C != nil {
			nc, hc := f.C.Dims()
			if hc != h {
				return nil, fmt.Errorf("group: %s: C is %d×%d but H = %d", name, nc, hc, h)
			}
			if f.Sign == nil {
				return nil, fmt.Errorf("group: %s: C is set but Sign is nil", name)
			}
			sr, sc := f.Sign.Dims()
			if sr != nc || sc != P {
				return nil, fmt.Errorf("group: %s: Sign is %d×%d, want %d×%d (rows of C × patterns)", name, sr, sc, nc, P)
			}
			fm.Nc = nc
			fm.C = general(f.C)
			fm.Sign = rowMajor(f.Sign.Dense(), nc, P)
			if !finite(fm.C.Data) {
				return nil, fmt.Errorf("group: %s: C has NaN or Inf entries", name)
			}
			// A row with C_r = 0 reads 0 ≥ 0: always satisfied, dropped (Sign = 0) so
			// that every remaining cone has an interior.
			for row := 0; row < nc; row++ {
				zero := true
				for _, v := range fm.C.Data[row*h : row*h+h] {
					if v != 0 {
						zero = false
						break
					}
				}
				if zero {
					for q := 0; q < P; q++ {
						fm.Sign[row*P+q] = 0
					}
				}
			}
			for k, v := range fm.Sign {
				if v != 0 && v != 1 && v != -1 {
					return nil, fmt.Errorf("group: %s: Sign[%d, %d] = %g is not in {−1, 0, +1}", name, k/P, k%P, v)
				}
				if v != 0 {
					fm.nCons += fm.S
				}
			}
			fm.shared = nc == np && equalData(fm.A.Data, fm.C.Data)
			if fm.shared {
				fm.C = fm.A
			}
		}
		if err := fm.setGates(name); err != nil {
			return nil, err
		}
		fams = append(fams, fm)
	}
	return fams, nil
}

func equalData(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// setGates precomputes A·g_p and Sign∘(C·g_p) for the feasibility restoration of
// the certificate (see Solve). A gate is usable when Sign∘(C g_p) > 0 on every row
// with Sign ≠ 0 (strictly inside its cone).
func (fm *fam) setGates(name string) error {
	g := fm.f.Gates
	if g == nil || fm.Nc == 0 {
		return nil
	}
	gr, gc := g.Dims()
	if gr != fm.H || gc != fm.P {
		return fmt.Errorf("group: %s: Gates is %d×%d, want H×P = %d×%d", name, gr, gc, fm.H, fm.P)
	}
	G := general(g) // H×P
	if !finite(G.Data) {
		return fmt.Errorf("group: %s: Gates has NaN or Inf entries", name)
	}
	fm.gates = make([]float64, fm.P*fm.H)
	fm.gateNorm2 = make([]float64, fm.P)
	for p := 0; p < fm.P; p++ {
		for j := 0; j < fm.H; j++ {
			v := G.Data[j*fm.P+p]
			fm.gates[p*fm.H+j] = v
			fm.gateNorm2[p] += v * v
		}
	}
	ga := blas64.General{Rows: fm.Np, Cols: fm.P, Stride: fm.P, Data: make([]float64, fm.Np*fm.P)}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, fm.A, G, 0, ga)
	gcm := blas64.General{Rows: fm.Nc, Cols: fm.P, Stride: fm.P, Data: make([]float64, fm.Nc*fm.P)}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, fm.C, G, 0, gcm)
	fm.gateA = ga.Data
	fm.gateC = gcm.Data
	fm.gateOK = make([]bool, fm.P)
	for p := range fm.gateOK {
		fm.gateOK[p] = fm.gateNorm2[p] > 0
	}
	for r := 0; r < fm.Nc; r++ {
		for p := 0; p < fm.P; p++ {
			k := r*fm.P + p
			fm.gateC[k] *= fm.Sign[k]
			if fm.Sign[k] != 0 && !(fm.gateC[k] > 0) {
				fm.gateOK[p] = false
			}
		}
	}
	return nil
}

// state holds a point V of one family and its forward products.
type state struct {
	V blas64.General // S·P × H
	Z blas64.General // Np × S·P: A·Vᵀ
	Q blas64.General // Nc × S·P: C·Vᵀ (aliases Z when shared; empty when C = nil)
}

func (fm *fam) newState() *state {
	sp := fm.S * fm.P
	st := &state{
		V: blas64.General{Rows: sp, Cols: fm.H, Stride: fm.H, Data: make([]float64, sp*fm.H)},
		Z: blas64.General{Rows: fm.Np, Cols: sp, Stride: sp, Data: make([]float64, fm.Np*sp)},
	}
	switch {
	case fm.Nc == 0:
	case fm.shared:
		st.Q = st.Z
	default:
		st.Q = blas64.General{Rows: fm.Nc, Cols: sp, Stride: sp, Data: make([]float64, fm.Nc*sp)}
	}
	return st
}

// forward computes Z = A·Vᵀ and Q = C·Vᵀ.
func (fm *fam) forward(st *state) {
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, fm.A, st.V, 0, st.Z)
	if fm.Nc > 0 && !fm.shared {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, fm.C, st.V, 0, st.Q)
	}
}

// copyState sets dst = src.
func (fm *fam) copyState(dst, src *state) {
	copy(dst.V.Data, src.V.Data)
	copy(dst.Z.Data, src.Z.Data)
	if fm.Nc > 0 && !fm.shared {
		copy(dst.Q.Data, src.Q.Data)
	}
}

// extrapolate sets dst = x + m·(x − xp) for V and (by linearity) Z, Q.
func (fm *fam) extrapolate(dst, x, xp *state, m float64) {
	lin := func(d, a, b []float64) {
		for i := range d {
			d[i] = a[i] + m*(a[i]-b[i])
		}
	}
	lin(dst.V.Data, x.V.Data, xp.V.Data)
	lin(dst.Z.Data, x.Z.Data, xp.Z.Data)
	if fm.Nc > 0 && !fm.shared {
		lin(dst.Q.Data, x.Q.Data, xp.Q.Data)
	}
}

// predict adds this family's prediction Σ_s s Σ_p Σ_{r:Sample[r]=i} W[r,p] Z[r,sP+p] to yhat.
func (fm *fam) predict(st *state, yhat []float64) {
	P, sp := fm.P, fm.S*fm.P
	for r := 0; r < fm.Np; r++ {
		w := fm.W[r*P : r*P+P]
		z := st.Z.Data[r*sp : r*sp+sp]
		acc := 0.0
		for s, sg := range fm.signs {
			zs := z[s*P : s*P+P]
			t := 0.0
			for p, wv := range w {
				t += wv * zs[p]
			}
			acc += sg * t
		}
		yhat[fm.sample[r]] += acc
	}
}

// penalty returns Σ ½(Γ/δ − Sign∘Q)_+² over rows with Sign ≠ 0 (times δ gives the AL
// term) and the largest violation max(−Sign∘Q)_+.
func (fm *fam) penalty(st *state, gam []float64, delta float64) (pen, viol float64) {
	if fm.Nc == 0 {
		return 0, 0
	}
	P, sp := fm.P, fm.S*fm.P
	inv := 1 / delta
	for r := 0; r < fm.Nc; r++ {
		sg := fm.Sign[r*P : r*P+P]
		q := st.Q.Data[r*sp : r*sp+sp]
		g := gam[r*sp : r*sp+sp]
		for s := 0; s < fm.S; s++ {
			for p, sv := range sg {
				if sv == 0 {
					continue
				}
				k := s*P + p
				c := sv * q[k]
				if -c > viol {
					viol = -c
				}
				u := g[k]*inv - c
				if u > 0 {
					pen += 0.5 * u * u
				}
			}
		}
	}
	return pen, viol
}

// penaltyBregman returns Σ D(u⁺, u) for u = Γ/δ − Sign∘Q, D the Bregman divergence of
// ½(·)_+², evaluated elementwise without cancellation between large sums.
func (fm *fam) penaltyBregman(a, b *state, gam []float64, delta float64) float64 {
	if fm.Nc == 0 {
		return 0
	}
	P, sp := fm.P, fm.S*fm.P
	inv := 1 / delta
	d := 0.0
	for r := 0; r < fm.Nc; r++ {
		sg := fm.Sign[r*P : r*P+P]
		qa := a.Q.Data[r*sp : r*sp+sp]
		qb := b.Q.Data[r*sp : r*sp+sp]
		g := gam[r*sp : r*sp+sp]
		for s := 0; s < fm.S; s++ {
			for p, sv := range sg {
				if sv == 0 {
					continue
				}
				k := s*P + p
				ub := g[k]*inv - sv*qb[k]
				ua := g[k]*inv - sv*qa[k]
				switch {
				case ub >= 0 && ua >= 0:
					e := ua - ub
					d += 0.5 * e * e
				case ub >= 0: // ua < 0
					d += 0.5*ub*ub - ub*ua // f(ua) − f(ub) − f'(ub)(ua − ub) with f(ua) = 0
				case ua >= 0: // ub < 0
					d += 0.5 * ua * ua
				}
			}
		}
	}
	return d
}

// gradient computes the gradient of the smooth AL part
//
//	φ(x) = ½‖Π(ŷ(x) − y)‖² + (δ/2) Σ (Γ/δ − Sign∘Q)_+²
//
// with respect to V: ∇ = Mᵀ·A (+ Kᵀ·C), M[r, sP+p] = s·W[r,p]·res[Sample[r]],
// K[r, sP+p] = −δ·Sign[r,p]·(Γ/δ − Sign∘Q)_+ = −Sign[r,p]·μ[r,sP+p].
// res is Π(ŷ − y). work must have room for Np × S·P (and Nc × S·P when C ≠ A).
func (fm *fam) gradient(st *state, res, gam []float64, delta float64, grad blas64.General, work, workC []float64) {
	P, sp := fm.P, fm.S*fm.P
	M := blas64.General{Rows: fm.Np, Cols: sp, Stride: sp, Data: work}
	for r := 0; r < fm.Np; r++ {
		w := fm.W[r*P : r*P+P]
		e := res[fm.sample[r]]
		m := M.Data[r*sp : r*sp+sp]
		for s, sg := range fm.signs {
			ms := m[s*P : s*P+P]
			c := sg * e
			for p, wv := range w {
				ms[p] = c * wv
			}
		}
	}
	if fm.Nc == 0 {
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, M, fm.A, 0, grad)
		return
	}
	K := M
	if !fm.shared {
		K = blas64.General{Rows: fm.Nc, Cols: sp, Stride: sp, Data: workC}
		for i := range K.Data {
			K.Data[i] = 0
		}
	}
	for r := 0; r < fm.Nc; r++ {
		sg := fm.Sign[r*P : r*P+P]
		q := st.Q.Data[r*sp : r*sp+sp]
		g := gam[r*sp : r*sp+sp]
		k := K.Data[r*sp : r*sp+sp]
		for s := 0; s < fm.S; s++ {
			for p, sv := range sg {
				if sv == 0 {
					continue
				}
				j := s*P + p
				if mu := g[j] - delta*sv*q[j]; mu > 0 {
					k[j] -= sv * mu
				}
			}
		}
	}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, M, fm.A, 0, grad)
	if !fm.shared {
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, K, fm.C, 1, grad)
	}
}

// multipliers returns μ = (Γ − δ·Sign∘Q)_+ (zero where Sign = 0).
func (fm *fam) multipliers(st *state, gam []float64, delta float64, mu []float64) {
	if fm.Nc == 0 {
		return
	}
	P, sp := fm.P, fm.S*fm.P
	for r := 0; r < fm.Nc; r++ {
		sg := fm.Sign[r*P : r*P+P]
		q := st.Q.Data[r*sp : r*sp+sp]
		for s := 0; s < fm.S; s++ {
			for p, sv := range sg {
				j := r*sp + s*P + p
				mu[j] = 0
				if sv == 0 {
					continue
				}
				if v := gam[j] - delta*sv*q[s*P+p]; v > 0 {
					mu[j] = v
				}
			}
		}
	}
}
