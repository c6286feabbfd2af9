package convex

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"gonum.org/v1/gonum/mat"
)

// Predict returns ŷ = Σ_f Σ_s s·Σ_p 𝒫_{f,p} x_{f,s,p} + Σ_terms Op·vec(Var) + bias
// (length N). Family blocks are applied pattern by pattern: the copies of pattern p
// are combined to u_p = Σ_s s·x_{f,s,p} (they share 𝒫_{f,p}), and every active row r
// of p adds Weight[r,p]·A_r·u_p to ŷ_{Sample[r]}; patterns with u_p = 0 cost nothing.
// No Np × P matrix is formed.
func (p *Program) Predict(s *Solution) []float64 {
	if p.Anchored != nil {
		return p.Anchored.F(s.Vars[AnchoredW], p.N)
	}
	yhat := make([]float64, p.N)
	for f, fam := range p.Families {
		if s == nil || f >= len(s.Blocks) {
			break
		}
		predictFamily(fam, s.Blocks[f], yhat)
	}
	for _, t := range p.Terms {
		x := s.Vars[t.Var.Name]
		if len(x) != t.Var.Size() {
			continue
		}
		v := mat.NewVecDense(p.N, nil)
		v.MulVec(t.Op, mat.NewVecDense(len(x), x))
		for i := range yhat {
			yhat[i] += v.AtVec(i)
		}
	}
	if p.OutputBias {
		for i := range yhat {
			yhat[i] += s.Bias
		}
	}
	return yhat
}

// predictChunk and predictSerial: a family whose patterns cost more than
// predictSerial multiply–adds (Σ_p rows(p)·H) is predicted by products over chunks of
// predictChunk rows of A: Z = A[lo:hi]·U (U = [u_p] over the patterns with u_p ≠ 0, one
// Gemm), then ŷ_{Sample[r]} += Weight[r,p]·Z[r,p] over each chunk's mask bits. Chunks
// run on up to GOMAXPROCS goroutines into their own vectors, added in chunk order: the
// arithmetic depends on the program only, never on the number of cores (n = 10 000
// Fashion-MNIST images, 200 patterns of 490 000 patch rows: 1.3 s as a dot product
// per row and pattern on one core, about 0.2 s so).
const (
	predictChunk  = 4096 // a multiple of 64: chunks start on a mask word
	predictSerial = 1 << 22
)

// predictFamily adds family fam's part of ŷ (blocks: its copies) to yhat.
func predictFamily(fam *Family, blocks []*mat.Dense, yhat []float64) {
	P := fam.Patterns()
	var live []int     // patterns with u_p ≠ 0
	var us [][]float64 // their u_p
	work := 0.0
	for q := 0; q < P; q++ {
		u := make([]float64, fam.H)
		if combined(fam, blocks, q, u) {
			live, us = append(live, q), append(us, u)
			work += float64(fam.Weight.Mask.Count(q)) * float64(fam.H)
		}
	}
	if work <= predictSerial {
		for j, q := range live {
			u := us[j]
			fam.Weight.Mask.Each(q, func(r int) {
				yhat[fam.Sample[r]] += fam.Weight.RowWeight(r) * dot(fam.A.RawRowView(r), u)
			})
		}
		return
	}
	h, L := fam.H, len(live)
	U := make([]float64, h*L) // H × L, column j = u of pattern live[j]
	for j, u := range us {
		for k, v := range u {
			U[k*L+j] = v
		}
	}
	np, _ := fam.A.Dims()
	raw := fam.A.RawMatrix()
	nch := (np + predictChunk - 1) / predictChunk
	nw := max(1, min(runtime.GOMAXPROCS(0), nch))
	// chunks in rounds of nw, one buffer each (memory nw·n), each round's vectors
	// added in chunk order: the same sums whatever nw
	parts := make([][]float64, nw)
	zs := make([][]float64, nw)
	for c0 := 0; c0 < nch; c0 += nw {
		var wg sync.WaitGroup
		for w := 0; w < nw && c0+w < nch; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				if parts[w] == nil {
					parts[w] = make([]float64, len(yhat))
					zs[w] = make([]float64, predictChunk*L)
				}
				part, Z := parts[w], zs[w]
				clear(part)
				c := c0 + w
				lo, hi := c*predictChunk, min(np, (c+1)*predictChunk)
				m := hi - lo
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
					blas64.General{Rows: m, Cols: h, Stride: raw.Stride, Data: raw.Data[lo*raw.Stride:]},
					blas64.General{Rows: h, Cols: L, Stride: L, Data: U},
					0, blas64.General{Rows: m, Cols: L, Stride: L, Data: Z[:m*L]})
				for j, q := range live {
					words := fam.Weight.Mask.Words(q)
					for wi := lo >> 6; wi<<6 < hi; wi++ {
						for b := words[wi]; b != 0; b &= b - 1 {
							r := wi<<6 + bits.TrailingZeros64(b)
							part[fam.Sample[r]] += fam.Weight.RowWeight(r) * Z[(r-lo)*L+j]
						}
					}
				}
			}(w)
		}
		wg.Wait()
		for w := 0; w < nw && c0+w < nch; w++ {
			for i, v := range parts[w] {
				yhat[i] += v
			}
		}
	}
}

// LossOf is the loss of the prediction yhat on the docs/language.md scale: squared
// ½Σ(ŷᵢ−yᵢ)², hinge Σ max(0, 1 − yᵢŷᵢ), logistic Σ log(1 + exp(−yᵢŷᵢ)) (computed stably).
func (p *Program) LossOf(yhat []float64) float64 {
	if p.Loss == LossCrossEntropy && p.Outputs > 1 {
		n := p.N / p.Outputs
		Yh := mat.NewDense(n, p.Outputs, nil)
		Y := mat.NewDense(n, p.Outputs, nil)
		for k := 0; k < p.Outputs; k++ {
			for i := 0; i < n; i++ {
				Yh.Set(i, k, yhat[k*n+i])
				Y.Set(i, k, p.Y[k*n+i])
			}
		}
		return VectorLoss(LossCrossEntropy, Yh, Y)
	}
	return LossValue(p.Loss, yhat, p.Y)
}

// LossValue evaluates the named loss (see Program.Loss) of yhat against y.
func LossValue(kind string, yhat, y []float64) float64 {
	s := 0.0
	for i := range y {
		switch kind {
		case "hinge":
			s += math.Max(0, 1-y[i]*yhat[i])
		case "logistic":
			z := -y[i] * yhat[i]
			if z > 0 {
				s += z + math.Log1p(math.Exp(-z))
			} else {
				s += math.Log1p(math.Exp(z))
			}
		default:
			r := yhat[i] - y[i]
			s += 0.5 * r * r
		}
	}
	return s
}

// BlockCost is R(x) for the family cost c: ‖x‖₂, or Σ_j Weight_j ‖T_j x‖₂.
func BlockCost(c Cost, x []float64) float64 {
	switch c.Kind {
	case CostMaps:
		s := 0.0
		xv := mat.NewVecDense(len(x), x)
		for j, T := range c.Maps {
			r, _ := T.Dims()
			t := mat.NewVecDense(r, nil)
			t.MulVec(T, xv)
			s += c.Weights[j] * mat.Norm(t, 2)
		}
		return s
	default:
		return mat.Norm(mat.NewVecDense(len(x), x), 2)
	}
}

// Regularization is Σ_b R_b(x_b) + Σ generic penalties, without the factor β.
func (p *Program) Regularization(s *Solution) float64 {
	sum := 0.0
	for f, fam := range p.Families {
		if f >= len(s.Blocks) {
			break
		}
		for c := range fam.Signs {
			if c >= len(s.Blocks[f]) || s.Blocks[f][c] == nil {
				continue
			}
			B := s.Blocks[f][c]
			P, _ := B.Dims()
			for q := 0; q < P; q++ {
				sum += BlockCost(fam.Cost, B.RawRowView(q))
			}
		}
	}
	for _, pen := range p.Penalties {
		x := s.Vars[pen.Var.Name]
		switch pen.Kind {
		case Norms:
			xv := mat.NewVecDense(len(x), x)
			for j, T := range pen.Maps {
				r, _ := T.Dims()
				t := mat.NewVecDense(r, nil)
				t.MulVec(T, xv)
				w := 1.0
				if j < len(pen.Weights) {
					w = pen.Weights[j]
				}
				sum += w * mat.Norm(t, 2)
			}
		case Nuclear:
			sum += NuclearNorm(pen.Var, x)
		case CopositiveNuclear:
			// a lower bound on the relaxed gauge (the program does not carry W₁, W₂;
			// the conic solver's objective has the exact value)
			sum += NuclearNorm(pen.Var, x)
		}
	}
	return sum
}

// NuclearNorm is ‖Z‖_* for the matrix variable v (Shape [rows, cols], x = vec Z
// column-major).
func NuclearNorm(v *Var, x []float64) float64 {
	if len(v.Shape) != 2 || len(x) != v.Size() {
		return math.NaN()
	}
	Z := mat.NewDense(v.Shape[0], v.Shape[1], nil)
	for j := 0; j < v.Shape[1]; j++ {
		for i := 0; i < v.Shape[0]; i++ {
			Z.Set(i, j, x[j*v.Shape[0]+i])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(Z, mat.SVDNone) {
		return math.NaN()
	}
	s := 0.0
	for _, v := range svd.Values(nil) {
		s += v
	}
	return s
}

// Objective is the convex objective ℓ(ŷ, y) + β·Regularization on the docs/language.md scale
// (loss summed over samples, ½ for squared loss). It does not check feasibility: see
// Violation.
//
// For an anchored program (§11) it is −aᵀw, the objective the program minimises
// (the relaxation maximises aᵀw).
func (p *Program) Objective(s *Solution) float64 {
	if p.Anchored != nil {
		return -p.Anchored.Value(s.Vars[AnchoredW])
	}
	return p.LossOf(p.Predict(s)) + p.Beta*p.Regularization(s)
}

// Violation is the largest violation of the program's constraints at s:
// max over cone rows of (−Sign·C_r x)₊, generic NonNeg rows of (−(Op x + Const))₊ and
// Zero rows of |Op x + Const|. Zero means feasible.
func (p *Program) Violation(s *Solution) float64 {
	if p.Anchored != nil {
		return p.Anchored.violation(p, s)
	}
	worst := 0.0
	for f, fam := range p.Families {
		if fam.C == nil || f >= len(s.Blocks) {
			continue
		}
		for c := range fam.Signs {
			if c >= len(s.Blocks[f]) || s.Blocks[f][c] == nil {
				continue
			}
			B := s.Blocks[f][c]
			rows, _ := B.Dims()
			for q := 0; q < rows && q < fam.Patterns(); q++ {
				x := B.RawRowView(q)
				if allZero(x) {
					continue
				}
				fam.Sign.On.Each(q, func(r int) {
					worst = math.Max(worst, -fam.Sign.At(r, q)*dot(fam.C.RawRowView(r), x))
				})
			}
		}
	}
	for _, con := range p.Constraints {
		x := s.Vars[con.Var.Name]
		rows, _ := con.Op.Dims()
		v := mat.NewVecDense(rows, nil)
		v.MulVec(con.Op, mat.NewVecDense(len(x), x))
		for i := 0; i < rows; i++ {
			e := v.AtVec(i)
			if con.Const != nil {
				e += con.Const[i]
			}
			if con.Kind == Zero {
				worst = math.Max(worst, math.Abs(e))
			} else {
				worst = math.Max(worst, -e)
			}
		}
	}
	return worst
}

// Sizes describes the size of a program, for reports and `cnnc explain`.
type Sizes struct {
	Samples     int // N
	Patterns    int // Σ_f P_f
	Blocks      int // variable blocks Σ_f |Signs_f|·P_f
	Variables   int // scalars: blocks, generic variables, output bias
	Constraints int // scalar linear constraints: cone rows (nonzero Sign entries per copy) + generic rows
	Norms       int // ‖·‖₂ terms in the regulariser (group norms, map norms)
	NormSizes   []int
	PSD         []int // orders of the PSD blocks (nuclear norms: rows + cols)
}

// Sizes counts the program's variables, constraints and cones.
func (p *Program) Sizes() Sizes {
	if p.Anchored != nil {
		return p.Anchored.sizes(p.N)
	}
	z := Sizes{Samples: p.N}
	for _, fam := range p.Families {
		P := fam.Patterns()
		k := len(fam.Signs)
		z.Patterns += P
		z.Blocks += k * P
		z.Variables += k * P * fam.H
		if fam.C != nil && fam.Sign != nil {
			nnz := 0
			for q := 0; q < P; q++ {
				nnz += fam.Sign.Count(q)
			}
			z.Constraints += k * nnz
		}
		per := 1
		size := fam.H
		if fam.Cost.Kind == CostMaps {
			per = len(fam.Cost.Maps)
		}
		for j := 0; j < per; j++ {
			if fam.Cost.Kind == CostMaps {
				size, _ = fam.Cost.Maps[j].Dims()
			}
			z.Norms += k * P
			for q := 0; q < k*P; q++ {
				z.NormSizes = append(z.NormSizes, size)
			}
		}
	}
	for _, v := range p.Vars {
		z.Variables += v.Size()
	}
	if p.OutputBias {
		z.Variables++
	}
	for _, c := range p.Constraints {
		r, _ := c.Op.Dims()
		z.Constraints += r
	}
	for _, pen := range p.Penalties {
		switch pen.Kind {
		case Norms:
			for _, T := range pen.Maps {
				r, _ := T.Dims()
				z.Norms++
				z.NormSizes = append(z.NormSizes, r)
			}
		case Nuclear, CopositiveNuclear:
			if len(pen.Var.Shape) == 2 {
				z.PSD = append(z.PSD, pen.Var.Shape[0]+pen.Var.Shape[1])
			}
			if pen.Kind == CopositiveNuclear && len(pen.Maps) == 1 {
				k, _ := pen.Maps[0].Dims()
				z.Constraints += k * (k + 1) / 2
			}
		}
	}
	return z
}

// Describe writes the program in math notation, the implicit regulariser in words and
// its sizes (for `cnnc explain`).
func (p *Program) Describe(w io.Writer) {
	if p.Anchored != nil {
		p.Anchored.describe(w, p)
		return
	}
	fmt.Fprintf(w, "model %s: %s (%s)\n\n", p.Model, p.Theorem, p.Cite())
	loss := map[string]string{
		"squared":       "½ Σᵢ (ŷᵢ − yᵢ)²",
		"hinge":         "Σᵢ max(0, 1 − yᵢ ŷᵢ)",
		"logistic":      "Σᵢ log(1 + exp(−yᵢ ŷᵢ))",
		"cross_entropy": "Σᵢ (log Σₖ exp ŷᵢₖ − Σₖ yᵢₖ ŷᵢₖ)",
	}[p.Loss]
	if loss == "" {
		loss = p.Loss
	}
	var reg []string
	for _, fam := range p.Families {
		r := "‖" + fam.Name + "_{s,p}‖₂"
		if fam.Cost.Kind == CostMaps {
			r = "Σⱼ wⱼ‖Tⱼ " + fam.Name + "_{s,p}‖₂"
		}
		reg = append(reg, fmt.Sprintf("Σ_{s,p} %s", r))
	}
	for _, pen := range p.Penalties {
		switch pen.Kind {
		case Norms:
			reg = append(reg, fmt.Sprintf("Σⱼ wⱼ‖Tⱼ vec(%s)‖₂", pen.Var.Name))
		case Nuclear:
			reg = append(reg, fmt.Sprintf("‖%s‖_*", pen.Var.Name))
		case CopositiveNuclear:
			reg = append(reg, fmt.Sprintf("‖%s‖_{cop}", pen.Var.Name))
		}
	}
	fmt.Fprintf(w, "  minimize   %s + β·(%s),   β = %g\n", loss, strings.Join(reg, " + "), p.Beta)
	var terms []string
	for _, fam := range p.Families {
		copies := "s·"
		if len(fam.Signs) == 1 {
			copies = ""
		}
		terms = append(terms, fmt.Sprintf("Σ_{s∈%v} %sΣ_{p=1..%d} 𝒫_p %s_{s,p}", fam.Signs, copies, fam.Patterns(), fam.Name))
	}
	for _, t := range p.Terms {
		terms = append(terms, fmt.Sprintf("Op·vec(%s)", t.Var.Name))
	}
	if p.OutputBias {
		terms = append(terms, "b (unpenalised output bias)")
	}
	fmt.Fprintf(w, "  where      ŷ = %s\n", strings.Join(terms, " + "))
	for _, fam := range p.Families {
		if fam.C != nil {
			fmt.Fprintf(w, "  subject to (2D_p − I)·C·%s_{s,p} ≥ 0 for every pattern p and copy s  (u ∈ 𝒦_p: the pattern is the ReLU's own)\n", fam.Name)
		}
	}
	for _, c := range p.Constraints {
		op := "="
		if c.Kind == NonNeg {
			op = "≥"
		}
		fmt.Fprintf(w, "  subject to Op·vec(%s) + c %s 0   (%s)\n", c.Var.Name, op, c.Why)
	}
	for _, fam := range p.Families {
		if fam.Name == "v" || fam.Name == "u" {
			fmt.Fprintf(w, "  with       𝒫_p = D_p X (D_p = diag 1[X g_p ≥ 0], an activation pattern), X the %d×%d data matrix\n", p.N, fam.H)
		}
	}
	if p.Regularizer != "" {
		fmt.Fprintf(w, "\nImplicit regulariser: %s\n", p.Regularizer)
	}
	z := p.Sizes()
	fmt.Fprintf(w, "\nSizes: %d samples, %d patterns, %d variable blocks, %d variables, %d linear constraints, %d norm cones",
		z.Samples, z.Patterns, z.Blocks, z.Variables, z.Constraints, z.Norms)
	if len(z.NormSizes) > 0 {
		fmt.Fprintf(w, " (size %d)", z.NormSizes[0])
	}
	if len(z.PSD) > 0 {
		fmt.Fprintf(w, ", PSD blocks of order %v", z.PSD)
	}
	fmt.Fprintln(w)
}

// combined sets u = Σ_s s·x_{s,q} over the copies of pattern q (blocks[c] is P×H, or
// nil, or has fewer rows) and reports whether u ≠ 0.
func combined(fam *Family, blocks []*mat.Dense, q int, u []float64) bool {
	for j := range u {
		u[j] = 0
	}
	any := false
	for c, sign := range fam.Signs {
		if c >= len(blocks) || blocks[c] == nil {
			continue
		}
		if rows, _ := blocks[c].Dims(); q >= rows {
			continue
		}
		for j, v := range blocks[c].RawRowView(q) {
			if v != 0 {
				u[j] += sign * v
				any = true
			}
		}
	}
	return any
}

func allZero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
