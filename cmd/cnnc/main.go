// Command cnnc compiles neural-network architectures written in the .cnn language
// into convex programs, solves them to global optimality, recovers the trained
// network and certifies it. See README.md and spec/cli.md.
//
// Each verb lives in its own file as an options struct plus a run function and
// registers itself with register(); main returns the exit code from one place:
// 0 ok, 1 diagnostics or errors, 2 usage, 3 solver ended without an optimal status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes (spec/cli.md).
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

// env is what every verb may use: its output streams, the context that signals
// and --time-limit cancel (signals.go), and the memory budget (limits.go).
type env struct {
	stdout io.Writer
	stderr io.Writer

	ctx       context.Context
	sig       *interrupts // nil outside main (tests): no signal handling
	maxMemory int64       // --max-memory in bytes (0: the default budget, < 0: none)
	memFlag   string
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

// runEnv executes cnnc in e and returns the exit code.
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
	var xe *exitErr
	if errors.As(err, &xe) {
		if xe.err != nil {
			fmt.Fprintf(stderr, "cnnc: %v\n", xe.err)
		}
		return xe.code
	}
	// cobra's own errors (unknown command, bad args) are usage errors.
	fmt.Fprintf(stderr, "cnnc: %v\nRun 'cnnc --help' for usage.\n", err)
	return exitUsage
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr}
	e.sig = watchSignals(e)
	os.Exit(runEnv(e, os.Args[1:]))
}
