package pattern

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gaussData returns an n×d Gaussian matrix, with a ones column appended when bias.
func gaussData(n, d int, bias bool, seed int64) *mat.Dense {
	rng := rand.New(rand.NewSource(seed))
	c := d
	if bias {
		c++
	}
	A := mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			A.Set(i, j, rng.NormFloat64())
		}
		if bias {
			A.Set(i, d, 1)
		}
	}
	return A
}

func TestCoverCount(t *testing.T) {
	// Hand values: 2(1+11+55) = 134 (spec FC n=12, r=3); 2(1+29+406) = 872 (spec CNN nK=30, r=3);
	// r ≥ N: every sign vector, 2^N.
	for _, c := range []struct {
		N, r int
		want float64
	}{{12, 3, 134}, {30, 3, 872}, {5, 1, 2}, {4, 4, 16}, {4, 9, 16}, {10, 2, 20}} {
		if got := CoverCount(c.N, c.r); got != c.want {
			t.Errorf("CoverCount(%d,%d) = %v, want %v", c.N, c.r, got, c.want)
		}
	}
}

// checkGates verifies that every gate generates its pattern, i.e. lies in the
// pattern's cone 𝒦_p = {u : (2D_p − I)Au ≥ 0}, and that no pattern is zero or repeated.
func checkGates(t *testing.T, A *mat.Dense, s *Set) {
	t.Helper()
	seen := map[string]bool{}
	for p := 0; p < s.Len(); p++ {
		d := s.Pattern(p)
		g := s.Gate(p)
		z := mat.NewVecDense(len(d), nil)
		z.MulVec(A, mat.NewVecDense(len(g), g))
		nz := false
		for i := range d {
			if (2*d[i]-1)*z.AtVec(i) < 0 {
				t.Fatalf("pattern %d: gate violates row %d of its cone: (2d−1)·(Ag) = %g", p, i, (2*d[i]-1)*z.AtVec(i))
			}
			if d[i] != 0 && d[i] != 1 {
				t.Fatalf("pattern %d has entry %g", p, d[i])
			}
			nz = nz || d[i] == 1
			if b2f(s.D.At(i, p)) != d[i] {
				t.Fatalf("D column %d differs from Pattern(%d)", p, p)
			}
		}
		if !nz {
			t.Fatalf("pattern %d is all zero", p)
		}
		k := fmt.Sprint(d)
		if seen[k] {
			t.Fatalf("pattern %d repeated", p)
		}
		seen[k] = true
	}
}

func TestExactMatchesCover(t *testing.T) {
	cases := []struct {
		n, d int
		bias bool
	}{{12, 2, true}, {10, 1, true}, {15, 3, true}, {9, 3, false}, {20, 2, false}, {7, 5, false}, {25, 2, true}, {6, 1, false}}
	for k, c := range cases {
		A := gaussData(c.n, c.d, c.bias, int64(100+k))
		s, err := Exact(A, 100000)
		if err != nil {
			t.Fatal(err)
		}
		r := c.d
		if c.bias {
			r++
		}
		if r > c.n {
			r = c.n
		}
		if s.Rank != r {
			t.Fatalf("case %d: rank %d, want %d", k, s.Rank, r)
		}
		got := s.Len()
		if s.SawZero {
			got++
		}
		if want := CoverCount(c.n, r); float64(got) != want {
			t.Errorf("case %+v: %d patterns (incl. zero), Cover's count is %v", c, got, want)
		}
		if !s.Exhaustive {
			t.Errorf("case %+v: general-position data reported as degenerate", c)
		}
		checkGates(t, A, s)
	}
}

// TestExactSpecInstance: the FC n=12, d=3 (2 features + bias) case of spec §1.2 has 134
// patterns including the zero pattern, so 133 after dropping it.
func TestExactSpecInstance(t *testing.T) {
	A := gaussData(12, 2, true, 1)
	s, err := Exact(A, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if !s.SawZero || s.Len() != 133 {
		t.Fatalf("got %d patterns (zero seen %v), want 133 + zero", s.Len(), s.SawZero)
	}
}

// TestExactMatchesBruteForce compares with dense sampling on tiny problems, where
// 200000 Gaussian directions hit every cell (the thinnest cell of these seeded
// instances is far wider than 1/200000 of the sphere).
func TestExactMatchesBruteForce(t *testing.T) {
	for k, c := range []struct{ n, d int }{{6, 2}, {7, 3}, {5, 3}} {
		A := gaussData(c.n, c.d, false, int64(7+k))
		s, err := Exact(A, 1000)
		if err != nil {
			t.Fatal(err)
		}
		brute := map[string]bool{}
		rng := rand.New(rand.NewSource(99))
		u := make([]float64, c.d)
		for i := 0; i < 200000; i++ {
			for j := range u {
				u[j] = rng.NormFloat64()
			}
			d := Of(A, u)
			z := true
			for _, v := range d {
				z = z && v == 0
			}
			if !z {
				brute[fmt.Sprint(d)] = true
			}
		}
		if len(brute) != s.Len() {
			t.Errorf("case %+v: brute force found %d patterns, Exact %d", c, len(brute), s.Len())
		}
		for p := 0; p < s.Len(); p++ {
			if !brute[fmt.Sprint(s.Pattern(p))] {
				t.Errorf("case %+v: Exact pattern %d not found by brute force", c, p)
			}
		}
	}
}

func TestExactDeterministicOrder(t *testing.T) {
	A := gaussData(10, 2, true, 3)
	s1, _ := Exact(A, 1000)
	s2, _ := Exact(A, 1000)
	if !mat.Equal(s1.D.Dense(), s2.D.Dense()) || !mat.Equal(s1.Gates, s2.Gates) {
		t.Fatal("Exact is not deterministic")
	}
	for p := 1; p < s1.Len(); p++ {
		if key01(s1.Pattern(p-1)) <= key01(s1.Pattern(p)) {
			t.Fatal("patterns are not in descending lexicographic order")
		}
	}
}

func TestExactRefusesLarge(t *testing.T) {
	A := gaussData(200, 10, true, 1)
	_, err := Exact(A, 100000)
	if err == nil || !strings.Contains(err.Error(), "max=100000") {
		t.Fatalf("want a refusal naming max, got %v", err)
	}
	// NaN data is an error, not a panic
	A.Set(0, 0, nanValue())
	if _, err := Exact(A, 100000); err == nil {
		t.Fatal("NaN data accepted")
	}
}

func nanValue() float64 { z := 0.0; return z / z }

// TestExactDegenerate: duplicate rows and a rank-deficient matrix still give a valid
// set (every gate generates its pattern), matching brute force.
func TestExactDegenerate(t *testing.T) {
	A := gaussData(6, 2, true, 5)
	B := mat.NewDense(8, 3, nil)
	B.Slice(0, 6, 0, 3).(*mat.Dense).Copy(A)
	B.SetRow(6, A.RawRowView(0)) // duplicate row
	B.SetRow(7, []float64{0, 0, 0})
	s, err := Exact(B, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkGates(t, B, s)
	// duplicates do not create cells: the count equals that of A (the zero row is always 1)
	sa, _ := Exact(A, 1000)
	want := sa.Len()
	if sa.SawZero { // the zero pattern of A becomes "only the zero row active"
		want++
	}
	if s.Len() != want {
		t.Errorf("degenerate copy has %d patterns, original %d", s.Len(), sa.Len())
	}
}

func TestSample(t *testing.T) {
	A := gaussData(30, 3, true, 2)
	s1 := Sample(A, 500, 4)
	s2 := Sample(A, 500, 4)
	if !mat.Equal(s1.D.Dense(), s2.D.Dense()) || !mat.Equal(s1.Gates, s2.Gates) {
		t.Fatal("Sample is not deterministic per seed")
	}
	checkGates(t, A, s1)
	if s1.Len() > 500 {
		t.Fatalf("%d patterns from 500 gates", s1.Len())
	}
	// all sampled patterns belong to the exact arrangement
	ex, err := Exact(A, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < s1.Len(); p++ {
		if !ex.Has(s1.Pattern(p)) {
			t.Fatalf("sampled pattern %d not in the exact arrangement", p)
		}
	}
	if s3 := Sample(A, 500, 5); mat.Equal(s1.D.Dense(), s3.D.Dense()) {
		t.Error("different seeds gave identical samples")
	}
}

// key01 spells a 0/1 column as a string of '1' and '0' from row 0 on.
func key01(d []float64) string {
	b := make([]byte, len(d))
	for i, v := range d {
		b[i] = '0'
		if v != 0 {
			b[i] = '1'
		}
	}
	return string(b)
}
