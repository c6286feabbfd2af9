package group

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// TestQRUpper: for random Z (tall, square, short and rank-deficient) the factor R of
// qrUpper is upper triangular and RᵀR = ZᵀZ, checked against the product formed
// directly.
func TestQRUpper(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, dims := range [][2]int{{24, 11}, {11, 11}, {5, 11}, {30, 4}} {
		m, h := dims[0], dims[1]
		Z := make([]float64, m*h)
		for i := range Z {
			Z[i] = rng.NormFloat64() * math.Pow(10, float64(rng.Intn(8)-4))
		}
		if m > 3 { // a repeated row and a zero column: rank deficiency
			copy(Z[h:2*h], Z[:h])
			for i := 0; i < m; i++ {
				Z[i*h+h-1] = 0
			}
		}
		want := make([]float64, h*h)
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				for r := 0; r < m; r++ {
					want[i*h+j] += Z[r*h+i] * Z[r*h+j]
				}
			}
		}
		R := make([]float64, h*h)
		qrUpper(append([]float64(nil), Z...), m, h, R)
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				if j < i && R[i*h+j] != 0 {
					t.Fatalf("%v: R[%d,%d] = %g below the diagonal", dims, i, j, R[i*h+j])
				}
				got := 0.0
				for r := 0; r < h; r++ {
					got += R[r*h+i] * R[r*h+j]
				}
				scale := math.Sqrt(want[i*h+i]*want[j*h+j]) + 1e-300
				if math.Abs(got-want[i*h+j]) > 1e-12*scale {
					t.Fatalf("%v: (RᵀR)[%d,%d] = %g, (ZᵀZ) = %g", dims, i, j, got, want[i*h+j])
				}
			}
		}
	}
}

// TestLowerInverse: L·L⁻¹ = I for a random lower triangular L with positive
// diagonal (entries spanning four orders of magnitude).
func TestLowerInverse(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	n := 12
	L := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			L[i*n+j] = rng.NormFloat64()
		}
		L[i*n+i] = math.Pow(10, float64(rng.Intn(4))) * (0.5 + rng.Float64())
		for j := i + 1; j < n; j++ {
			L[i*n+j] = 99 // ignored
		}
	}
	M := make([]float64, n*n)
	lowerInverse(L, n, M)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for k := 0; k <= i; k++ {
				s += L[i*n+k] * M[k*n+j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(s-want) > 1e-12 {
				t.Fatalf("(L L⁻¹)[%d,%d] = %g", i, j, s)
			}
		}
	}
}

// TestScaledGramAndRay: on random well-conditioned data, scaledGram's W Ĝ W (built
// from a = M w̄₁ without forming W·Ĝ·W) equals the product of the explicit matrices
// W (from ntScale.apply on unit vectors) and Ĝ = 0 ⊕ Mᵀdiag(d)M; and the ray vector
// of rayReg is an eigenvector of W with eigenvalue η(w̄₀ + ‖w̄₁‖).
func TestScaledGramAndRay(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for trial := 0; trial < 10; trial++ {
		h, m := 5, 9
		h1 := h + 1
		s, u := make([]float64, h1), make([]float64, h1)
		for j := 1; j < h1; j++ {
			s[j], u[j] = rng.NormFloat64(), rng.NormFloat64()
		}
		s[0] = norm(s[1:]) + 0.1 + rng.Float64()
		u[0] = norm(u[1:]) + 0.1 + rng.Float64()
		var nt ntScale
		if !nt.set(s, u) {
			t.Fatal("set failed")
		}
		M := make([]float64, m*h)
		d := make([]float64, m)
		for i := range M {
			M[i] = rng.NormFloat64()
		}
		for i := range d {
			d[i] = math.Exp(rng.NormFloat64())
		}
		// inputs of scaledGram: G (in the (h+1)² layout), g = Mᵀ(d∘a), Σ d a²
		Gk := make([]float64, h1*h1)
		a := make([]float64, m)
		g := make([]float64, h1+1)
		sda := 0.0
		for r := 0; r < m; r++ {
			mr := M[r*h : r*h+h]
			a[r] = dot(mr, nt.w[1:])
			sda += d[r] * a[r] * a[r]
			for i := 0; i < h; i++ {
				g[2+i] += d[r] * a[r] * mr[i] // z layout of block 0: x part at xo+k+1 = 1; one pad
				for j := 0; j < h; j++ {
					Gk[(i+1)*h1+j+1] += d[r] * mr[i] * mr[j]
				}
			}
		}
		q := &sub{h: []int{h}, xo: []int{1}} // xo = 1 so that the x part sits at 2 (tests the offset)
		l := &linsys{q: q, gk: [][]float64{Gk}, sda: []float64{sda}, ga: g, e: make([]float64, h1)}
		F := make([]float64, h1*h1)
		l.scaledGram(0, nt, F)
		// explicit W and W Ĝ W
		W := make([]float64, h1*h1)
		e, col := make([]float64, h1), make([]float64, h1)
		for j := 0; j < h1; j++ {
			for i := range e {
				e[i] = 0
			}
			e[j] = 1
			nt.apply(e, col, false)
			for i := 0; i < h1; i++ {
				W[i*h1+j] = col[i]
			}
		}
		want := make([]float64, h1*h1)
		for i := 0; i < h1; i++ {
			for j := 0; j < h1; j++ {
				for p := 0; p < h1; p++ {
					for r := 0; r < h1; r++ {
						want[i*h1+j] += W[i*h1+p] * Gk[p*h1+r] * W[r*h1+j]
					}
				}
			}
		}
		for i := range want {
			if math.Abs(F[i]-want[i]) > 1e-10*(1+math.Abs(want[i])) {
				t.Fatalf("trial %d: (WĜW)[%d] = %g, explicit %g", trial, i, F[i], want[i])
			}
		}
		_, v := l.rayReg(nt, h1, 1)
		nt.apply(v, col, false)
		lam := nt.eta * (nt.w[0] + norm(nt.w[1:]))
		for i := range v {
			if math.Abs(col[i]-lam*v[i]) > 1e-10*lam {
				t.Fatalf("trial %d: W r ≠ η(w̄₀+‖w̄₁‖) r: %v vs %g·%v", trial, col, lam, v)
			}
		}
	}
}

// TestTightGap: the restricted IPM's Newton directions stay accurate in the end
// game, so the FC benchmark program (n = 200, 100 patterns, β = 1e-3) is certified
// to an absolute gap of 1e-9 (relative ≈ 1e-8; the old explicit-W⁻² factorization
// stalled near 1e-6). The certificate is the working-set loop's dual bound, not the
// IPM's own gap.
func TestTightGap(t *testing.T) {
	if testing.Short() {
		t.Skip("1 s solve")
	}
	p := fcProgram(2, 200, 10, 100, 1e-3, false, false, true)
	res, err := Solve(p, nil, Settings{Tol: 1e-9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != solver.Optimal || res.Objective-res.Dual > 1e-9 {
		t.Fatalf("status %s, objective %.12g, dual %.12g (gap %.3g)", res.Status, res.Objective, res.Dual, res.Objective-res.Dual)
	}
}
