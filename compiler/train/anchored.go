package train

// The fixed-output-weight relaxation (§11, docs/math/11-fixed-output.md) has its own
// path through Run: no patterns, no pruning, no dual certificate of §1.3. It is
// solved by the structured interior-point method of backend/native/anchored
// (Options.Anchored; `solver conic` canonicalises it and uses Options.Conic), the
// filter is recovered into weights.json, and the certificate of §11 is computed
// from those weights alone: the network's outputs f_i(ŵ) are recomputed by the
// forward pass of compiler/network and compared with the targets. When every
// |y_i − f_i(ŵ)| ≤ ZeroLossTol·max(1, ‖y‖∞) the network has zero training loss (up to
// that tolerance), so it is a global minimum of the non-convex training problem,
// whose objective is a sum of squares and never below 0.

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/anchored"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// ZeroLossTol is the relative tolerance of the §11 certificate: the network is
// certified when max_i |y_i − f_i(ŵ)| ≤ ZeroLossTol·max(1, ‖y‖∞).
const ZeroLossTol = 1e-7

// AnchoredSolver solves an anchored program (§11): Solution.Vars holds "w", "t" and
// "s" (convex.Anchored), Objective is −aᵀw and Dual the solver's dual objective.
type AnchoredSolver func(p *convex.Program, s SolverSettings, rec solver.Recorder) (*Solved, error)

// NativeAnchored adapts backend/native/anchored, the structured interior-point
// method, at ε_abs = ε_rel = min(tol, 1e-6)·1e-3 (1e-9 at the default tol): the
// certificate tests equalities, so the relaxation is solved three digits tighter
// than the train block's tolerance.
func NativeAnchored(p *convex.Program, s SolverSettings, rec solver.Recorder) (*Solved, error) {
	if p.Anchored == nil {
		return nil, errors.New("train: not an anchored program")
	}
	tol := s.Tol
	if !(tol > 0) || tol > 1e-6 {
		tol = 1e-6
	}
	r, err := anchored.Solve(p.Anchored, p.Y, anchored.Settings{Tol: tol * 1e-3, MaxIters: s.MaxIters, Context: s.Context}, rec)
	if err != nil {
		return nil, err
	}
	sol := &convex.Solution{Vars: map[string][]float64{convex.AnchoredW: r.W, convex.AnchoredT: r.T}}
	if r.S != nil {
		sol.Vars[convex.AnchoredS] = r.S
	}
	return &Solved{Status: r.Status, Solution: sol, Objective: r.Primal, Dual: r.Dual, Iterations: r.Iterations}, nil
}

// ZeroLoss is the certificate of the fixed-output relaxation (§11), computed from
// the recovered weights alone.
type ZeroLoss struct {
	Certified bool
	// MaxAbs is max_i |y_i − f_i(ŵ)|, at sample Worst; MaxSlack is max_i (y_i −
	// f_i(ŵ)) (the largest unexplained target) and MaxExcess max_i (f_i(ŵ) − y_i).
	MaxAbs, MaxSlack, MaxExcess float64
	Worst                       int
	Tol                         float64 // absolute: ZeroLossTol·max(1, ‖y‖∞)
	Relaxation                  float64 // aᵀŵ, the relaxation's value
	Eps                         float64 // the noise budget ε
	// Unique (only when Certified): the zero-loss filter is locally unique — every
	// patch is off its ReLU kink by more than KinkMargin (relative) and the active
	// pieces J_i = Σ_{k: x_ikᵀŵ > 0} c_k x_ik have rank H (Rank), so f is linear near
	// ŵ and f(ŵ + d) = y forces Jd = 0, d = 0. Margin is min |x_ikᵀŵ|/(‖x_ik‖‖ŵ‖).
	Unique bool
	Rank   int
	Margin float64
	// Polish is ‖w' − ŵ‖ when the solver's filter ŵ was polished (anchored.Polish:
	// one exact solve on its active pieces), 0 when it was not.
	Polish float64
	Why    string // the verdict in a sentence
}

// polishedSolution is sol with the filter wp and t = (Xwp)₊ (s unchanged).
func polishedSolution(prog *convex.Program, sol *convex.Solution, wp []float64) *convex.Solution {
	a := prog.Anchored
	out := &convex.Solution{Vars: map[string][]float64{}}
	for k, v := range sol.Vars {
		out.Vars[k] = v
	}
	out.Vars[convex.AnchoredW] = wp
	t := make([]float64, prog.N*a.K)
	for r := range t {
		z := 0.0
		for j, x := range a.X.RawRowView(r) {
			z += x * wp[j]
		}
		t[r] = math.Max(0, z)
	}
	out.Vars[convex.AnchoredT] = t
	return out
}

// runAnchored is Run for an anchored program.
func runAnchored(in *derive.Input, rule *derive.Rule, prog *convex.Program, name string, settings SolverSettings, opts Options, rec solver.Recorder, out *Outcome, start time.Time) (*Outcome, error) {
	var sol *convex.Solution
	if name == "conic" {
		if opts.Conic == nil {
			return out, errors.New("train: no conic solver configured")
		}
		prob, m, err := canon.Canonicalize(prog)
		if err != nil {
			return out, err
		}
		cs := settings
		if !(cs.Tol > 0) || cs.Tol > 1e-6 {
			cs.Tol = 1e-6
		}
		cs.Tol *= 1e-3
		r, err := opts.Conic(prob, cs, rec)
		if err != nil {
			return out, err
		}
		if len(r.X) != prob.N {
			return out, fmt.Errorf("train: conic solver returned %d values for %d columns (status %s)", len(r.X), prob.N, r.Status)
		}
		out.Status, out.SolverName, out.Iterations = r.Status, "conic", r.Iterations
		out.RestrictedDual = r.Dual
		sol = m.Solution(r.X)
	} else {
		solve := opts.Anchored
		if solve == nil {
			solve = NativeAnchored
		}
		r, err := solve(prog, settings, rec)
		if err != nil {
			return out, err
		}
		out.Status, out.SolverName, out.Iterations = r.Status, "native anchored (structured interior point)", r.Iterations
		out.RestrictedDual = r.Dual
		sol = r.Solution
	}
	out.ConvexObjective = prog.Objective(sol)
	polish := 0.0
	if prog.Anchored.Eps == 0 && (out.Status == solver.Optimal || out.Status == solver.Inaccurate) {
		w0 := sol.Vars[convex.AnchoredW]
		if wp, ok := anchored.Polish(prog.Anchored, prog.Y, w0); ok {
			for j := range wp {
				polish = math.Hypot(polish, wp[j]-w0[j])
			}
			sol = polishedSolution(prog, sol, wp)
		}
	}
	out.Solution = sol
	out.DualObjective = out.RestrictedDual
	out.DualSource = "solver dual of the relaxation (bounds −aᵀw over the relaxation's set; it is not a bound on the training loss — see the zero-loss certificate)"
	out.Sizes = prog.Sizes()
	w, err := rule.Recover(in, prog, sol)
	if err != nil {
		var l diag.List
		if errors.As(err, &l) {
			out.Diagnostics = append(out.Diagnostics, l...)
		}
		return out, err
	}
	out.Weights = w
	out.ActiveNeurons = 1
	obj, loss, pen, err := network.Objective(in.Model, w, in.Data.X, in.Data.Y)
	if err != nil {
		return out, fmt.Errorf("train: evaluating the recovered network: %v", err)
	}
	out.NonconvexObjective, out.Loss, out.Penalty = obj, loss, pen
	z, err := ZeroLossCertificate(in, w, prog)
	if err != nil {
		return out, err
	}
	if out.Status == solver.Unbounded {
		z.Certified = false
		z.Why = "The relaxation is unbounded: the patches do not pin down the filter (too few samples for the filter length, or patches that leave a direction free), so nothing is recovered; add samples. " + z.Why
	}
	z.Polish = polish
	if polish > 0 {
		z.Why += fmt.Sprintf(" (The interior-point filter fitted the targets to %.0e and was polished by one exact least-squares solve on its active ReLU pieces, which moved it by %.2e; anchored.Polish.)", anchored.PolishTrigger, polish)
	}
	out.ZeroLoss = z
	out.Planted = plantedFor(in, prog, w)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// Planted compares the recovered filter with the hidden filter of `synthetic
// planted` data (lang/dataset.Teacher), when the teacher sits in the model's conv.
type Planted struct {
	Filter  []float64        // w*
	Error   float64          // ‖ŵ − w*‖₂ (the conv bias, if any, counts with w* = 0 there)
	Noise   float64          // σ of the data
	Weights *network.Weights // the teacher as a network of the same model (weights.json format)
}

func plantedFor(in *derive.Input, prog *convex.Program, w *network.Weights) *Planted {
	t := in.Data.Teacher
	if t == nil || prog.Anchored == nil || t.Layer != prog.Anchored.Layer {
		return nil
	}
	conv := w.Tensor(fmt.Sprintf("L%d.weight", t.Layer))
	if conv == nil || len(conv.Data) != len(t.Filter) {
		return nil
	}
	s := 0.0
	for j, v := range conv.Data {
		s += (v - t.Filter[j]) * (v - t.Filter[j])
	}
	if b := w.Tensor(fmt.Sprintf("L%d.bias", t.Layer)); b != nil {
		for _, v := range b.Data {
			s += v * v
		}
	}
	p := &Planted{Filter: append([]float64(nil), t.Filter...), Error: math.Sqrt(s), Noise: t.Noise}
	f := append([]float64(nil), t.Filter...)
	if prog.Anchored.H == len(f)+1 {
		f = append(f, 0) // the teacher has no bias
	}
	if tw, err := derive.FixedOutNetwork(in, f); err == nil {
		p.Weights = tw
	}
	return p
}

// KinkMargin is the smallest relative distance |x_ikᵀŵ|/(‖x_ik‖‖ŵ‖) of a patch from
// its ReLU kink for the uniqueness test.
const KinkMargin = 1e-9

// localRank returns the rank of J (rows Σ_{k : x_ikᵀw > 0} c_k x_ik; singular values
// above 1e-10·σ_max) and the smallest relative margin of a patch from its kink.
func localRank(a *convex.Anchored, n int, w []float64) (int, float64) {
	J := mat.NewDense(n, a.H, nil)
	wn := mat.Norm(mat.NewVecDense(len(w), w), 2)
	margin := math.Inf(1)
	for k := 0; k < a.K; k++ {
		for i := 0; i < n; i++ {
			x := a.X.RawRowView(k*n + i)
			z := 0.0
			for j, v := range x {
				z += v * w[j]
			}
			if xn := mat.Norm(mat.NewVecDense(len(x), x), 2); xn > 0 && wn > 0 && a.C[k] != 0 {
				margin = math.Min(margin, math.Abs(z)/(xn*wn))
			}
			if z > 0 {
				row := J.RawRowView(i)
				for j, v := range x {
					row[j] += a.C[k] * v
				}
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(J, mat.SVDNone) {
		return 0, margin
	}
	sv := svd.Values(nil)
	if len(sv) == 0 || !(sv[0] > 0) {
		return 0, margin
	}
	return svd.Rank(1e-10 * sv[0]), margin
}

// ZeroLossCertificate recomputes the network's outputs from the weights w alone (the
// forward pass of compiler/network) and compares them with the training targets
// (§11's certificate). prog is the anchored program (its patches for the uniqueness
// test, the anchor and ε for the report).
func ZeroLossCertificate(in *derive.Input, w *network.Weights, prog *convex.Program) (*ZeroLoss, error) {
	if prog == nil || prog.Anchored == nil {
		return nil, errors.New("train: the zero-loss certificate needs an anchored program")
	}
	yhat, err := network.Forward(in.Model, w, in.Data.X)
	if err != nil {
		return nil, fmt.Errorf("train: forward pass of the recovered network: %v", err)
	}
	n, _ := yhat.Dims()
	z := &ZeroLoss{Worst: -1, MaxSlack: math.Inf(-1), MaxExcess: math.Inf(-1), Relaxation: math.NaN()}
	ymax := 0.0
	for i := 0; i < n; i++ {
		y, f := in.Data.Y.At(i, 0), yhat.At(i, 0)
		ymax = math.Max(ymax, math.Abs(y))
		d := y - f
		z.MaxSlack = math.Max(z.MaxSlack, d)
		z.MaxExcess = math.Max(z.MaxExcess, -d)
		if math.Abs(d) > z.MaxAbs || z.Worst < 0 || math.IsNaN(d) {
			z.MaxAbs, z.Worst = math.Abs(d), i
		}
	}
	z.Tol = ZeroLossTol * math.Max(1, ymax)
	var filter []float64
	z.Eps = prog.Anchored.Eps
	if conv := w.Tensor(fmt.Sprintf("L%d.weight", prog.Anchored.Layer)); conv != nil {
		filter = append([]float64(nil), conv.Data...)
		if b := w.Tensor(fmt.Sprintf("L%d.bias", prog.Anchored.Layer)); b != nil {
			filter = append(filter, b.Data...)
		}
		z.Relaxation = prog.Anchored.Value(filter)
	}
	z.Certified = z.MaxAbs <= z.Tol
	if z.Certified && len(filter) == prog.Anchored.H {
		z.Rank, z.Margin = localRank(prog.Anchored, n, filter)
		z.Unique = z.Rank == prog.Anchored.H && z.Margin > KinkMargin
	}
	switch {
	case z.Certified && z.Unique:
		z.Why = fmt.Sprintf("Global minimum certified: the network's outputs, recomputed from its weights, equal every one of the %d targets to %.2e (tolerance %.1e), so its training loss ½Σ(f(xᵢ) − yᵢ)² is 0 up to rounding; no network has a negative loss, so it is a global minimum of the non-convex training problem (§11, docs/math/11-fixed-output.md). It is locally unique: no patch sits at a ReLU kink (smallest relative margin %.1e) and the active pieces have full rank %d, so every other filter near it has a positive loss.", n, z.MaxAbs, z.Tol, z.Margin, z.Rank)
	case z.Certified:
		z.Why = fmt.Sprintf("Global minimum certified, but not unique: the network's outputs, recomputed from its weights, equal every one of the %d targets to %.2e (tolerance %.1e), so its training loss is 0 and it is a global minimum of the non-convex training problem (§11, docs/math/11-fixed-output.md); but its active ReLU pieces have rank %d < %d (or a patch sits at a kink, relative margin %.1e), so other zero-loss filters exist arbitrarily close to it and the data do not determine the filter (too few samples): it need not be the filter that generated the data.", n, z.MaxAbs, z.Tol, z.Rank, prog.Anchored.H, z.Margin)
	default:
		z.Why = fmt.Sprintf("Recovery not certified: the largest gap between a target and the network's output is %.3e at sample %d (tolerance %.1e; largest slack y − f = %.3e, largest excess f − y = %.3e), so the relaxation's filter does not fit the data exactly and nothing says it is a global minimum of the training loss.", z.MaxAbs, z.Worst, z.Tol, z.MaxSlack, z.MaxExcess)
		if z.Eps > 0 {
			z.Why += fmt.Sprintf(" With a noise budget (ε = %.4g) exact fit is not expected: the filter is the relaxation's estimate, within O(noise) of a planted one.", z.Eps)
		}
	}
	return z, nil
}
