package certify

import (
	"math"
	"math/big"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"

	"gonum.org/v1/gonum/mat"
)

// minTerm minimises ℓᵢ(z) + λz over z by golden-section search on a wide bracket (the
// conjugate's definition, computed without the closed forms under test).
func minTerm(l Loss, y, lam float64) float64 {
	f := func(z float64) float64 { return l.term(y, z) + lam*z }
	lo, hi := -60.0, 60.0
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := f(a), f(b)
	for k := 0; k < 200; k++ {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = f(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = f(b)
		}
	}
	return math.Min(math.Min(fa, fb), math.Min(f(lo), f(hi)))
}

// TestConjugates: Dᵢ(λ) = min_z ℓᵢ(z) + λz for every loss, at random labels and dual
// points inside the domain (for hinge the minimum over the bracket is attained at the
// kink yz = 1, inside it).
func TestConjugates(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		for k := 0; k < 200; k++ {
			y := rng.NormFloat64()
			if kind != Squared {
				y = float64(2*rng.Intn(2) - 1)
			}
			var lam float64
			if kind == Squared {
				lam = 3 * rng.NormFloat64()
			} else {
				lam = y * rng.Float64()
			}
			l := Loss{kind, []float64{y}}
			got := l.Dual([]float64{lam})
			want := minTerm(l, y, lam)
			if math.Abs(got-want) > 1e-8*math.Max(1, math.Abs(want)) {
				t.Fatalf("%v: y = %g, λ = %g: D = %.12g, min_z ℓ(z) + λz = %.12g", kind, y, lam, got, want)
			}
		}
		// outside the domain D is −Inf
		if kind != Squared {
			l := Loss{kind, []float64{1}}
			if d := l.Dual([]float64{1.5}); !math.IsInf(d, -1) {
				t.Errorf("%v: D(1.5) = %g for y = 1, want −Inf", kind, d)
			}
			if d := l.Dual([]float64{-0.1}); !math.IsInf(d, -1) {
				t.Errorf("%v: D(−0.1) = %g for y = 1, want −Inf", kind, d)
			}
		}
	}
}

// TestResidualIsGradient: Residual = −∇ℓ by central differences (away from the hinge's
// kink), and Curvature = ℓ″ likewise.
func TestResidualIsGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		n := 30
		y := make([]float64, n)
		z := make([]float64, n)
		for i := range y {
			y[i] = float64(2*rng.Intn(2) - 1)
			z[i] = 2 * rng.NormFloat64()
			if kind == Hinge && math.Abs(1-y[i]*z[i]) < 1e-3 {
				z[i] += 0.1
			}
		}
		l := Loss{kind, y}
		v := l.Residual(z)
		h := make([]float64, n)
		l.Curvature(z, h)
		for i := range z {
			e := 1e-6
			fp, fm := l.term(y[i], z[i]+e), l.term(y[i], z[i]-e)
			if d := -(fp - fm) / (2 * e); math.Abs(d-v[i]) > 1e-6 {
				t.Fatalf("%v: −ℓ'(%g) = %g by differences, Residual %g", kind, z[i], d, v[i])
			}
			e = 1e-4
			f0 := l.term(y[i], z[i])
			fp, fm = l.term(y[i], z[i]+e), l.term(y[i], z[i]-e)
			if d2 := (fp - 2*f0 + fm) / (e * e); math.Abs(d2-h[i]) > 1e-5 {
				t.Fatalf("%v: ℓ''(%g) = %g by differences, Curvature %g", kind, z[i], d2, h[i])
			}
		}
	}
}

// TestBestScale: BestScale against a grid search of D(θλ) over [0, θmax].
func TestBestScale(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		for k := 0; k < 50; k++ {
			n := 20
			y := make([]float64, n)
			lam := make([]float64, n)
			for i := range y {
				y[i] = float64(2*rng.Intn(2) - 1)
				if kind == Squared {
					y[i] = rng.NormFloat64()
					lam[i] = rng.NormFloat64()
				} else {
					lam[i] = y[i] * rng.Float64()
				}
			}
			l := Loss{kind, y}
			tmax := 0.2 + 2*rng.Float64()
			th := l.BestScale(lam, tmax)
			got := l.Dual(scaled(lam, th))
			best := math.Inf(-1)
			for j := 0; j <= 4000; j++ {
				best = math.Max(best, l.Dual(scaled(lam, tmax*float64(j)/4000)))
			}
			if got < best-1e-6*math.Max(1, math.Abs(best)) || th > tmax {
				t.Fatalf("%v: θ = %g (θmax %g) gives %.10g, grid %.10g", kind, th, tmax, got, best)
			}
		}
	}
}

func scaled(v []float64, th float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = th * v[i]
	}
	return out
}

// TestCenter: 1ᵀλ ≈ 0 after Center and λ stays in the domain.
func TestCenter(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		for k := 0; k < 50; k++ {
			n := 25
			y := make([]float64, n)
			lam := make([]float64, n)
			for i := range y {
				y[i] = float64(2*rng.Intn(2) - 1)
				lam[i] = y[i] * rng.Float64()
			}
			l := Loss{kind, y}
			l.Center(lam)
			s, a := 0.0, 0.0
			for i, v := range lam {
				s += v
				a += math.Abs(v)
				lo, hi := l.Interval(i)
				if v < lo || v > hi {
					t.Fatalf("%v: λ_%d = %g outside [%g, %g] after Center", kind, i, v, lo, hi)
				}
			}
			if math.Abs(s) > 1e-14*a {
				t.Fatalf("%v: 1ᵀλ = %g after Center (‖λ‖₁ = %g)", kind, s, a)
			}
		}
	}
}

// TestDualMargin: the rounding margin of DualScaled covers the difference to an exact
// (big.Float, 200 bits) evaluation of D(θλ) for squared and hinge loss, on vectors with
// large cancellation.
func TestDualMargin(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, kind := range []LossKind{Squared, Hinge} {
		for k := 0; k < 30; k++ {
			n := 1000
			y := make([]float64, n)
			lam := make([]float64, n)
			for i := range y {
				if kind == Squared {
					y[i] = rng.NormFloat64() * 1e3
					lam[i] = 2 * y[i] * (1 + 1e-3*rng.NormFloat64()) // λᵀy − ½‖λ‖² nearly cancels
				} else {
					y[i] = float64(2*rng.Intn(2) - 1)
					lam[i] = y[i] * rng.Float64()
				}
			}
			th := 0.9 + 0.1*rng.Float64()
			l := Loss{kind, y}
			val, margin := l.DualScaled(lam, th)
			exact := new(big.Float).SetPrec(200)
			bt := new(big.Float).SetPrec(200).SetFloat64(th)
			for i := range y {
				a := new(big.Float).SetPrec(200).Mul(bt, new(big.Float).SetFloat64(lam[i]))
				if kind == Squared {
					t1 := new(big.Float).SetPrec(200).Mul(a, new(big.Float).SetFloat64(y[i]))
					t2 := new(big.Float).SetPrec(200).Mul(a, a)
					t2.Quo(t2, big.NewFloat(2))
					exact.Add(exact, t1)
					exact.Sub(exact, t2)
				} else {
					exact.Add(exact, a.Quo(a, new(big.Float).SetFloat64(y[i])))
				}
			}
			ex, _ := exact.Float64()
			if d := math.Abs(val - ex); d > margin {
				t.Fatalf("%v: |computed − exact| = %g exceeds the margin %g (value %g)", kind, d, margin, ex)
			}
		}
	}
}

// TestConeMaxUp: the bound is ≥ ConeMax's value and ≥ the best of dense samples of the
// cone ∩ sphere, and within 1e-9 of the value.
func TestConeMaxUp(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for trial := 0; trial < 20; trial++ {
		h, m := 3, 7
		M := mat.NewDense(m, h, nil)
		c := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		for i := 0; i < m; i++ {
			row := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			if row[0]*c[0]+row[1]*c[1]+row[2]*c[2] < 0 {
				for j := range row {
					row[j] = -row[j]
				}
			}
			M.SetRow(i, row)
		}
		g := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		bnd, val, _, _ := ConeMaxUp(g, M, 0)
		if bnd < val || bnd-val > 1e-9*math.Max(1, val) {
			t.Fatalf("trial %d: bound %g, value %g", trial, bnd, val)
		}
		x := make([]float64, h)
		for k := 0; k < 20000; k++ {
			for j := range x {
				x[j] = rng.NormFloat64()
			}
			in := true
			for i := 0; i < m && in; i++ {
				in = mat.Dot(M.RowView(i), mat.NewVecDense(h, x)) >= 0
			}
			if in {
				if s := mat.Dot(mat.NewVecDense(h, g), mat.NewVecDense(h, x)) / norm(x); s > bnd {
					t.Fatalf("trial %d: sampled gᵀu = %g above the bound %g", trial, s, bnd)
				}
			}
		}
	}
}

// TestSafeBoundWeakDuality: for random dual points (any λ in the domain, centred with
// a bias) and random feasible primal points of a small FC ReLU program, SafeBound with
// the certificate's ρ never exceeds the primal objective (weak duality must hold for
// every pair), for every loss with and without an output bias.
func TestSafeBoundWeakDuality(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		for _, bias := range []bool{false, true} {
			for trial := 0; trial < 10; trial++ {
				p := randomFC(rng, 12, 3, 8, kind, bias)
				l, _ := ProgramLoss(p)
				lam := make([]float64, p.N)
				for i := range lam {
					if kind == Squared {
						lam[i] = 0.3 * rng.NormFloat64()
					} else {
						lam[i] = p.Y[i] * rng.Float64()
					}
				}
				if bias {
					l.Center(lam)
				}
				c, err := CertifyDual(p, lam, nil)
				if err != nil {
					t.Fatal(err)
				}
				if math.IsNaN(c.LowerBound) {
					t.Fatalf("%v bias %v: no bound", kind, bias)
				}
				for k := 0; k < 20; k++ {
					sol := randomFeasible(rng, p)
					if f := p.Objective(sol); c.LowerBound > f {
						t.Fatalf("%v bias %v trial %d: bound %.12g above a feasible objective %.12g", kind, bias, trial, c.LowerBound, f)
					}
				}
			}
		}
	}
}

// randomFC builds an FC ReLU program (A = C = X with a ones column, patterns sampled
// from Gaussian gates) with the given loss.
func randomFC(rng *rand.Rand, n, d, P int, kind LossKind, bias bool) *convex.Program {
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d-1; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		X.Set(i, d-1, 1)
		y[i] = rng.NormFloat64()
		if kind != Squared {
			y[i] = math.Copysign(1, X.At(i, 0)+0.3*rng.NormFloat64())
		}
	}
	W := mat.NewDense(n, P, nil)
	S := mat.NewDense(n, P, nil)
	G := mat.NewDense(d, P, nil)
	for q := 0; q < P; q++ {
		g := make([]float64, d)
		for j := range g {
			g[j] = rng.NormFloat64()
			G.Set(j, q, g[j])
		}
		for i := 0; i < n; i++ {
			if mat.Dot(X.RowView(i), mat.NewVecDense(d, g)) >= 0 {
				W.Set(i, q, 1)
				S.Set(i, q, 1)
			} else {
				S.Set(i, q, -1)
			}
		}
	}
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{Name: "v", H: d, A: X, Sample: sample, Weight: convex.MustDenseWeights(W), C: X, Sign: convex.MustDenseSigns(S), Signs: []float64{1, -1}, Gates: G}
	return &convex.Program{Model: "test", Loss: kind.String(), Y: y, N: n, Beta: 0.05 + 0.2*rng.Float64(), OutputBias: bias, Families: []*convex.Family{f}}
}

// randomFeasible returns a feasible point: each block a random nonnegative multiple of
// its pattern's gate (inside the cone), or zero; a random bias.
func randomFeasible(rng *rand.Rand, p *convex.Program) *convex.Solution {
	f := p.Families[0]
	P := f.Patterns()
	sol := &convex.Solution{}
	var blocks []*mat.Dense
	for range f.Signs {
		B := mat.NewDense(P, f.H, nil)
		for q := 0; q < P; q++ {
			if rng.Intn(3) == 0 {
				s := math.Abs(rng.NormFloat64())
				for j := 0; j < f.H; j++ {
					B.Set(q, j, s*f.Gates.At(j, q))
				}
			}
		}
		blocks = append(blocks, B)
	}
	sol.Blocks = [][]*mat.Dense{blocks}
	if p.OutputBias {
		sol.Bias = rng.NormFloat64()
	}
	return sol
}

// TestCertifyDualNorms: the cheap certificate's ρ is at least CertifyDual's (it
// bounds the same maximum without the cones), its bound at most CertifyDual's, and
// below the objective of random feasible points (weak duality), for every loss.
func TestCertifyDualNorms(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	for _, kind := range []LossKind{Squared, Hinge, Logistic} {
		for _, bias := range []bool{false, true} {
			for trial := 0; trial < 5; trial++ {
				p := randomFC(rng, 12, 3, 8, kind, bias)
				l, _ := ProgramLoss(p)
				lam := make([]float64, p.N)
				for i := range lam {
					if kind == Squared {
						lam[i] = 0.3 * rng.NormFloat64()
					} else {
						lam[i] = p.Y[i] * rng.Float64()
					}
				}
				if bias {
					l.Center(lam)
				}
				full, err := CertifyDual(p, lam, nil)
				if err != nil {
					t.Fatal(err)
				}
				cheap, err := CertifyDualNorms(p, lam, nil)
				if err != nil {
					t.Fatal(err)
				}
				if cheap.Ratio < full.Ratio || cheap.LowerBound > full.LowerBound {
					t.Fatalf("%v bias %v: cheap ρ %.12g bound %.12g, full ρ %.12g bound %.12g", kind, bias, cheap.Ratio, cheap.LowerBound, full.Ratio, full.LowerBound)
				}
				for k := 0; k < 10; k++ {
					if f := p.Objective(randomFeasible(rng, p)); cheap.LowerBound > f {
						t.Fatalf("%v bias %v: bound %.12g above a feasible objective %.12g", kind, bias, cheap.LowerBound, f)
					}
				}
			}
		}
	}
}
