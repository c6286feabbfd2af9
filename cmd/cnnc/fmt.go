package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
)

// fmtOptions are the flags of `cnnc fmt`.
type fmtOptions struct {
	write bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &fmtOptions{}
		cmd := &cobra.Command{
			Use:   "fmt [-w] FILE...",
			Short: "Print .cnn files in canonical form (-w: rewrite them in place)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runFmt(e, o, args)
			},
		}
		cmd.Flags().BoolVarP(&o.write, "write", "w", false, "rewrite each file in place (atomically) instead of printing it")
		return cmd
	})
}

func runFmt(e *env, o *fmtOptions, files []string) error {
	failed := false
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
			failed = true
			continue
		}
		out, diags := syntax.Format(path, src)
		if diags.HasErrors() {
			diag.WriteText(e.stderr, diags, diag.Sources{path: token.NewFile(path, src)})
			failed = true
			continue
		}
		if !o.write {
			if _, err := e.stdout.Write(out); err != nil {
				return err
			}
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		// fmt -w rewrites the file itself: through a symbolic link, to its target.
		target := path
		if t, err := filepath.EvalSymlinks(path); err == nil {
			target = t
		}
		if err := validateOutFile(target); err != nil {
			fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
			failed = true
			continue
		}
		if err := writeAtomic(target, out); err != nil {
			fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
			failed = true
		}
	}
	if failed {
		return withCode(exitError, nil)
	}
	return nil
}

// writeAtomic replaces path with data: a temporary file in the same folder, synced,
// given path's permissions, then renamed over path.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, mode)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
	}
	return werr
}
