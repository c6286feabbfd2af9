package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Version is cnnc's version.
const Version = "0.1.0"

type versionDoc struct {
	Version   string `json:"version"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
	SCSFormat string `json:"scs_format"`
}

func init() {
	register(func(e *env) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "version",
			Short: "Print cnnc's version, the Go version, and the SCS file format it writes",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				platform := runtime.GOOS + "/" + runtime.GOARCH
				if e.json {
					return e.writeJSON(versionDoc{Version: Version, Go: runtime.Version(), Platform: platform, SCSFormat: scsFormatNote})
				}
				fmt.Fprintf(e.stdout, "cnnc %s\n", Version)
				fmt.Fprintf(e.stdout, "go %s %s\n", runtime.Version(), platform)
				fmt.Fprintf(e.stdout, "%s\n", scsFormatNote)
				return nil
			},
		}
		addJSON(cmd, e, "print the versions as one JSON document")
		return cmd
	})
}
