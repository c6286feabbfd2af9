package train

import (
	"bytes"
	"math"
	"math/rand"
	"os"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/cbf"
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/scs"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// vecModel builds input · (linear auto | conv k) · act · [avgpool global] · linear C.
func vecModel(in ir.Shape, cnn bool, kernel []int, act ir.LayerKind, hb, ob bool, C int) *ir.Model {
	ls := []*ir.Layer{{Index: 0, Kind: ir.Input, Out: in}}
	if cnn {
		out := ir.Shape{0}
		for d, k := range kernel {
			out = append(out, in[d+1]-k+1)
		}
		ls = append(ls, &ir.Layer{Index: 1, Kind: ir.Conv, In: in, Out: out, Kernel: kernel, Stride: ones(len(kernel)), Padding: make([]int, len(kernel)), Bias: hb},
			&ir.Layer{Index: 2, Kind: act, In: out, Out: out},
			&ir.Layer{Index: 3, Kind: ir.AvgPool, In: out, Out: ir.Shape{0}, Global: true},
			&ir.Layer{Index: 4, Kind: ir.Linear, In: ir.Shape{0}, Out: ir.Shape{C}, Width: C, Bias: ob})
	} else {
		ls = append(ls, &ir.Layer{Index: 1, Kind: ir.Linear, In: in, Out: ir.Shape{0}, Bias: hb},
			&ir.Layer{Index: 2, Kind: act, In: ir.Shape{0}, Out: ir.Shape{0}},
			&ir.Layer{Index: 3, Kind: ir.Linear, In: ir.Shape{0}, Out: ir.Shape{C}, Width: C, Bias: ob})
	}
	return &ir.Model{Name: "vec", Layers: ls}
}

func ones(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// vecData: Gaussian features, one-hot targets of c classes (every class present).
func vecData(r *rand.Rand, n int, shape ir.Shape, c int) *dataset.Dataset {
	f := shape.Size()
	X := mat.NewDense(n, f, nil)
	Y := mat.NewDense(n, c, nil)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		for j := 0; j < f; j++ {
			X.Set(i, j, r.NormFloat64())
		}
		k := i % c
		if i >= c {
			k = r.Intn(c)
		}
		Y.Set(i, k, 1)
		labels[i] = 10 + k
	}
	cls := make([]int, c)
	for k := range cls {
		cls[k] = 10 + k
	}
	return &dataset.Dataset{Name: "train", Shape: shape, X: X, Y: Y, Classification: true, Labels: labels, Classes: cls}
}

type vecCase struct {
	name    string
	in      ir.Shape
	cnn     bool
	kernel  []int
	act     ir.LayerKind
	hb, ob  bool
	c, n    int
	loss    string
	pat     ir.Patterns
	beta    float64
	globalB bool // the lower bound must be global
}

func vecCases() []vecCase {
	exact := ir.Patterns{Mode: ir.Exact, Max: 100000}
	sample := ir.Patterns{Mode: ir.Sample, N: 40, Seed: 3}
	return []vecCase{
		{"fc-relu exact squared", ir.Shape{2}, false, nil, ir.ReLU, true, false, 3, 7, ir.Squared, exact, 0.1, true},
		{"fc-relu exact cross-entropy, output bias", ir.Shape{2}, false, nil, ir.ReLU, true, true, 3, 7, ir.CrossEntropy, exact, 0.05, true},
		{"fc-gated sampled", ir.Shape{3}, false, nil, ir.Gated, true, true, 2, 8, ir.Squared, sample, 0.1, true},
		{"cnn-gap-relu exact 1-D", ir.Shape{1, 5}, true, []int{2}, ir.ReLU, true, true, 2, 4, ir.Squared, exact, 0.05, true},
		{"cnn-gap-gated sampled 2-D", ir.Shape{1, 3, 3}, true, []int{2, 2}, ir.Gated, false, true, 3, 6, ir.CrossEntropy, sample, 0.05, true},
		{"cnn-gap-relu sampled 2-D (scalable path)", ir.Shape{2, 3, 3}, true, []int{2, 2}, ir.ReLU, true, true, 3, 8, ir.Squared, sample, 0.05, false},
		{"fc-gated exact cross-entropy", ir.Shape{2}, false, nil, ir.Gated, true, false, 3, 7, ir.CrossEntropy, exact, 0.05, true},
		{"cnn-gap-relu exact 1-D cross-entropy", ir.Shape{1, 5}, true, []int{2}, ir.ReLU, false, true, 3, 5, ir.CrossEntropy, exact, 0.05, true},
		{"cnn-gap-gated exact 1-D squared", ir.Shape{1, 5}, true, []int{2}, ir.Gated, false, false, 2, 4, ir.Squared, exact, 0.1, true},
	}
}

// TestVectorPipeline runs every vector rule through Run and checks the bracket: the
// upper bound is the objective of weights.json (compiler/network), the lower bound is
// certified and below it; exact patterns close the bracket to 1e-6 (ReLU: column
// generation; gated: relaxation (a) is exact). Then one PyTorch process rebuilds every
// recovered network from weights.json alone: its predictions match cnnc's to 1e-9
// and its objective (summed loss + (β/2)Σ‖W‖²) the upper bound to 1e-9 relative.
// The cases cover every vector rule (fc/cnn-gap × relu/gated) with both losses.
func TestVectorPipeline(t *testing.T) {
	var cases []nettest.Case
	var uppers []float64
	var names []string
	covered := map[string]bool{}
	for i, tc := range vecCases() {
		r := rand.New(rand.NewSource(int64(40 + i)))
		m := vecModel(tc.in, tc.cnn, tc.kernel, tc.act, tc.hb, tc.ob, tc.c)
		ds := vecData(r, tc.n, tc.in, tc.c)
		in := input(m, ds, tc.beta, tc.pat)
		in.Train.Loss = tc.loss
		out, err := Run(in, Options{Settings: SolverSettings{Tol: 1e-6}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		v := out.Vector
		if v == nil {
			t.Fatalf("%s: no vector outcome (rule %s)", tc.name, out.Rule.Name)
		}
		obj, _, _, err := network.Objective(m, out.Weights, ds.X, ds.Y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(obj-v.Upper) > 1e-12*obj {
			t.Errorf("%s: upper %.12g is not the network's objective %.12g", tc.name, v.Upper, obj)
		}
		if !(v.Lower <= v.Upper) || v.Global != tc.globalB {
			t.Errorf("%s: bracket [%.12g, %.12g], global %v", tc.name, v.Lower, v.Upper, v.Global)
		}
		if tc.globalB && (out.Status != solver.Optimal || v.RelGap > 1e-6) {
			t.Errorf("%s: status %s, relative gap %.3g", tc.name, out.Status, v.RelGap)
		}
		if out.Status == solver.Optimal && v.RelGap > 1e-6*(1+1e-6)+1e-12 {
			t.Errorf("%s: status optimal with the bracket open (relative gap %.3g)", tc.name, v.RelGap)
		}
		t.Logf("%s (%s): [%.10g, %.10g] gap %.2e, %d units, %s", tc.name, out.Rule.Name, v.Lower, v.Upper, v.RelGap, out.ActiveNeurons, v.LowerScope)
		covered[out.Rule.Name+" "+tc.loss] = true
		cases = append(cases, nettest.Case{Model: m, Weights: out.Weights, X: ds.X, Y: ds.Y})
		uppers = append(uppers, v.Upper)
		names = append(names, tc.name)
	}
	for _, r := range derive.Rules() {
		if r.Vector == nil {
			continue
		}
		for _, loss := range []string{ir.Squared, ir.CrossEntropy} {
			if !covered[r.Name+" "+loss] {
				t.Errorf("rule %s with loss %s has no case", r.Name, loss)
			}
		}
	}
	if os.Getenv("CNNC_SKIP_TORCH") != "" {
		return
	}
	res, ok := nettest.TorchEvalAll(t, cases)
	if !ok {
		return
	}
	for k, c := range cases {
		mine, err := network.Forward(c.Model, c.Weights, c.X)
		if err != nil {
			t.Fatal(err)
		}
		n, C := mine.Dims()
		for i := 0; i < n; i++ {
			for j := 0; j < C; j++ {
				if d := math.Abs(mine.At(i, j) - res[k].Pred.At(i, j)); d > 1e-9 {
					t.Errorf("%s: sample %d output %d: cnnc %.15g, torch %.15g", names[k], i, j, mine.At(i, j), res[k].Pred.At(i, j))
				}
			}
		}
		if rel := math.Abs(res[k].Objective-uppers[k]) / uppers[k]; rel > 1e-9 {
			t.Errorf("%s: torch objective %.12g, upper bound %.12g", names[k], res[k].Objective, uppers[k])
		}
	}
	t.Logf("%d vector networks checked in PyTorch", len(cases))
}

// specEProgram is the reference check (E) of vector outputs as a VectorProgram: n = 6
// samples of one feature and a ones column, C = 2 Gaussian targets (NumPy
// default_rng(7)), β = 0.1, every activation pattern.
func specEProgram(t *testing.T) *convex.VectorProgram {
	x := []float64{0.0012301533574825742, 0.2987455375084699, -0.2741378553622176, -0.8905918387572742, -0.45467078517172255, -0.9916465549964624}
	y := [][]float64{{0.060143602597438485, 1.3402152455545335}, {-0.49220651855132963, -0.6204748998199404}, {0.4898420501851982, 0.35688700816006075}, {0.10541424899789856, -0.9304680447082047}, {-0.02925182246327349, 0.6953031944582878}, {-1.344214547285082, -0.45761576104021817}}
	m := vecModel(ir.Shape{1}, false, nil, ir.ReLU, true, false, 2)
	X := mat.NewDense(6, 1, x)
	Y := mat.NewDense(6, 2, nil)
	for i := range y {
		Y.SetRow(i, y[i])
	}
	in := input(m, &dataset.Dataset{Name: "train", Shape: []int{1}, X: X, Y: Y}, 0.1, ir.Patterns{Mode: ir.Exact, Max: 1000})
	rule, dl := derive.Select(in)
	if rule == nil || rule.Vector == nil {
		t.Fatalf("no vector rule: %v", dl)
	}
	vp, dl := rule.Vector.Build(in)
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	return vp
}

// TestSpecERelaxationsConic: relaxations (a) and (b) of check (E), canonicalised
// (compiler/canon: NUC blocks, COP rows), written to the SCS, JSON and CBF formats and
// read back (the CBF file converted to the SCS form by its reader), solve with CVXOPT
// to the reference values (a) 0.52363929 and (b) 1.66237474 of the check (8 digits),
// and with the native conic solver to 5e-8 ((b) with CNNC_LONG=1).
func TestSpecERelaxationsConic(t *testing.T) {
	vp := specEProgram(t)
	for _, tc := range []struct {
		r    convex.Relax
		want float64
	}{{convex.RelaxGated, 0.52363929}, {convex.RelaxCopositive, 1.66237474}} {
		prog, err := vp.Relaxation(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		cp, _, err := canon.Canonicalize(prog)
		if err != nil {
			t.Fatal(err)
		}
		var sb, jb, cb bytes.Buffer
		if err := scs.Write(&sb, scs.NewFile(cp, 1e-9)); err != nil {
			t.Fatal(err)
		}
		if err := cbf.Write(&cb, cp); err != nil {
			t.Fatal(err)
		}
		cf, err := cbf.Read(&cb)
		if err != nil {
			t.Fatal(err)
		}
		// the CBF file converted back to the SCS form by the reader (not the writer)
		cq, err := cf.Problem()
		if err != nil {
			t.Fatal(err)
		}
		if err := conic.WriteJSON(&jb, cp); err != nil {
			t.Fatal(err)
		}
		sf, err := scs.Read(&sb)
		if err != nil {
			t.Fatal(err)
		}
		jp, err := conic.ReadJSON(&jb)
		if err != nil {
			t.Fatal(err)
		}
		// the native conic solver (first-order method for PSD cones at tol 1e-7: the
		// objective to ~5e-8); relaxation (b) takes ~30 000 iterations, so CNNC_LONG
		if tc.r == convex.RelaxGated || os.Getenv("CNNC_LONG") != "" {
			nat, err := NativeConic(cp, SolverSettings{Tol: 1e-7}, solver.Nop{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(nat.Primal-tc.want) > 5e-8 || nat.Status != solver.Optimal {
				t.Errorf("%v: native conic %.10g (%s), reference %.8f", tc.r, nat.Primal, nat.Status, tc.want)
			}
			t.Logf("%v: native conic %.10g (%d iterations); cones l=%d, %d PSD blocks of order %d", tc.r, nat.Primal, nat.Iterations, cp.Cones.L, len(cp.Cones.S), cp.Cones.S[0])
		}
		if err := conictest.Available(); err != nil {
			t.Logf("CVXOPT check skipped: %v", err)
			continue
		}
		for name, q := range map[string]*conic.Problem{"SCS": sf.Problem, "JSON": jp, "CBF": cq} {
			r, _ := conictest.SolveCVXOPT(t, q)
			if r.Status != "optimal" || math.Abs(r.Objective-tc.want) > 5e-9 {
				t.Errorf("%v, %s file: CVXOPT %.10g (%s), reference %.8f", tc.r, name, r.Objective, r.Status, tc.want)
			}
		}
	}
}

// TestVectorTimeLimit: a vector solve honours SolverSettings.TimeLimit on every
// path (exact column generation, gated relaxation (a), the scalable path): it
// returns status time_limit (never optimal) with a network whose objective is the
// upper bound and a certified lower bound below it.
func TestVectorTimeLimit(t *testing.T) {
	cs := vecCases()
	for _, k := range []int{0, 2, 5} {
		tc := cs[k]
		r := rand.New(rand.NewSource(int64(40 + k)))
		m := vecModel(tc.in, tc.cnn, tc.kernel, tc.act, tc.hb, tc.ob, tc.c)
		ds := vecData(r, tc.n, tc.in, tc.c)
		in := input(m, ds, tc.beta, tc.pat)
		in.Train.Loss = tc.loss
		out, err := Run(in, Options{Settings: SolverSettings{Tol: 1e-12, TimeLimit: time.Nanosecond}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		v := out.Vector
		if out.Status != solver.TimeLimit || v == nil || out.Weights == nil {
			t.Fatalf("%s: status %s, vector outcome %v, weights %v", tc.name, out.Status, v != nil, out.Weights != nil)
		}
		obj, _, _, err := network.Objective(m, out.Weights, ds.X, ds.Y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(obj-v.Upper) > 1e-12*math.Abs(obj) || !(v.Lower <= v.Upper) {
			t.Errorf("%s: bracket [%.12g, %.12g], network objective %.12g", tc.name, v.Lower, v.Upper, obj)
		}
	}
}
