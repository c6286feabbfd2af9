// Package planted runs the planted-filter experiments of §11
// (docs/math/11-fixed-output.md): one-hidden-layer CNNs with a single shared filter and
// fixed output weights c_k = 1/K, trained on `synthetic planted` data, by
//
//   - the anchored convex relaxation, through the same pipeline as `cnnc solve`
//     (a generated .cnn file checked by lang/check, data from lang/dataset,
//     compiler/train with the structured solver of backend/native/anchored), and
//   - gradient descent on the non-convex loss ½Σ_i (f_i(w) − y_i)² from a random
//     start (the baseline),
//
// and measures recovery of the hidden filter w*: success is ‖ŵ − w*‖₂ < SuccessTol.
// Sweep runs a grid of sample counts n = ratio·h with several seeds; the command
// cmd/cnnc-phase prints the success rates and plots them.
//
// Pipeline position: beside cmd/cnnc; it imports lang/check, lang/dataset,
// compiler/derive, compiler/patch and compiler/train, and nothing imports it.
//
// # Measured (the tests; docs/math/11-fixed-output.md §8 has the full sweep)
//
// Setting of the §11 table (d = 40, h = 10, stride 10, c = 1/K, 10 seeds):
// recovered and certified 0/10, 0/10, 3/10, 8/10, 8/10, 10/10, 10/10 at n/h = 1, 1.5,
// 2, 2.5, 3, 4, 5; every certified filter within 1e-15 of w*, none with error > 1e-3
// certified (TestTransitionTable, CNNC_LONG=1). Noise σ = 0.01, ε = σ√n: median
// ‖ŵ − w*‖ 0.051 at n/h = 3 and 0.021 at n/h = 10, none certified (TestNoisyRecovery,
// CNNC_LONG=1). Native optimum = CVXOPT's on the exported program to ≤ 1.5e-9 on 10
// instances (TestAgainstCVXOPT). With n < h the relaxation can return a zero-loss
// filter that is a global minimum but not w*; the certificate then reports it as not
// unique (TestUnderdetermined).
package planted

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/patch"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// SuccessTol is the recovery criterion ‖ŵ − w*‖₂ < SuccessTol (‖w*‖ = 1).
const SuccessTol = 1e-5

// Setting is one planted configuration: 1-D signals of length D, one filter of
// length H at the given Stride (K = (D − H)/Stride + 1 positions, overlap H − Stride),
// c_k = 1/K (`avgpool global · linear 1 fixed=1`), targets with noise σ; the
// relaxation's budget is ε = σ√n (`noise sigma=σ`).
type Setting struct {
	D, H, Stride int
	Sigma        float64
}

// K is the number of positions.
func (s Setting) K() int { return (s.D-s.H)/s.Stride + 1 }

func (s Setting) String() string {
	o := ""
	if ov := s.H - s.Stride; ov > 0 {
		o = fmt.Sprintf(", overlap %d", ov)
	}
	sg := ""
	if s.Sigma > 0 {
		sg = fmt.Sprintf(", σ = %g", s.Sigma)
	}
	return fmt.Sprintf("d=%d h=%d stride=%d (K=%d%s%s)", s.D, s.H, s.Stride, s.K(), o, sg)
}

// Source is the .cnn file of the instance with n samples and the given seed.
func (s Setting) Source(n int, seed int64) string {
	noise := ""
	train := ""
	if s.Sigma > 0 {
		noise = fmt.Sprintf(" noise=%g", s.Sigma)
		train = fmt.Sprintf("    noise sigma=%g\n", s.Sigma)
	}
	return fmt.Sprintf(`model planted {
    input   1x%d
    conv    %d stride=%d filters=1
    relu
    avgpool global
    linear  1 fixed=1
}
data train {
    synthetic planted n=%d seed=%d%s
}
train {
%s}
`, s.D, s.H, s.Stride, n, seed, noise, train)
}

// Input checks the instance's .cnn source and loads its data.
func Input(s Setting, n int, seed int64) (*derive.Input, error) {
	if s.H <= 0 || s.Stride <= 0 || s.D < s.H || n <= 0 {
		return nil, fmt.Errorf("planted: bad setting %+v with n = %d", s, n)
	}
	name := fmt.Sprintf("planted_d%d_h%d_s%d_n%d_seed%d.cnn", s.D, s.H, s.Stride, n, seed)
	return inputFrom(name, s.Source(n, seed))
}

// inputFrom checks a .cnn source and loads its training data.
func inputFrom(name, src string) (*derive.Input, error) {
	sf, dl := syntax.Parse(name, []byte(src))
	f, cl := check.Check(sf, check.Options{Dir: "."})
	dl = append(dl, cl...)
	if dl.HasErrors() || f == nil || f.Trained == nil {
		return nil, fmt.Errorf("planted: checking the generated file: %v", dl)
	}
	ds, _, ll := dataset.LoadFor(f.Data["train"], f.Trained, nil)
	if ll.HasErrors() || ds == nil {
		return nil, fmt.Errorf("planted: generating the data: %v", ll)
	}
	return &derive.Input{File: f, Model: f.Trained, Data: ds, Train: f.Train}, nil
}

// Result is one trial of the relaxation.
type Result struct {
	N         int
	Seed      int64
	Status    solver.Status
	Certified bool    // the report's zero-loss certificate (a global minimum)
	Unique    bool    // … and locally unique (train.ZeroLoss.Unique)
	Error     float64 // ‖ŵ − w*‖₂
	Seconds   float64 // the whole pipeline: derive, solve, recover, certify
}

// Success is ‖ŵ − w*‖ < SuccessTol.
func (r Result) Success() bool { return r.Error < SuccessTol }

// Relax runs the anchored relaxation on the instance through compiler/train.
func Relax(s Setting, n int, seed int64) (Result, error) {
	in, err := Input(s, n, seed)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	out, err := train.Run(in, train.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("planted: %s n=%d seed=%d: %v", s, n, seed, err)
	}
	r := Result{N: n, Seed: seed, Status: out.Status, Seconds: time.Since(start).Seconds(), Error: math.Inf(1)}
	if out.ZeroLoss != nil {
		r.Certified, r.Unique = out.ZeroLoss.Certified, out.ZeroLoss.Unique
	}
	if out.Planted != nil {
		r.Error = out.Planted.Error
	}
	return r, nil
}

// GDResult is one run of gradient descent.
type GDResult struct {
	Error float64 // ‖w − w*‖₂ at the end
	Loss  float64 // ½Σ(f_i(w) − y_i)² at the end
	Iters int
}

// Success is ‖w − w*‖ < SuccessTol.
func (g GDResult) Success() bool { return g.Error < SuccessTol }

// GD settings: at most GDMaxIters iterations, stopping when the loss falls below
// GDLossTol·‖y‖² or the step below 1e-16 relative.
const (
	GDMaxIters = 20000
	GDLossTol  = 1e-26
)

// GradientDescent minimises ½Σ_i (f_i(w) − y_i)², f_i(w) = Σ_k c_k (x_ikᵀw)₊, from a
// random start w₀ ~ N(0, I/h) (drawn from the seed) by gradient descent with an
// Armijo backtracking line search (the step is doubled after each accepted step and
// halved until the loss decreases by at least half the linear prediction). The
// (sub)gradient is Σ_i (f_i − y_i) Σ_k c_k 1[x_ikᵀw > 0] x_ik.
func GradientDescent(in *derive.Input, seed int64, maxIters int) (GDResult, error) {
	return gradientDescent(in, seed, nil, maxIters)
}

// gradientDescent is GradientDescent from w0 (nil: the random start).
func gradientDescent(in *derive.Input, seed int64, w0 []float64, maxIters int) (GDResult, error) {
	t := in.Data.Teacher
	if t == nil {
		return GDResult{}, fmt.Errorf("planted: the data have no planted filter")
	}
	c, err := derive.FixedOutWeights(in.Model)
	if err != nil {
		return GDResult{}, err
	}
	var conv *ir.Layer
	for _, l := range in.Model.Layers {
		if l.Kind == ir.Conv {
			conv = l
			break
		}
	}
	if conv == nil {
		return GDResult{}, fmt.Errorf("planted: no conv layer")
	}
	p, err := patch.Extract(in.Data.X, in.Model.Input(), conv.Kernel, conv.Stride, conv.Padding, false)
	if err != nil {
		return GDResult{}, err
	}
	n, K, h := p.N, p.K, p.H
	y := make([]float64, n)
	yy := 0.0
	for i := range y {
		y[i] = in.Data.Y.At(i, 0)
		yy += y[i] * y[i]
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	w := make([]float64, h)
	for j := range w {
		w[j] = r.NormFloat64() / math.Sqrt(float64(h))
	}
	if w0 != nil {
		copy(w, w0)
	}
	z := make([]float64, n*K)
	res := make([]float64, n)
	lossAt := func(w []float64) float64 {
		for i := range res {
			res[i] = -y[i]
		}
		for k := 0; k < K; k++ {
			for i := 0; i < n; i++ {
				v := dot(p.Row(k, i), w)
				z[k*n+i] = v
				if v > 0 {
					res[i] += c[k] * v
				}
			}
		}
		return 0.5 * dot(res, res)
	}
	g := make([]float64, h)
	wn := make([]float64, h)
	loss := lossAt(w)
	step := 1.0
	it := 0
	for it = 0; it < maxIters && loss > GDLossTol*math.Max(1, yy); it++ {
		for j := range g {
			g[j] = 0
		}
		for k := 0; k < K; k++ {
			for i := 0; i < n; i++ {
				if z[k*n+i] > 0 {
					axpy(res[i]*c[k], p.Row(k, i), g)
				}
			}
		}
		gg := dot(g, g)
		if gg == 0 {
			break
		}
		step *= 2
		var next float64
		for {
			for j := range wn {
				wn[j] = w[j] - step*g[j]
			}
			next = lossAt(wn)
			if next <= loss-0.5*step*gg || step < 1e-16 {
				break
			}
			step /= 2
		}
		if step < 1e-16 {
			lossAt(w) // restore z and res
			break
		}
		copy(w, wn)
		loss = next
	}
	e := 0.0
	for j := range w {
		e += (w[j] - t.Filter[j]) * (w[j] - t.Filter[j])
	}
	return GDResult{Error: math.Sqrt(e), Loss: loss, Iters: it}, nil
}

// Point is one grid point of a sweep.
type Point struct {
	Setting Setting
	Ratio   float64 // n/h
	N       int
	Relax   []Result
	GD      []GDResult // empty when the sweep skipped gradient descent
}

// RelaxRate is the fraction of trials the relaxation recovered.
func (p Point) RelaxRate() float64 {
	k := 0
	for _, r := range p.Relax {
		if r.Success() {
			k++
		}
	}
	return float64(k) / float64(len(p.Relax))
}

// GDRate is the fraction of trials gradient descent recovered.
func (p Point) GDRate() float64 {
	if len(p.GD) == 0 {
		return math.NaN()
	}
	k := 0
	for _, r := range p.GD {
		if r.Success() {
			k++
		}
	}
	return float64(k) / float64(len(p.GD))
}

// MedianError is the median ‖ŵ − w*‖ of the relaxation.
func (p Point) MedianError() float64 {
	e := make([]float64, len(p.Relax))
	for i, r := range p.Relax {
		e[i] = r.Error
	}
	return median(e)
}

// Certified counts the trials the report certified.
func (p Point) Certified() int {
	k := 0
	for _, r := range p.Relax {
		if r.Certified {
			k++
		}
	}
	return k
}

// Unique counts the trials certified as a locally unique global minimum.
func (p Point) Unique() int {
	k := 0
	for _, r := range p.Relax {
		if r.Certified && r.Unique {
			k++
		}
	}
	return k
}

// Sweep runs seeds 0..seeds−1 at n = round(ratio·h) for every ratio, with gradient
// descent from one random start per trial when gd is set. progress (may be nil) is
// called after each grid point.
func Sweep(s Setting, ratios []float64, seeds int, gd bool, progress func(Point)) ([]Point, error) {
	var out []Point
	for _, ratio := range ratios {
		n := int(math.Round(ratio * float64(s.H)))
		pt := Point{Setting: s, Ratio: ratio, N: n}
		for seed := int64(0); seed < int64(seeds); seed++ {
			r, err := Relax(s, n, seed)
			if err != nil {
				return out, err
			}
			pt.Relax = append(pt.Relax, r)
			if gd {
				in, err := Input(s, n, seed)
				if err != nil {
					return out, err
				}
				g, err := GradientDescent(in, seed, GDMaxIters)
				if err != nil {
					return out, err
				}
				pt.GD = append(pt.GD, g)
			}
		}
		out = append(out, pt)
		if progress != nil {
			progress(pt)
		}
	}
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}
