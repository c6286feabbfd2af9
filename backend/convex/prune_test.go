package convex_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"

	"gonum.org/v1/gonum/mat"
)

// fcProgram builds the §2 program for n samples in d dimensions (ones column last)
// over P sampled patterns, and a feasible solution with every block nonzero: each
// block is a positive multiple of its pattern's gate, which lies in the pattern's cone.
func fcProgram(seed uint64, n, d, P int) (*convex.Program, *convex.Solution) {
	r := rand.New(rand.NewPCG(seed, 11))
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d-1; j++ {
			X.Set(i, j, r.NormFloat64())
		}
		X.Set(i, d-1, 1)
		y[i] = r.NormFloat64()
	}
	set := pattern.Sample(X, P, int64(seed))
	D := set.D.Dense()
	N, Q := D.Dims()
	S := mat.NewDense(N, Q, nil)
	for i := 0; i < N; i++ {
		for q := 0; q < Q; q++ {
			S.Set(i, q, 2*D.At(i, q)-1)
		}
	}
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	fam := &convex.Family{Name: "v", H: d, A: X, Sample: sample, Weight: convex.MustDenseWeights(D), C: X, Sign: convex.MustDenseSigns(S), Signs: []float64{1, -1}}
	prog := &convex.Program{Loss: "squared", Y: y, N: n, Beta: 0.05, Families: []*convex.Family{fam}}
	sol := &convex.Solution{Blocks: [][]*mat.Dense{{mat.NewDense(Q, d, nil), mat.NewDense(Q, d, nil)}}}
	for c := 0; c < 2; c++ {
		for q := 0; q < Q; q++ {
			g := set.Gate(q)
			scale := 0.1 + r.Float64()
			for j := 0; j < d; j++ {
				sol.Blocks[0][c].Set(q, j, scale*g[j])
			}
		}
	}
	return prog, sol
}

// TestPrune: the pruned solution predicts the same ŷ, costs no more, stays in every
// pattern cone, and has at most N nonzero blocks (Carathéodory), starting from
// solutions with far more.
func TestPrune(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		prog, sol := fcProgram(seed, 12, 3, 200)
		before := nonzero(sol)
		if before <= prog.N {
			t.Fatalf("seed %d: only %d blocks to start with", seed, before)
		}
		out := prog.Prune(sol)
		y0, y1 := prog.Predict(sol), prog.Predict(out)
		for i := range y0 {
			if math.Abs(y0[i]-y1[i]) > 1e-9*(1+math.Abs(y0[i])) {
				t.Fatalf("seed %d: prediction %d moved from %.12g to %.12g", seed, i, y0[i], y1[i])
			}
		}
		if o0, o1 := prog.Objective(sol), prog.Objective(out); o1 > o0+1e-12 {
			t.Errorf("seed %d: objective rose from %.12g to %.12g", seed, o0, o1)
		}
		if v := prog.Violation(out); v > 1e-12 {
			t.Errorf("seed %d: cone violation %.3g after pruning", seed, v)
		}
		if after := nonzero(out); after > prog.N {
			t.Errorf("seed %d: %d nonzero blocks after pruning, want ≤ N = %d (from %d)", seed, after, prog.N, before)
		}
	}
}

func nonzero(s *convex.Solution) int {
	k := 0
	for _, fam := range s.Blocks {
		for _, B := range fam {
			r, _ := B.Dims()
			for q := 0; q < r; q++ {
				if mat.Norm(B.RowView(q), 2) > 0 {
					k++
				}
			}
		}
	}
	return k
}

// TestPruneKeepsInfeasibleNoise: a tiny block pointing out of its cone (solver noise)
// must not be rescaled — it would buy prediction at almost no cost and leave the cone.
func TestPruneKeepsInfeasibleNoise(t *testing.T) {
	prog, sol := fcProgram(7, 12, 3, 200)
	// Flip one block to the opposite of its gate: maximally infeasible, tiny.
	B := sol.Blocks[0][0]
	row := B.RawRowView(0)
	for j := range row {
		row[j] *= -1e-9
	}
	v0 := prog.Violation(sol)
	out := prog.Prune(sol)
	if v := prog.Violation(out); v > v0+1e-15 {
		t.Fatalf("pruning raised the cone violation from %.3g to %.3g", v0, v)
	}
	y0, y1 := prog.Predict(sol), prog.Predict(out)
	for i := range y0 {
		if math.Abs(y0[i]-y1[i]) > 1e-9*(1+math.Abs(y0[i])) {
			t.Fatalf("prediction %d moved from %.12g to %.12g", i, y0[i], y1[i])
		}
	}
}

// TestPruneTall: with many more samples than blocks (one QR, then steps on R) the
// two sign copies of a pattern that point the same way are dependent (their
// contributions cancel), so pruning keeps at most one block per pattern, the
// prediction, feasibility and a cost no higher.
func TestPruneTall(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		prog, sol := fcProgram(seed, 80, 3, 8)
		Q, _ := sol.Blocks[0][0].Dims()
		before := nonzero(sol)
		if 2*before > prog.N || before != 2*Q {
			t.Fatalf("seed %d: %d blocks for n = %d (want the tall case, both copies of %d patterns)", seed, before, prog.N, Q)
		}
		out := prog.Prune(sol)
		y0, y1 := prog.Predict(sol), prog.Predict(out)
		for i := range y0 {
			if math.Abs(y0[i]-y1[i]) > 1e-9*(1+math.Abs(y0[i])) {
				t.Fatalf("seed %d: prediction %d moved from %.12g to %.12g", seed, i, y0[i], y1[i])
			}
		}
		if o0, o1 := prog.Objective(sol), prog.Objective(out); o1 >= o0 {
			t.Errorf("seed %d: objective %.12g → %.12g, want a decrease (cancelling copies removed)", seed, o0, o1)
		}
		if v := prog.Violation(out); v > 1e-12 {
			t.Errorf("seed %d: cone violation %.3g after pruning", seed, v)
		}
		if after := nonzero(out); after > Q {
			t.Errorf("seed %d: %d nonzero blocks after pruning, want ≤ %d (one per pattern)", seed, after, Q)
		}
	}
}
