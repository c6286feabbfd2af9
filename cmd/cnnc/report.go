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

	// Vector outputs (docs/math/10-vector-output.md): the certified bracket, the
	// conic relaxations solved on request, the number of outputs, the user's class
	// labels (in one-hot column order) and the confusion matrices (rows: true class,
	// columns: predicted class).
	Bracket        *bracketReport     `json:"bracket,omitempty"`
	Relaxations    []relaxationReport `json:"relaxations,omitempty"`
	Outputs        int                `json:"outputs,omitempty"`
	Classes        []int              `json:"classes,omitempty"`
	ConfusionTrain [][]int            `json:"confusion_train,omitempty"`
	ConfusionTest  [][]int            `json:"confusion_test,omitempty"`
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
