package certify

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// BlockMult holds cone multipliers μ ≥ 0 of one block (family Family, pattern Pattern,
// output sign Sign = ±1): μ_j belongs to the row Rows[j] of the family's C, whose cone
// row is Sign[r, Pattern]·C_r. A solver's dual point comes with them (the interior-point
// method's multipliers of its working cone rows); rows not listed have μ = 0.
type BlockMult struct {
	Family, Pattern int
	Sign            float64
	Rows            []int
	Mu              []float64
}

// CertifyDualMult is the certificate of λ over the program's own patterns with the
// bound of given multipliers in place of the cone maximisation: for a block b with
// multipliers μ_b ≥ 0, every u in its cone has μ_bᵀ𝒞_b u ≥ 0, so
//
//	max_{u ∈ B₂ ∩ 𝒦_b} s_b λᵀ𝒫_b u ≤ ‖s_b g_b + 𝒞_bᵀμ_b‖₂        (g_b = 𝒫_bᵀλ),
//
// for every μ_b ≥ 0 (weak duality of the Moreau decomposition); each block's bound is
// the smaller of that and ‖g_b‖, both rounded up with the rounding error of the
// products that formed them (gradientErr; for the sum, γ_{m+1}(‖g‖ + Σ_j μ_j‖C_{r_j}‖)
// as in ConeMaxUp). A sign of a constrained pattern without multipliers gets ‖g_b‖.
// So Max is an upper bound on M(λ) over the program's patterns, valid in exact
// arithmetic, and the bound is SafeBound(λ, Max/β), as in CertifyDual. No cone is
// maximised: the cost is the products 𝒫ᵀλ (gradientsAll) plus one row per multiplier, so
// a stopped run is certified in well under a second where CertifyDual's cone
// maximisations take tens of seconds; at a solver's own iterate, whose multipliers
// nearly satisfy the restricted dual, the bound is close to the solver's dual value
// (Checked = 0, Family = Pattern = −1).
func CertifyDualMult(p *convex.Program, lam []float64, mult []BlockMult) (*Result, error) {
	if err := supported(p); err != nil {
		return nil, err
	}
	if len(lam) != p.N {
		return nil, fmt.Errorf("certify: dual point of length %d for %d samples", len(lam), p.N)
	}
	type key struct {
		f, q int
		s    float64
	}
	byBlock := make(map[key]*BlockMult, len(mult))
	for i := range mult {
		m := &mult[i]
		if m.Family < 0 || m.Family >= len(p.Families) {
			return nil, fmt.Errorf("certify: multipliers for family %d of %d", m.Family, len(p.Families))
		}
		f := p.Families[m.Family]
		if m.Pattern < 0 || m.Pattern >= f.Patterns() || f.C == nil || len(m.Rows) != len(m.Mu) {
			return nil, fmt.Errorf("certify: malformed multipliers for family %d pattern %d", m.Family, m.Pattern)
		}
		nc, _ := f.C.Dims()
		for j, r := range m.Rows {
			if r < 0 || r >= nc || !(m.Mu[j] >= 0) || math.IsInf(m.Mu[j], 0) {
				return nil, fmt.Errorf("certify: multiplier %d of family %d pattern %d: row %d, value %g", j, m.Family, m.Pattern, r, m.Mu[j])
			}
		}
		byBlock[key{m.Family, m.Pattern, m.Sign}] = m
	}
	res := &Result{Family: -1, Pattern: -1, Lambda: append([]float64(nil), lam...)}
	for fi, f := range p.Families {
		G, ge := gradientsAll(f, lam, rowNormsUp(f.A)) // the heavy part, on every core
		cn := rowNormsUp(f.C)
		for q, g := range G {
			gn := NormUp(g)
			plain := up(gn + ge[q])
			for _, s := range signsOf(f) {
				bs := plain
				if m := byBlock[key{fi, q, s}]; m != nil {
					w := make([]float64, len(g))
					for k := range g {
						w[k] = s * g[k]
					}
					lm := 0.0
					for j, r := range m.Rows {
						c := m.Mu[j] * f.Sign.At(r, q)
						if c == 0 {
							continue
						}
						row := f.C.RawRowView(r)
						for k := range w {
							w[k] += c * row[k]
						}
						lm += m.Mu[j] * cn[r]
					}
					e := gamma(len(m.Rows)+1) * up(gn+lm)
					bs = math.Min(bs, up(NormUp(w)+e+ge[q]))
				}
				res.Max = math.Max(res.Max, bs)
			}
		}
	}
	return finish(p, nil, lam, res), nil
}
