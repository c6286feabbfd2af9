package cbf

import (
	"fmt"
	"math"
	"sort"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// MaxProblemEntries bounds the coefficients Problem assembles (the entries of the
// file's A, H and objective, each possibly combined into two rows by a QR cone).
const MaxProblemEntries = 50_000_000

// Problem converts a parsed CBF file back to the SCS form of backend/conic,
// independently of Write: a CBF row g = A'x + b' in cone K becomes the SCS slack row
// s = b − Ax with A = −A', b = b'; a rotated cone QR (g₁, g₂, g₃, …) with
// 2g₁g₂ ≥ ‖g₃…‖², g₁, g₂ ≥ 0 becomes the second-order cone
// (g₁+g₂, g₁−g₂, √2·g₃, …); a PSD constraint G = Σⱼ xⱼHⱼ + D ⪰ 0 becomes the svec
// rows of G's lower triangle (column by column, off-diagonal entries ×√2). Variable
// cones other than F become rows on the variables (x ∈ K). The objective constant
// goes to ObjOffset. Supported cones: F, L=, L+, L-, Q, QR and PSDCON; a file with
// any other cone (EXP, POW), a maximisation, or more than MaxProblemEntries
// coefficients is an error.
func (f *Parsed) Problem() (*conic.Problem, error) {
	if f.Sense != "" && f.Sense != "MIN" {
		return nil, fmt.Errorf("cbf: objective sense %s: only MIN converts to the SCS form", f.Sense)
	}
	if e := len(f.A) + len(f.H) + len(f.ObjA) + f.NumVar; e > MaxProblemEntries/2 {
		return nil, fmt.Errorf("cbf: %d coefficients, more than the %d this conversion assembles", e, MaxProblemEntries/2)
	}
	n := f.NumVar
	// a row is a sparse combination over x plus a constant: g = Σ a_j x_j + b
	type row struct {
		a map[int]float64
		b float64
	}
	newRow := func() row { return row{a: map[int]float64{}} }
	g := make([]row, f.NumCon)
	for i := range g {
		g[i] = newRow()
	}
	for _, e := range f.A {
		g[e.I].a[e.J] += e.V
	}
	for _, e := range f.B {
		g[e.I].b += e.V
	}
	scaled := func(r row, s float64) row {
		out := newRow()
		for j, v := range r.a {
			out.a[j] = s * v
		}
		out.b = s * r.b
		return out
	}
	sum := func(r1 row, s1 float64, r2 row, s2 float64) row {
		out := scaled(r1, s1)
		for j, v := range r2.a {
			out.a[j] += s2 * v
		}
		out.b += s2 * r2.b
		return out
	}
	var zero, lin, soc []row
	var q []int
	place := func(kind string, rs []row) error {
		switch kind {
		case "F":
		case "L=":
			zero = append(zero, rs...)
		case "L+":
			lin = append(lin, rs...)
		case "L-":
			for _, r := range rs {
				lin = append(lin, scaled(r, -1))
			}
		case "Q":
			soc = append(soc, rs...)
			q = append(q, len(rs))
		case "QR":
			if len(rs) < 2 {
				return fmt.Errorf("cbf: a QR cone of size %d (at least 2)", len(rs))
			}
			soc = append(soc, sum(rs[0], 1, rs[1], 1), sum(rs[0], 1, rs[1], -1))
			for _, r := range rs[2:] {
				soc = append(soc, scaled(r, math.Sqrt2))
			}
			q = append(q, len(rs))
		default:
			return fmt.Errorf("cbf: cone %s has no conversion to the SCS form here", kind)
		}
		return nil
	}
	v := 0
	for _, c := range f.VarCones {
		rs := make([]row, c.Size)
		for i := range rs {
			rs[i] = row{a: map[int]float64{v + i: 1}}
		}
		if err := place(c.Kind, rs); err != nil {
			return nil, err
		}
		v += c.Size
	}
	r := 0
	for _, c := range f.ConCones {
		if err := place(c.Kind, g[r:r+c.Size]); err != nil {
			return nil, err
		}
		r += c.Size
	}
	var psd []row
	for c, d := range f.PSDCon {
		// entry (i, j) of the lower triangle, i ≥ j; CBF lists each once (lower)
		ent := map[[2]int]row{}
		get := func(i, j int) row {
			if i < j {
				i, j = j, i
			}
			k := [2]int{i, j}
			if _, ok := ent[k]; !ok {
				ent[k] = newRow()
			}
			return ent[k]
		}
		for _, e := range f.H {
			if e.Con == c {
				get(e.I, e.J).a[e.Var] += e.V
			}
		}
		for _, e := range f.D {
			if e.Con == c {
				rw := get(e.I, e.J)
				rw.b += e.V
				i, j := max(e.I, e.J), min(e.I, e.J)
				ent[[2]int{i, j}] = rw
			}
		}
		for j := range d {
			for i := j; i < d; i++ {
				s := 1.0
				if i != j {
					s = math.Sqrt2
				}
				rw, ok := ent[[2]int{i, j}]
				if !ok {
					rw = newRow()
				}
				psd = append(psd, scaled(rw, s))
			}
		}
	}
	all := make([]row, 0, len(zero)+len(lin)+len(soc)+len(psd))
	all = append(append(append(append(all, zero...), lin...), soc...), psd...)
	p := &conic.Problem{M: len(all), N: n, Cones: conic.Cones{Z: len(zero), L: len(lin), Q: q, S: append([]int(nil), f.PSDCon...)}, C: make([]float64, n)}
	// columns of A = −A'
	type ent struct {
		i int
		v float64
	}
	cols := make([][]ent, n)
	for i, rw := range all {
		for j, v := range rw.a {
			if j < 0 || j >= n {
				return nil, fmt.Errorf("cbf: variable %d out of range (%d variables)", j, n)
			}
			if v != 0 {
				cols[j] = append(cols[j], ent{i, -v})
			}
		}
		p.B = append(p.B, rw.b)
	}
	p.A = conic.CSC{M: p.M, N: n, ColPtr: make([]int, n+1)}
	for j, col := range cols {
		sort.Slice(col, func(a, b int) bool { return col[a].i < col[b].i })
		for _, e := range col {
			p.A.RowIdx = append(p.A.RowIdx, e.i)
			p.A.Val = append(p.A.Val, e.v)
		}
		p.A.ColPtr[j+1] = len(p.A.Val)
	}
	for _, e := range f.ObjA {
		p.C[e.J] += e.V
	}
	p.ObjOffset = f.ObjB
	return p, p.Validate()
}
