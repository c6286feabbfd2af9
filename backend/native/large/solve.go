package large

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Settings of the solver; a zero field takes the default written next to it.
type Settings struct {
	// Tol: relative duality gap. Optimal needs Objective − Dual ≤ Tol·max(1, |Objective|)
	// (Dual the certified lower bound) and the feasibility test below. Default 1e-6.
	Tol float64
	// TolFeas: the returned point's largest cone violation max_{b,r}(−sgn·C_r x_b)₊
	// must be ≤ TolFeas·max(1, ‖y‖∞) for Optimal. Default 1e-6.
	TolFeas float64
	// Method: "ipm" (working set + pattern-space interior point), "al" (augmented
	// Lagrangian with accelerated proximal-gradient inner solves) or "" (auto: ipm
	// when the pattern space fits MaxGram, else al).
	Method string
	// MaxIter: total inner iterations (IPM or FISTA). Default 5000 (ipm), 100 000 (al).
	MaxIter int
	// MaxRounds: working-set rounds (ipm). Default 100.
	MaxRounds int
	// InnerTol (ipm): the restricted IPM's relative tolerance. Default 1e-10.
	InnerTol float64
	// MaxInner (ipm): IPM iterations per restricted solve. Default 100.
	MaxInner int
	// ZeroTol (ipm): blocks with ‖x_b‖ ≤ ZeroTol·max‖x‖ leave the working set. Default 1e-5.
	ZeroTol float64
	// MaxGram: the largest pattern-space dimension Σ H over the working set's patterns
	// for which the IPM forms its nu × nu matrices (memory 16·nu² bytes). Default 8000.
	MaxGram int
	// AggMax: the largest n·P·H for which a family's aggregated operators are stored
	// (8 bytes each). Default 1<<28.
	AggMax int
	// Context ends the solve early (solver.Stop): TimeLimit or Interrupted, with the
	// best certified point so far.
	Context context.Context
	// Progress: the longest time between two progress records. Default 4 s, so that
	// the solver's own rows (with the stage it is in) come before the CLI's 5 s
	// heartbeat (solver.Heartbeat) would.
	Progress time.Duration
	// MaxMemory is the memory budget (lang/budget: > 0 bytes, 0 the default, < 0
	// none) the solver checks its dominant allocations against before making them:
	// the aggregated operators (n·Σ P·H floats), the Gram matrix and the IPM's
	// nu × nu factor (2·nu² floats). Over budget it refuses with a *budget.TooLarge.
	MaxMemory int64
}

func (s Settings) withDefaults() Settings {
	if s.Tol <= 0 {
		s.Tol = 1e-6
	}
	if s.TolFeas <= 0 {
		s.TolFeas = 1e-6
	}
	if s.MaxRounds <= 0 {
		s.MaxRounds = 100
	}
	if s.InnerTol <= 0 {
		s.InnerTol = 1e-10
	}
	if s.MaxInner <= 0 {
		s.MaxInner = 100
	}
	if s.ZeroTol <= 0 {
		s.ZeroTol = 1e-5
	}
	if s.MaxGram <= 0 {
		s.MaxGram = 8000
	}
	if s.Progress <= 0 {
		s.Progress = 4 * time.Second
	}
	return s
}

// Result of Solve.
type Result struct {
	Status solver.Status
	// Solution is the returned point: Blocks[f][s] is P×H, Bias the optimal output bias.
	Solution *convex.Solution
	// Objective is the program's objective at Solution (computed from the program's
	// data); Dual the best certified lower bound on the restricted program's optimum.
	Objective, Dual float64
	// Iterations counts inner iterations (IPM or FISTA), Rounds working-set rounds.
	Iterations, Rounds int
	Seconds            float64
	// MaxViolation is the largest relative cone violation of Solution
	// (max_{b,r}(−sgn·C_r x_b)₊/(‖C_r‖‖x_b‖)); NaN when the solve was stopped from
	// outside (the scan over every row is skipped then).
	MaxViolation float64
	// MaxRatio is max_b ρ_b (an upper bound) at the λ of the certifying point.
	MaxRatio float64
	// Support counts the nonzero blocks of Solution.
	Support int
	// Method is "ipm" or "al".
	Method string
	// Rows is the number of working cone rows at the end (ipm).
	Rows int
	// DualPoint is the dual point λ (centred with an output bias) that certifies
	// Dual, DualRho the upper bound on its ρ behind it: Dual is
	// certify.SafeBound(program, nil, DualPoint, DualRho).Value, and a caller
	// recomputes the certificate from DualPoint alone (certify.CertifyDual).
	DualPoint []float64
	DualRho   float64
	// DualMult are the cone multipliers that bound DualRho's blocks (the IPM's
	// multipliers of its working rows, nonzero ones only; nil when the bound came
	// from cone maximisations alone): certify.CertifyDualMult recomputes a valid
	// bound from DualPoint and them without maximising over every cone row, which a
	// caller needs after a stop.
	DualMult []certify.BlockMult
}

// blockX returns the x of block k in the flat block layout.
func (pr *prob) blockOff() []int {
	off := make([]int, pr.nb+1)
	for k := 0; k < pr.nb; k++ {
		off[k+1] = off[k] + pr.ph[pr.bp[k]]
	}
	return off
}

// run is the state of one solve.
type run struct {
	pr    *prob
	set   Settings
	rec   solver.Recorder
	start time.Time
	off   []int     // block offsets in x
	x     []float64 // current point, flat block layout
	c     []float64 // 𝒫ᵀỹ (pattern space)
	rows  [][]int32 // per block: working cone rows (sorted)
	gramG []float64 // full pattern Gram (nil when too big)
	iters int
	// progress state shared with the ticker goroutine (guarded by mu): the time
	// and values of the last row, and what the solve is doing
	mu       sync.Mutex
	lastRc   time.Time // last row of any kind
	lastMain time.Time // last row from the solve itself (not the ticker)
	lastIter int
	lastGap  float64
	lastObj  float64
	stage    string
	stopTick func()
	best     *point
	dual     float64
	// dualPt is the point whose λ gives dual (its lam and maxRho).
	dualPt *point
}

// point is a candidate solution with its certificate.
type point struct {
	x       []float64
	obj     float64
	dual    float64
	maxRho  float64
	rho     []float64 // per block (upper bounds)
	lam     []float64
	bias    float64
	viol    float64
	support int
	reg     float64 // Σ_k ‖x_k‖ (objectiveOnly)
	// mult: the cone multipliers behind rho (the IPM's, per block; nil when none)
	mult *multRows
}

// Solve solves the template program p (families only, ‖·‖₂ block costs, squared loss)
// and certifies the result (package doc). warm (optional) gives starting blocks; rec
// may be nil.
func Solve(p *convex.Program, warm *convex.Solution, s Settings, rec solver.Recorder) (*Result, error) {
	start := time.Now()
	s = s.withDefaults()
	pr, err := setup(p, s.AggMax, s.MaxMemory, s.Context)
	if err != nil {
		return nil, err
	}
	if st := solver.Stop(s.Context); st != "" {
		return stoppedEarly(p, warm, st, start)
	}
	if rec == nil {
		rec = solver.Nop{}
	}
	r := &run{pr: pr, set: s, rec: rec, start: start, dual: math.Inf(-1)}
	r.off = pr.blockOff()
	r.x = make([]float64, r.off[pr.nb])
	if err := r.warm(warm); err != nil {
		return nil, err
	}
	r.c = make([]float64, pr.nu)
	pr.adjoint(pr.yt, r.c)
	method := s.Method
	if method == "" {
		method = "ipm"
		if pr.nu > s.MaxGram && !r.smallSupport() {
			method = "al"
		}
	}
	switch method {
	case "ipm":
		rec.Begin(fmt.Sprintf("cnnc large solver (working set + pattern-space IPM): %s, n = %d, %d patterns, %d blocks, β = %g", p.Model, pr.n, pr.np, pr.nb, pr.beta))
		r.startTicker()
		defer r.stopTick()
		return r.solveIPM()
	case "al":
		rec.Begin(fmt.Sprintf("cnnc large solver (AL + accelerated proximal gradient): %s, n = %d, %d patterns, %d blocks, β = %g", p.Model, pr.n, pr.np, pr.nb, pr.beta))
		r.startTicker()
		defer r.stopTick()
		return r.solveAL()
	}
	return nil, fmt.Errorf("large: unknown method %q (want \"ipm\", \"al\" or \"\")", s.Method)
}

// smallSupport reports whether the warm start's support fits MaxGram (then the IPM
// can work on it even when all patterns together do not).
func (r *run) smallSupport() bool {
	nu := 0
	seen := map[int]bool{}
	for k := 0; k < r.pr.nb; k++ {
		if anyNonzero(r.x[r.off[k]:r.off[k+1]]) && !seen[r.pr.bp[k]] {
			seen[r.pr.bp[k]] = true
			nu += r.pr.ph[r.pr.bp[k]]
		}
	}
	return nu > 0 && nu <= r.set.MaxGram
}

func (r *run) warm(w *convex.Solution) error {
	if w == nil || w.Blocks == nil {
		return nil
	}
	pr := r.pr
	if len(w.Blocks) != len(pr.fams) {
		return fmt.Errorf("large: warm start has %d families, the program %d", len(w.Blocks), len(pr.fams))
	}
	for i, fm := range pr.fams {
		if len(w.Blocks[i]) != fm.S {
			return fmt.Errorf("large: warm start family %d has %d copies, want %d", i, len(w.Blocks[i]), fm.S)
		}
		for s, B := range w.Blocks[i] {
			if B == nil {
				continue
			}
			rows, cols := B.Dims()
			if cols != fm.H || rows > fm.P {
				return fmt.Errorf("large: warm start family %d copy %d is %d×%d, want at most %d×%d", i, s, rows, cols, fm.P, fm.H)
			}
			for q := 0; q < rows; q++ {
				k := pr.firstBlk[fm.off+q] + s
				for j, v := range B.RawRowView(q) {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return fmt.Errorf("large: warm start family %d copy %d has NaN or Inf at (%d, %d)", i, s, q, j)
					}
					r.x[r.off[k]+j] = v
				}
			}
		}
	}
	return nil
}

// combine sets u (pattern space) = E x.
func (r *run) combine(x, u []float64) {
	pr := r.pr
	clear(u)
	for k := 0; k < pr.nb; k++ {
		o := pr.po[pr.bp[k]]
		for j, v := range x[r.off[k]:r.off[k+1]] {
			u[o+j] += pr.bsg[k] * v
		}
	}
}

// multRows are cone multipliers μ_b ≥ 0 of some blocks over the given rows (any
// rows of the block's cone: the bound ‖g_b + M_bᵀμ_b‖ holds for every μ ≥ 0).
type multRows struct {
	rows [][]int32
	mu   [][]float64
}

// evaluate computes the objective of x from the program's data, λ = Π(y − ŷ), the
// certificate ρ_b for every block (upper bounds; mult gives optional multipliers per
// block) and the certified dual bound.
func (r *run) evaluate(x []float64, mult *multRows) *point { return r.eval(x, mult, true) }

// evaluateCheap is evaluate with the cheap bounds ‖g_b‖/β only (no cone projections):
// a valid but looser certificate.
func (r *run) evaluateCheap(x []float64) *point { return r.eval(x, nil, false) }

func (r *run) eval(x []float64, mult *multRows, exact bool) *point {
	pr := r.pr
	pt := r.objectiveOnly(x)
	pt.mult = mult
	lam := pt.lam
	// certificate
	g := make([]float64, pr.nu)
	pr.adjoint(lam, g)
	pt.rho = make([]float64, pr.nb)
	type job struct{ k int }
	var hard []int
	for k := 0; k < pr.nb; k++ {
		gp := pr.bp[k]
		gk := g[pr.po[gp] : pr.po[gp]+pr.ph[gp]]
		b := norm(gk) / pr.beta
		if b > 1 && mult != nil && mult.mu[k] != nil {
			fm := pr.fams[pr.pf[gp]]
			v := make([]float64, len(gk))
			for j := range v {
				v[j] = pr.bsg[k] * gk[j]
			}
			M := fm.rowMatrix(pr.pp[gp], mult.rows[k])
			h := fm.H
			for i := range mult.rows[k] {
				mu := mult.mu[k][i]
				for j := 0; j < h; j++ {
					v[j] += mu * M[i*h+j]
				}
			}
			b = math.Min(b, norm(v)/pr.beta)
		}
		pt.rho[k] = b
		if b > 1 && exact {
			hard = append(hard, k)
		}
	}
	// exact cone maxima where the cheap bounds exceed 1 (each block independently)
	parallel(len(hard), func(i int) {
		if r.stopped() != "" {
			return // the cheap bound stands (valid, looser)
		}
		k := hard[i]
		gp := pr.bp[k]
		fm := pr.fams[pr.pf[gp]]
		gk := make([]float64, pr.ph[gp])
		for j := range gk {
			gk[j] = pr.bsg[k] * g[pr.po[gp]+j]
		}
		rows := r.rows[k]
		if rows == nil && fm.Nc > 0 && fm.gateUnit != nil {
			rows = fm.smallestRows(pr.pp[gp], fm.gateUnit[pr.pp[gp]*fm.H:(pr.pp[gp]+1)*fm.H], pr.rowInit(fm.H), nil, -1)
			sort.Slice(rows, func(a, b int) bool { return rows[a] < rows[b] })
		}
		v, _ := fm.coneMax(pr.pp[gp], gk, &rows, 1e-9, 5)
		r.rows[k] = rows
		pt.rho[k] = math.Min(pt.rho[k], v/pr.beta)
	})
	for _, v := range pt.rho {
		pt.maxRho = math.Max(pt.maxRho, v)
	}
	// rounding allowance: ρ is inflated by a relative 1e-12 (the computed g and the
	// cone projections are accurate to far better than that for n·H ≤ 1e9); the
	// bound itself is evaluated so that it holds in floating point
	// (certify.SafeBound: the best θ ≤ 1/ρ, the rounding margin of D(θλ) and, with
	// an output bias, the residual of 1ᵀλ = 0). Callers recompute it from λ alone
	// (certify.CertifyDual).
	pt.maxRho *= 1 + 1e-12
	pt.dual = certify.SafeBound(pr.p, nil, lam, pt.maxRho).Value
	return pt
}

// rowInit is the number of rows a block of width h starts with: 16h, up to 64h when
// the rows' share of an IPM iteration (Σ_k m_k h² for the per-block elimination)
// stays below a tenth of the nu³/3 Cholesky. More initial rows spare the re-solves
// after row checks (measured on Fashion-MNIST, n = 1000, 30 patterns: 42 IPM
// iterations in one solve with 64h rows against 68 in two with 16h). rowAdd is the
// most a row check adds.
func (pr *prob) rowInit(h int) int {
	nu := float64(pr.nu)
	m := int(nu * nu * nu / (30 * float64(pr.nb) * float64(h) * float64(h)))
	return min(max(m, 16*h), 64*h)
}
func rowAdd(h int) int { return 16 * h }

// rowTol: a working-set block's row is violated when its relative slack
// sgn·C_r x_b/(‖C_r‖‖x_b‖) < −rowTol.
const rowTol = 1e-9

// due reports whether a progress record from the solve is due (Progress has passed
// since its last one; the ticker's rows do not count, so an iteration slower than
// Progress still gets its row).
func (r *run) due() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastMain) >= r.set.Progress
}

// setStage names what the solve is doing, for the ticker's rows.
func (r *run) setStage(s string) {
	r.mu.Lock()
	r.stage = s
	r.mu.Unlock()
}

// startTicker starts the goroutine that records a row whenever Progress has passed
// without one (during the Gram pass, the row work, the certificate's projections:
// phases without iterations), repeating the last row's values with the stage;
// r.stopTick ends it (idempotent; result calls it before End).
func (r *run) startTicker() {
	done, exited := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.stopTick = func() {
		once.Do(func() { close(done) })
		<-exited // no row after the caller's End
	}
	r.mu.Lock()
	r.lastGap, r.lastObj = math.Inf(1), math.NaN()
	if r.best != nil {
		r.lastObj = r.best.obj
	}
	r.mu.Unlock()
	go func() {
		defer close(exited)
		t := time.NewTicker(max(r.set.Progress/5, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				r.mu.Lock()
				select {
				case <-done:
					r.mu.Unlock()
					return
				default:
				}
				if now.Sub(r.lastRc) >= r.set.Progress {
					r.lastRc = now
					r.rec.Record(solver.Iterate{Iter: r.lastIter, Gap: r.lastGap, Objective: r.lastObj, Elapsed: now.Sub(r.start), Extra: r.stage})
				}
				r.mu.Unlock()
			}
		}
	}()
}

// progress records a row when one is due (or force) at the current iteration count.
// obj is ignored: every row shows the best certified point's objective.
func (r *run) progress(force bool, obj float64, extra string) {
	if force || r.due() {
		r.progressAt(r.iters, extra)
	}
}

// progressAt records a row: the iteration, the objective of the best feasible point
// so far, the certified relative gap (objective − best certified bound)/max(1,
// |objective|) and the elapsed time (package doc, "Status and stopping").
func (r *run) progressAt(iter int, extra string) {
	gap, obj := math.Inf(1), math.NaN()
	if r.best != nil {
		obj = r.best.obj
		gap = (r.best.obj - r.dual) / math.Max(1, math.Abs(r.best.obj))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.lastRc, r.lastMain, r.lastIter, r.lastGap, r.lastObj = now, now, iter, gap, obj
	r.rec.Record(solver.Iterate{Iter: iter, Gap: gap, Objective: obj, Elapsed: now.Sub(r.start), Extra: extra})
}

// consider records a certified point: the best dual bound so far and the best
// primal point (smallest objective among feasible ones).
func (r *run) consider(pt *point) {
	r.considerDual(pt)
	if r.best == nil || pt.obj < r.best.obj {
		r.best = pt
	}
}

// considerDual records pt's certified bound only (pt need not be feasible: the
// bound holds at any λ).
func (r *run) considerDual(pt *point) {
	if pt.dual > r.dual || r.dualPt == nil {
		r.dual = math.Max(r.dual, pt.dual)
		r.dualPt = pt
	}
}

func (r *run) certified() bool {
	return r.best != nil && r.best.obj-r.dual <= r.set.Tol*math.Max(1, math.Abs(r.best.obj))
}

// result builds the Result from r.best.
func (r *run) result(status solver.Status, method string, rounds int) (*Result, error) {
	pr := r.pr
	pt := r.best
	sol := &convex.Solution{Blocks: make([][]*mat.Dense, len(pr.fams)), Bias: pt.bias}
	// the violation scan reads every cone row of every nonzero block (n·K rows per
	// pattern for a CNN): after a stop it is skipped (MaxViolation NaN) — the stored
	// points are feasible by construction (restricted solutions with no violated
	// row, or projections verified against every row) and the status is not optimal
	viol := 0.0
	scan := status == solver.Optimal || r.stopped() == ""
	if !scan {
		viol = math.NaN()
	}
	for i, fm := range pr.fams {
		sol.Blocks[i] = make([]*mat.Dense, fm.S)
		for s := 0; s < fm.S; s++ {
			B := mat.NewDense(fm.P, fm.H, nil)
			for q := 0; q < fm.P; q++ {
				k := pr.firstBlk[fm.off+q] + s
				xb := pt.x[r.off[k]:r.off[k+1]]
				copy(B.RawRowView(q), xb)
				if scan && anyNonzero(xb) {
					_, w := fm.violatedRows(q, xb, math.Inf(1), 0)
					viol = math.Max(viol, w)
				}
			}
			sol.Blocks[i][s] = B
		}
	}
	yinf := 0.0
	for _, v := range pr.y {
		yinf = math.Max(yinf, math.Abs(v))
	}
	if status == solver.Optimal && viol > r.set.TolFeas*math.Max(1, yinf) {
		status = solver.Inaccurate
	}
	rows := 0
	for _, rw := range r.rows {
		rows += len(rw)
	}
	res := &Result{Status: status, Solution: sol, Objective: pt.obj, Dual: r.dual, Iterations: r.iters, Rounds: rounds,
		Seconds: time.Since(r.start).Seconds(), MaxViolation: viol, MaxRatio: pt.maxRho, Support: pt.support, Method: method, Rows: rows}
	if d := r.dualPt; d != nil {
		res.DualPoint, res.DualRho = d.lam, d.maxRho
		res.DualMult = r.blockMults(d.mult)
	}
	if r.stopTick != nil {
		r.stopTick()
	}
	r.rec.End(status, solver.Iterate{Iter: r.iters, PrimalRes: viol, DualRes: math.Max(0, pt.maxRho-1),
		Gap: (pt.obj - r.dual) / math.Max(1, math.Abs(pt.obj)), Objective: pt.obj, Elapsed: time.Since(r.start)})
	return res, nil
}

// blockMults converts per-block multipliers to the certificate's form (nonzero ones).
func (r *run) blockMults(m *multRows) []certify.BlockMult {
	if m == nil {
		return nil
	}
	pr := r.pr
	var out []certify.BlockMult
	for k := range m.rows {
		if len(m.rows[k]) == 0 {
			continue
		}
		gp := pr.bp[k]
		b := certify.BlockMult{Family: pr.pf[gp], Pattern: pr.pp[gp], Sign: pr.bsg[k]}
		for i, row := range m.rows[k] {
			if mu := m.mu[k][i]; mu > 0 {
				b.Rows, b.Mu = append(b.Rows, int(row)), append(b.Mu, mu)
			}
		}
		if len(b.Rows) > 0 {
			out = append(out, b)
		}
	}
	return out
}

func (r *run) stopped() solver.Status { return solver.Stop(r.set.Context) }

// stoppedEarly is the result of a solve stopped before its operators were formed:
// the warm start (or the zero network) with its objective from the program and the
// trivial certified bound 0 (every loss and the penalty are nonnegative).
func stoppedEarly(p *convex.Program, warm *convex.Solution, st solver.Status, start time.Time) (*Result, error) {
	sol := &convex.Solution{Blocks: make([][]*mat.Dense, len(p.Families))}
	for i, f := range p.Families {
		for c := range f.Signs {
			B := mat.NewDense(f.Patterns(), f.H, nil)
			if warm != nil && i < len(warm.Blocks) && c < len(warm.Blocks[i]) && warm.Blocks[i][c] != nil {
				r, _ := warm.Blocks[i][c].Dims()
				r = min(r, f.Patterns())
				B.Slice(0, r, 0, f.H).(*mat.Dense).Copy(warm.Blocks[i][c].Slice(0, r, 0, f.H))
			}
			sol.Blocks[i] = append(sol.Blocks[i], B)
		}
	}
	if p.OutputBias {
		yhat := p.Predict(sol)
		m := 0.0
		for i := range yhat {
			m += p.Y[i] - yhat[i]
		}
		sol.Bias = m / float64(p.N)
	}
	return &Result{Status: st, Solution: sol, Objective: p.Objective(sol), Dual: 0, Seconds: time.Since(start).Seconds(), Method: "none"}, nil
}
