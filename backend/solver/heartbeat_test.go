package solver

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

type calls struct {
	mu    sync.Mutex
	busy  bool
	rows  []Iterate
	ends  int
	begun int
	t     *testing.T
}

func (c *calls) enter() {
	c.mu.Lock()
	if c.busy {
		c.t.Error("two calls at once")
	}
	c.busy = true
	c.mu.Unlock()
}
func (c *calls) leave() { c.mu.Lock(); c.busy = false; c.mu.Unlock() }
func (c *calls) Begin(string) {
	c.enter()
	defer c.leave()
	c.mu.Lock()
	c.begun++
	c.mu.Unlock()
}
func (c *calls) Record(it Iterate) {
	c.enter()
	defer c.leave()
	time.Sleep(time.Millisecond) // widen the window for overlapping calls
	c.mu.Lock()
	c.rows = append(c.rows, it)
	c.mu.Unlock()
}
func (c *calls) End(Status, Iterate) {
	c.enter()
	defer c.leave()
	c.mu.Lock()
	c.ends++
	c.mu.Unlock()
}
func (c *calls) snapshot() []Iterate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Iterate(nil), c.rows...)
}

// waitRows waits (up to 10 s) until c holds at least n rows.
func waitRows(c *calls, n int) []Iterate {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if r := c.snapshot(); len(r) >= n {
			return r
		}
	}
	return c.snapshot()
}

// TestHeartbeat: while a phase runs without rows the heartbeat records rows of its
// own (NaN values and "no iterate yet" before the solver's first row; the solver's
// last values with the time advanced after it), the solver's rows pass unchanged,
// the recorder never sees two calls at once (the solver and the clock record from
// different goroutines), and nothing is recorded after End.
func TestHeartbeat(t *testing.T) {
	c := &calls{t: t}
	h := &Heartbeat{Next: c, Every: 20 * time.Millisecond}
	h.Begin("phase")
	rows := waitRows(c, 2)
	if len(rows) < 2 {
		t.Fatalf("no heartbeat before the first iterate: %d rows", len(rows))
	}
	for _, r := range rows[:2] {
		if !math.IsNaN(r.Objective) || r.Iter != 0 || !strings.Contains(r.Extra, "no iterate yet") {
			t.Fatalf("heartbeat before the first iterate: %+v", r)
		}
	}
	if rows[1].Elapsed <= rows[0].Elapsed {
		t.Fatalf("elapsed did not advance: %v then %v", rows[0].Elapsed, rows[1].Elapsed)
	}
	// the solver's own rows, from two goroutines at once
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				h.Record(Iterate{Iter: 7, Objective: 1.5, Gap: 0.1, Elapsed: time.Second})
			}
		}()
	}
	wg.Wait()
	n := len(c.snapshot())
	rows = waitRows(c, n+1)
	if len(rows) <= n {
		t.Fatal("no heartbeat after the solver's rows")
	}
	hb := rows[n]
	if hb.Iter != 7 || hb.Objective != 1.5 || hb.Gap != 0.1 || hb.Elapsed <= time.Second || !strings.Contains(hb.Extra, "no new iterate") {
		t.Fatalf("heartbeat after a row: %+v", hb)
	}
	h.End(Optimal, Iterate{})
	n = len(c.snapshot())
	time.Sleep(100 * time.Millisecond)
	if len(c.snapshot()) != n || c.ends != 1 || c.begun != 1 {
		t.Fatalf("after End: %d rows (was %d), %d ends, %d begins", len(c.snapshot()), n, c.ends, c.begun)
	}
	// a second phase starts a fresh clock; a Begin without End stops the old one
	h.Begin("two")
	h.Begin("three")
	waitRows(c, n+1)
	h.End(Optimal, Iterate{})
}
