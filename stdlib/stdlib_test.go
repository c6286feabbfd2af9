package stdlib

import (
	"strings"
	"testing"
)

// TestRows: one entry per row of the rule table (docs/math/README.md), each with
// its theorem and section, and a model block named after the entry.
func TestRows(t *testing.T) {
	rows := []string{"§2", "§3", "§4", "§5.2", "§6", "§7.1", "§7.2", "§7.3", "§8", "§9b", "§10", "§11"}
	have := map[string]bool{}
	for _, e := range List() {
		if e.Theorem == "" || e.Section == "" || e.Summary == "" {
			t.Errorf("%s: missing header comments (%+v)", e.Name, e)
		}
		if !strings.Contains(string(e.Source), "model "+e.Model+" {") {
			t.Errorf("%s: no `model %s {` block", e.Name, e.Model)
		}
		have[e.Section] = true
	}
	for _, r := range rows {
		if !have[r] {
			t.Errorf("no standard-library entry for rule-table row %s", r)
		}
	}
}

func TestLookup(t *testing.T) {
	a, ok1 := Lookup("std.fc_relu")
	b, ok2 := Lookup("fc_relu")
	if !ok1 || !ok2 || a.Name != b.Name || a.Section != "§2" {
		t.Errorf("Lookup: %v %v %+v", ok1, ok2, a)
	}
	if _, ok := Lookup("std.nope"); ok {
		t.Error("Lookup found std.nope")
	}
	if len(Names()) != len(List()) {
		t.Error("Names and List disagree")
	}
}
