package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Version is cnnc's version.
const Version = "0.1.0"

func init() {
	register(func(e *env) *cobra.Command {
		return &cobra.Command{
			Use:   "version",
			Short: "Print cnnc's version, the Go version, and the SCS file format it writes",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				fmt.Fprintf(e.stdout, "cnnc %s\n", Version)
				fmt.Fprintf(e.stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
				fmt.Fprintf(e.stdout, "%s\n", scsFormatNote)
				return nil
			},
		}
	})
}
