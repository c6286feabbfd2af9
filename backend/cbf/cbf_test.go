package cbf

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// stripComments drops # lines (the header comments are free text).
func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The worked example of spec/formats.md: minimise −x₁ − x₂ s.t. ‖x‖ ≤ 1,
// SCS rows b − Ax = (1, x₁, x₂) ∈ SOC(3). In CBF, g = −Ax + b: row 0 is the
// constant 1 (BCOORD 0 1), rows 1 and 2 are x₁ and x₂ (ACOORD 1 0 1, 2 1 1).
func TestWorkedExample(t *testing.T) {
	p := &conic.Problem{
		M: 3, N: 2, Cones: conic.Cones{Q: []int{3}},
		B: []float64{1, 0, 0}, C: []float64{-1, -1},
		A: conic.CSC{M: 3, N: 2, ColPtr: []int{0, 1, 2}, RowIdx: []int{1, 2}, Val: []float64{-1, -1}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := "VER\n3\n\nOBJSENSE\nMIN\n\nVAR\n2 1\nF 2\n\nCON\n3 1\nQ 3\n\n" +
		"OBJACOORD\n2\n0 -1\n1 -1\n\nACOORD\n2\n1 0 1\n2 1 1\n\nBCOORD\n1\n0 1\n\n"
	if got := stripComments(buf.String()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Random problems with every cone kind CBF can hold (and P): the parsed file,
// evaluated at random points, must reproduce the SCS slack s = b − Ax cone by
// cone as the package comment describes, and the objective on the user scale.
// Affine maps that agree at random points have equal coefficients (w.p. 1).
func TestRandomCoefficients(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 9))
		p := conictest.Random(rng, conictest.RandomOptions{Quadratic: seed%2 == 0, Exotic: seed%3 != 0})
		if len(p.Cones.CS) > 0 {
			p = dropComplex(p)
		}
		var buf bytes.Buffer
		if err := Write(&buf, p); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		f, err := Read(&buf)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, buf.String())
		}
		if msg := check(p, f, rng); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	}
}

// dropComplex removes the complex PSD rows (CBF cannot hold them).
func dropComplex(p *conic.Problem) *conic.Problem {
	k := p.Cones
	rows := 0
	for _, s := range k.CS {
		rows += s * s
	}
	r0 := k.Rows() - 3*(k.EP+k.ED+len(k.P)) - rows
	q := *p
	q.Cones.CS = nil
	q.M -= rows
	q.B = append(append([]float64{}, p.B[:r0]...), p.B[r0+rows:]...)
	a := conic.CSC{M: q.M, N: p.N, ColPtr: make([]int, p.N+1)}
	for j := range p.N {
		for k := p.A.ColPtr[j]; k < p.A.ColPtr[j+1]; k++ {
			i := p.A.RowIdx[k]
			if i >= r0 && i < r0+rows {
				continue
			}
			if i >= r0+rows {
				i -= rows
			}
			a.RowIdx = append(a.RowIdx, i)
			a.Val = append(a.Val, p.A.Val[k])
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	q.A = a
	return &q
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-9*(1+math.Abs(a)+math.Abs(b)) }

func check(p *conic.Problem, f *Parsed, rng *rand.Rand) string {
	k := &p.Cones
	hasQ := p.P != nil && p.P.NNZ() > 0
	nvar := p.N
	if hasQ {
		nvar++
	}
	if f.Version != 3 || f.Sense != "MIN" || f.NumVar != nvar || !reflect.DeepEqual(f.VarCones, []Cone{{"F", nvar}}) {
		return fmt.Sprintf("header: version %d sense %s vars %d %v", f.Version, f.Sense, f.NumVar, f.VarCones)
	}
	// Expected cone list.
	var want []Cone
	push := func(kind string, n int) {
		if l := len(want); l > 0 && want[l-1].Kind == kind && (kind == "L=" || kind == "L+") {
			want[l-1].Size += n
		} else if n > 0 {
			want = append(want, Cone{kind, n})
		}
	}
	push("L=", k.Z)
	push("L+", k.L)
	if k.BSize > 0 {
		n := 1
		for i := range k.BSize - 1 {
			if !math.IsInf(k.BL[i], 0) {
				n++
			}
			if !math.IsInf(k.BU[i], 0) {
				n++
			}
		}
		push("L+", n)
	}
	for _, q := range k.Q {
		push("Q", q)
	}
	for range k.EP {
		push("EXP", 3)
	}
	for range k.ED {
		push("EXP*", 3)
	}
	np, nd := 0, 0
	for _, a := range k.P {
		if a >= 0 {
			push(fmt.Sprintf("@%d:POW", np), 3)
			if !reflect.DeepEqual(f.PowCones[np], []float64{a, 1 - a}) {
				return fmt.Sprintf("POWCONES[%d] = %v for a = %v", np, f.PowCones[np], a)
			}
			np++
		} else {
			push(fmt.Sprintf("@%d:POW*", nd), 3)
			if !reflect.DeepEqual(f.DualPowCones[nd], []float64{-a, 1 + a}) {
				return fmt.Sprintf("POW*CONES[%d] = %v for a = %v", nd, f.DualPowCones[nd], a)
			}
			nd++
		}
	}
	if hasQ {
		push("QR", f.ConCones[len(f.ConCones)-1].Size)
	}
	if !reflect.DeepEqual(f.ConCones, want) {
		return fmt.Sprintf("cones %v, want %v", f.ConCones, want)
	}
	var wantPSD []int
	for _, s := range k.S {
		if s > 0 {
			wantPSD = append(wantPSD, s)
		}
	}
	if !reflect.DeepEqual(f.PSDCon, wantPSD) {
		return fmt.Sprintf("PSDCON %v, want %v", f.PSDCon, wantPSD)
	}

	for trial := range 3 {
		x := make([]float64, nvar)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		// SCS slack s = b − Ax.
		s := append([]float64{}, p.B...)
		ax := make([]float64, p.M)
		p.A.MulVec(ax, x[:p.N])
		for i := range s {
			s[i] -= ax[i]
		}
		// CBF g = A'x + b'.
		g := make([]float64, f.NumCon)
		for _, e := range f.A {
			g[e.I] += e.V * x[e.J]
		}
		for _, e := range f.B {
			g[e.I] += e.V
		}
		o, r := 0, 0
		expect := func(v float64, what string) string {
			if !close(g[o], v) {
				return fmt.Sprintf("trial %d: %s: CBF row %d = %v, want %v", trial, what, o, g[o], v)
			}
			o++
			return ""
		}
		for range k.Z + k.L {
			if m := expect(s[r], "linear row"); m != "" {
				return m
			}
			r++
		}
		if k.BSize > 0 {
			st := s[r]
			if m := expect(st, "box t"); m != "" {
				return m
			}
			for i := range k.BSize - 1 {
				xi := s[r+1+i]
				if !math.IsInf(k.BL[i], 0) {
					if m := expect(xi-k.BL[i]*st, "box lower"); m != "" {
						return m
					}
				}
				if !math.IsInf(k.BU[i], 0) {
					if m := expect(k.BU[i]*st-xi, "box upper"); m != "" {
						return m
					}
				}
			}
			r += k.BSize
		}
		for _, q := range k.Q {
			for range q {
				if m := expect(s[r], "soc"); m != "" {
					return m
				}
				r++
			}
		}
		// PSD blocks: G_c = Σ x_j H + D must equal mat(s) (lower triangle).
		c := 0
		for _, d := range k.S {
			if d == 0 {
				continue
			}
			gm := map[[2]int]float64{}
			for _, e := range f.H {
				if e.Con == c {
					gm[[2]int{e.I, e.J}] += e.V * x[e.Var]
				}
			}
			for _, e := range f.D {
				if e.Con == c {
					gm[[2]int{e.I, e.J}] += e.V
				}
			}
			for j := range d {
				for i := j; i < d; i++ {
					want := s[r]
					if i != j {
						want /= math.Sqrt2
					}
					if !close(gm[[2]int{i, j}], want) {
						return fmt.Sprintf("PSD %d entry (%d,%d) = %v, want %v", c, i, j, gm[[2]int{i, j}], want)
					}
					r++
				}
			}
			c++
		}
		for range k.EP + k.ED {
			for _, d := range []int{2, 1, 0} {
				if m := expect(s[r+d], "exp (reversed)"); m != "" {
					return m
				}
			}
			r += 3
		}
		for range k.P {
			for d := range 3 {
				if m := expect(s[r+d], "power"); m != "" {
					return m
				}
			}
			r += 3
		}
		// Objective on the user scale.
		obj := f.ObjB
		for _, e := range f.ObjA {
			obj += e.V * x[e.J]
		}
		want := p.ObjOffset
		for j := range p.N {
			want += p.Scale() * p.C[j] * x[j]
		}
		if hasQ {
			want += p.Scale() * x[p.N]
			// QR rows (τ, 1, Fx): ‖Fx‖² = xᵀPx.
			if !close(g[o], x[p.N]) || !close(g[o+1], 1) {
				return fmt.Sprintf("QR head (%v, %v), want (τ=%v, 1)", g[o], g[o+1], x[p.N])
			}
			ff := 0.0
			for _, v := range g[o+2:] {
				ff += v * v
			}
			if xpx := quad(p.P, x[:p.N]); !close(ff, xpx) {
				return fmt.Sprintf("‖Fx‖² = %v, xᵀPx = %v", ff, xpx)
			}
			o = len(g)
		}
		if o != len(g) {
			return fmt.Sprintf("%d CBF rows checked of %d", o, len(g))
		}
		if !close(obj, want) {
			return fmt.Sprintf("objective %v, want %v", obj, want)
		}
	}
	return ""
}

// quad computes xᵀPx for P stored as its upper triangle.
func quad(p *conic.CSC, x []float64) float64 {
	s := 0.0
	for j := range p.N {
		for q := p.ColPtr[j]; q < p.ColPtr[j+1]; q++ {
			i := p.RowIdx[q]
			v := p.Val[q] * x[i] * x[j]
			if i != j {
				v *= 2
			}
			s += v
		}
	}
	return s
}

func TestWriteErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	p := conictest.Random(rng, conictest.RandomOptions{Exotic: true})
	if err := Write(&bytes.Buffer{}, p); err == nil || !strings.Contains(err.Error(), "complex PSD") {
		t.Errorf("complex PSD: error %v", err)
	}
	// P = [[1, 2], [2, 1]] has eigenvalue −1.
	q := &conic.Problem{M: 1, N: 2, Cones: conic.Cones{L: 1}, B: []float64{1}, C: []float64{1, 1},
		A: conic.CSC{M: 1, N: 2, ColPtr: []int{0, 1, 2}, RowIdx: []int{0, 0}, Val: []float64{1, 1}},
		P: &conic.CSC{M: 2, N: 2, ColPtr: []int{0, 1, 3}, RowIdx: []int{0, 0, 1}, Val: []float64{1, 2, 1}}}
	if err := Write(&bytes.Buffer{}, q); err == nil || !strings.Contains(err.Error(), "not positive semidefinite") {
		t.Errorf("indefinite P: error %v", err)
	}
	q.P = &conic.CSC{M: 2, N: 2, ColPtr: []int{0, 1, 2}, RowIdx: []int{0, 1}, Val: []float64{1, -1}}
	if err := Write(&bytes.Buffer{}, q); err == nil || !strings.Contains(err.Error(), "not positive semidefinite") {
		t.Errorf("negative diagonal P: error %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "no VER"},
		{"VER\n3\nFOO\n", "line 3: unknown keyword"},
		{"VER\n3\nVAR\n2 1\nF 3\n", "line 5: cones cover 3"},
		{"VER\n3\nVAR\n2 1\nF 2\nACOORD\n1\n0 0 1\n", "out of range"},
		{"VER\n3\nVAR\n2 1\nF 2\nOBJACOORD\n1\n0 x\n", `"x" is not a number`},
		{"VER\n3\nOBJSENSE\nUP\n", "MIN or MAX"},
	} {
		_, err := Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}
