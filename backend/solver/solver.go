// Package solver owns the vocabulary every cnnc solver shares: statuses, the
// iteration record, the progress Recorder with its default SCS-style table, and the
// common Result fields. Concrete solvers (backend/native/...) embed these.
//
// A non-optimal status is a result, not an error: errors are reserved for malformed
// input. No solver reports Optimal unless its stopping rule and its duality-gap
// certificate are both met.
package solver

import (
	"fmt"
	"io"
	"time"
)

// Status of a solve, spelled as in report.json.
type Status string

const (
	Optimal        Status = "optimal"
	Inaccurate     Status = "inaccurate"
	Infeasible     Status = "infeasible"
	Unbounded      Status = "unbounded"
	IterationLimit Status = "iteration_limit"
	TimeLimit      Status = "time_limit"
)

// Iterate is one row of progress.
type Iterate struct {
	Iter      int
	PrimalRes float64 // primal residual (infeasibility)
	DualRes   float64 // dual residual
	Gap       float64 // duality gap (absolute or relative, as the solver documents)
	Objective float64 // primal objective on the user's scale
	Elapsed   time.Duration
	// Extra is optional solver-specific text printed after the row (e.g. the
	// working-set size of a column-generation round); empty for most solvers.
	Extra string
}

// Recorder receives progress. Implementations must be cheap; solvers call Record at
// most every few iterations.
type Recorder interface {
	Begin(title string)
	Record(it Iterate)
	End(status Status, it Iterate)
}

// Nop discards progress.
type Nop struct{}

func (Nop) Begin(string)        {}
func (Nop) Record(Iterate)      {}
func (Nop) End(Status, Iterate) {}

// Table prints an SCS-style iteration table to W (stderr by default in the CLI).
type Table struct {
	W     io.Writer
	Every int // print every Every-th recorded iterate (≤1: all)
	n     int
}

const rule = "------------------------------------------------------------------"

func (t *Table) Begin(title string) {
	t.n = 0
	fmt.Fprintf(t.W, "%s\n  %s\n%s\n", rule, title, rule)
	fmt.Fprintf(t.W, " %6s | %9s | %9s | %9s | %12s | %8s\n", "iter", "pri res", "dua res", "gap", "objective", "time (s)")
	fmt.Fprintln(t.W, rule)
}

func (t *Table) Record(it Iterate) {
	t.n++
	if t.Every > 1 && (t.n-1)%t.Every != 0 {
		return
	}
	t.row(it)
}

func (t *Table) row(it Iterate) {
	fmt.Fprintf(t.W, " %6d | %9.2e | %9.2e | %9.2e | %12.6e | %8.2e",
		it.Iter, it.PrimalRes, it.DualRes, it.Gap, it.Objective, it.Elapsed.Seconds())
	if it.Extra != "" {
		fmt.Fprintf(t.W, " | %s", it.Extra)
	}
	fmt.Fprintln(t.W)
}

func (t *Table) End(status Status, it Iterate) {
	t.row(it)
	fmt.Fprintln(t.W, rule)
	fmt.Fprintf(t.W, " status: %s   iterations: %d   objective: %.10g   time: %.3fs\n%s\n",
		status, it.Iter, it.Objective, it.Elapsed.Seconds(), rule)
}
