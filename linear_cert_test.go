package cnnc_test

import (
	"math"
	"testing"

	"github.com/cnnc-org/cnnc"
)

// TestLinearCNNCertificateGlobal: the linear CNN with global average pooling (§7.1,
// docs/math/07-linear-cnn.md) has no activation patterns, so its program is the whole
// training problem whatever the patterns statement says: the certified bound is global,
// and it lies below the recovered network's objective (computed from the weights) by at
// most the solver's tolerance.
func TestLinearCNNCertificateGlobal(t *testing.T) {
	const src = `model lin {
    input 1x8
    conv 3 bias=true
    avgpool global
    linear 1
}
data train {
    synthetic planted n=12 seed=1
}
train {
    beta 0.05
}
`
	p, err := cnnc.Parse("lin.cnn", []byte(src), cnnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Solve(cnnc.SolveOptions{Tol: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if r.Section != "§7.1" || r.Certificate == nil {
		t.Fatalf("section %s, certificate %+v", r.Section, r.Certificate)
	}
	if r.Certificate.Scope != "global" {
		t.Errorf("certificate scope %q, want global: %s", r.Certificate.Scope, r.DualScope)
	}
	obj, bound := *r.NonconvexObjective, *r.DualObjective
	if !(bound <= obj) || obj-bound > 1e-6*math.Max(1, obj) {
		t.Errorf("bound %.12g, recovered network %.12g", bound, obj)
	}
}
