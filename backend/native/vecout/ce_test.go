package vecout

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// oneHot returns n one-hot rows over c classes drawn from r (every class present).
func oneHot(r *rand.Rand, n, c int) *mat.Dense {
	Y := mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		k := i % c
		if i >= c {
			k = r.Intn(c)
		}
		Y.Set(i, k, 1)
	}
	return Y
}

// TestExactPathCrossEntropy: the exact path closes the bracket to 1e-6 with the
// softmax cross-entropy (with and without output bias) on FC and CNN data, and the
// upper bound is the objective of the returned units.
func TestExactPathCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, tc := range []struct {
		cnn  bool
		bias bool
	}{{false, false}, {false, true}, {true, true}} {
		var p *convex.VectorProgram
		if tc.cnn {
			p = cnnProgram(r, 5, 6, 3, 3, true, 0.05)
		} else {
			A, _ := seededProblems[3].data()
			n, _ := A.Dims()
			p = fcProgram(A, oneHot(r, n, 3), 0.05, convex.LossCrossEntropy, false)
		}
		p.Loss = convex.LossCrossEntropy
		p.Y = oneHot(r, p.N, 3)
		p.C = 3
		p.OutputBias = tc.bias
		o, err := NewExactOracle(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ColumnGeneration(p, o, Settings{Tol: 1e-6})
		if err != nil {
			t.Fatal(err)
		}
		gap := (res.Upper - res.Lower) / res.Upper
		if res.Status != "optimal" || gap > 1e-6 {
			t.Errorf("cnn=%v bias=%v: status %s gap %.3g [%.10g, %.10g]", tc.cnn, tc.bias, res.Status, gap, res.Lower, res.Upper)
		}
		if got := p.Objective(res.Solution); math.Abs(got-res.Upper) > 1e-12*res.Upper {
			t.Errorf("objective %.12g vs upper %.12g", got, res.Upper)
		}
		t.Logf("cnn=%v bias=%v: [%.10g, %.10g] gap %.2e, %d rounds, %d units", tc.cnn, tc.bias, res.Lower, res.Upper, gap, res.Rounds, len(res.Solution.Atoms))
	}
}
