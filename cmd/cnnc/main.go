// Command cnnc compiles neural-network architectures written in the .cnn language
// into convex programs, solves them to global optimality, recovers the trained
// network and certifies it. See README.md and spec/cli.md.
//
// Each verb lives in its own file as an options struct plus a run function and
// registers itself with register(); main returns the exit code from one place:
// 0 ok, 1 diagnostics or errors, 2 usage, 3 solver ended without an optimal status.
package main

import (
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

// env is what every verb may use: its output streams.
type env struct {
	stdout io.Writer
	stderr io.Writer
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
	return root
}

// run executes cnnc with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
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

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
