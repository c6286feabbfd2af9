package conictest

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// Diff compares two problems field by field and returns "" when they are
// identical, or a description of the first difference. Floats are compared by
// their bits (so −0 ≠ 0 and NaN = NaN); a nil slice equals an empty one;
// ObjScale 0 equals 1. With vars false the Vars tables are not compared (SCS
// and CBF files do not carry them).
func Diff(a, b *conic.Problem, vars bool) string {
	if a.M != b.M || a.N != b.N {
		return fmt.Sprintf("size %d×%d vs %d×%d", a.M, a.N, b.M, b.N)
	}
	if d := floats("b", a.B, b.B); d != "" {
		return d
	}
	if d := floats("c", a.C, b.C); d != "" {
		return d
	}
	if d := cscDiff("A", &a.A, &b.A); d != "" {
		return d
	}
	switch {
	case (a.P == nil) != (b.P == nil):
		return fmt.Sprintf("P present %v vs %v", a.P != nil, b.P != nil)
	case a.P != nil:
		if d := cscDiff("P", a.P, b.P); d != "" {
			return d
		}
	}
	ka, kb := &a.Cones, &b.Cones
	if ka.Z != kb.Z || ka.L != kb.L || ka.BSize != kb.BSize || ka.EP != kb.EP || ka.ED != kb.ED {
		return fmt.Sprintf("cones %+v vs %+v", *ka, *kb)
	}
	for _, d := range []string{ints("q", ka.Q, kb.Q), ints("s", ka.S, kb.S), ints("cs", ka.CS, kb.CS),
		floats("bl", ka.BL, kb.BL), floats("bu", ka.BU, kb.BU), floats("p", ka.P, kb.P)} {
		if d != "" {
			return "cones: " + d
		}
	}
	if d := floats("objective offset", []float64{a.ObjOffset}, []float64{b.ObjOffset}); d != "" {
		return d
	}
	if d := floats("objective scale", []float64{a.Scale()}, []float64{b.Scale()}); d != "" {
		return d
	}
	if vars {
		if len(a.Vars) != len(b.Vars) {
			return fmt.Sprintf("%d vs %d variables", len(a.Vars), len(b.Vars))
		}
		for i := range a.Vars {
			va, vb := a.Vars[i], b.Vars[i]
			if va.Name != vb.Name || va.Start != vb.Start || va.Len != vb.Len || va.Layer != vb.Layer || ints("shape", va.Shape, vb.Shape) != "" {
				return fmt.Sprintf("variables[%d]: %+v vs %+v", i, va, vb)
			}
		}
	}
	return ""
}

func cscDiff(name string, a, b *conic.CSC) string {
	if a.M != b.M || a.N != b.N {
		return fmt.Sprintf("%s is %d×%d vs %d×%d", name, a.M, a.N, b.M, b.N)
	}
	if d := ints(name+".colptr", a.ColPtr, b.ColPtr); d != "" {
		return d
	}
	if d := ints(name+".rowidx", a.RowIdx, b.RowIdx); d != "" {
		return d
	}
	return floats(name+".values", a.Val, b.Val)
}

func ints(name string, a, b []int) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d vs %d entries", name, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("%s[%d]: %d vs %d", name, i, a[i], b[i])
		}
	}
	return ""
}

func floats(name string, a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d vs %d entries", name, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Sprintf("%s[%d]: %v vs %v", name, i, a[i], b[i])
		}
	}
	return ""
}
