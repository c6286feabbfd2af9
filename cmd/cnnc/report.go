package main

import (
	"encoding/json"
	"io"
	"math"
)

// reportFormat is the report.json format tag (spec/cli.md).
const reportFormat = "cnnc-report/1"

// report is report.json: the fields of spec/cli.md (none renamed), plus extras.
// Numbers that do not exist (a test loss without test data) are null.
type report struct {
	Format             string   `json:"format"`
	Model              string   `json:"model"`
	Theorem            string   `json:"theorem"`
	Section            string   `json:"section"`
	Regularizer        string   `json:"regularizer"`
	Status             string   `json:"status"`
	Samples            int      `json:"samples"`
	Patterns           int      `json:"patterns"`
	PatternMode        string   `json:"pattern_mode"`
	Variables          int      `json:"variables"`
	Constraints        int      `json:"constraints"`
	ConvexObjective    *float64 `json:"convex_objective"`
	DualObjective      *float64 `json:"dual_objective"`
	Gap                *float64 `json:"gap"`
	DualScope          string   `json:"dual_scope"` // what the dual bound certifies
	NonconvexObjective *float64 `json:"nonconvex_objective"`
	ActiveNeurons      int      `json:"active_neurons"`
	Iterations         int      `json:"iterations"`
	SolveSeconds       float64  `json:"solve_seconds"`
	Solver             string   `json:"solver"`
	TrainLoss          *float64 `json:"train_loss"`
	TrainAccuracy      *float64 `json:"train_accuracy"`
	TestLoss           *float64 `json:"test_loss"`
	TestAccuracy       *float64 `json:"test_accuracy"`
	Beta               float64  `json:"beta"`
	Loss               string   `json:"loss"`
	Seed               int64    `json:"seed"`
	Notes              []string `json:"notes,omitempty"`
	// SolverDual is the solver's own dual objective: information only, never a
	// certified bound (dual_objective is; docs/certificates.md).
	SolverDual *float64 `json:"solver_dual,omitempty"`
	// Certificate is the certificate behind dual_objective: `cnnc verify` recomputes
	// ρ and the bound from its dual point.
	Certificate *reportCert `json:"certificate,omitempty"`
}

// reportCert is report.json's "certificate" (docs/certificates.md, docs/cli.md): the
// dual point λ (one entry per training sample), the upper bound ρ on
// max_p max_{u ∈ B₂ ∩ 𝒦_p} |λᵀ𝒫_p u|/β over the stated pattern set, the scaling θ, the
// floating-point-safe bound D(θλ) − margin, and the tolerance the solve was asked
// for (verify's default for the certified gap).
type reportCert struct {
	Scope      string    `json:"scope"` // "global" or "restricted"
	Patterns   int       `json:"patterns"`
	PatternSet string    `json:"pattern_set"`
	Source     string    `json:"source"` // "solver", "prediction" or "search"
	Rho        float64   `json:"rho"`
	Theta      float64   `json:"theta"`
	Bound      float64   `json:"bound"`
	Margin     float64   `json:"margin"`
	Tolerance  float64   `json:"tolerance"`
	Loss       string    `json:"loss"`
	Lambda     []float64 `json:"lambda"`
	OwnRho     *float64  `json:"own_rho,omitempty"`   // ρ at the recovered network's own prediction
	OwnBound   *float64  `json:"own_bound,omitempty"` // the bound there
}

// num returns a pointer to v, or nil for NaN/Inf (JSON has no such numbers).
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func (r *report) write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
