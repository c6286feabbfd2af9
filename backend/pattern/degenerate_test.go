package pattern

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// cellLP reports whether the sign vector s (±1 per row of A) is a cell of the central
// arrangement of A's rows: some u with s_i·a_i·u ≥ 1 for every i (strict feasibility,
// scale-invariant). Written as a standard-form LP for gonum's simplex: u = u⁺ − u⁻,
// s_i a_i (u⁺ − u⁻) − t_i = 1, u⁺, u⁻, t ≥ 0.
func cellLP(A *mat.Dense, s []float64) bool {
	N, d := A.Dims()
	M := mat.NewDense(N, 2*d+N, nil)
	b := make([]float64, N)
	for i := 0; i < N; i++ {
		for j := 0; j < d; j++ {
			M.Set(i, j, s[i]*A.At(i, j))
			M.Set(i, d+j, -s[i]*A.At(i, j))
		}
		M.Set(i, 2*d+i, -1)
		b[i] = 1
	}
	c := make([]float64, 2*d+N)
	_, _, err := lp.Simplex(c, M, b, 1e-10, nil)
	return !errors.Is(err, lp.ErrInfeasible) && err == nil
}

// TestExactDegenerateBruteForce: on arrangements far from general position — rows with
// entries in {−1, 0, 1} (many rows through one ray), and the stacked rows [x_k ; x_k −
// x_k′] of max pooling — Exact finds exactly the cells an independent LP test finds
// over all 2^N sign vectors (but the all-off one, whose block is zero), and says its set is exhaustive.
func TestExactDegenerateBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var cases []*mat.Dense
	for k := 0; k < 4; k++ {
		N, d := 8, 3+k%2
		A := mat.NewDense(N, d, nil)
		for i := 0; i < N; i++ {
			for {
				nz := false
				for j := 0; j < d; j++ {
					v := float64(rng.Intn(3) - 1)
					A.Set(i, j, v)
					nz = nz || v != 0
				}
				if nz {
					break
				}
			}
		}
		cases = append(cases, A)
	}
	// max pooling over 3 positions: rows x_1, x_2, x_3 and their pairwise differences
	for k := 0; k < 2; k++ {
		x := make([][]float64, 3)
		for i := range x {
			x[i] = []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		}
		A := mat.NewDense(6, 3, nil)
		for i := 0; i < 3; i++ {
			A.SetRow(i, x[i])
		}
		r := 3
		for i := 0; i < 3; i++ {
			for j := i + 1; j < 3; j++ {
				A.SetRow(r, []float64{x[i][0] - x[j][0], x[i][1] - x[j][1], x[i][2] - x[j][2]})
				r++
			}
		}
		cases = append(cases, A)
	}
	for c, A := range cases {
		N, _ := A.Dims()
		set, err := Exact(A, 100000)
		if err != nil {
			t.Fatal(err)
		}
		// distinct hyperplanes decide the cells; rows that repeat a hyperplane follow it
		want := map[string]bool{}
		s := make([]float64, N)
		for mask := 0; mask < 1<<N; mask++ {
			for i := range s {
				s[i] = -1
				if mask&(1<<i) != 0 {
					s[i] = 1
				}
			}
			if mask != 0 && cellLP(A, s) { // the all-off pattern has a zero block: Exact drops it
				d := make([]float64, N)
				for i := range d {
					d[i] = b2f(s[i] > 0)
				}
				want[fmt.Sprint(d)] = true
			}
		}
		got := map[string]bool{}
		for p := 0; p < set.Len(); p++ {
			got[fmt.Sprint(set.Pattern(p))] = true
		}
		for k := range want {
			if !got[k] {
				t.Errorf("case %d: the LP finds cell %s, Exact does not", c, k)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("case %d: Exact pattern %s is not a cell", c, k)
			}
		}
		if !set.Exhaustive {
			t.Errorf("case %d: %d cells found but the set is not marked exhaustive", c, len(got))
		}
		t.Logf("case %d: %d cells", c, len(want))
	}
}
