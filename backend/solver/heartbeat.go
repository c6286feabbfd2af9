package solver

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Heartbeat is a Recorder that passes every call on to Next and, while a solver
// runs (between Begin and End), records a row of its own whenever Every (default
// DefaultHeartbeat) has passed without one: the solver's last row with its elapsed
// time advanced to now and Extra saying how long no new iterate has come (before
// the first row: zero iterations and NaN values). A solver whose iterations take
// longer than Every at the sizes users bring (the group solver's Newton systems on a
// wide fully connected layer, the conic solver's factorisation) still shows a line
// at least every Every. Its rows are for the display only: put it after a Trace
// (Trace.Next), so report.json's trace keeps the solver's own rows and stays a
// function of the solver's calls. Next never sees two calls at once.
type Heartbeat struct {
	Next  Recorder
	Every time.Duration

	mu     sync.Mutex
	last   Iterate   // the solver's last row in this phase (NaN values before one)
	lastAt time.Time // when it came (or Begin)
	beat   time.Time // when any row was last passed on (or Begin)
	real   bool      // the solver recorded a row in this phase
	stop   chan struct{}
	exited chan struct{}
}

// DefaultHeartbeat is Heartbeat's default interval.
const DefaultHeartbeat = 5 * time.Second

func (h *Heartbeat) Begin(title string) {
	h.halt()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Next.Begin(title)
	now := time.Now()
	h.last = Iterate{PrimalRes: math.NaN(), DualRes: math.NaN(), Gap: math.NaN(), Objective: math.NaN()}
	h.lastAt, h.beat, h.real = now, now, false
	every := h.Every
	if every <= 0 {
		every = DefaultHeartbeat
	}
	stop, exited := make(chan struct{}), make(chan struct{})
	h.stop, h.exited = stop, exited
	go h.clock(every, stop, exited)
}

// clock records the heartbeat rows of one phase until stop is closed.
func (h *Heartbeat) clock(every time.Duration, stop, exited chan struct{}) {
	defer close(exited)
	period := every / 10
	c := time.NewTicker(period)
	defer c.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-c.C:
			h.mu.Lock()
			select {
			case <-stop:
				h.mu.Unlock()
				return
			default:
			}
			// due half a tick early, so that rows come every Every, not every
			// Every plus up to one tick
			if now.Sub(h.beat)+period/2 >= every {
				quiet := now.Sub(h.lastAt)
				it := h.last
				it.Elapsed += quiet
				if h.real {
					it.Extra = fmt.Sprintf("working: no new iterate for %.0f s", quiet.Seconds())
				} else {
					it.Extra = fmt.Sprintf("working: no iterate yet after %.0f s", quiet.Seconds())
				}
				h.Next.Record(it)
				h.beat = now
			}
			h.mu.Unlock()
		}
	}
}

func (h *Heartbeat) Record(it Iterate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Next.Record(it)
	now := time.Now()
	h.last, h.lastAt, h.beat, h.real = it, now, now, true
}

func (h *Heartbeat) End(status Status, it Iterate) {
	h.halt()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Next.End(status, it)
}

// halt stops the clock of the running phase, if any, and waits for it to exit.
func (h *Heartbeat) halt() {
	h.mu.Lock()
	stop, exited := h.stop, h.exited
	h.stop, h.exited = nil, nil
	h.mu.Unlock()
	if stop != nil {
		close(stop)
		<-exited
	}
}
