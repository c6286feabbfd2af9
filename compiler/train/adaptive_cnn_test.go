package train

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"

	"gonum.org/v1/gonum/mat"
)

// cnnModel builds input [1, L] · conv K (no padding, stride 1) · relu · pool · linear 1
// by hand; pool is "gap", "avgW" (avgpool W, stride W), "max" (maxpool global) or
// "maxW" (maxpool W).
func cnnModel(L, K int, pool string, W int) *ir.Model {
	Kout := L - K + 1
	m := &ir.Model{Name: "cnn", Layers: []*ir.Layer{
		{Index: 0, Kind: ir.Input, Out: ir.Shape{1, L}},
		{Index: 1, Kind: ir.Conv, In: ir.Shape{1, L}, Out: ir.Shape{ir.Auto, Kout}, Kernel: []int{K}, Stride: []int{1}, Padding: []int{0}},
		{Index: 2, Kind: ir.ReLU, In: ir.Shape{ir.Auto, Kout}, Out: ir.Shape{ir.Auto, Kout}},
	}}
	add := func(l *ir.Layer) {
		l.Index = len(m.Layers)
		l.In = m.Layers[len(m.Layers)-1].Out
		m.Layers = append(m.Layers, l)
	}
	switch pool {
	case "gap":
		add(&ir.Layer{Kind: ir.AvgPool, Global: true, Out: ir.Shape{ir.Auto}})
	case "max":
		add(&ir.Layer{Kind: ir.MaxPool, Global: true, Out: ir.Shape{ir.Auto}})
	case "avgW", "maxW":
		kind := ir.AvgPool
		if pool == "maxW" {
			kind = ir.MaxPool
		}
		a := (Kout-W)/W + 1
		add(&ir.Layer{Kind: kind, Kernel: []int{W}, Stride: []int{W}, Out: ir.Shape{ir.Auto, a}})
		add(&ir.Layer{Kind: ir.Flatten, Out: ir.Shape{ir.Shape{ir.Auto, a}.Size()}})
	}
	add(&ir.Layer{Kind: ir.Linear, Width: 1, Out: ir.Shape{1}})
	return m
}

// signals: n seeded Gaussian 1-D signals of length L with Gaussian targets.
func signals(n, L int, seed int64) *dataset.Dataset {
	rng := rand.New(rand.NewSource(seed))
	X := mat.NewDense(n, L, nil)
	Y := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < L; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		Y.Set(i, 0, rng.NormFloat64())
	}
	return &dataset.Dataset{Name: "train", Shape: []int{1, L}, X: X, Y: Y}
}

type cnnAdaptiveCase struct {
	name       string
	rule       string
	L, K, W, n int
	pool       string
	beta       float64
}

func cnnAdaptiveCases() []cnnAdaptiveCase {
	return []cnnAdaptiveCase{
		{name: "gap-h2", rule: "cnn-gap", L: 6, K: 2, n: 5, pool: "gap", beta: 0.05},
		{name: "gap-h3", rule: "cnn-gap", L: 6, K: 3, n: 3, pool: "gap", beta: 0.05},
		{name: "pool-2windows", rule: "cnn-pool", L: 7, K: 2, W: 3, n: 4, pool: "avgW", beta: 0.05},
		{name: "maxpool-global", rule: "cnn-maxpool", L: 6, K: 2, n: 5, pool: "max", beta: 0.05},
		{name: "maxpool-windows", rule: "cnn-maxpool", L: 7, K: 2, W: 3, n: 4, pool: "maxW", beta: 0.05},
	}
}

// TestAdaptiveCNNReachesExact: on seeded small 1-D CNN problems where the exact
// arrangement can be enumerated (n = 4–5 signals, K = 5–6 positions, h = 2–3), the
// adaptive mode started from 3 sampled patterns per family reaches the exact-pattern
// optimum (both solved by CVXOPT through the conic path, to 1e-6 relative); its
// search is exhaustive, so the reported bound is the certificate's; and the
// certificate of the adaptive prediction over the exact program's patterns (an
// independent build: derive with `patterns exact`) has ρ ≤ 1 + 1e-6. The recovered
// network's objective (compiler/network, from the weights alone) equals the convex
// optimum.
func TestAdaptiveCNNReachesExact(t *testing.T) {
	for ci, tc := range cnnAdaptiveCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "gap-h3" && (testing.Short() || !long()) {
				t.Skip("CVXOPT on the 134-pattern exact program takes ~9 s: run with CNNC_LONG=1 (TestAdaptiveCNNNative runs this case natively)")
			}
			solverFn := cvxoptSolver(t)
			m := cnnModel(tc.L, tc.K, tc.pool, tc.W)
			ds := signals(tc.n, tc.L, int64(100+ci))
			exIn := input(m, ds, tc.beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
			ex, err := Run(exIn, Options{Solver: "conic", Conic: solverFn})
			if err != nil {
				t.Fatal(err)
			}
			if ex.Rule.Name != tc.rule {
				t.Fatalf("rule %s, want %s", ex.Rule.Name, tc.rule)
			}
			ad, err := Run(input(m, ds, tc.beta, ir.Patterns{Mode: ir.Adaptive, N: 3, Max: 100000, Seed: 1}), Options{Solver: "conic", Conic: solverFn})
			if err != nil {
				t.Fatal(err)
			}
			a := ad.Adaptive
			t.Logf("exact %.10f (%d patterns, %d families); adaptive %.10f (%d patterns: %d rounds, %d added, %d evaluations; ρ %.8f; bound %.10f from %s)",
				ex.ConvexObjective, ex.Sizes.Patterns, len(ex.Program.Families), ad.ConvexObjective, ad.Sizes.Patterns, a.Rounds, a.Added, a.Evaluations, a.Ratio, ad.DualObjective, ad.DualSource)
			if math.Abs(ad.ConvexObjective-ex.ConvexObjective) > 1e-6*ex.ConvexObjective {
				t.Errorf("adaptive %.10f, exact %.10f", ad.ConvexObjective, ex.ConvexObjective)
			}
			if rel := math.Abs(ad.NonconvexObjective-ad.ConvexObjective) / ad.ConvexObjective; rel > 1e-6 {
				t.Errorf("recovered network %.10f vs convex %.10f", ad.NonconvexObjective, ad.ConvexObjective)
			}
			if a.Rounds == 0 || a.Added == 0 {
				t.Errorf("no pattern added from 3 sampled ones: %+v", a)
			}
			if ad.Sizes.Patterns >= ex.Sizes.Patterns {
				t.Logf("note: adaptive used %d patterns, the exact arrangement has %d", ad.Sizes.Patterns, ex.Sizes.Patterns)
			}
			if !a.Exhaustive || ad.Cert == nil || ad.Cert.Scope != "global" {
				t.Errorf("search not exhaustive: %+v, %s", a, ad.DualSource)
			}
			if ad.DualObjective > ex.ConvexObjective*(1+1e-6) || ex.ConvexObjective-ad.DualObjective > 1e-4*ex.ConvexObjective {
				t.Errorf("bound %.10f vs optimum %.10f", ad.DualObjective, ex.ConvexObjective)
			}
			// the certificate over the exact arrangement (fresh build, its own families)
			_, exProg, dl := derive.Derive(exIn)
			if dl.HasErrors() {
				t.Fatal(dl)
			}
			c, err := certify.Certify(ad.Program, ad.Program.Predict(ad.Solution), exProg.Families)
			if err != nil {
				t.Fatal(err)
			}
			if c.Ratio > 1+1e-6 {
				t.Errorf("certificate over the exact arrangement: ρ = %.10f > 1 + 1e-6", c.Ratio)
			}
		})
	}
}

// TestAdaptiveCNNNative: the same loop without Python, on both native solvers — the
// structured solver backend/native/group (the default for these programs) and the
// conic solver backend/native/cone (residuals to tol/100): every case from 3 sampled
// patterns ends within 1e-6 relative of the exact-pattern optimum of the same solver,
// with ρ ≤ 1 + 1e-3 over the exact arrangement (the solvers' points are accurate to
// their tolerance only, and ρ − 1 ≈ ‖X‖‖λ − λ*‖/β is looser than the objective).
// Regression: with the ConeMax maximiser (a boundary point of the cone) as the new
// patterns' Gates, the structured solver stalled "inaccurate" up to 13% above the
// optimum on four of these five problems; the search now stores interior gates.
func TestAdaptiveCNNNative(t *testing.T) {
	for _, solverName := range []string{"native", "conic"} {
		for ci, tc := range cnnAdaptiveCases() {
			t.Run(solverName+"/"+tc.name, func(t *testing.T) {
				m := cnnModel(tc.L, tc.K, tc.pool, tc.W)
				ds := signals(tc.n, tc.L, int64(100+ci))
				opts := Options{Solver: solverName, Settings: SolverSettings{Tol: 1e-7}}
				exIn := input(m, ds, tc.beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
				ex, err := Run(exIn, opts)
				if err != nil {
					t.Fatal(err)
				}
				ad, err := Run(input(m, ds, tc.beta, ir.Patterns{Mode: ir.Adaptive, N: 3, Max: 100000, Seed: 2}), opts)
				if err != nil {
					t.Fatal(err)
				}
				a := ad.Adaptive
				t.Logf("exact %.10f (%d patterns, %s); adaptive %.10f (%d patterns: %d rounds, %d added; ρ %.8f; %s)",
					ex.ConvexObjective, ex.Sizes.Patterns, ex.Status, ad.ConvexObjective, ad.Sizes.Patterns, a.Rounds, a.Added, a.Ratio, ad.Status)
				if math.Abs(ad.ConvexObjective-ex.ConvexObjective) > 1e-6*ex.ConvexObjective {
					t.Errorf("adaptive %.10f, exact %.10f", ad.ConvexObjective, ex.ConvexObjective)
				}
				if rel := math.Abs(ad.NonconvexObjective-ad.ConvexObjective) / ad.ConvexObjective; rel > 1e-6 {
					t.Errorf("recovered network %.10f vs convex %.10f", ad.NonconvexObjective, ad.ConvexObjective)
				}
				_, exProg, _ := derive.Derive(exIn)
				c, err := certify.Certify(ad.Program, ad.Program.Predict(ad.Solution), exProg.Families)
				if err != nil {
					t.Fatal(err)
				}
				if c.Ratio > 1+1e-3 {
					t.Errorf("certificate over the exact arrangement: ρ = %.8f", c.Ratio)
				}
			})
		}
	}
}

// TestAdaptiveCNNHeuristicSearch: the non-exhaustive search (no enumeration: 20
// seeded gates per round plus local ascent across cone faces) on the same problems
// still reaches the exact-pattern optimum to 1e-6 (checked against the exact program
// solved by the same native solver, structured and conic), and then reports no global bound (the
// search was not exhaustive) — only the solver's bound on the restricted program.
func TestAdaptiveCNNHeuristicSearch(t *testing.T) {
	for _, solverName := range []string{"native", "conic"} {
		for ci, tc := range cnnAdaptiveCases() {
			t.Run(solverName+"/"+tc.name, func(t *testing.T) {
				m := cnnModel(tc.L, tc.K, tc.pool, tc.W)
				ds := signals(tc.n, tc.L, int64(100+ci))
				opts := Options{Solver: solverName, Settings: SolverSettings{Tol: 1e-7}, ExhaustiveLimit: -1, SearchSamples: 20}
				ex, err := Run(input(m, ds, tc.beta, ir.Patterns{Mode: ir.Exact, Max: 100000}), opts)
				if err != nil {
					t.Fatal(err)
				}
				ad, err := Run(input(m, ds, tc.beta, ir.Patterns{Mode: ir.Adaptive, N: 3, Max: 100000, Seed: 3}), opts)
				if err != nil {
					t.Fatal(err)
				}
				a := ad.Adaptive
				t.Logf("exact %.10f (%d patterns); heuristic adaptive %.10f (%d patterns: %d rounds, %d added, %d evaluations; last search ρ %.8f)",
					ex.ConvexObjective, ex.Sizes.Patterns, ad.ConvexObjective, ad.Sizes.Patterns, a.Rounds, a.Added, a.Evaluations, a.Ratio)
				if math.Abs(ad.ConvexObjective-ex.ConvexObjective) > 1e-6*ex.ConvexObjective {
					t.Errorf("adaptive %.10f, exact %.10f", ad.ConvexObjective, ex.ConvexObjective)
				}
				if a.Exhaustive || ad.Cert == nil || ad.Cert.Scope != "restricted" {
					t.Errorf("a heuristic search claims a global bound: %+v, %s", a, ad.DualSource)
				}
			})
		}
	}
}
