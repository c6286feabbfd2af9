package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// registerLimits adds the global --max-memory flag: the memory budget every stage
// that grows with its input checks its size estimate against (package budget).
// The budget also becomes the Go runtime's soft memory limit, so garbage is
// collected before the process reaches it.
func registerLimits(root *cobra.Command, e *env) {
	root.PersistentFlags().StringVar(&e.memFlag, "max-memory", "",
		"memory budget: a size (8GiB, 512MiB), a share of the machine's memory (40%) or none; default half of the machine's memory")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("max-memory") || e.memFlag != "" {
			v, err := budget.Parse(e.memFlag)
			if err != nil {
				return usageErr("--max-memory: %v", err)
			}
			e.maxMemory = v
		}
		if b := budget.Resolve(e.maxMemory); b < 1<<62 && e.sig != nil { // the process, not a test calling run
			// the runtime's own allowance on top of the stages' estimates
			debug.SetMemoryLimit(b + b/4 + 64<<20)
		}
		return nil
	}
}

// reporter is the progress reporter of a verb: lines on stderr unless quiet.
func (e *env) reporter(quiet bool) progress.Reporter {
	if quiet {
		return nil
	}
	return &progress.Lines{W: e.stderr}
}
