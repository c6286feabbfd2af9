// Command cnnc compiles neural-network architectures written in the .cnn language
// into convex programs, solves them to global optimality, recovers the trained
// network and certifies it. The verbs, flags, exit codes and files are documented
// in docs/cli.md; the work itself is done by the Go API of the module's root
// package (github.com/cnnc-org/cnnc, docs/api.md).
//
// Each verb lives in its own file as an options struct plus a run function and
// registers itself with register(); main returns the exit code from one place:
// 0 ok, 1 diagnostics or errors, 2 usage, 3 solver ended without an optimal status,
// 128 + signal (130, 143) when SIGINT/SIGTERM stopped a run before it wrote anything.
//
// Reliability (docs/cli.md, "Limits"): --max-memory sets the memory budget every
// growing stage checks (limits.go); signals cancel a context the stages and solvers
// poll (signals.go); solve writes its output folder as one unit and export replaces
// only regular files (outputs.go); check runs every check that needs no solve
// (checkall.go).
//
// Output (output.go): results go to stdout, progress and diagnostics to stderr. With
// --json (every verb has it) stdout carries exactly one JSON document: the verb's
// result with its diagnostics, or {"error": …, "diagnostics": […]} when it fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cnnc-org/cnnc/lang/diag"

	"github.com/spf13/cobra"
)

// Exit codes (docs/cli.md).
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitNotSolved = 3
)

// exitErr carries an exit code out of a verb. A nil err with a code means the verb
// already printed what it had to say.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// withCode wraps err (may be nil) with an exit code.
func withCode(code int, err error) error { return &exitErr{code: code, err: err} }

// usageErr is a usage error (exit 2).
func usageErr(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// env is what every verb may use: its output streams, the output mode, the
// context that signals cancel (signals.go), and the memory budget (limits.go).
type env struct {
	stdout io.Writer
	stderr io.Writer

	ctx       context.Context
	sig       *interrupts // nil outside main (tests): no signal handling
	maxMemory int64       // --max-memory in bytes (0: the default budget, < 0: none)
	memFlag   string
	quiet     bool // no progress lines (--quiet)

	json      bool      // --json: stdout carries one JSON document
	wroteJSON bool      // that document has been written
	diags     diag.List // diagnostics gathered for the JSON document
}

// verbs are the constructors registered by each verb's file.
var verbs []func(*env) *cobra.Command

func register(f func(*env) *cobra.Command) { verbs = append(verbs, f) }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "cnnc",
		Short: "Compile neural networks to convex programs and train them to global optimality",
		Long: `cnnc reads a .cnn file (architecture, data, training settings), recognises the
architecture, derives the equivalent convex program, solves it, recovers the trained
network's weights and certifies that they are globally optimal.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	for _, f := range verbs {
		root.AddCommand(f(e))
	}
	registerLimits(root, e)
	return root
}

// run executes cnnc with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runEnv(&env{stdout: stdout, stderr: stderr, ctx: context.Background()}, args)
}

// runEnv executes cnnc in e and returns the exit code (after an interruption:
// 128 + the signal number when nothing was written, see signals.go).
func runEnv(e *env, args []string) int {
	code := execute(e, args)
	if e.sig != nil {
		code = e.sig.exitCode(code)
	}
	return code
}

func execute(e *env, args []string) int {
	stderr := e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var xe *exitErr
	if errors.As(err, &xe) {
		code, err = xe.code, xe.err
	}
	if err != nil {
		msg := err.Error()
		if code == exitUsage && xe == nil {
			// cobra's own errors (unknown command, bad args) are usage errors.
			msg += "\nRun 'cnnc --help' for usage."
		}
		fmt.Fprintf(stderr, "cnnc: %s\n", msg)
	}
	if (e.json || wantsJSON(args)) && !e.wroteJSON {
		msg := fmt.Sprintf("exit status %d", code)
		if err != nil {
			msg = err.Error()
		} else if e.diags.HasErrors() {
			msg = e.diags.Error()
		}
		e.writeJSON(errorDoc{Error: msg, ExitCode: code, Diagnostics: e.diagnostics()})
	}
	return code
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr}
	e.sig = watchSignals(e)
	os.Exit(runEnv(e, os.Args[1:]))
}
