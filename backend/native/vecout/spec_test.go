package vecout

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
)

// specE is the data of the reference check (E) for vector outputs: n = 6 samples of
// one feature plus a ones column, C = 2 Gaussian targets, β = 0.1, no output bias
// (NumPy default_rng(7), written out so that the test needs no Python).
func specE() *convex.VectorProgram {
	x := []float64{0.0012301533574825742, 0.2987455375084699, -0.2741378553622176, -0.8905918387572742, -0.45467078517172255, -0.9916465549964624}
	y := [][]float64{{0.060143602597438485, 1.3402152455545335}, {-0.49220651855132963, -0.6204748998199404}, {0.4898420501851982, 0.35688700816006075}, {0.10541424899789856, -0.9304680447082047}, {-0.02925182246327349, 0.6953031944582878}, {-1.344214547285082, -0.45761576104021817}}
	n := len(x)
	A := mat.NewDense(n, 2, nil)
	Y := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		A.Set(i, 0, x[i])
		A.Set(i, 1, 1)
		Y.SetRow(i, y[i])
	}
	return fcProgram(A, Y, 0.1, convex.LossSquared, false)
}

// fcProgram is the FC vector program of A (bias column included by the caller) with
// the exact patterns.
func fcProgram(A, Y *mat.Dense, beta float64, loss string, bias bool) *convex.VectorProgram {
	n, h := A.Dims()
	_, c := Y.Dims()
	sample := make([]int, n)
	w := make([]float64, n)
	for i := range sample {
		sample[i] = i
		w[i] = 1
	}
	set, err := pattern.Exact(A, 100000)
	if err != nil {
		panic(err)
	}
	return &convex.VectorProgram{Loss: loss, Y: Y, N: n, C: c, Beta: beta, OutputBias: bias,
		A: A, Sample: sample, RowWeight: w, H: h, Gates: set.Gates, Exhaustive: set.Exhaustive, Rank: set.Rank}
}

// The reference values of check (E), computed by CVXOPT on the relaxations' SCS data
// and by L-BFGS on the non-convex network (widths 2, 5, 20 × 30 starts): relaxation
// (a) 0.52363929, relaxation (b) 1.66237474, best local search 1.66309161.
const (
	specEA     = 0.52363929
	specEB     = 1.66237474
	specELocal = 1.66309161
)

// TestSpecE: relaxation (a) by FISTA reproduces the reference (a); the exact path
// (column generation with the exact oracle) closes its bracket to 1e-6 relative, its
// lower bound is below the best local search and its upper bound is not below
// relaxation (b) (a lower bound on the exact program).
func TestSpecE(t *testing.T) {
	p := specE()
	ra, err := Relaxation(p, NewPatternOracle(p), Settings{Tol: 1e-7, MaxIters: 200000})
	if err != nil {
		t.Fatal(err)
	}
	// the bracket holds the reference and the objective matches it to its 8 digits
	if math.Abs(ra.Upper-specEA) > 5e-9 || ra.Lower > specEA+5e-9 || ra.Upper-ra.Lower > 1e-7*ra.Upper {
		t.Errorf("relaxation (a): [%.10g, %.10g], reference %.8f", ra.Lower, ra.Upper, specEA)
	}
	o, err := NewExactOracle(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ColumnGeneration(p, o, Settings{Tol: 1e-7})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "optimal" || (r.Upper-r.Lower)/r.Upper > 1e-7 {
		t.Errorf("exact path: status %s, bracket [%.10g, %.10g]", r.Status, r.Lower, r.Upper)
	}
	if r.Lower > specELocal || r.Upper < specEB-5e-9 {
		t.Errorf("exact path [%.10g, %.10g] is not within [relaxation (b) %.8f, local search %.8f]", r.Lower, r.Upper, specEB, specELocal)
	}
	if !o.Global() {
		t.Errorf("the oracle's enumeration is not exhaustive on data in general position")
	}
	t.Logf("(a) %.10g in %d iterations; exact optimum in [%.10g, %.10g] (%d rounds, %d FISTA iterations, %d units, %d faces)", ra.Upper, ra.Iterations, r.Lower, r.Upper, r.Rounds, r.Iterations, len(r.Solution.Atoms), o.Faces())
}
