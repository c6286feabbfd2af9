// Package progress owns the progress lines of cnnc's long stages (pattern sampling
// and enumeration, patch extraction, data reading, export writing): a stage starts a
// Task, adds the units of work it finishes, and ends it; the Task calls its Reporter
// at most once per Every (and only once the stage has run for After), so a stage
// that ends within a few seconds prints nothing and a long one prints a line every
// couple of seconds. The CLI reports to stderr (Lines); --quiet passes no Reporter.
//
// A nil Reporter and a nil *Task are valid and do nothing, so stages call the Task's
// methods unconditionally. Add is cheap (it looks at the clock once per 64 calls),
// so it may sit in a loop whose iterations take microseconds.
//
// The package imports nothing of cnnc; every layer may use it.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Update is one progress report.
type Update struct {
	Stage   string // "patterns sample"
	Unit    string // "gates"
	Done    int64
	Total   int64 // 0: unknown
	Elapsed time.Duration
	Final   bool // the stage ended (sent only when an earlier update was sent)
}

// Reporter receives updates.
type Reporter interface{ Progress(u Update) }

// Default timing of a Task.
const (
	DefaultAfter = 2 * time.Second // first update once the stage has run this long
	DefaultEvery = 2 * time.Second // then at most one update per this interval
)

// Task tracks one stage. Its methods are safe on a nil *Task and for concurrent use.
type Task struct {
	r            Reporter
	stage, unit  string
	total        int64
	start        time.Time
	after, every time.Duration

	mu    sync.Mutex
	done  int64
	calls int
	last  time.Time
	sent  bool
	ended bool

	stop, exited chan struct{} // Tick's clock: closed by End, closed when it has exited
}

// Start begins a stage with total units (0: unknown). A nil r gives a nil Task.
func Start(r Reporter, stage string, total int64, unit string) *Task {
	if r == nil {
		return nil
	}
	return &Task{r: r, stage: stage, unit: unit, total: total, start: time.Now(), after: DefaultAfter, every: DefaultEvery}
}

// Tick begins a stage that has no units to count (one long computation: a
// certificate over every cone row, a forward pass over every sample): a clock
// reports the elapsed time every Every once the stage has run for After, until End.
// A nil r gives a nil Task.
func Tick(r Reporter, stage string) *Task { return tick(r, stage, DefaultAfter, DefaultEvery) }

func tick(r Reporter, stage string, after, every time.Duration) *Task {
	t := Start(r, stage, 0, "")
	if t == nil {
		return nil
	}
	t.after, t.every = after, every
	t.stop, t.exited = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.exited)
		c := time.NewTicker(t.every / 8)
		defer c.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-c.C:
				t.mu.Lock()
				if !t.ended {
					t.maybe()
				}
				t.mu.Unlock()
			}
		}
	}()
	return t
}

// Add records n more units done.
func (t *Task) Add(n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.done += n
	t.calls++
	if t.calls%64 == 0 {
		t.maybe()
	}
	t.mu.Unlock()
}

// Set records done units in total.
func (t *Task) Set(done int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.done = done
	t.maybe()
	t.mu.Unlock()
}

// maybe sends an update when the timing allows (t.mu held).
func (t *Task) maybe() {
	now := time.Now()
	el := now.Sub(t.start)
	if el < t.after || (t.sent && now.Sub(t.last) < t.every) {
		return
	}
	t.last, t.sent = now, true
	t.r.Progress(Update{Stage: t.stage, Unit: t.unit, Done: t.done, Total: t.total, Elapsed: el})
}

// End finishes the stage; a final update is sent when an earlier one was.
func (t *Task) End() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return
	}
	t.ended = true
	t.mu.Unlock()
	if t.stop != nil {
		close(t.stop)
		<-t.exited // no update after End's
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sent {
		t.r.Progress(Update{Stage: t.stage, Unit: t.unit, Done: t.done, Total: t.total, Elapsed: time.Since(t.start), Final: true})
	}
}

// Lines is the CLI's Reporter: one line per update on W, e.g.
//
//	cnnc: patterns sample: 1200000 of 16000000 gates (7.5%), 4.0 s
//	cnnc: patterns sample: done, 16000000 gates in 52.1 s
type Lines struct {
	W  io.Writer
	mu sync.Mutex
}

// Progress writes u as one line.
func (l *Lines) Progress(u Update) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.W, Line(u))
}

// Line renders an update.
func Line(u Update) string {
	if u.Unit == "" { // a Tick stage: elapsed time only
		if u.Final {
			return fmt.Sprintf("cnnc: %s: done in %.1f s", u.Stage, u.Elapsed.Seconds())
		}
		return fmt.Sprintf("cnnc: %s: %.1f s", u.Stage, u.Elapsed.Seconds())
	}
	if u.Final {
		return fmt.Sprintf("cnnc: %s: done, %d %s in %.1f s", u.Stage, u.Done, u.Unit, u.Elapsed.Seconds())
	}
	if u.Total > 0 {
		return fmt.Sprintf("cnnc: %s: %d of %d %s (%.1f%%), %.1f s", u.Stage, u.Done, u.Total, u.Unit, 100*float64(u.Done)/float64(u.Total), u.Elapsed.Seconds())
	}
	return fmt.Sprintf("cnnc: %s: %d %s, %.1f s", u.Stage, u.Done, u.Unit, u.Elapsed.Seconds())
}
