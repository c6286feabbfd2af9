package cone

import (
	"context"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
)

// Settings control Solve. The zero value of every field means "use the default";
// the defaults are listed here and nowhere else.
type Settings struct {
	EpsAbs    float64 // absolute tolerance ε_abs; default 1e-6
	EpsRel    float64 // relative tolerance ε_rel; default 1e-6
	EpsInfeas float64 // certificate tolerance ε_infeas; default 1e-8
	MaxIters  int     // iteration cap; default 100000
	// TimeLimit stops the iteration after this wall time; default 0 = none.
	TimeLimit time.Duration
	// Context, when set, ends the solve early (solver.Stop, polled every iteration
	// of either method): the last iterate is returned with status interrupted or
	// time_limit. nil: never.
	Context context.Context
	Alpha   float64 // Douglas–Rachford relaxation α ∈ (0, 2); default 1.5
	// Scale is SCS's initial dual scale (R_y = 1/Scale); default 0.1.
	Scale float64
	// RhoX is the x-block proximal weight ρ_x; default 1e-6.
	RhoX float64
	// AccelLookback is the Anderson memory; default 10; negative disables acceleration.
	AccelLookback int
	// AccelInterval applies Anderson acceleration to the map of AccelInterval
	// Douglas–Rachford steps; default 1.
	AccelInterval int
	// NoNormalize disables Ruiz equilibration (default: equilibrate).
	NoNormalize bool
	// NoAdaptiveScale keeps Scale fixed (default: adapt, refactoring when it changes).
	NoAdaptiveScale bool
	// InaccurateFactor: at an iteration or time limit, report Inaccurate when every
	// residual is within this factor of its tolerance; default 10.
	InaccurateFactor float64
	// LinearSystem chooses how the reduced system is solved: "" (default) picks the
	// block elimination of blocksys.go when its per-solve cost is below half the dense
	// one (else dense Cholesky), "dense" forces dense Cholesky, "block" forces the
	// block elimination (still falling back to dense if it fails its accuracy check).
	LinearSystem string
	// Method selects the algorithm: "" or "auto" (default) runs the interior-point
	// method (ipm.go) when every cone is zero, nonnegative or second-order and one
	// factorisation of its KKT system is affordable (≤ 2e10 flops and 5e7 floats,
	// estimated from the structure), else the first-order method; "ipm" forces the
	// interior-point method (an error for other cones); "admm" forces the first-order
	// method (operator splitting on the HSDE, as SCS).
	Method string
	// IPMEpsFactor multiplies EpsAbs and EpsRel when the interior-point method runs
	// (its last iterations are cheap and converge fast, so callers that need the dual
	// objective as a bound can ask it for more digits than the first-order method);
	// default 1.
	IPMEpsFactor float64
	// IPMMaxIters caps the interior-point iterations (MaxIters applies as well);
	// default 100.
	IPMMaxIters int
	// RecordEvery passes every RecordEvery-th iterate to the Recorder; default 25
	// (the first and last iterates are always recorded).
	RecordEvery int
}

// DefaultSettings returns the defaults spelled out.
func DefaultSettings() Settings {
	var s Settings
	s.fill()
	return s
}

func (s *Settings) fill() {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.EpsAbs, 1e-6)
	def(&s.EpsRel, 1e-6)
	def(&s.EpsInfeas, 1e-8)
	defi(&s.MaxIters, 100000)
	def(&s.Alpha, 1.5)
	def(&s.Scale, 0.1)
	def(&s.RhoX, 1e-6)
	defi(&s.AccelLookback, 10)
	defi(&s.AccelInterval, 1)
	def(&s.InaccurateFactor, 10)
	defi(&s.RecordEvery, 25)
	defi(&s.IPMMaxIters, 100)
	def(&s.IPMEpsFactor, 1)
}

// Result is the outcome of Solve, in the caller's units.
type Result struct {
	Status solver.Status

	// X, Y, S: the last iterate (x/τ, y/τ, s/τ). When Status is Infeasible or
	// Unbounded they hold the normalised certificate instead (see below).
	X, Y, S []float64

	PrimalObjective float64 // cᵀx + ½xᵀPx
	DualObjective   float64 // −bᵀy − ½xᵀPx
	// UserObjective is ObjScale·PrimalObjective + ObjOffset (docs/language.md scale).
	UserObjective float64

	PrimalRes float64 // ‖Ax + s − b‖∞
	DualRes   float64 // ‖Px + Aᵀy + c‖∞
	Gap       float64 // |xᵀPx + cᵀx + bᵀy|
	// Tolerances the three residuals were compared with.
	PrimalTol, DualTol, GapTol float64

	// Infeasibility certificate (Status Infeasible): Y with bᵀY = −1, Y ∈ K*;
	// InfeasRes = ‖AᵀY‖∞. Unboundedness certificate (Status Unbounded): X, S with
	// cᵀX = −1, S ∈ K; UnboundedRes = max(‖AX + S‖∞, ‖PX‖∞).
	InfeasRes, UnboundedRes float64

	Iterations     int
	SolveTime      time.Duration // iterations only
	SetupTime      time.Duration // equilibration and first factorisation
	Factorizations int           // number of Cholesky factorisations
	Scale          float64       // final adaptive scale
	AccelAccepted  int           // Anderson steps accepted
	AccelRejected  int           // Anderson steps rejected by the safeguard
	LinearSystem   string        // "dense", "block" (first-order method) or "ipm-block"
	// Method is the algorithm that ran: "ipm" or "admm".
	Method string
}
