package solver

import "math"

// Trace is a Recorder that keeps the solver's progress rows (for report.json's
// "trace" and the convergence plot) and passes every call on to Next (nil: none).
//
// Every Begin starts a phase (one solver run: a round of column generation, a
// relaxation, a refinement); rows carry their phase's index. Elapsed times restart
// with each phase as the solvers report them. At most Max rows are kept (≤ 0:
// DefaultTraceRows): when the buffer fills, every other row is dropped and from then
// on only every second recorded row is kept (then every fourth, …), so a long run
// keeps an evenly thinned trace; End's row (the final iterate) is always kept.
// Thinning depends only on the sequence of calls, so it is deterministic.
type Trace struct {
	Next   Recorder
	Max    int
	Phases []string
	Rows   []TraceRow

	stride, seen int
}

// DefaultTraceRows is Trace's default row cap.
const DefaultTraceRows = 1000

// TraceRow is one kept progress row.
type TraceRow struct {
	Phase int      `json:"phase"`
	Iter  int      `json:"iter"`
	Sec   float64  `json:"seconds"`
	Obj   *float64 `json:"objective"` // nil: not finite (JSON has no NaN or ∞)
	Gap   *float64 `json:"gap"`       // the solver's own gap, absolute or relative as it documents
	Pri   *float64 `json:"primal_res"`
	Dual  *float64 `json:"dual_res"`
	Final bool     `json:"final,omitempty"` // the row of End
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func (t *Trace) Begin(title string) {
	t.Phases = append(t.Phases, title)
	if t.Next != nil {
		t.Next.Begin(title)
	}
}

func (t *Trace) Record(it Iterate) {
	if t.Next != nil {
		t.Next.Record(it)
	}
	if t.stride < 1 {
		t.stride = 1
	}
	t.seen++
	if (t.seen-1)%t.stride == 0 {
		t.add(it, false)
	}
}

func (t *Trace) End(status Status, it Iterate) {
	if t.Next != nil {
		t.Next.End(status, it)
	}
	// The final iterate often repeats the last recorded one: replace it then.
	if n := len(t.Rows); n > 0 && t.Rows[n-1].Phase == len(t.Phases)-1 && t.Rows[n-1].Iter == it.Iter && !t.Rows[n-1].Final {
		t.Rows = t.Rows[:n-1]
	}
	t.add(it, true)
}

func (t *Trace) add(it Iterate, final bool) {
	phase := len(t.Phases) - 1
	if phase < 0 {
		phase = 0
	}
	t.Rows = append(t.Rows, TraceRow{Phase: phase, Iter: it.Iter, Sec: it.Elapsed.Seconds(), Obj: finite(it.Objective),
		Gap: finite(it.Gap), Pri: finite(it.PrimalRes), Dual: finite(it.DualRes), Final: final})
	max := t.Max
	if max <= 0 {
		max = DefaultTraceRows
	}
	if len(t.Rows) <= max {
		return
	}
	// Drop every other non-final row, keeping the first and every final row.
	kept := t.Rows[:0]
	for i, r := range t.Rows {
		if r.Final || i%2 == 0 || i == len(t.Rows)-1 {
			kept = append(kept, r)
		}
	}
	t.Rows = kept
	if t.stride < 1 {
		t.stride = 1
	}
	t.stride *= 2
}
