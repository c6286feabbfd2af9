package large

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// spd is a random symmetric positive definite n × n matrix (row-major, full).
func spd(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	B := make([]float64, n*n)
	for i := range B {
		B[i] = rng.NormFloat64()
	}
	A := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := 0; k < n; k++ {
				s += B[i*n+k] * B[j*n+k]
			}
			A[i*n+j], A[j*n+i] = s, s
		}
		A[i*n+i] += float64(n)
	}
	return A
}

// TestPotrfMatchesLapack: the interruptible factorization is LAPACK's (gonum's
// Dpotrf through lapack64), bit for bit, above and below the block size; a stop
// before a panel ends it with stopped set; an indefinite matrix is refused.
func TestPotrfMatchesLapack(t *testing.T) {
	for _, n := range []int{40, 300} {
		A := spd(n, uint64(n))
		want := slices.Clone(A)
		if _, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Uplo: blas.Lower, Data: want}); !ok {
			t.Fatalf("n = %d: lapack refused an SPD matrix", n)
		}
		got := slices.Clone(A)
		ok, stopped := potrf(got, n, func() bool { return false })
		if !ok || stopped {
			t.Fatalf("n = %d: ok %v stopped %v", n, ok, stopped)
		}
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				if math.Float64bits(got[i*n+j]) != math.Float64bits(want[i*n+j]) {
					t.Fatalf("n = %d: L[%d,%d] = %v, lapack %v", n, i, j, got[i*n+j], want[i*n+j])
				}
			}
		}
		// an indefinite matrix: not ok, not stopped
		bad := slices.Clone(A)
		bad[(n-1)*n+n-1] = -1
		if ok, stopped := potrf(bad, n, nil); ok || stopped {
			t.Fatalf("n = %d: indefinite matrix gave ok %v stopped %v", n, ok, stopped)
		}
	}
	// a stop after the first panel (n = 300 spans several panels)
	calls := 0
	A := spd(300, 300)
	ok, stopped := potrf(A, 300, func() bool { calls++; return calls > 1 })
	if ok || !stopped || calls != 2 {
		t.Fatalf("stop after one panel: ok %v stopped %v after %d polls", ok, stopped, calls)
	}
	// cholBig gives up at once after a stop (no shifted retries)
	calls = 0
	d := make([]float64, 300)
	if cholBig(spd(300, 3), 300, d, func() bool { calls++; return true }) || calls != 1 {
		t.Fatalf("cholBig after a stop: polled %d times", calls)
	}
}

// TestRefinedSteps: with the Newton steps' iterative refinement the pattern-space IPM
// certifies a relative gap of 1e-6 on the stop test's 400-sample CNN (measured:
// optimal, gap 1.3e-7, 35 iterations); without it the dual residual grows again in
// the last iterations and the same solve ends inaccurate (gap 1.7e-6 after 161
// iterations), the accuracy limit the refinement removed.
func TestRefinedSteps(t *testing.T) {
	p := cnnProgram(5, 400, 12, 4, 150, 1e-3, false)
	r, err := Solve(p, nil, Settings{Tol: 1e-6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gap := (r.Objective - r.Dual) / math.Max(1, math.Abs(r.Objective))
	if r.Status != solver.Optimal || gap > 1e-6 {
		t.Fatalf("refined: status %s, gap %.3g after %d iterations", r.Status, gap, r.Iterations)
	}
	refineIPM = false
	defer func() { refineIPM = true }()
	u, err := Solve(p, nil, Settings{Tol: 1e-6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ugap := (u.Objective - u.Dual) / math.Max(1, math.Abs(u.Objective))
	t.Logf("refined: %s gap %.3g, %d iterations; unrefined: %s gap %.3g, %d iterations", r.Status, gap, r.Iterations, u.Status, ugap, u.Iterations)
	if u.Status == solver.Optimal && u.Iterations <= r.Iterations {
		t.Fatalf("the refinement made no difference: unrefined %s in %d iterations", u.Status, u.Iterations)
	}
	// the same optimum either way, within the two certified brackets
	if r.Dual > u.Objective*(1+1e-12) || u.Dual > r.Objective*(1+1e-12) {
		t.Fatalf("brackets disagree: refined [%v, %v], unrefined [%v, %v]", r.Dual, r.Objective, u.Dual, u.Objective)
	}
}
