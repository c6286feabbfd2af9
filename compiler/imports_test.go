// Package compiler_test holds the layering guard: imports point down the pipeline.
// compiler never imports cmd; backend (solvers, exporters and the shared vocabulary
// below them: the convex IR in backend/convex, the certificate in backend/certify,
// arrangements in backend/pattern, the conic form in backend/conic) never imports
// compiler, cmd or the parser and checker; lang imports nothing of cnnc above it;
// lang/budget and lang/progress (leaf packages every layer uses) import nothing of cnnc.
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
		{"github.com/cnnc-org/cnnc/compiler/...", []string{"github.com/cnnc-org/cnnc/cmd/"}},
		{"github.com/cnnc-org/cnnc/backend/...", []string{"github.com/cnnc-org/cnnc/cmd/", "github.com/cnnc-org/cnnc/compiler/", "github.com/cnnc-org/cnnc/lang/syntax", "github.com/cnnc-org/cnnc/lang/check"}},
		{"github.com/cnnc-org/cnnc/lang/...", []string{"github.com/cnnc-org/cnnc/cmd/", "github.com/cnnc-org/cnnc/compiler", "github.com/cnnc-org/cnnc/backend"}},
	}
	for _, c := range cases {
		for _, d := range deps(t, c.from) {
			for _, f := range c.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s (forbidden prefix %s)", c.from, d, f)
				}
			}
			// The API package at the module root sits above the pipeline.
			if d == "github.com/cnnc-org/cnnc" {
				t.Errorf("%s depends on the API package %s", c.from, d)
			}
		}
	}
}

// TestLeafPackages: the memory budget and the progress reporter are used by every
// layer (lang, compiler, backend, cmd), so they import no other cnnc package.
func TestLeafPackages(t *testing.T) {
	for _, leaf := range []string{"github.com/cnnc-org/cnnc/lang/budget", "github.com/cnnc-org/cnnc/lang/progress"} {
		for _, d := range deps(t, leaf) {
			if d != leaf && strings.HasPrefix(d, "github.com/cnnc-org/cnnc") {
				t.Errorf("%s depends on %s; it must import nothing of cnnc", leaf, d)
			}
		}
	}
}
