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

	// What identifies the run (runinfo.go): when, from which file and data, with
	// which settings, and the weights.json written beside this report.
	Created       string        `json:"created"`        // UTC time the report was made, RFC 3339
	Input         string        `json:"input"`          // the .cnn file as given
	InputSHA256   string        `json:"input_sha256"`   // SHA-256 of its bytes
	DataSHA256    string        `json:"data_sha256"`    // SHA-256 of the training set as loaded (dataHash)
	WeightsSHA256 string        `json:"weights_sha256"` // SHA-256 of weights.json's bytes
	Settings      solveSettings `json:"settings"`
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
