package vecout

import (
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
)

// specE is the data of the reference check (E) for vector outputs: n = 6 samples of
// one feature plus a ones column, C = 2 Gaussian targets, β = 0.1 (NumPy
// default_rng(7), written out so that the test needs no Python).
func specE() *convex.VectorProgram {
	x := []float64{0.0012301533574825742, 0.2987455375084699, -0.2741378553622176, -0.8905918387572742, -0.45467078517172255, -0.9916465549964624}
	y := [][]float64{{0.060143602597438485, 1.3402152455545335}, {-0.49220651855132963, -0.6204748998199404}, {0.4898420501851982, 0.35688700816006075}, {0.10541424899789856, -0.9304680447082047}, {-0.02925182246327349, 0.6953031944582878}, {-1.344214547285082, -0.45761576104021817}}
	n := len(x)
	A := mat.NewDense(n, 2, nil)
	Y := mat.NewDense(n, 2, nil)
	sample := make([]int, n)
	w := make([]float64, n)
	for i := 0; i < n; i++ {
		A.Set(i, 0, x[i])
		A.Set(i, 1, 1)
		Y.SetRow(i, y[i])
		sample[i] = i
		w[i] = 1
	}
	set, err := pattern.Exact(A, 1000)
	if err != nil {
		panic(err)
	}
	return &convex.VectorProgram{Loss: convex.LossSquared, Y: Y, N: n, C: 2, Beta: 0.1,
		A: A, Sample: sample, RowWeight: w, H: 2, Gates: set.Gates, Exhaustive: set.Exhaustive, Rank: set.Rank}
}

func TestSpecEColumnGeneration(t *testing.T) {
	p := specE()
	o, err := NewExactOracle(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ColumnGeneration(p, o, Settings{Tol: 1e-7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status %s upper %.10g lower %.10g rounds %d iters %d units %d faces %d", r.Status, r.Upper, r.Lower, r.Rounds, r.Iterations, len(r.Solution.Atoms), o.Faces())
}

func TestSpecERelaxationA(t *testing.T) {
	p := specE()
	o := NewPatternOracle(p)
	r, err := Relaxation(p, o, Settings{Tol: 1e-8, MaxIters: 200000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status %s upper %.10g lower %.10g iters %d atoms %d P %d", r.Status, r.Upper, r.Lower, r.Iterations, len(r.Solution.Atoms), o.P)
}

func TestSpecEScalable(t *testing.T) {
	p := specE()
	r, sc, err := Scalable(p, Settings{Tol: 1e-8, MaxIters: 50000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status %s upper %.10g lower %.10g  scale %+v atoms %d", r.Status, r.Upper, r.Lower, sc, len(r.Solution.Atoms))
}
