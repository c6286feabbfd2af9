package main

import (
	"context"
	"fmt"
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
// A stage that has not returned GraceStop after the signal, or a second signal,
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
}

// GraceStop is how long a stage may take to honour an interruption (the solvers
// poll every iteration; the margin is for a loaded machine).
const GraceStop = 10 * time.Second

// watchSignals installs the handler and sets e.ctx.
func watchSignals(e *env) *interrupts {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupts{e: e, cancel: cancel, stage: "starting"}
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
		grace := time.After(GraceStop)
		for {
			select {
			case s2 := <-ch:
				if time.Since(first) < 500*time.Millisecond {
					continue // the same signal delivered twice (to the process and its group)
				}
				in.exit(s2, "a second signal")
			case <-grace:
				in.exit(s, fmt.Sprintf("%s did not stop within %v", stage, GraceStop))
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
