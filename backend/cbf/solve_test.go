package cbf

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// toConic converts a parsed CBF file with L=, L+, Q, QR and PSDCON constraints
// back to SCS form, independently of the writer: a CBF row g = A'x + b' is an
// SCS slack row with A = −A', b = b'; a QR block (g₁, g₂, g₃…) with
// 2g₁g₂ ≥ ‖g₃…‖², g₁, g₂ ≥ 0 is the SOC block (g₁+g₂, g₁−g₂, √2·g₃, …); a
// PSD constraint G = Σ x_j H_j + D ⪰ 0 is the svec block of G (off-diagonal
// entries ×√2). The objective constant goes to ObjOffset.
func toConic(f *Parsed) (*conic.Problem, error) {
	n := f.NumVar
	type row struct {
		a []float64
		b float64
	}
	g := make([]row, f.NumCon)
	for i := range g {
		g[i].a = make([]float64, n)
	}
	for _, e := range f.A {
		g[e.I].a[e.J] += e.V
	}
	for _, e := range f.B {
		g[e.I].b += e.V
	}
	comb := func(terms ...struct {
		r int
		c float64
	}) row {
		out := row{a: make([]float64, n)}
		for _, t := range terms {
			for j := range n {
				out.a[j] += t.c * g[t.r].a[j]
			}
			out.b += t.c * g[t.r].b
		}
		return out
	}
	type tc = struct {
		r int
		c float64
	}
	var zero, lin, soc []row
	var q []int
	r := 0
	for _, c := range f.ConCones {
		switch c.Kind {
		case "L=":
			zero = append(zero, g[r:r+c.Size]...)
		case "L+":
			lin = append(lin, g[r:r+c.Size]...)
		case "Q":
			soc = append(soc, g[r:r+c.Size]...)
			q = append(q, c.Size)
		case "QR":
			soc = append(soc, comb(tc{r, 1}, tc{r + 1, 1}), comb(tc{r, 1}, tc{r + 1, -1}))
			for i := 2; i < c.Size; i++ {
				soc = append(soc, comb(tc{r + i, math.Sqrt2}))
			}
			q = append(q, c.Size)
		default:
			return nil, fmt.Errorf("cone %s not handled by this test", c.Kind)
		}
		r += c.Size
	}
	var psd []row
	for c, d := range f.PSDCon {
		mats := make([][]float64, d*d) // entry (i,j) → coefficients over x, then constant
		for i := range mats {
			mats[i] = make([]float64, n+1)
		}
		for _, e := range f.H {
			if e.Con == c {
				mats[e.I+e.J*d][e.Var] += e.V
			}
		}
		for _, e := range f.D {
			if e.Con == c {
				mats[e.I+e.J*d][n] += e.V
			}
		}
		for j := range d {
			for i := j; i < d; i++ {
				s := 1.0
				if i != j {
					s = math.Sqrt2
				}
				rw := row{a: make([]float64, n), b: s * mats[i+j*d][n]}
				for v := range n {
					rw.a[v] = s * mats[i+j*d][v]
				}
				psd = append(psd, rw)
			}
		}
	}
	all := append(append(append(append([]row{}, zero...), lin...), soc...), psd...)
	p := &conic.Problem{M: len(all), N: n, Cones: conic.Cones{Z: len(zero), L: len(lin), Q: q, S: f.PSDCon}, C: make([]float64, n)}
	p.A = conic.CSC{M: p.M, N: n, ColPtr: make([]int, n+1)}
	for j := range n {
		for i, rw := range all {
			if rw.a[j] != 0 {
				p.A.RowIdx = append(p.A.RowIdx, i)
				p.A.Val = append(p.A.Val, -rw.a[j])
			}
		}
		p.A.ColPtr[j+1] = len(p.A.Val)
	}
	for _, rw := range all {
		p.B = append(p.B, rw.b)
	}
	for _, e := range f.ObjA {
		p.C[e.J] += e.V
	}
	p.ObjOffset = f.ObjB
	return p, p.Validate()
}

// A CBF file means the same program: random strictly feasible problems (LP,
// SOC, PSD blocks, with and without a quadratic objective, with an objective
// scale and offset) are solved by CVXOPT directly and from their CBF file
// converted back (the quadratic term then through the QR epigraph); the
// optima on the user scale agree to 1e-6 relative.
func TestCBFSameOptimumCVXOPT(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 11))
		k := conic.Cones{Z: 1, L: 4, Q: []int{3}, S: []int{2}}
		p := conictest.Feasible(rng, 4, k, seed%2 == 0)
		p.ObjScale, p.ObjOffset = 0.5+float64(seed), float64(seed)-2
		direct, ok := conictest.SolveCVXOPT(t, p)
		if !ok {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, p); err != nil {
			t.Fatal(err)
		}
		f, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		q, err := toConic(f)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		via, _ := conictest.SolveCVXOPT(t, q)
		if direct.Status != "optimal" || via.Status != "optimal" {
			t.Fatalf("seed %d: statuses %q / %q (%s%s)", seed, direct.Status, via.Status, direct.Message, via.Message)
		}
		if d := math.Abs(direct.Objective - via.Objective); d > 1e-6*(1+math.Abs(direct.Objective)) {
			t.Errorf("seed %d: optimum %.12g directly, %.12g through CBF", seed, direct.Objective, via.Objective)
		}
	}
}
