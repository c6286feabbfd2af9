package cnnc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoInstall is the acceptance check that the module installs by its path: in
// a scratch GOPATH, a scratch module that requires github.com/cnnc-org/cnnc with a
// replace directive pointing at this checkout runs `go install
// github.com/cnnc-org/cnnc/cmd/cnnc` (GOFLAGS=-mod=mod), and the installed binary
// runs. It works offline: dependencies come from the existing module cache
// (GOPROXY=off; their checksums from this checkout's go.sum), and the build cache
// is shared, so it takes seconds.
func TestGoInstall(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	modcache, err := exec.Command(gobin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	gopath, mod := filepath.Join(scratch, "gopath"), filepath.Join(scratch, "try")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/try\n\ngo 1.26\n\nrequire github.com/cnnc-org/cnnc v0.0.0\n\nreplace github.com/cnnc-org/cnnc => " + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "tools.go": []byte("//go:build tools\n\npackage try\n\nimport _ \"github.com/cnnc-org/cnnc/cmd/cnnc\"\n")} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOPATH="+gopath, "GOBIN="+filepath.Join(gopath, "bin"), "GOFLAGS=-mod=mod",
		"GOMODCACHE="+strings.TrimSpace(string(modcache)), "GOPROXY=off", "GOWORK=off")
	cmd := exec.Command(gobin, "install", "github.com/cnnc-org/cnnc/cmd/cnnc")
	cmd.Dir, cmd.Env = mod, env
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "GOPROXY=off") {
			t.Skipf("the module cache lacks a dependency and this test stays offline (run `go mod download` first):\n%s", out)
		}
		t.Fatalf("go install github.com/cnnc-org/cnnc/cmd/cnnc in a scratch GOPATH: %v\n%s", err, out)
	}
	bin := filepath.Join(gopath, "bin", "cnnc")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "cnnc ") {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	out, err = exec.Command(bin, "check", filepath.Join(root, "examples", "spiral_relu.cnn")).CombinedOutput()
	if err != nil {
		t.Fatalf("the installed cnnc check: %v\n%s", err, out)
	}
}
