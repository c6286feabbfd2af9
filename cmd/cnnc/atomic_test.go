package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers lists the files in dir other than the ones named.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		found := false
		for _, k := range keep {
			found = found || e.Name() == k
		}
		if !found {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.scs")
	if err := writeFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "first")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	os.Chmod(path, 0o600)

	// A failing writer leaves the old file untouched and no temporary file,
	// even after it has written part of its output.
	boom := errors.New("boom")
	err := writeFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("partial", 20000))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the writer's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("old file changed to %q", b[:min(len(b), 20)])
	}
	if l := leftovers(t, dir, "out.scs"); len(l) != 0 {
		t.Errorf("left behind %v", l)
	}

	// A panicking writer also cleans up.
	func() {
		defer func() { recover() }()
		writeFileAtomic(path, func(w io.Writer) error { panic("oops") })
	}()
	if l := leftovers(t, dir, "out.scs"); len(l) != 0 {
		t.Errorf("left behind after panic %v", l)
	}

	// Replacing keeps the old permissions.
	if err := writeFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "second")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "second" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", fi.Mode().Perm())
	}
}

func TestWriteFileAtomicUnwritable(t *testing.T) {
	dir := t.TempDir()
	called := false
	w := func(io.Writer) error { called = true; return nil }
	missing := filepath.Join(dir, "no", "such", "dir", "out.json")
	err := writeFileAtomic(missing, w)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing folder: error %v", err)
	}
	err = writeFileAtomic(dir, w)
	if err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("directory as output: error %v", err)
	}
	if called {
		t.Error("writer called although the output cannot be created")
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("left behind %v", l)
	}
}
