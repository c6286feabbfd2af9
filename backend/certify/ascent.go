package certify

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// WeightFunc turns Z = A·U in place into the Weight columns of the patterns the
// gates U generate (Z is Np × S, one column per gate; A the family's prediction
// rows). FC and average pooling: Weight[r] = p_r·1[Z_r ≥ 0] (p_r = 1 for FC);
// max pooling: 1 at each sample's winning row when its value is ≥ 0, else 0.
// compiler/derive.PatternWeights gives the one of a CNN family.
type WeightFunc func(Z *mat.Dense)

// thresholdWeights is the FC WeightFunc: Weight = 1[Z ≥ 0].
func thresholdWeights(Z *mat.Dense) {
	raw := Z.RawMatrix()
	for r := 0; r < raw.Rows; r++ {
		row := raw.Data[r*raw.Stride : r*raw.Stride+raw.Cols]
		for j, z := range row {
			if z >= 0 {
				row[j] = 1
			} else {
				row[j] = 0
			}
		}
	}
}

// ascentPoint is a pattern met by the gradient ascent: the unit gate that generated
// it, the sign of the copy, and bounds on its value max_{u∈B₂∩𝒦}|vᵀ𝒫u|:
// lb = σ gᵀĝ (ĝ lies in the closed cone) ≤ value ≤ ub = ‖g‖.
type ascentPoint struct {
	key    string
	gate   []float64
	lb, ub float64
}

// gradientAscent runs the fixed-point ascent u ← σg(u)/‖g(u)‖ on the certificate
// objective f(u) = σ vᵀ𝒫_{p(u)} u (p(u) the pattern u generates, g(u) = σ𝒫_{p(u)}ᵀv
// its gradient) from the unit columns of U0 with their signs sg (0: σ = sign of
// g(u)ᵀu at the start, written back into sg), for iters steps,
// batched: each step is the two products Z = A·U and G = Aᵀ·(Weight(Z) ∘ v) over
// chunks of gates. At a fixed point u = g/‖g‖, g lies in the pattern's cone, so
// the pattern's value is ‖g‖ exactly (its cone projection is g itself). It returns
// every pattern met, with the bounds at the best gate seen for it, and the number
// of gate evaluations.
func gradientAscent(A *mat.Dense, sample []int, v []float64, weights WeightFunc, U0 [][]float64, sg []float64, iters int) (map[string]*ascentPoint, int) {
	np, h := A.Dims()
	vr := make([]float64, np)
	for r := range vr {
		vr[r] = v[sample[r]]
	}
	met := map[string]*ascentPoint{}
	evals := 0
	const chunk = 256
	keys := make([][]byte, chunk)
	for s := range keys {
		keys[s] = make([]byte, np)
	}
	for c0 := 0; c0 < len(U0); c0 += chunk {
		S := min(chunk, len(U0)-c0)
		U := mat.NewDense(h, S, nil)
		for s := 0; s < S; s++ {
			U.SetCol(s, U0[c0+s])
		}
		alive := make([]bool, S)
		for s := range alive {
			alive[s] = true
		}
		Z := mat.NewDense(np, S, nil)
		G := mat.NewDense(h, S, nil)
		u := make([]float64, h)
		g := make([]float64, h)
		for it := 0; it <= iters; it++ {
			Z.Mul(A, U)
			weights(Z)
			raw := Z.RawMatrix()
			for r := 0; r < np; r++ {
				row := raw.Data[r*raw.Stride : r*raw.Stride+S]
				for j, w := range row {
					keys[j][r] = '0'
					if w != 0 {
						keys[j][r] = '1'
					}
					row[j] = w * vr[r]
				}
			}
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, A.RawMatrix(), raw, 0, G.RawMatrix())
			moved := false
			for s := 0; s < S; s++ {
				if !alive[s] {
					continue
				}
				evals++
				mat.Col(u, s, U)
				mat.Col(g, s, G)
				sigma := sg[c0+s]
				if sigma == 0 { // choose the sign of the copy at the start: σ = sign(gᵀu)
					sigma = 1
					if dotv(g, u) < 0 {
						sigma = -1
					}
					sg[c0+s] = sigma
				}
				for k := range g {
					g[k] *= sigma
				}
				lb, ub := dotv(g, u), norm(g)
				k := string(keys[s])
				if p, ok := met[k]; !ok {
					met[k] = &ascentPoint{key: k, gate: append([]float64(nil), u...), lb: lb, ub: ub}
				} else if lb > p.lb {
					p.lb, p.gate = lb, append(p.gate[:0], u...)
				}
				if !(ub > 0) || ub <= lb*(1+1e-12) || it == iters {
					alive[s] = false // fixed point (or nothing to follow)
					continue
				}
				for k := range g {
					g[k] /= ub
				}
				U.SetCol(s, g)
				moved = true
			}
			if !moved {
				break
			}
		}
	}
	return met, evals
}

// bestAscent returns the points of met that are not own (keys of the family's own
// patterns) and may violate (ub > thr), sorted by decreasing lb (ties by key).
func bestAscent(met map[string]*ascentPoint, own map[string]bool, thr float64) []*ascentPoint {
	var out []*ascentPoint
	for k, p := range met {
		if !own[k] && p.ub > thr {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].lb != out[j].lb {
			return out[i].lb > out[j].lb
		}
		return out[i].key < out[j].key
	})
	return out
}

// supportKey is the key gradientAscent gives a pattern: the support of its Weight
// column.
func supportKey(w []float64) string {
	b := make([]byte, len(w))
	for i, x := range w {
		b[i] = '0'
		if x != 0 {
			b[i] = '1'
		}
	}
	return string(b)
}

// strictlyInside reports whether the gate is strictly inside the cone of the column
// (Sign ⊙ C u > 0 on every row with Sign ≠ 0): the structured solver needs such a
// gate for every new block.
func strictlyInside(C *mat.Dense, sign, u []float64) bool {
	if C == nil || sign == nil {
		return true
	}
	_, h := C.Dims()
	for r, s := range sign {
		if s == 0 {
			continue
		}
		c := C.RawRowView(r)
		z := 0.0
		for k := 0; k < h; k++ {
			z += c[k] * u[k]
		}
		if !(s*z > 0) {
			return false
		}
	}
	return true
}

func dotv(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

var _ = math.Abs
