package derive

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
)

// TestThreeLayerDiagnostics: the three-layer models cnnc cannot solve exactly are
// refused with a diagnostic that names the real difference.
func TestThreeLayerDiagnostics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	X2, y2 := randXY(r, 12, 2)
	X8, y8 := randXY(r, 6, 8)
	train := "train {\n    beta 0.1\n    patterns exact\n}\n"
	trainPath := "train {\n    regularizer path\n    beta 0.1\n    patterns exact\n}\n"
	cases := []struct {
		name, src string
		X8        bool
		code      string
		want      []string
	}{
		{"fc3-not-parallel", "model m {\n    input 2\n    linear auto\n    relu\n    linear auto\n    relu\n    linear 1\n}\n" + train, false,
			CodeNoEquivalent, []string{"three-relu", "two ReLU layers", "second is this `relu`, layer 4", "branches=auto", "regularizer path"}},
		{"fc3-weight-decay", "model m {\n    input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1\n}\n" + train, false,
			CodeRegularizer, []string{"concave power", "regularizer path", "regularizer group"}},
		{"fc4", "model m {\n    input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear auto\n    relu\n    linear 1\n}\n" + trainPath, false,
			CodeNoEquivalent, []string{"third hidden layer", "at most two ReLU layers"}},
		{"circ3-shared", "model m {\n    input 1x8\n    circconv\n    linear auto\n    relu\n    linear 1\n}\n" + trainPath, true,
			CodeNoEquivalent, []string{"circ3", "share the circular filters", "circconv branches=auto"}},
		{"circ4", "model m {\n    input 1x8\n    circconv branches=auto\n    circconv branches=auto\n    linear 1 branches=auto\n    relu\n    linear 1\n}\n" + trainPath, true,
			CodeNoEquivalent, []string{"L = 3 only", "quasi-norm", "spectral norm"}},
		{"circ3-weight-decay", "model m {\n    input 1x8\n    circconv branches=auto\n    linear 1 branches=auto\n    relu\n    linear 1\n}\n" + train, true,
			CodeRegularizer, []string{"concave power"}},
		{"fc3-budget", "model m {\n    input 2\n    linear 2 bias=true branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1\n}\ntrain {\n    regularizer path\n    patterns exact max=500\n}\n", false,
			CodePatterns, []string{"configurations", "more than max = 500"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			X, y := X2, y2
			if c.X8 {
				X, y = X8, y8
			}
			in := threeInput(t, c.src, X, y)
			_, prog, ds := Derive(in)
			if prog != nil || !ds.HasErrors() {
				t.Fatalf("derived a program; diagnostics %v", ds)
			}
			var d *diag.Diagnostic
			for _, x := range ds {
				if x.Code == c.code {
					d = x
				}
			}
			if d == nil {
				t.Fatalf("no %s among %v", c.code, ds)
			}
			text := d.Summary + " " + d.Detail
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s lacks %q:\n%s\n%s", c.code, w, d.Summary, d.Detail)
				}
			}
			if !d.Range.IsValid() {
				t.Errorf("%s has no source range", c.code)
			}
		})
	}
}

// TestStdlibThreeLayer: the standard-library entries std.circ3, std.three_relu and
// std.three_relu_cnn, spliced with `use`, derive their rule and solve (sampled
// patterns) to a network whose objective equals the convex optimum.
func TestStdlibThreeLayer(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ entry, rule string }{{"std.circ3", "circ3"}, {"std.three_relu", "three-relu"}, {"std.three_relu_cnn", "three-relu-cnn"}} {
		t.Run(c.entry, func(t *testing.T) {
			d := 16
			if c.entry == "std.three_relu" {
				d = 10
			}
			X, y := randXY(r, 8, d)
			src := "model m {\n    use " + c.entry + "\n}\ntrain {\n    regularizer path\n    beta 0.5\n    patterns sample 30 seed=2\n}\n"
			in := threeInput(t, src, X, y)
			rule, prog, ds := Derive(in)
			if ds.HasErrors() || rule.Name != c.rule {
				t.Fatalf("rule %v: %v", rule, ds)
			}
			sol, p := solveThree(t, prog)
			rec, _ := recoveredObjective(t, rule, in, prog, prog.Prune(sol))
			t.Logf("%s: %d patterns, p = %.8f, recovered %.8f", c.entry, prog.Sizes().Patterns, p, rec)
			if math.Abs(rec-p) > 1e-6*p {
				t.Fatalf("recovered %.10g, convex %.10g", rec, p)
			}
		})
	}
}

// TestThreeLayerMemoryBudget: the pair stage checks its size against the memory
// budget before enumerating or sampling (F0209 at the patterns statement).
func TestThreeLayerMemoryBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	X, y := randXY(r, 8, 2)
	for _, pat := range []string{"exact", "sample 5000"} {
		in := threeInput(t, "model m {\n    input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1\n}\ntrain {\n    regularizer path\n    patterns "+pat+"\n}\n", X, y)
		in.MaxMemory = 100000
		_, prog, ds := Derive(in)
		if prog != nil || len(ds) == 0 || ds[0].Code != CodeTooLarge || ds[0].Range.Start.Line != 11 {
			t.Errorf("%s: program %v, diagnostics %v", pat, prog != nil, ds)
		}
	}
}
