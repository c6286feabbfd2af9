package group

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/lang/budget"
)

// Settings of the solver. A zero field takes the default written next to it; this is
// the one place the defaults live.
type Settings struct {
	// Tol: relative duality gap. Optimal needs (Primal − Dual) ≤ Tol·max(1, |Primal|),
	// where Primal is the objective of the returned (restored, feasible) point and Dual
	// the certified lower bound. Default 1e-6.
	Tol float64
	// TolFeas: scaled constraint violation. Optimal also needs
	// max_{b,r} (−𝒞_b x_b)_r ≤ TolFeas·max(1, ‖y‖∞) at the AL iterate (before
	// restoration). Default 1e-6.
	TolFeas float64
	// MaxIter: total inner (FISTA) iterations. Default 50 000.
	MaxIter int
	// MaxOuter: augmented-Lagrangian outer iterations. Default 200.
	MaxOuter int
	// MaxMemory is the memory budget (lang/budget: > 0 bytes, 0 the default, < 0
	// none) for the Newton systems' per-block matrices (NewtonBytes), checked
	// before the first solve.
	MaxMemory int64
	// TimeLimit: wall-clock limit; 0 means none. Default 0.
	TimeLimit time.Duration
	// Context, when set, ends the solve early (solver.Stop): it is polled once per
	// IPM, Newton or every 16 FISTA iterations, and the best certified point so far
	// is returned with status interrupted or time_limit. nil: never.
	Context context.Context

	// Delta0: initial AL penalty δ. Default (0): DeltaScale·L_loss/‖C‖₂², with
	// L_loss = ‖𝒫‖₂² (largest eigenvalue of the loss Hessian, 30 power iterations) and
	// ‖C‖₂ the largest singular value over the families' C, so the penalty Hessian is
	// DeltaScale times as stiff as the loss.
	Delta0 float64
	// DeltaScale: see Delta0. Default 1.
	DeltaScale float64
	// DeltaGrow: δ ← DeltaGrow·δ after an outer iteration whose violation did not fall
	// below DeltaDecrease × the previous one. Default 4.
	DeltaGrow float64
	// DeltaDecrease: see DeltaGrow. Default 0.25.
	DeltaDecrease float64
	// DeltaMax: cap on δ, relative to δ₀. Default 1e6.
	DeltaMax float64

	// InnerTol0: first inner tolerance, relative to β: the inner solve stops when the
	// largest block gradient-mapping norm ‖(y_b − x⁺_b)/η‖ ≤ InnerTol·β. Default 1e-2.
	InnerTol0 float64
	// InnerTolDecay: InnerTol ← max(InnerTolMin, InnerTolDecay·InnerTol) after every
	// outer iteration. Default 0.2.
	InnerTolDecay float64
	// InnerTolMin: floor of the inner tolerance. Default 1e-9.
	InnerTolMin float64

	// Backtrack: FISTA line-search factor η ← Backtrack·η. Default 0.8 (§3.3).
	Backtrack float64
	// StepGrow, GrowThreshold: after an accepted step with local curvature estimate
	// L̂ = 2·Bregman/‖x⁺ − y‖², grow η ← StepGrow·η when 1/η ≥ GrowThreshold·L̂
	// (Lassplore rule, §3.3). Defaults 1.25 and 2.
	StepGrow      float64
	GrowThreshold float64

	// RecordEvery: inner iterations (FISTA steps or Newton steps) between recorded
	// rows. Default 50.
	RecordEvery int

	// Method: "ws" (working-set primal–dual interior-point method, package doc),
	// "ipm" (structured barrier method over all blocks), "al" (augmented Lagrangian
	// with R-FISTA) or "" (default): "ws".
	Method string

	// AddPerRound (ws): at most this many violating blocks (by decreasing ρ_b) join
	// the working set per round; 0 (default): every violator, so a round adds all
	// blocks whose dual constraint fails (bounded by MaxWorkRows).
	AddPerRound int
	// MaxWorkRows (ws): the blocks added in one round stop when the working set's
	// cone rows Σ m_b would exceed this (memory: ≈ 200 bytes per row in the IPM).
	// Default 1<<22.
	MaxWorkRows int
	// InnerTol (ws): the restricted IPM stops when sᵀu ≤ InnerTol·max(1, |f|) and its
	// dual residual ‖r_d‖∞ ≤ InnerTol·max(β, ‖Ĵᵀỹ‖∞) and its primal residual
	// ‖r_p‖∞ ≤ InnerTol·max(1, ‖z‖∞). Default 1e-10.
	InnerTol float64
	// MaxInner (ws): IPM iterations per restricted solve. Default 100.
	MaxInner int
	// RowGen (ws): row generation over the cone rows of each block (package doc,
	// "Row generation"): 1 on, −1 off, 0 (default) on when a family has more than
	// 1024 cone rows (CNN programs).
	RowGen int
	// ZeroTol (ws): after a restricted solve, blocks with ‖x_b‖ ≤ ZeroTol·max‖x‖ are
	// set to zero in the candidate point (kept only if the certificate then holds;
	// otherwise the unrounded point is certified) and leave the working set. Default
	// 1e-5.
	ZeroTol float64
	// Unrounded (ws): return the certified unrounded restricted solution instead of
	// the rounded (sparser) one. The rounding keeps the objective within Tol, but
	// with a small β the rounded point's residual λ can be far from dual feasible
	// (ρ − 1 ≈ ‖𝒫‖·‖Δλ‖/β; measured ρ = 6.3 at a rounded point whose unrounded
	// point had ρ = 1), which misleads a certificate or pattern search run at it.
	// The rounding still decides which blocks leave the working set.
	Unrounded bool
	// Tau0: initial barrier weight τ₀ = Tau0·m/f(x₀), m the barrier parameter (2 per
	// block + 1 per cone row). Default 1.
	Tau0 float64
	// Mu: τ ← Mu·τ after each centering. Default 20.
	Mu float64
	// MaxNewton: Newton steps per centering. Default 50.
	MaxNewton int
	// CenterTol: centering stops when λ²/2 ≤ CenterTol (λ the Newton decrement).
	// Default 1e-3.
	CenterTol float64
}

func (s Settings) withDefaults() Settings {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&s.Tol, 1e-6)
	def(&s.TolFeas, 1e-6)
	if s.MaxIter <= 0 {
		s.MaxIter = 50000
	}
	if s.MaxOuter <= 0 {
		s.MaxOuter = 200
	}
	def(&s.DeltaScale, 1)
	def(&s.DeltaGrow, 4)
	def(&s.DeltaDecrease, 0.25)
	def(&s.DeltaMax, 1e6)
	def(&s.InnerTol0, 1e-2)
	def(&s.InnerTolDecay, 0.2)
	def(&s.InnerTolMin, 1e-9)
	def(&s.Backtrack, 0.8)
	def(&s.StepGrow, 1.25)
	def(&s.GrowThreshold, 2)
	if s.RecordEvery <= 0 {
		s.RecordEvery = 50
	}
	def(&s.Tau0, 1)
	def(&s.Mu, 20)
	if s.MaxNewton <= 0 {
		s.MaxNewton = 50
	}
	def(&s.CenterTol, 1e-3)
	if s.AddPerRound < 0 {
		s.AddPerRound = 0
	}
	if s.MaxWorkRows <= 0 {
		s.MaxWorkRows = 1 << 22
	}
	def(&s.InnerTol, 1e-10)
	if s.MaxInner <= 0 {
		s.MaxInner = 100
	}
	def(&s.ZeroTol, 1e-5)
	return s
}

// Result of Solve.
type Result struct {
	Status solver.Status
	// Solution is the returned point: the last AL iterate after feasibility restoration
	// (see package doc), Blocks[f][s] of size P×H, and the optimal output bias.
	Solution *convex.Solution
	// Objective is ½‖ŷ − y‖² + βΣ‖x_b‖ at Solution; Dual the certified lower bound
	// θλᵀy − ½θ²‖λ‖² (package doc). Objective − Dual bounds the suboptimality of
	// Solution whenever Restored is true.
	Objective, Dual float64
	// Multipliers[f][s] (Nc×P) are the cone multipliers μ ≥ 0 behind Dual (before the
	// scaling by θ); nil for families without C.
	Multipliers [][]*mat.Dense
	// Iterations counts inner (FISTA) iterations, OuterIterations AL multiplier updates.
	Iterations, OuterIterations int
	Seconds                     float64
	// MaxViolation is max_{b,r}(−𝒞_b x_b)_r at the AL iterate before restoration (the
	// restored Solution satisfies the constraints up to rounding when Restored).
	MaxViolation float64
	// GradNorm is the KKT stationarity residual at the AL iterate: the largest, over
	// blocks, minimum-norm element of ∇_b(½‖ŷ−y‖²) − 𝒞_bᵀμ_b + β∂‖x_b‖.
	GradNorm float64
	// Restored is true when every violated block could be moved into its cone along its
	// gate, so Objective is the objective of a feasible point (a true upper bound).
	Restored bool
	// Delta is the final AL penalty (method al).
	Delta float64
	// Method is the method used: "ws", "ipm" or "al".
	Method string
	// Support (ws) is the number of nonzero blocks of Solution; MaxRatio the largest
	// certificate ratio ρ_b = max_{u∈B₂∩𝒦_b} s_b λᵀ𝒫_b u / β (or the upper bound on it
	// that rhoAll used) over all blocks at the λ whose dual bound certifies Solution:
	// Solution's own λ, or, when Solution is the rounded restricted solution, that of
	// the unrounded one (package doc, "Method ws").
	Support  int
	MaxRatio float64
	// DualPoint (ws) is the dual point λ that certifies Dual, DualRho the upper bound
	// on its ρ over every block of the program (certify.SafeBound's input) and Bound
	// the safe bound's parts: a caller (or `cnnc verify`) can recompute ρ(λ) and the
	// bound independently.
	DualPoint []float64
	DualRho   float64
	Bound     certify.Bound
}

// solver state.
type run struct {
	set   Settings
	fams  []*fam
	n     int
	y     []float64
	beta  float64
	bias  bool
	delta float64
	gam   [][]float64 // per family: Γ (Nc × S·P)
	prog  *convex.Program
	loss  certify.Loss

	x, xp, yv, xn    []*state
	grad             []blas64.General
	work, workC      [][]float64
	resX, resY, resN []float64
	yhat             []float64
	eta              float64
}

// Solve minimises the program with the augmented Lagrangian method and R-FISTA inner
// solves (package doc). warm (optional) gives starting blocks; families and copies
// must match p, and a warm block matrix may have fewer rows (patterns) than p: the
// missing patterns start at zero. rec may be nil.
// NewtonBytes is the memory of the per-block matrices of the IPM's Newton systems
// when the working set holds every block (linsys: B_k, its inverse and the block's
// Gram term, (H+1)² floats each, and per pattern the copies' products, about
// 3(H+1)² more): the size that can grow with the features per block, checked before
// the first solve. hmax is the largest H.
func NewtonBytes(p *convex.Program) (int64, int) {
	var floats int64
	hmax := 0
	for _, f := range p.Families {
		h1 := int64(f.H + 1)
		floats += int64(f.Patterns()) * int64(len(f.Signs)) * 6 * h1 * h1
		hmax = max(hmax, f.H)
	}
	return budget.Mul(floats, 8), hmax
}

func Solve(p *convex.Program, warm *convex.Solution, s Settings, rec solver.Recorder) (*Result, error) {
	start := time.Now()
	fams, err := setup(p)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = solver.Nop{}
	}
	s = s.withDefaults()
	loss, err := certify.ProgramLoss(p)
	if err != nil {
		return nil, err
	}
	if need, hmax := NewtonBytes(p); need > 0 {
		if err := budget.Check(s.MaxMemory, need,
			fmt.Sprintf("the group solver's per-block Newton matrices (about 6(H+1)² floats per block, H = %d, for a working set of every block)", hmax),
			"Use fewer patterns (`patterns sample N`) or fewer features per block: a block of H features holds H² floats in every Newton system."); err != nil {
			return nil, err
		}
	}
	r := &run{set: s, fams: fams, n: p.N, y: p.Y, beta: p.Beta, bias: p.OutputBias, prog: p, loss: loss}
	r.alloc()
	if err := r.warm(p, warm); err != nil {
		return nil, err
	}
	yinf := 0.0
	for _, v := range p.Y {
		yinf = math.Max(yinf, math.Abs(v))
	}
	feasScale := math.Max(1, yinf)

	method := s.Method
	if loss.Kind != certify.Squared && method != "" && method != "ws" {
		return nil, fmt.Errorf("group: method %q handles squared loss only; %s loss needs method ws", method, loss.Kind)
	}
	if r.hasMaps() && (loss.Kind != certify.Squared || (method != "" && method != "ws")) {
		return nil, fmt.Errorf("group: program %q has CostMaps block costs, which the structured solver handles with method ws and squared loss only (method %q, %s loss); use the conic solver", p.Model, method, loss.Kind)
	}
	switch method {
	case "", "ws":
		method = "ws"
	case "ipm":
		if !usable(fams) {
			return nil, fmt.Errorf("group: method ipm needs Gates strictly inside every pattern's cone (program %q); use method al", p.Model)
		}
	case "al":
	default:
		return nil, fmt.Errorf("group: unknown method %q (want \"ws\", \"ipm\", \"al\" or \"\")", s.Method)
	}
	if method == "ws" {
		rec.Begin(fmt.Sprintf("cnnc group solver (working-set primal–dual IPM): %s, %d families, n = %d, β = %g", p.Model, len(fams), p.N, p.Beta))
		return r.solveWS(start, feasScale, rec)
	}
	if method == "ipm" {
		rec.Begin(fmt.Sprintf("cnnc group solver (structured barrier method): %s, %d families, n = %d, β = %g", p.Model, len(fams), p.N, p.Beta))
		c, it, outer, status := r.solveIPM(start, feasScale, rec)
		res := &Result{Status: status, Solution: c.sol, Objective: c.primal, Dual: c.dual, Multipliers: c.mult,
			Iterations: it, OuterIterations: outer, MaxViolation: c.viol, GradNorm: c.kkt, Restored: c.restored,
			Method: "ipm", Seconds: time.Since(start).Seconds()}
		rec.End(status, solver.Iterate{Iter: it, PrimalRes: c.viol, DualRes: c.kkt, Gap: c.gap / math.Max(1, math.Abs(c.primal)), Objective: c.primal, Elapsed: time.Since(start)})
		return res, nil
	}

	lloss, cnorm2 := r.estimates()
	r.delta = s.Delta0
	if r.delta <= 0 {
		r.delta = 1
		if cnorm2 > 0 {
			r.delta = s.DeltaScale * lloss / cnorm2
		}
	}
	delta0 := r.delta
	r.eta = 1 / (lloss + r.delta*cnorm2)

	rec.Begin(fmt.Sprintf("cnnc group solver (AL + R-FISTA): %s, %d families, n = %d, β = %g", p.Model, len(fams), p.N, p.Beta))
	res := &Result{}
	innerTol := s.InnerTol0
	prevViol := math.Inf(1)
	lastGap := math.Inf(1)
	total := 0
	status := solver.IterationLimit
	var c cert
	for outer := 0; ; outer++ {
		budget := s.MaxIter - total
		var deadline time.Time
		if s.TimeLimit > 0 {
			deadline = start.Add(s.TimeLimit)
		}
		it, timedOut, stop := r.inner(innerTol*r.beta, budget, deadline, start, total, lastGap, rec)
		total += it
		c = r.certify()
		lastGap = c.gap / math.Max(1, math.Abs(c.primal))
		rec.Record(solver.Iterate{Iter: total, PrimalRes: c.viol, DualRes: c.kkt, Gap: lastGap, Objective: c.primal, Elapsed: time.Since(start)})
		res.OuterIterations = outer + 1
		feasOK := c.viol <= s.TolFeas*feasScale
		if feasOK && c.gap <= s.Tol*math.Max(1, math.Abs(c.primal)) {
			status = solver.Optimal
			break
		}
		if timedOut {
			status = solver.TimeLimit
			break
		}
		if stop != "" {
			status = stop
			break
		}
		if total >= s.MaxIter || outer+1 >= s.MaxOuter {
			status = solver.IterationLimit
			break
		}
		// Multiplier step Γ ← (Γ − δ·Sign∘Q)_+ and δ schedule.
		for i, fm := range r.fams {
			fm.multipliers(r.x[i], r.gam[i], r.delta, r.gam[i])
		}
		if c.viol > s.DeltaDecrease*prevViol && c.viol > s.TolFeas*feasScale && r.delta*s.DeltaGrow <= s.DeltaMax*delta0 {
			r.delta *= s.DeltaGrow
		}
		prevViol = c.viol
		innerTol = math.Max(s.InnerTolMin, innerTol*s.InnerTolDecay)
	}
	res.Status = status
	res.Solution = c.sol
	res.Objective = c.primal
	res.Dual = c.dual
	res.Multipliers = c.mult
	res.Iterations = total
	res.MaxViolation = c.viol
	res.GradNorm = c.kkt
	res.Restored = c.restored
	res.Delta = r.delta
	res.Method = "al"
	res.Seconds = time.Since(start).Seconds()
	rec.End(status, solver.Iterate{Iter: total, PrimalRes: c.viol, DualRes: c.kkt, Gap: lastGap, Objective: c.primal, Elapsed: time.Since(start)})
	return res, nil
}

func (r *run) alloc() {
	nf := len(r.fams)
	mk := func() []*state {
		out := make([]*state, nf)
		for i, fm := range r.fams {
			out[i] = fm.newState()
		}
		return out
	}
	r.x, r.xp, r.yv, r.xn = mk(), mk(), mk(), mk()
	r.grad = make([]blas64.General, nf)
	r.work = make([][]float64, nf)
	r.workC = make([][]float64, nf)
	r.gam = make([][]float64, nf)
	for i, fm := range r.fams {
		sp := fm.S * fm.P
		r.grad[i] = blas64.General{Rows: sp, Cols: fm.H, Stride: fm.H, Data: make([]float64, sp*fm.H)}
		r.work[i] = make([]float64, fm.Np*sp)
		if fm.Nc > 0 && !fm.shared {
			r.workC[i] = make([]float64, fm.Nc*sp)
		}
		r.gam[i] = make([]float64, fm.Nc*sp)
	}
	r.resX = make([]float64, r.n)
	r.resY = make([]float64, r.n)
	r.resN = make([]float64, r.n)
	r.yhat = make([]float64, r.n)
}

func (r *run) warm(p *convex.Program, w *convex.Solution) error {
	if w != nil && w.Blocks != nil {
		if len(w.Blocks) != len(r.fams) {
			return fmt.Errorf("group: warm start has %d families, program %q has %d", len(w.Blocks), p.Model, len(r.fams))
		}
		for i, fm := range r.fams {
			if len(w.Blocks[i]) != fm.S {
				return fmt.Errorf("group: warm start family %d has %d copies, want %d", i, len(w.Blocks[i]), fm.S)
			}
			for s, B := range w.Blocks[i] {
				if B == nil {
					continue
				}
				rows, cols := B.Dims()
				if cols != fm.H || rows > fm.P {
					return fmt.Errorf("group: warm start family %d copy %d is %d×%d, want at most %d×%d", i, s, rows, cols, fm.P, fm.H)
				}
				for q := 0; q < rows; q++ {
					for j := 0; j < cols; j++ {
						v := B.At(q, j)
						if math.IsNaN(v) || math.IsInf(v, 0) {
							return fmt.Errorf("group: warm start family %d copy %d has NaN or Inf at (%d, %d)", i, s, q, j)
						}
						r.x[i].V.Data[(s*fm.P+q)*fm.H+j] = v
					}
				}
			}
		}
	}
	for i, fm := range r.fams {
		fm.forward(r.x[i])
	}
	return nil
}

// residual computes res = Π(ŷ(st) − y) and returns ½‖res‖² (Π centres when the
// program has an output bias: the optimal bias is eliminated exactly).
func (r *run) residual(st []*state, res []float64) float64 {
	for i := range r.yhat {
		r.yhat[i] = 0
	}
	for i, fm := range r.fams {
		fm.predict(st[i], r.yhat)
	}
	mean := 0.0
	for i := range res {
		res[i] = r.yhat[i] - r.y[i]
		mean += res[i]
	}
	if r.bias {
		mean /= float64(r.n)
		for i := range res {
			res[i] -= mean
		}
	}
	s := 0.0
	for _, v := range res {
		s += v * v
	}
	return 0.5 * s
}

// phi returns the smooth AL part at st (res filled) and the largest violation.
func (r *run) phi(st []*state, res []float64) (float64, float64) {
	v := r.residual(st, res)
	viol := 0.0
	for i, fm := range r.fams {
		pen, vi := fm.penalty(st[i], r.gam[i], r.delta)
		v += r.delta * pen
		viol = math.Max(viol, vi)
	}
	return v, viol
}

func (r *run) gradAll(st []*state, res []float64) {
	for i, fm := range r.fams {
		fm.gradient(st[i], res, r.gam[i], r.delta, r.grad[i], r.work[i], r.workC[i])
	}
}

func (r *run) regSum(st []*state) float64 {
	s := 0.0
	for i, fm := range r.fams {
		V := st[i].V.Data
		for b := 0; b < fm.S*fm.P; b++ {
			s += fm.blockCost(V[b*fm.H : (b+1)*fm.H])
		}
	}
	return r.beta * s
}

func norm(v []float64) float64 {
	// scaled 2-norm, safe from overflow
	scale, ssq := 0.0, 1.0
	for _, x := range v {
		if x == 0 {
			continue
		}
		a := math.Abs(x)
		if scale < a {
			ssq = 1 + ssq*(scale/a)*(scale/a)
			scale = a
		} else {
			ssq += (a / scale) * (a / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}

// estimates returns L_loss = ‖𝒫‖₂² (power iteration on the loss Hessian, 30 steps,
// seeded start) and max_f ‖C_f‖₂².
func (r *run) estimates() (float64, float64) {
	cn := 0.0
	for _, fm := range r.fams {
		if fm.Nc == 0 {
			continue
		}
		cn = math.Max(cn, gramNorm(fm.C))
	}
	// Power iteration x ← ∇(½‖Πŷ(x)‖²) using the structured operators with Γ = 0, δ = 0.
	st := make([]*state, len(r.fams))
	for i, fm := range r.fams {
		st[i] = fm.newState()
		for j := range st[i].V.Data {
			st[i].V.Data[j] = 1 + 0.5*math.Sin(float64(7*j+3*i+1))
		}
	}
	saveY, saveD := r.y, r.delta
	r.y = make([]float64, r.n)
	r.delta = 1
	zero := make([][]float64, len(r.fams))
	for i := range zero {
		zero[i] = make([]float64, len(r.gam[i]))
	}
	saveG := r.gam
	r.gam = zero
	L := 0.0
	for k := 0; k < 30; k++ {
		nrm := 0.0
		for i := range st {
			for _, v := range st[i].V.Data {
				nrm += v * v
			}
		}
		nrm = math.Sqrt(nrm)
		if nrm == 0 {
			break
		}
		for i, fm := range r.fams {
			for j := range st[i].V.Data {
				st[i].V.Data[j] /= nrm
			}
			fm.forward(st[i])
			// Q must not contribute: zero it (the penalty is off for this estimate).
		}
		r.residual(st, r.resN)
		for i, fm := range r.fams {
			// Loss part only: build the gradient with an empty constraint set.
			nc := fm.Nc
			fm.Nc = 0
			fm.gradient(st[i], r.resN, nil, 0, r.grad[i], r.work[i], nil)
			fm.Nc = nc
		}
		L = 0
		for i := range st {
			for j, g := range r.grad[i].Data {
				L += g * st[i].V.Data[j]
			}
			copy(st[i].V.Data, r.grad[i].Data)
		}
	}
	r.y, r.delta, r.gam = saveY, saveD, saveG
	if L <= 0 {
		L = 1
	}
	return L * 1.02, cn
}

// gramNorm returns ‖C‖₂² by power iteration on CᵀC (H×H, formed explicitly).
func gramNorm(C blas64.General) float64 {
	h := C.Cols
	G := make([]float64, h*h)
	for r := 0; r < C.Rows; r++ {
		row := C.Data[r*C.Stride : r*C.Stride+h]
		for i, a := range row {
			if a == 0 {
				continue
			}
			for j, b := range row {
				G[i*h+j] += a * b
			}
		}
	}
	v := make([]float64, h)
	for i := range v {
		v[i] = 1 + 0.1*float64(i%3)
	}
	lam := 0.0
	for k := 0; k < 100; k++ {
		w := make([]float64, h)
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				w[i] += G[i*h+j] * v[j]
			}
		}
		nv := norm(w)
		if nv == 0 {
			return 0
		}
		lam = nv / norm(v)
		for i := range w {
			w[i] /= nv
		}
		v = w
	}
	return lam * 1.02
}
