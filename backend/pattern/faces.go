package pattern

import (
	"fmt"
	"math"
	"math/rand"

	"gonum.org/v1/gonum/mat"
)

// Face is a relatively open face of the central arrangement {A_k u = 0}: the points u
// of the row space of A with A_k u = 0 for the rows k on the face and a fixed nonzero
// sign elsewhere. Cells (full-dimensional faces) are the activation patterns of
// Exact; lower faces are where the vector-output certificate's maximiser can sit
// (docs/math/10-vector-output.md: the cone-constrained PCA is maximised at the top
// eigenvector of a face's quadratic form restricted to the face's span).
type Face struct {
	// D has N entries: 1 where A_k u > 0 on the face, 0 where A_k u < 0 or A_k u = 0.
	D []float64
	// On has N entries: 1 where A_k u = 0 on the face (zero rows of A included).
	On []float64
	// Basis (h × dim) is an orthonormal basis of the face's linear span, a subspace of
	// the row space of A: {u = B x : A_k u = 0 for every k on the face}.
	Basis *mat.Dense
	// Point is a point of the face (h entries).
	Point []float64
}

// FaceVisits is the number of face visits Faces makes for N distinct hyperplanes in
// rank r: C(N, r−1)·2·3^{r−1} (every face is reached from each vertex ray of its
// closure).
func FaceVisits(N, r int) float64 {
	if r <= 1 {
		return 2
	}
	return binom(N, r-1) * 2 * math.Pow(3, float64(r-1))
}

// Faces enumerates every face of dimension ≥ 1 of the central arrangement of the rows
// of A (cells, walls, …, rays; the origin excluded), calling emit once per face in a
// deterministic order. It works in the row space of A (rank r): for every set S of r−1
// distinct hyperplanes cutting out a ray w (null(A_S) = span w), the faces whose
// closure contains ±w are u = ±w + ε Σ_j t_j v_j with t ∈ {−1, 0, +1}^{r−1} (A_S v_j =
// e_j, ε small enough that no other hyperplane is crossed), so every face with a
// non-degenerate vertex is reached; duplicates are dropped. Faces whose D is all zero
// are emitted too (callers skip them if they add nothing).
//
// exhaustive is false when a ray lay on more than r−1 hyperplanes (data not in
// general position) or when one of 2000 seeded random points fell in a cell that was
// not reached: then some faces may be missing. Faces refuses (err) when the visits
// FaceVisits(N, r) exceed maxVisits.
func Faces(A *mat.Dense, maxVisits float64, emit func(Face)) (exhaustive bool, err error) {
	N, h := A.Dims()
	if N == 0 || h == 0 {
		return false, fmt.Errorf("faces: the matrix is empty (%d×%d)", N, h)
	}
	B, r, err := rowSpace(A, "faces")
	if err != nil {
		return false, err
	}
	if r == 0 {
		return true, nil // A = 0: every unit feeds nothing
	}
	var Ar mat.Dense
	Ar.Mul(A, B)
	uniq, rep, sgn := hyperplanes(&Ar)
	Nu := len(uniq)
	if v := FaceVisits(Nu, r); v > maxVisits {
		return false, fmt.Errorf("faces: enumerating the faces of %d hyperplanes in rank %d needs %.3g visits, more than the limit %.3g", Nu, r, v, maxVisits)
	}
	Au := mat.NewDense(max1(Nu), r, nil)
	rowNorm := make([]float64, Nu)
	maxNorm := 0.0
	for a, i := range uniq {
		Au.SetRow(a, Ar.RawRowView(i))
		rowNorm[a] = mat.Norm(Au.RowView(a), 2)
		maxNorm = math.Max(maxNorm, rowNorm[a])
	}
	seen := map[string]bool{}
	cells := map[string]bool{}
	// expand maps per-hyperplane signs (1, 0, or on) to the rows of A.
	expand := func(du, on []float64) (D, O []float64) {
		D = make([]float64, N)
		O = make([]float64, N)
		for i := 0; i < N; i++ {
			a := rep[i]
			switch {
			case a < 0:
				O[i] = 1
			case on[a] != 0:
				O[i] = 1
			case sgn[i] > 0:
				D[i] = du[a]
			default:
				D[i] = 1 - du[a]
			}
		}
		return D, O
	}
	faceKey := func(du, on []float64) string {
		b := make([]byte, len(du))
		for a := range du {
			switch {
			case on[a] != 0:
				b[a] = '2'
			case du[a] != 0:
				b[a] = '1'
			default:
				b[a] = '0'
			}
		}
		return string(b)
	}
	span := func(onIdx []int) *mat.Dense {
		if len(onIdx) == 0 {
			return mat.DenseCopyOf(B)
		}
		S := mat.NewDense(len(onIdx), r, nil)
		for j, a := range onIdx {
			S.SetRow(j, Au.RawRowView(a))
		}
		var s2 mat.SVD
		s2.Factorize(S, mat.SVDFull)
		var Vs mat.Dense
		s2.VTo(&Vs)
		Nul := Vs.Slice(0, r, len(onIdx), r) // r × (r − |S|)
		var out mat.Dense
		out.Mul(B, Nul)
		return &out
	}
	toH := func(u []float64) []float64 {
		g := mat.NewVecDense(h, nil)
		g.MulVec(B, mat.NewVecDense(r, u))
		return g.RawVector().Data
	}
	visit := func(du, on, u []float64, onIdx []int) {
		k := faceKey(du, on)
		if seen[k] {
			return
		}
		seen[k] = true
		if len(onIdx) == 0 {
			cells[k] = true
		}
		D, O := expand(du, on)
		emit(Face{D: D, On: O, Basis: span(onIdx), Point: toH(u)})
	}
	exhaustive = true
	if r == 1 {
		for _, s0 := range []float64{1, -1} {
			u := []float64{s0}
			du := make([]float64, Nu)
			for a := 0; a < Nu; a++ {
				du[a] = b2f(s0*Au.At(a, 0) > 0)
			}
			visit(du, make([]float64, Nu), u, nil)
		}
	} else {
		k := r - 1
		idx := make([]int, k)
		for i := range idx {
			idx[i] = i
		}
		inS := make([]bool, Nu)
		As := mat.NewDense(k, r, nil)
		z := make([]float64, Nu)
		du := make([]float64, Nu)
		on := make([]float64, Nu)
		u := make([]float64, r)
		tol := 1e-9 * maxNorm
		t := make([]int, k)
		for {
			for a, i := range idx {
				As.SetRow(a, Au.RawRowView(i))
				inS[i] = true
			}
			w, Vd, margin, ok := rayOf(As, Au, inS, z)
			if math.IsInf(margin, 1) {
				margin = maxNorm // no other hyperplane: any ε works
			}
			if !ok || margin <= tol {
				exhaustive = false
			} else {
				vs := 0.0
				for j := 0; j < k; j++ {
					vs += mat.Norm(Vd.ColView(j), 2)
				}
				eps := 0.5 * margin / (maxNorm * vs)
				total := 1
				for j := 0; j < k; j++ {
					total *= 3
				}
				for _, s0 := range []float64{1, -1} {
					for code := 0; code < total; code++ {
						c := code
						for j := range t {
							t[j] = c%3 - 1
							c /= 3
						}
						for a := 0; a < Nu; a++ {
							on[a] = 0
							if !inS[a] {
								du[a] = b2f(s0*z[a] > 0)
							}
						}
						for c := 0; c < r; c++ {
							u[c] = s0 * w[c]
						}
						var onIdx []int
						for j, a := range idx {
							switch t[j] {
							case 1:
								du[a] = 1
							case -1:
								du[a] = 0
							default:
								du[a] = 0
								on[a] = 1
								onIdx = append(onIdx, a)
							}
							for c := 0; c < r; c++ {
								u[c] += eps * float64(t[j]) * Vd.At(c, j)
							}
						}
						visit(du, on, u, onIdx)
					}
				}
			}
			for _, i := range idx {
				inS[i] = false
			}
			j := k - 1
			for j >= 0 && idx[j] == Nu-k+j {
				j--
			}
			if j < 0 {
				break
			}
			idx[j]++
			for l := j + 1; l < k; l++ {
				idx[l] = idx[l-1] + 1
			}
		}
	}
	// safety net: seeded random points must land in cells already reached
	rng := rand.New(rand.NewSource(0))
	u := make([]float64, r)
	zero := make([]float64, Nu)
	for s := 0; s < 2000; s++ {
		for j := range u {
			u[j] = rng.NormFloat64()
		}
		du := Of(Au, u)
		if !cells[faceKey(du, zero)] {
			exhaustive = false
			break
		}
	}
	return exhaustive, nil
}

// rayOf returns the ray w spanning null(As) (As: (r−1) × r), the dual basis V
// (r × (r−1), As·V = I, V ⊥ w), z = Au·w, and the smallest |z_a| over the hyperplanes
// not in S (the margin); ok is false when As is rank deficient.
func rayOf(As, Au *mat.Dense, inS []bool, z []float64) (w []float64, V *mat.Dense, margin float64, ok bool) {
	k, r := As.Dims()
	var svd mat.SVD
	if !svd.Factorize(As, mat.SVDFull) {
		return nil, nil, 0, false
	}
	sv := svd.Values(nil)
	if sv[k-1] <= 1e-10*sv[0] {
		return nil, nil, 0, false
	}
	var Vt mat.Dense
	svd.VTo(&Vt)
	w = mat.Col(nil, r-1, &Vt)
	var G, Ginv mat.Dense
	G.Mul(As, As.T())
	if err := Ginv.Inverse(&G); err != nil {
		return nil, nil, 0, false
	}
	V = &mat.Dense{}
	V.Mul(As.T(), &Ginv)
	margin = math.Inf(1)
	Nu, _ := Au.Dims()
	wv := mat.NewVecDense(r, w)
	for a := 0; a < Nu; a++ {
		z[a] = mat.Dot(Au.RowView(a), wv)
		if !inS[a] {
			margin = math.Min(margin, math.Abs(z[a]))
		}
	}
	return w, V, margin, true
}
