package cone

import (
	"math"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// Ruiz equilibration (Ruiz, "A scaling algorithm to equilibrate both rows and columns
// norms in matrices", 2001; as used by SCS and OSQP).
//
// Â = D A E, P̂ = E P E, b̂ = D b, ĉ = E c with positive diagonal D (rows) and E
// (columns). x = E x̂, y = D ŷ, s = D⁻¹ ŝ. D is constant on every block whose cone is
// not a product of half-lines (box, SOC, PSD, exponential, power), so ŝ ∈ K ⇔ s ∈ K
// and ŷ ∈ K* ⇔ y ∈ K*. Each of ruizPasses passes divides row i by √‖Âᵢ,:‖∞ (block
// maximum for the blocks above) and column j by √max(‖Â:,ⱼ‖∞, ‖P̂:,ⱼ‖∞), with norms
// clamped to [1e-4, 1e4] and zero norms left alone.

const (
	ruizPasses = 25
	minNorm    = 1e-4
	maxNorm    = 1e4
)

// scaling holds the equilibrated data and the factors.
type scaling struct {
	D, E []float64
	A    conic.CSC  // Â
	P    *conic.CSC // P̂ (upper triangle) or nil
	b, c []float64  // b̂, ĉ
}

func equilibrate(p *conic.Problem, L *layout, on bool) *scaling {
	m, n := p.M, p.N
	sc := &scaling{D: ones(m), E: ones(n)}
	sc.A = copyCSC(&p.A)
	if p.P != nil {
		q := copyCSC(p.P)
		sc.P = &q
	}
	if on {
		rn := make([]float64, m)
		cn := make([]float64, n)
		for pass := 0; pass < ruizPasses; pass++ {
			for i := range rn {
				rn[i] = 0
			}
			for j := range cn {
				cn[j] = 0
			}
			A := &sc.A
			for j := 0; j < n; j++ {
				for k := A.ColPtr[j]; k < A.ColPtr[j+1]; k++ {
					v := math.Abs(A.Val[k])
					i := A.RowIdx[k]
					rn[i] = math.Max(rn[i], v)
					cn[j] = math.Max(cn[j], v)
				}
			}
			if sc.P != nil {
				P := sc.P
				for j := 0; j < n; j++ {
					for k := P.ColPtr[j]; k < P.ColPtr[j+1]; k++ {
						v := math.Abs(P.Val[k])
						i := P.RowIdx[k]
						cn[j] = math.Max(cn[j], v)
						cn[i] = math.Max(cn[i], v)
					}
				}
			}
			for _, b := range L.blocks {
				if b.kind == kZero || b.kind == kNonneg {
					continue
				}
				mx := 0.0
				for i := b.start; i < b.start+b.size; i++ {
					mx = math.Max(mx, rn[i])
				}
				for i := b.start; i < b.start+b.size; i++ {
					rn[i] = mx
				}
			}
			for i, v := range rn {
				rn[i] = factor(v)
				sc.D[i] *= rn[i]
			}
			for j, v := range cn {
				cn[j] = factor(v)
				sc.E[j] *= cn[j]
			}
			scaleCSC(&sc.A, rn, cn)
			if sc.P != nil {
				scaleCSC(sc.P, cn, cn)
			}
		}
	}
	sc.b = make([]float64, m)
	for i := range sc.b {
		sc.b[i] = sc.D[i] * p.B[i]
	}
	sc.c = make([]float64, n)
	for j := range sc.c {
		sc.c[j] = sc.E[j] * p.C[j]
	}
	return sc
}

// factor is 1/√clamp(norm) (1 for a zero norm).
func factor(norm float64) float64 {
	if norm == 0 {
		return 1
	}
	return 1 / math.Sqrt(math.Min(math.Max(norm, minNorm), maxNorm))
}

func scaleCSC(a *conic.CSC, row, col []float64) {
	for j := 0; j < a.N; j++ {
		for k := a.ColPtr[j]; k < a.ColPtr[j+1]; k++ {
			a.Val[k] *= row[a.RowIdx[k]] * col[j]
		}
	}
}

func copyCSC(a *conic.CSC) conic.CSC {
	return conic.CSC{M: a.M, N: a.N,
		ColPtr: append([]int(nil), a.ColPtr...),
		RowIdx: append([]int(nil), a.RowIdx...),
		Val:    append([]float64(nil), a.Val...)}
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// symMulVec computes y = P x for symmetric P stored as its upper triangle (diagonal
// once, off-diagonal entries mirrored). Entries below the diagonal are ignored, as SCS.
func symMulVec(P *conic.CSC, y, x []float64) {
	for i := range y {
		y[i] = 0
	}
	if P == nil {
		return
	}
	for j := 0; j < P.N; j++ {
		for k := P.ColPtr[j]; k < P.ColPtr[j+1]; k++ {
			i := P.RowIdx[k]
			if i > j {
				continue
			}
			v := P.Val[k]
			y[i] += v * x[j]
			if i != j {
				y[j] += v * x[i]
			}
		}
	}
}
