// Package cbf writes conic programs in the Conic Benchmark Format, version 3
// (CBF; read by MOSEK, by JuMP/MathOptInterface and by CBLIB tools;
// docs/exports.md, "--format cbf"), and parses such files back for tests.
//
// Input: a *conic.Problem in SCS form (§1.5, docs/math/01-machinery.md)
//
//	minimize cᵀx + ½xᵀPx   subject to   s = b − Ax ∈ K.
//
// Output: a CBF text file whose optimum is the user's objective
// ObjScale·(cᵀx + ½xᵀPx) + ObjOffset (the scale multiplies the objective
// coefficients, the offset is OBJBCOORD; a comment at the top says so). It sits
// at the end of the pipeline beside backend/scs and conic.WriteJSON.
//
// CBF states constraints as g = A'x + b' ∈ K', so each SCS row becomes
// g = −A_r x + b_r (the slack itself):
//
//   - zero rows → L=, nonnegative rows → L+, second-order blocks → Q (t first in both);
//   - PSD blocks → PSDCON of the same order with HCOORD = −A and DCOORD = b on
//     the lower triangle, unscaled: an off-diagonal svec row holds √2·S_ij, so
//     its coefficients are divided by √2;
//   - exponential triples → EXP (primal) and EXP* (dual) with the coordinates
//     reversed: SCS (x, y, z) with y·e^{x/y} ≤ z is CBF (z, y, x) with
//     x₁ ≥ x₂·e^{x₃/x₂}, and likewise for the dual cones;
//   - power cones with parameter a > 0 → @k:POW with POWCONES weights (a, 1−a),
//     a < 0 → @k:POW* with POW*CONES weights (−a, 1+a), coordinates in SCS order;
//   - the box cone {(t, x) : t·l ≤ x ≤ t·u} → L+ rows t ≥ 0, x_i − l_i·t ≥ 0
//     and u_i·t − x_i ≥ 0 (rows with an infinite bound are left out);
//   - complex PSD cones have no CBF counterpart: Write returns an error.
//
// CBF has no quadratic objective. A nonzero P is factored as P = FᵀF (square
// roots of the diagonal when P is diagonal, otherwise an eigendecomposition
// with eigenvalues below 1e-12·‖P‖ dropped; P must be PSD to that tolerance),
// and ½xᵀPx is replaced by a new last variable τ with (τ, 1, Fx) ∈ QR, CBF's
// rotated cone 2x₁x₂ ≥ ‖x₃…‖², i.e. τ ≥ ½‖Fx‖² = ½xᵀPx. The comment at the
// top of the file names τ. The dense factorisation is limited to n ≤ 4000.
package cbf

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// Version is the CBF version written.
const Version = 3

// maxDenseP bounds the order of a non-diagonal P factored densely.
const maxDenseP = 4000

// term is one contribution coef·s_r of an SCS slack row to an output row.
type term struct {
	row  int
	coef float64
}

type cone struct {
	kind string
	size int
}

// Write writes p as a CBF version 3 file. See the package comment for the
// translation; errors are returned for complex PSD cones, non-finite data, a P
// that is not positive semidefinite or too large to factor, and invalid p.
func Write(w io.Writer, p *conic.Problem) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("cbf export: %v", err)
	}
	k := &p.Cones
	if len(k.CS) > 0 {
		return fmt.Errorf("cbf export: complex PSD cones %v have no CBF counterpart", k.CS)
	}
	for _, v := range [][]float64{p.B, p.C, p.A.Val, k.P, {p.ObjOffset, p.ObjScale}} {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("cbf export: non-finite number %v in the problem data", x)
			}
		}
	}

	// Scalar output rows, each a combination of SCS slack rows, and their cones.
	var rows [][]term
	var cones []cone
	add := func(kind string, terms ...[]term) {
		if len(terms) == 0 {
			return
		}
		if n := len(cones); n > 0 && cones[n-1].kind == kind && (kind == "L=" || kind == "L+") {
			cones[n-1].size += len(terms)
		} else {
			cones = append(cones, cone{kind, len(terms)})
		}
		rows = append(rows, terms...)
	}
	one := func(r int) []term { return []term{{r, 1}} }
	r := 0
	for range k.Z {
		add("L=", one(r))
		r++
	}
	for range k.L {
		add("L+", one(r))
		r++
	}
	if k.BSize > 0 {
		t := r
		add("L+", one(t))
		for i := range k.BSize - 1 {
			xi := t + 1 + i
			if l := k.BL[i]; !math.IsInf(l, 0) {
				add("L+", []term{{xi, 1}, {t, -l}})
			}
			if u := k.BU[i]; !math.IsInf(u, 0) {
				add("L+", []term{{t, u}, {xi, -1}})
			}
		}
		r += k.BSize
	}
	for _, q := range k.Q {
		if q == 0 {
			continue
		}
		ts := make([][]term, q)
		for i := range ts {
			ts[i] = one(r + i)
		}
		add("Q", ts...)
		r += q
	}
	type psdBlock struct{ row, order int }
	var psd []psdBlock
	for _, d := range k.S {
		if d > 0 {
			psd = append(psd, psdBlock{r, d})
		}
		r += d * (d + 1) / 2
	}
	for range k.EP {
		add("EXP", one(r+2), one(r+1), one(r))
		r += 3
	}
	for range k.ED {
		add("EXP*", one(r+2), one(r+1), one(r))
		r += 3
	}
	var pow, dpow [][2]float64
	for _, a := range k.P {
		if a >= 0 {
			add(fmt.Sprintf("@%d:POW", len(pow)), one(r), one(r+1), one(r+2))
			pow = append(pow, [2]float64{a, 1 - a})
		} else {
			add(fmt.Sprintf("@%d:POW*", len(dpow)), one(r), one(r+1), one(r+2))
			dpow = append(dpow, [2]float64{-a, 1 + a})
		}
		r += 3
	}

	// Rows of A by SCS row, to build −A's output rows.
	arows := make([][]term, p.M) // term.row = column here
	for j := range p.N {
		for q := p.A.ColPtr[j]; q < p.A.ColPtr[j+1]; q++ {
			arows[p.A.RowIdx[q]] = append(arows[p.A.RowIdx[q]], term{j, p.A.Val[q]})
		}
	}

	// Quadratic objective: τ = x[n] and (τ, 1, Fx) ∈ QR.
	nvar := p.N
	var f [][]term // rows of F, entries (column, value)
	if p.P != nil && p.P.NNZ() > 0 {
		var err error
		if f, err = factor(p.P); err != nil {
			return err
		}
		nvar++
	}

	bw := bufio.NewWriter(w)
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fmt.Fprintf(bw, "# cnnc conic program (SCS form: min cᵀx + ½xᵀPx s.t. b − Ax ∈ K), m = %d, n = %d\n", p.M, p.N)
	fmt.Fprintf(bw, "# The CBF objective is the user objective: scale·(cᵀx + ½xᵀPx) + offset, scale = %s, offset = %s.\n", num(p.Scale()), num(p.ObjOffset))
	if f != nil {
		fmt.Fprintf(bw, "# ½xᵀPx is the last variable x[%d] (0-based) with (x[%d], 1, Fx) ∈ QR, P = FᵀF (rank %d).\n", p.N, p.N, len(f))
	}
	if k.BSize > 0 {
		fmt.Fprintf(bw, "# The SCS box cone of size %d is written as linear inequalities.\n", k.BSize)
	}
	fmt.Fprintf(bw, "VER\n%d\n\nOBJSENSE\nMIN\n\n", Version)
	for _, pc := range []struct {
		key string
		a   [][2]float64
	}{{"POWCONES", pow}, {"POW*CONES", dpow}} {
		if len(pc.a) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s\n%d %d\n", pc.key, len(pc.a), 2*len(pc.a))
		for _, a := range pc.a {
			fmt.Fprintf(bw, "2\n%s\n%s\n", num(a[0]), num(a[1]))
		}
		bw.WriteString("\n")
	}
	fmt.Fprintf(bw, "VAR\n%d 1\nF %d\n\n", nvar, nvar)

	ncon := len(rows)
	if f != nil {
		cones = append(cones, cone{"QR", 2 + len(f)})
		ncon += 2 + len(f)
	}
	if ncon > 0 {
		fmt.Fprintf(bw, "CON\n%d %d\n", ncon, len(cones))
		for _, c := range cones {
			fmt.Fprintf(bw, "%s %d\n", c.kind, c.size)
		}
		bw.WriteString("\n")
	}
	if len(psd) > 0 {
		fmt.Fprintf(bw, "PSDCON\n%d\n", len(psd))
		for _, b := range psd {
			fmt.Fprintf(bw, "%d\n", b.order)
		}
		bw.WriteString("\n")
	}

	scale := p.Scale()
	var obj []string
	for j, c := range p.C {
		if c != 0 {
			obj = append(obj, fmt.Sprintf("%d %s", j, num(scale*c)))
		}
	}
	if f != nil {
		obj = append(obj, fmt.Sprintf("%d %s", p.N, num(scale)))
	}
	section(bw, "OBJACOORD", obj)
	if p.ObjOffset != 0 {
		fmt.Fprintf(bw, "OBJBCOORD\n%s\n\n", num(p.ObjOffset))
	}

	// ACOORD / BCOORD: output row i is Σ coef·(b_r − A_r x).
	var acoord, bcoord []string
	for i, ts := range rows {
		coef := map[int]float64{}
		var cols []int
		bi := 0.0
		for _, t := range ts {
			bi += t.coef * p.B[t.row]
			for _, a := range arows[t.row] {
				if _, ok := coef[a.row]; !ok {
					cols = append(cols, a.row)
				}
				coef[a.row] -= t.coef * a.coef
			}
		}
		slices.Sort(cols)
		for _, j := range cols {
			if v := coef[j]; v != 0 {
				acoord = append(acoord, fmt.Sprintf("%d %d %s", i, j, num(v)))
			}
		}
		if bi != 0 {
			bcoord = append(bcoord, fmt.Sprintf("%d %s", i, num(bi)))
		}
	}
	if f != nil {
		q0 := len(rows)
		acoord = append(acoord, fmt.Sprintf("%d %d 1", q0, p.N))
		bcoord = append(bcoord, fmt.Sprintf("%d 1", q0+1))
		for i, fr := range f {
			for _, e := range fr {
				acoord = append(acoord, fmt.Sprintf("%d %d %s", q0+2+i, e.row, num(e.coef)))
			}
		}
	}
	section(bw, "ACOORD", acoord)
	section(bw, "BCOORD", bcoord)

	// HCOORD / DCOORD for PSD blocks: entry (i, j), i ≥ j, of block c is
	// s_r (diagonal) or s_r/√2 (off-diagonal).
	var hcoord, dcoord []string
	for c, blk := range psd {
		r := blk.row
		for j := range blk.order {
			for i := j; i < blk.order; i++ {
				f := 1.0
				if i != j {
					f = 1 / math.Sqrt2
				}
				for _, a := range arows[r] {
					if v := -f * a.coef; v != 0 {
						hcoord = append(hcoord, fmt.Sprintf("%d %d %d %d %s", c, a.row, i, j, num(v)))
					}
				}
				if v := f * p.B[r]; v != 0 {
					dcoord = append(dcoord, fmt.Sprintf("%d %d %d %s", c, i, j, num(v)))
				}
				r++
			}
		}
	}
	section(bw, "HCOORD", hcoord)
	section(bw, "DCOORD", dcoord)
	return bw.Flush()
}

func section(w *bufio.Writer, key string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "%s\n%d\n", key, len(lines))
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// factor returns the rows of F with FᵀF = P (P given as its upper triangle),
// each row as (column, value) pairs.
func factor(p *conic.CSC) ([][]term, error) {
	n := p.N
	diag := true
	maxAbs := 0.0
	for j := range n {
		for q := p.ColPtr[j]; q < p.ColPtr[j+1]; q++ {
			if p.RowIdx[q] != j && p.Val[q] != 0 {
				diag = false
			}
			maxAbs = math.Max(maxAbs, math.Abs(p.Val[q]))
		}
	}
	if diag {
		var f [][]term
		for j := range n {
			for q := p.ColPtr[j]; q < p.ColPtr[j+1]; q++ {
				switch v := p.Val[q]; {
				case v < 0:
					return nil, fmt.Errorf("cbf export: P[%d,%d] = %v < 0: P is not positive semidefinite", j, j, v)
				case v > 0:
					f = append(f, []term{{j, math.Sqrt(v)}})
				}
			}
		}
		return f, nil
	}
	if n > maxDenseP {
		return nil, fmt.Errorf("cbf export: a non-diagonal quadratic objective of order %d is too large to factor densely (limit %d); CBF has no quadratic objective", n, maxDenseP)
	}
	sym := mat.NewSymDense(n, nil)
	for j := range n {
		for q := p.ColPtr[j]; q < p.ColPtr[j+1]; q++ {
			sym.SetSym(p.RowIdx[q], j, p.Val[q])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, fmt.Errorf("cbf export: eigendecomposition of P failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	tol := 1e-12 * math.Max(maxAbs, vals[len(vals)-1])
	var f [][]term
	for i, l := range vals {
		if l < -tol*1e3 {
			return nil, fmt.Errorf("cbf export: P has eigenvalue %v < 0: P is not positive semidefinite", l)
		}
		if l <= tol {
			continue
		}
		s := math.Sqrt(l)
		var row []term
		for j := range n {
			if v := s * vecs.At(j, i); v != 0 {
				row = append(row, term{j, v})
			}
		}
		f = append(f, row)
	}
	return f, nil
}
