package pattern

import (
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestFacesCount: for N hyperplanes in general position in Rʳ the faces of dimension
// r − s lie in the C(N, s) intersections of s hyperplanes, each an arrangement of the
// other N − s hyperplanes in R^{r−s} with Cover's count of cells, so the number of
// faces of dimension ≥ 1 is Σ_{s<r} C(N, s)·CoverCount(N − s, r − s). Every emitted
// face's point has the face's signs, and its basis spans the points with A_k u = 0
// on the face.
func TestFacesCount(t *testing.T) {
	for _, tc := range []struct{ N, h, r int }{{7, 3, 3}, {8, 3, 3}, {6, 4, 4}, {5, 2, 2}, {6, 5, 3}} {
		rng := rand.New(rand.NewSource(int64(tc.N*10 + tc.r)))
		// rank-r data in R^h
		L := mat.NewDense(tc.N, tc.r, nil)
		R := mat.NewDense(tc.r, tc.h, nil)
		for i := 0; i < tc.N; i++ {
			for j := 0; j < tc.r; j++ {
				L.Set(i, j, rng.NormFloat64())
			}
		}
		for i := 0; i < tc.r; i++ {
			for j := 0; j < tc.h; j++ {
				R.Set(i, j, rng.NormFloat64())
			}
		}
		var A mat.Dense
		A.Mul(L, R)
		count := 0
		exh, err := Faces(&A, 1e7, func(f Face) {
			count++
			z := mat.NewVecDense(tc.N, nil)
			z.MulVec(&A, mat.NewVecDense(tc.h, f.Point))
			for k := 0; k < tc.N; k++ {
				v := z.AtVec(k)
				switch {
				case f.On[k] == 1 && abs(v) > 1e-8:
					t.Errorf("N=%d r=%d: row %d on the face but A_k u = %g", tc.N, tc.r, k, v)
				case f.On[k] == 0 && f.D[k] == 1 && v <= 0, f.On[k] == 0 && f.D[k] == 0 && v >= 0:
					t.Errorf("N=%d r=%d: row %d has D=%v but A_k u = %g", tc.N, tc.r, k, f.D[k], v)
				}
			}
			_, dim := f.Basis.Dims()
			on := 0
			for _, o := range f.On {
				on += int(o)
			}
			if dim != tc.r-on {
				t.Errorf("N=%d r=%d: face with %d rows on has span dimension %d", tc.N, tc.r, on, dim)
			}
		})
		if err != nil || !exh {
			t.Fatalf("N=%d r=%d: err %v exhaustive %v", tc.N, tc.r, err, exh)
		}
		want := 0.0
		for s := 0; s < tc.r; s++ {
			want += binom(tc.N, s) * CoverCount(tc.N-s, tc.r-s)
		}
		if float64(count) != want {
			t.Errorf("N=%d h=%d r=%d: %d faces, want %g", tc.N, tc.h, tc.r, count, want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
