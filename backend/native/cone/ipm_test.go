package cone

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// randInterior returns a point of the interior of SOC(q) (q = 1: a positive number).
func randInterior(rng *rand.Rand, q int) []float64 {
	v := make([]float64, q)
	n1 := 0.0
	for j := 1; j < q; j++ {
		v[j] = rng.NormFloat64()
		n1 = math.Hypot(n1, v[j])
	}
	v[0] = n1 + 0.1 + rng.Float64()
	return v
}

// TestNTScalingProperties: the NT scaling of ipm_nt.go has its defining properties
// (W z = W⁻¹ s = λ, W² z = s), Jordan division inverts the Jordan product, and the
// maximal step lands on the cone boundary.
func TestNTScalingProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, q := range []int{1, 2, 3, 7} {
		cones := []ipmCone{{start: 0, size: q, soc: true}, {start: q, size: 2}}
		m := q + 2
		s := append(randInterior(rng, q), 0.5, 2)
		z := append(randInterior(rng, q), 3, 0.25)
		nt := newNTScaling(cones, m)
		lam := make([]float64, m)
		if !nt.update(s, z, lam) {
			t.Fatal("update failed on interior points")
		}
		// W z = λ and W⁻¹ s = λ (the NT property), W² z = s.
		wz, wis, hz := make([]float64, m), make([]float64, m), make([]float64, m)
		nt.applyW(z, wz, false)
		nt.applyW(s, wis, true)
		nt.applyH(z, hz)
		for i := 0; i < m; i++ {
			if math.Abs(wz[i]-lam[i]) > 1e-12*(1+math.Abs(lam[i])) || math.Abs(wis[i]-lam[i]) > 1e-12*(1+math.Abs(lam[i])) {
				t.Errorf("q=%d: Wz = %v, W⁻¹s = %v, λ = %v", q, wz, wis, lam)
				break
			}
			if math.Abs(hz[i]-s[i]) > 1e-12*(1+math.Abs(s[i])) {
				t.Errorf("q=%d: W²z = %v, s = %v", q, hz, s)
				break
			}
		}
		// λ∘(λ\r) = r.
		r := []float64{1, -2, 0.5, 3, 4, -1, 2, 0.3, 1}[:m]
		u, back := make([]float64, m), make([]float64, m)
		nt.jordanDiv(lam, r, u)
		nt.jordanProd(lam, u, back)
		for i := range r {
			if math.Abs(back[i]-r[i]) > 1e-12*(1+math.Abs(r[i])) {
				t.Errorf("q=%d: λ∘(λ\\r) = %v, r = %v", q, back, r)
				break
			}
		}
		// maxStep: s + αd on the boundary for the returned α (d pointing out).
		d := make([]float64, m)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		d[0] = -math.Abs(d[0]) - 1
		a := maxStep(cones, s, d)
		pt := make([]float64, m)
		for i := range pt {
			pt[i] = s[i] + a*d[i]
		}
		minEig := math.Inf(1)
		n1 := 0.0
		for _, x := range pt[1:q] {
			n1 = math.Hypot(n1, x)
		}
		minEig = math.Min(minEig, pt[0]-n1)
		minEig = math.Min(minEig, math.Min(pt[q], pt[q+1]))
		if math.Abs(minEig) > 1e-9 {
			t.Errorf("q=%d: after the max step the smallest eigenvalue is %g, want 0", q, minEig)
		}
	}
}

// TestIPMKKTMatchesDense: the block-eliminated KKT solve (ipm_kkt.go) against a dense
// LU solve of the full matrix [[P, Aᵀ], [A, −H]] on a random program that has every
// kind of row: zero rows, sparse and dense orthant rows, small and dense SOCs, a free
// column (only in zero rows) and P on some columns.
func TestIPMKKTMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	n := 40
	var rows [][]float64
	add := func(cols []int) {
		r := make([]float64, n)
		for _, j := range cols {
			r[j] = rng.NormFloat64()
		}
		rows = append(rows, r)
	}
	all := make([]int, 0, n)
	for j := 0; j < n; j++ {
		all = append(all, j)
	}
	// 3 zero rows, dense; column 39 appears only there.
	for i := 0; i < 3; i++ {
		add(all)
	}
	// orthant: 30 sparse rows within groups of 5 columns, 2 dense rows (not column 39)
	for i := 0; i < 30; i++ {
		g := (i % 7) * 5
		add([]int{g, g + 1 + i%4})
	}
	add(all[:39])
	add(all[:39])
	// SOC(3) on columns 35..37, and a dense SOC(4) touching columns 0..38
	add(nil)
	rows[len(rows)-1][35] = 1
	add([]int{36})
	add([]int{37})
	for i := 0; i < 4; i++ {
		add(all[:39])
	}
	m := len(rows)
	z, l := 3, 32
	cones := []ipmCone{{start: z, size: l}, {start: z + l, size: 3, soc: true}, {start: z + l + 3, size: 4, soc: true}}
	A := dense2CSC(rows, m, n, false)
	Pd := make([][]float64, n)
	for i := range Pd {
		Pd[i] = make([]float64, n)
	}
	Pd[0][0], Pd[1][1], Pd[0][1], Pd[1][0] = 2, 1, 0.5, 0.5
	Pd[20][20] = 3
	P := dense2CSC(Pd, n, n, true)
	nt := newNTScaling(cones, m)
	s := make([]float64, m)
	y := make([]float64, m)
	for i := z; i < z+l; i++ {
		s[i], y[i] = 0.1+rng.Float64(), 0.1+rng.Float64()
	}
	copy(s[z+l:], randInterior(rng, 3))
	copy(y[z+l:], randInterior(rng, 3))
	copy(s[z+l+3:], randInterior(rng, 4))
	copy(y[z+l+3:], randInterior(rng, 4))
	if !nt.update(s, y, make([]float64, m)) {
		t.Fatal("scaling")
	}
	k := newIPMKKT(&A, &P, z, nt)
	// column 38 is only in kept (dense) rows, column 39 only in zero rows
	if len(k.free) != 2 || k.free[0] != 38 || k.free[1] != 39 {
		t.Fatalf("free columns %v, want [38 39]", k.free)
	}
	if len(k.fSOC) != 1 {
		t.Fatalf("%d dense SOCs kept, want 1", len(k.fSOC))
	}
	k.allocate()
	if err := k.factor(); err != nil {
		t.Fatal(err)
	}
	// dense reference
	N := n + m
	K := mat.NewDense(N, N, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			K.Set(i, j, Pd[i][j])
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			K.Set(n+i, j, rows[i][j])
			K.Set(j, n+i, rows[i][j])
		}
	}
	e := make([]float64, m)
	h := make([]float64, m)
	for i := 0; i < m; i++ {
		for q := range e {
			e[q] = 0
		}
		e[i] = 1
		for q := range h {
			h[q] = 0
		}
		nt.applyH(e, h)
		for q := z; q < m; q++ {
			K.Set(n+q, n+i, K.At(n+q, n+i)-h[q])
		}
	}
	rhs := make([]float64, N)
	for i := range rhs {
		rhs[i] = rng.NormFloat64()
	}
	var want mat.VecDense
	if err := want.SolveVec(K, mat.NewVecDense(N, rhs)); err != nil {
		t.Fatal(err)
	}
	dx, dy := make([]float64, n), make([]float64, m)
	res := k.solve(rhs[:n], rhs[n:], dx, dy)
	got := append(append([]float64(nil), dx...), dy...)
	for i := range got {
		if d := math.Abs(got[i] - want.AtVec(i)); d > 1e-8*(1+math.Abs(want.AtVec(i))) {
			t.Errorf("entry %d: block %g, dense %g", i, got[i], want.AtVec(i))
		}
	}
	if res > 1e-12 {
		t.Errorf("relative residual after refinement %g", res)
	}
}

// TestIPMDeterministicAndMethodChoice: the IPM is deterministic, "auto" picks it for
// an SOCP and the first-order method for an exponential-cone program, and an unknown
// method is an error.
func TestIPMDeterministicAndMethodChoice(t *testing.T) {
	var socp, exp *confCase
	cs := confCases()
	for i := range cs {
		switch cs[i].name {
		case "qp_socp_disc":
			socp = &cs[i]
		case "exp_negentropy":
			exp = &cs[i]
		}
	}
	r1, err := Solve(socp.problem(), Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Solve(socp.problem(), Settings{}, nil)
	if r1.Method != "ipm" || r1.Status != solver.Optimal {
		t.Fatalf("auto on an SOCP: method %s status %s", r1.Method, r1.Status)
	}
	for j := range r1.X {
		if r1.X[j] != r2.X[j] {
			t.Fatalf("two runs differ: %v vs %v", r1.X, r2.X)
		}
	}
	r3, err := Solve(exp.problem(), Settings{}, nil)
	if err != nil || r3.Method != "admm" {
		t.Fatalf("auto on an exponential-cone program: %v, method %v", err, r3)
	}
	if _, err := Solve(exp.problem(), Settings{Method: "ipm"}, nil); err == nil {
		t.Error("ipm on an exponential cone: no error")
	}
	if _, err := Solve(socp.problem(), Settings{Method: "newton"}, nil); err == nil {
		t.Error("unknown method: no error")
	}
}
