package conic_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
)

// worked is the worked example of spec/formats.md: minimise −x₁ − x₂ subject
// to ‖(x₁, x₂)‖₂ ≤ 1.
func worked() *conic.Problem {
	return &conic.Problem{
		M: 3, N: 2, Cones: conic.Cones{Q: []int{3}},
		B: []float64{1, 0, 0}, C: []float64{-1, -1},
		A: conic.CSC{M: 3, N: 2, ColPtr: []int{0, 1, 2}, RowIdx: []int{1, 2}, Val: []float64{-1, -1}},
	}
}

// The keys and values of the spec's layout, checked by decoding the output
// with encoding/json into a generic map (independent of the writer's structs).
func TestWriteJSONLayout(t *testing.T) {
	p := worked()
	p.Vars = []conic.VarRange{{Name: "x", Start: 0, Len: 2, Shape: []int{2}, Layer: -1}}
	var buf bytes.Buffer
	if err := conic.WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, buf.String())
	}
	want := map[string]any{
		"format":           "cnnc-conic/1",
		"objective_offset": 0.0,
		"objective_scale":  1.0,
		"cones":            map[string]any{"z": 0.0, "l": 0.0, "q": []any{3.0}, "s": []any{}, "ep": 0.0, "ed": 0.0},
		"m":                3.0,
		"n":                2.0,
		"b":                []any{1.0, 0.0, 0.0},
		"c":                []any{-1.0, -1.0},
		"A":                map[string]any{"colptr": []any{0.0, 1.0, 2.0}, "rowidx": []any{1.0, 2.0}, "values": []any{-1.0, -1.0}},
		"P":                nil,
		"variables":        []any{map[string]any{"name": "x", "start": 0.0, "len": 2.0, "shape": []any{2.0}, "layer": -1.0}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layout:\n got %v\nwant %v", got, want)
	}
	// Deterministic: a second write is byte-identical.
	var again bytes.Buffer
	if err := conic.WriteJSON(&again, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two writes of the same problem differ")
	}
}

// Random problems with every cone kind (box with infinite bounds, complex PSD,
// power, zero-size cones, P) survive WriteJSON → ReadJSON bit for bit.
func TestJSONRoundTrip(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		p := conictest.Random(rng, conictest.RandomOptions{Quadratic: seed%2 == 0, Exotic: seed%3 != 0})
		var buf bytes.Buffer
		if err := conic.WriteJSON(&buf, p); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		q, err := conic.ReadJSON(&buf)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, buf.String())
		}
		if d := conictest.Diff(q, p, true); d != "" {
			t.Fatalf("seed %d: round trip differs: %s", seed, d)
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := conic.WriteJSON(&buf, worked()); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty input"},
		{"syntax", "{\n\"format\": \"cnnc-conic/1\",\n\"m\": 3,,\n}", "line 3"},
		{"unknown key", strings.Replace(good, `"m": 3`, `"mm": 3, "m": 3`, 1), `unknown field "mm"`},
		{"wrong format", strings.Replace(good, "cnnc-conic/1", "cnnc-conic/2", 1), `"cnnc-conic/2"`},
		{"no format", strings.Replace(good, `"format": "cnnc-conic/1",`, ``, 1), `missing "format"`},
		{"missing A", strings.Replace(good, `"A":`, `"P2":`, 1), `unknown field "P2"`},
		{"type", strings.Replace(good, `"m": 3`, `"m": "three"`, 1), `key "m"`},
		{"rows", strings.Replace(good, `"q":[3]`, `"q":[2]`, 1), "cones cover 2 rows"},
		{"negative cone", strings.Replace(good, `"l":0`, `"l":-1`, 1), "negative count"},
		{"row index", strings.Replace(good, `"rowidx":[1,2]`, `"rowidx":[1,3]`, 1), "out of range"},
		{"variables", strings.Replace(good, `"variables": []`, `"variables": [{"name":"v","start":1,"len":2}]`, 1), `variables[0] ("v")`},
		{"trailing", good + "{}", "unexpected data"},
		{"P lower", strings.Replace(good, `"P": null`, `"P": {"colptr":[0,1,1],"rowidx":[1],"values":[1]}`, 1), "below the diagonal"},
	}
	for _, c := range cases {
		_, err := conic.ReadJSON(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestWriteJSONRejectsNonFinite(t *testing.T) {
	p := worked()
	p.C[1] = math.NaN()
	err := conic.WriteJSON(&bytes.Buffer{}, p)
	if err == nil || !strings.Contains(err.Error(), "c[1]") {
		t.Errorf("error %v, want it to name c[1]", err)
	}
	p = worked()
	p.M = 4
	if err := conic.WriteJSON(&bytes.Buffer{}, p); err == nil {
		t.Error("invalid problem written without error")
	}
}

// BenchmarkJSONRoundTrip writes and reads a dense 2000×500 problem (10⁶ nonzeros).
func BenchmarkJSONRoundTrip(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	k := conic.Cones{Z: 100, L: 1800, Q: []int{100}}
	p := conictest.Feasible(rng, 500, k, false)
	var buf bytes.Buffer
	if err := conic.WriteJSON(&buf, p); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		buf.Reset()
		if err := conic.WriteJSON(&buf, p); err != nil {
			b.Fatal(err)
		}
		if _, err := conic.ReadJSON(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
