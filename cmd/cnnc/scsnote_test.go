package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/scs"
)

// `cnnc version` states the SCS layout, version string and integer size the
// writer uses.
func TestVersionStatesSCSFormat(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"legacy layout", fmt.Sprintf("%q", scs.DefaultVersion), fmt.Sprintf("%d-byte integers", scs.DefaultIntSize)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cnnc version output lacks %q:\n%s", want, out.String())
		}
	}
}
