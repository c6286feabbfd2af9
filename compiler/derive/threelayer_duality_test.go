package derive

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// threeCase is one seeded small three-layer problem.
type threeCase struct {
	arch string // "circ", "path", "group", "cnn"
	seed uint64
}

func (c threeCase) input(t testing.TB) *Input {
	r := rand.New(rand.NewPCG(c.seed, 2024))
	beta := 0.05 + 0.1*r.Float64()
	var src string
	var X *mat.Dense
	var y []float64
	switch c.arch {
	case "circ":
		d := 4 + int(c.seed%2) // even and odd signal lengths
		X, y = randXY(r, 6, d)
		src = fmt.Sprintf("model c3 {\n    input 1x%d\n    circconv branches=auto\n    linear 1 branches=auto\n    relu\n    linear 1\n}\ntrain {\n    regularizer path\n    beta %g\n    patterns exact\n}\n", d, beta)
	case "cnn":
		X, y = randXY(r, 3, 4)
		src = threeSrc(true, false, "path", beta)
	default:
		bias := c.seed%2 == 1 // 2 features, and every other case a bias column
		n := 5
		if bias {
			n = 4
		}
		X, y = randXY(r, n, 2)
		src = threeSrc(false, bias, c.arch, beta)
	}
	return threeInput(t, src, X, y)
}

// TestThreeLayerStrongDuality: on seeded small problems of every three-layer row (§8;
// §9b path, group and the pooled CNN) with exact patterns, the network recovered from
// the convex optimum — written to weights.json and read back — has the convex
// optimum's objective to 1e-6 relative, computed from the weights alone; the
// independent local-search model (ptNet) gives the same value at those weights; and
// 20 random-start local searches of the non-convex network (2, 4 or 8 branches)
// never go below the optimum. Two problems per row always, ten with CNNC_LONG=1.
func TestThreeLayerStrongDuality(t *testing.T) {
	per := uint64(2)
	if os.Getenv("CNNC_LONG") != "" {
		per = 10
	}
	for _, arch := range []string{"circ", "path", "group", "cnn"} {
		for seed := uint64(0); seed < per; seed++ {
			c := threeCase{arch, seed}
			t.Run(fmt.Sprintf("%s_%d", arch, seed), func(t *testing.T) {
				in := c.input(t)
				rule, prog, ds := Derive(in)
				if ds.HasErrors() {
					t.Fatalf("derive: %v", ds)
				}
				t0 := time.Now()
				sol, p := solveThree(t, prog)
				sol = prog.Prune(sol)
				w, err := rule.Recover(in, prog, sol)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := w.Write(&buf); err != nil {
					t.Fatal(err)
				}
				w2, err := network.Read(&buf)
				if err != nil {
					t.Fatal(err)
				}
				rec, _, _, err := network.Objective(in.Model, w2, in.Data.X, in.Data.Y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(rec-p) > 1e-6*p {
					t.Fatalf("recovered %.10g, convex %.10g", rec, p)
				}
				net := ptNetOf(in, prog)
				th, K := net.thetaOf(w2, in)
				if v := net.eval(th, K, false, nil); math.Abs(v-rec) > 1e-9*math.Max(1, rec) {
					t.Fatalf("local-search model gives %.12g at the recovered weights, network %.12g", v, rec)
				}
				solve := time.Since(t0)
				vals := net.localSearch([]int{2, 4, 8}, 20, c.seed+1)
				best := math.Inf(1)
				for _, v := range vals {
					best = math.Min(best, v)
				}
				t.Logf("%s: %d pairs/patterns, p = %.8f = recovered (%d branches, %.2fs); best of 20 local searches %.8f", rule.Name, prog.Sizes().Patterns, p, K, solve.Seconds(), best)
				if best < p*(1-1e-6) {
					t.Fatalf("a local search reached %.10g below the convex optimum %.10g", best, p)
				}
			})
		}
	}
}
