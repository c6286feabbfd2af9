// Package compiler_test holds the layering guard of STYLE.md: imports point down the
// pipeline, so compiler never imports cmd, and backend never imports the parser.
package compiler_test

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pattern string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH; cannot list dependencies")
	}
	out, err := exec.Command("go", "list", "-deps", pattern).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

func TestLayering(t *testing.T) {
	cases := []struct {
		from      string
		forbidden []string
	}{
		{"cnnc/compiler/...", []string{"cnnc/cmd/"}},
		{"cnnc/backend/...", []string{"cnnc/cmd/", "cnnc/lang/syntax", "cnnc/lang/check"}},
		{"cnnc/lang/...", []string{"cnnc/cmd/", "cnnc/compiler", "cnnc/backend"}},
	}
	for _, c := range cases {
		for _, d := range deps(t, c.from) {
			for _, f := range c.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s (forbidden prefix %s)", c.from, d, f)
				}
			}
		}
	}
}
