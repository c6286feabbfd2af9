package main

import (
	"context"

	"fmt"
	"github.com/cnnc-org/cnnc/backend/solver"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// interrupts turns SIGINT and SIGTERM into a cancelled context (env.ctx) and says
// what was interrupted. Stages that honour the context stop within about a second:
// the solvers return their best point with status interrupted (solve then writes a
// report saying so), the data, patch and pattern stages stop with diagnostic F0210.
// Once a solver has returned its stopped point, the rest of the run (evaluating the
// network, its certificate, the report) has GraceReport. A stage that has not
// returned within its grace period after the signal, or a second signal,
// ends the process at once with exit code 128 + the signal number (130 for SIGINT,
// 143 for SIGTERM) — but never while the outputs are being swapped in
// (critical), so the output folder is either the previous one or the new one.
type interrupts struct {
	e      *env
	mu     sync.Mutex // guards stage and got
	stage  string
	got    os.Signal
	cancel context.CancelFunc
	// critical is held while outputs are written and swapped in.
	critical sync.Mutex
	// ended is signalled when a solver has returned after the interruption
	// (solverEnded): the remaining work — evaluating the returned network,
	// certificates, the report — gets GraceReport from then on.
	ended chan struct{}
}

// GraceReport is how long the work after a stopped solver may take (evaluating the
// returned network on every sample, its certificate and the report: about 10 s at
// n = 10 000 images) before the process ends without outputs; a second signal ends it
// at once.
const GraceReport = 60 * time.Second

// solverEnded tells the signal handler that a solver returned (Recorder.End); after
// a signal this restarts the grace period as GraceReport. Safe on nil.
func (in *interrupts) solverEnded() {
	if in == nil {
		return
	}
	in.mu.Lock()
	got := in.got != nil
	in.mu.Unlock()
	if got {
		select {
		case in.ended <- struct{}{}:
		default:
		}
	}
}

// endRecorder passes progress on to rec and reports each solver's end to the signal
// handler (solverEnded).
type endRecorder struct {
	rec solver.Recorder
	in  *interrupts
}

func (r endRecorder) Begin(t string)           { r.rec.Begin(t) }
func (r endRecorder) Record(it solver.Iterate) { r.rec.Record(it) }
func (r endRecorder) End(s solver.Status, it solver.Iterate) {
	r.rec.End(s, it)
	r.in.solverEnded()
}

// GraceStop is how long a stage may take to honour an interruption (the solvers
// poll every iteration; the margin is for a loaded machine).
const GraceStop = 10 * time.Second

// watchSignals installs the handler and sets e.ctx.
func watchSignals(e *env) *interrupts {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupts{e: e, cancel: cancel, stage: "starting", ended: make(chan struct{}, 1)}
	e.ctx = ctx
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		in.mu.Lock()
		in.got = s
		stage := in.stage
		in.mu.Unlock()
		fmt.Fprintf(e.stderr, "cnnc: %s received while %s; stopping (the previous outputs are left as they were)\n", sigName(s), stage)
		cancel()
		first := time.Now()
		limit := GraceStop
		grace := time.After(limit)
		for {
			select {
			case s2 := <-ch:
				if time.Since(first) < 500*time.Millisecond {
					continue // the same signal delivered twice (to the process and its group)
				}
				in.exit(s2, "a second signal")
			case <-in.ended:
				in.setStage("evaluating the returned network and writing the report")
				stage = "the work after the solver"
				limit = GraceReport
				grace = time.After(limit)
				fmt.Fprintf(e.stderr, "cnnc: the solver stopped; evaluating the network it returned and writing the report (a second %s quits at once, writing nothing)\n", sigName(s))
			case <-grace:
				in.exit(s, fmt.Sprintf("%s did not stop within %v", stage, limit))
			}
		}
	}()
	return in
}

// exit ends the process once no output is being written.
func (in *interrupts) exit(s os.Signal, why string) {
	in.critical.Lock() // wait for a swap in progress; never released
	in.mu.Lock()
	stage := in.stage
	in.mu.Unlock()
	fmt.Fprintf(in.e.stderr, "cnnc: interrupted while %s (%s); nothing was written\n", stage, why)
	os.Exit(128 + sigNum(s))
}

// setStage records what the run is doing, for the interruption message. Safe on nil.
func (in *interrupts) setStage(stage string) {
	if in == nil {
		return
	}
	in.mu.Lock()
	in.stage = stage
	in.mu.Unlock()
}

// exitCode maps the verb's exit code after an interruption: a verb that failed
// because of it exits 128 + the signal number; one that wrote an interrupted
// report keeps its code (3).
func (in *interrupts) exitCode(code int) int {
	in.mu.Lock()
	s := in.got
	in.mu.Unlock()
	if s == nil || code == exitOK || code == exitNotSolved {
		return code
	}
	return 128 + sigNum(s)
}

// lockOutputs holds off a forced exit while outputs are swapped in; the returned
// function releases it. Safe on nil.
func (in *interrupts) lockOutputs() func() {
	if in == nil {
		return func() {}
	}
	in.critical.Lock()
	return in.critical.Unlock
}

func sigNum(s os.Signal) int {
	if ss, ok := s.(syscall.Signal); ok {
		return int(ss)
	}
	return 2
}

func sigName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
