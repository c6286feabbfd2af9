package network_test

import (
	"bytes"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

func TestJSONRoundTripBitExact(t *testing.T) {
	mod := mk("rt", ir.Shape{2, 6, 6},
		&ir.Layer{Kind: ir.Conv, Kernel: []int{3, 3}, Stride: []int{1, 1}, Padding: []int{1, 1}, Bias: true},
		&ir.Layer{Kind: ir.Gated},
		&ir.Layer{Kind: ir.MaxPool, Kernel: []int{2, 2}},
		&ir.Layer{Kind: ir.Flatten},
		&ir.Layer{Kind: ir.Linear, Width: 2, Bias: true})
	w := network.New(mod, 1e-3/3, ir.Logistic)
	rng := rand.New(rand.NewSource(3))
	fill(t, mod, w, rng, map[int]int{1: 4})
	// Awkward values: subnormal, huge, negative zero, shortest-repr boundary cases.
	d := w.Tensor("L1.weight").Data
	d[0], d[1], d[2], d[3], d[4] = 5e-324, -1.7976931348623157e308, math.Copysign(0, -1), 0.1, 1.0/3
	w.Tensor("L5.weight").Penalty = network.PenaltyL1Sq
	// The preprocessing record, with awkward numbers too.
	mean, std := make([]float64, 72), make([]float64, 72)
	for i := range mean {
		mean[i], std[i] = rng.NormFloat64()/3, 1+rng.Float64()
	}
	scale := 1.0 / 255
	w.Preprocess = &network.Preprocess{Scale: &scale, Mean: mean, Std: std, Task: network.TaskMulticlass, Classes: []int{-4, 7}}
	var b1 bytes.Buffer
	if err := w.Write(&b1); err != nil {
		t.Fatal(err)
	}
	r, err := network.Read(bytes.NewReader(b1.Bytes()))
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, b1.Bytes())
	}
	if len(r.Tensors) != len(w.Tensors) {
		t.Fatalf("%d tensors read, %d written", len(r.Tensors), len(w.Tensors))
	}
	for i, tw := range w.Tensors {
		tr := r.Tensors[i]
		if tr.Name != tw.Name || tr.Penalty != tw.Penalty || tr.Groups != tw.Groups || len(tr.Data) != len(tw.Data) {
			t.Fatalf("tensor %d: read %+v, wrote %+v", i, tr.Name, tw.Name)
		}
		for k := range tw.Data {
			if math.Float64bits(tr.Data[k]) != math.Float64bits(tw.Data[k]) {
				t.Fatalf("%s[%d]: read %v, wrote %v", tw.Name, k, tr.Data[k], tw.Data[k])
			}
		}
	}
	if pp := r.Preprocess; pp == nil || *pp.Scale != scale || pp.Task != network.TaskMulticlass || len(pp.Classes) != 2 || pp.Classes[0] != -4 {
		t.Errorf("preprocess read back as %+v", pp)
	} else {
		for i := range mean {
			if math.Float64bits(pp.Mean[i]) != math.Float64bits(mean[i]) || math.Float64bits(pp.Std[i]) != math.Float64bits(std[i]) {
				t.Fatalf("preprocess mean/std %d: read %v/%v, wrote %v/%v", i, pp.Mean[i], pp.Std[i], mean[i], std[i])
			}
		}
	}
	if r.Beta != w.Beta || r.Loss != w.Loss || r.Model != w.Model {
		t.Errorf("header: read %v %v %v, wrote %v %v %v", r.Beta, r.Loss, r.Model, w.Beta, w.Loss, w.Model)
	}
	var b2 bytes.Buffer
	if err := r.Write(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Errorf("second write differs:\n%s\n---\n%s", b1.Bytes(), b2.Bytes())
	}
	// One line per tensor (readable, diffable).
	if n := strings.Count(b1.String(), `{"name":`); n != len(w.Tensors) {
		t.Errorf("%d tensor lines, want %d", n, len(w.Tensors))
	}
	// Resolved widths are written: conv in=2, out=4; linear in=4·3·3, out=2.
	if l := r.Layers[1]; l.In != 2 || l.Out != 4 {
		t.Errorf("conv resolved to in=%d out=%d, want 2, 4", l.In, l.Out)
	}
	if l := r.Layers[5]; l.In != 36 || l.Out != 2 {
		t.Errorf("linear resolved to in=%d out=%d, want 36, 2", l.In, l.Out)
	}
	if err := r.CheckModel(mod); err != nil {
		t.Errorf("CheckModel after round trip: %v", err)
	}

	path := filepath.Join(t.TempDir(), "weights.json")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := network.ReadFile(path); err != nil {
		t.Fatal(err)
	}
}

// TestReadCLIExample reads the shape of spec/cli.md's example (scalar padding, no
// penalties) and applies the defaults.
func TestReadCLIExample(t *testing.T) {
	src := `{
  "format": "cnnc-weights/1",
  "model": "fashion_cnn",
  "beta": 0.001,
  "loss": "squared",
  "layers": [ {"index": 0, "type": "input", "shape": [1,8,8]},
              {"index": 1, "type": "conv", "kernel": [4,4], "stride": 4, "padding": 0},
              {"index": 2, "type": "relu"},
              {"index": 3, "type": "avgpool", "global": true},
              {"index": 4, "type": "linear", "out": 1} ],
  "tensors": [
    {"name": "L1.weight", "shape": [2, 1, 4, 4], "data": [` + strings.Repeat("0.5,", 31) + `0.5]},
    {"name": "L4.weight", "shape": [1, 2],       "data": [1, -1]}
  ]
}`
	w, err := network.Read(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if l := w.Layers[1]; l.Out != 2 || l.In != 1 || len(l.Stride) != 1 || l.Stride[0] != 4 {
		t.Errorf("conv layer read as %+v", l)
	}
	if w.Tensors[0].Penalty != "l2" || w.Tensors[1].Penalty != "l2" {
		t.Errorf("default penalties %q %q, want l2 l2", w.Tensors[0].Penalty, w.Tensors[1].Penalty)
	}
	mod := mk("fashion_cnn", ir.Shape{1, 8, 8},
		&ir.Layer{Kind: ir.Conv, Kernel: []int{4, 4}, Stride: []int{4, 4}},
		&ir.Layer{Kind: ir.ReLU}, &ir.Layer{Kind: ir.AvgPool, Global: true},
		&ir.Layer{Kind: ir.Linear, Width: 1})
	if err := w.CheckModel(mod); err != nil {
		t.Errorf("CheckModel: %v", err)
	}
	// Not a weights file.
	if _, err := network.Read(strings.NewReader(`{"format": "cnnc-report/1"}`)); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("wrong format accepted: %v", err)
	}
	if _, err := network.Read(strings.NewReader(`{"format": `)); err == nil {
		t.Error("truncated JSON accepted")
	}
	if _, err := network.ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestFinalizeErrors(t *testing.T) {
	fc := func() *ir.Model {
		return mk("fc", ir.Shape{4},
			&ir.Layer{Kind: ir.Linear}, &ir.Layer{Kind: ir.ReLU}, &ir.Layer{Kind: ir.Linear, Width: 1})
	}
	conv := func() *ir.Model {
		return mk("cv", ir.Shape{2, 5, 5},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{3, 3}, Width: 4, Bias: true}, &ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1})
	}
	type set struct {
		name  string
		shape []int
		pen   string
	}
	cases := []struct {
		model func() *ir.Model
		sets  []set
		want  string
	}{
		{fc, []set{{"L1.weight", []int{3, 5}, ""}, {"L3.weight", []int{1, 3}, ""}},
			"L1.weight has shape [3 5], layer 1 (linear) expects [m 4]"},
		{fc, []set{{"L1.weight", []int{3, 4}, ""}},
			"L3.weight is missing: layer 3 (linear) expects [1 3]"},
		{fc, []set{{"L1.weight", []int{3, 4}, ""}, {"L3.weight", []int{2, 3}, ""}},
			"L3.weight has shape [2 3], layer 3 (linear) expects [1 3]"},
		{fc, []set{{"L1.weight", []int{3, 4}, ""}, {"L3.weight", []int{1, 3}, ""}, {"L1.bias", []int{3}, ""}},
			"L1.bias given, but layer 1 (linear) has bias=false"},
		{fc, []set{{"L1.weight", []int{3, 4}, ""}, {"L3.weight", []int{1, 3}, ""}, {"L2.weight", []int{1}, ""}},
			"tensor L2.weight does not belong to any layer"},
		{fc, []set{{"L1.weight", []int{3, 4}, "l3"}, {"L3.weight", []int{1, 3}, ""}},
			`tensor L1.weight has unknown penalty "l3"`},
		{conv, []set{{"L1.weight", []int{4, 1, 3, 3}, ""}},
			"L1.weight has shape [4 1 3 3], layer 1 (conv) expects [m≤4 2 3 3]"},
		{conv, []set{{"L1.weight", []int{5, 2, 3, 3}, ""}},
			"L1.weight has shape [5 2 3 3], layer 1 (conv) expects [m≤4 2 3 3]"},
		{conv, []set{{"L1.weight", []int{3, 2, 3, 3}, ""}},
			"L1.bias is missing: layer 1 (conv) has bias=true and expects [3]"},
		{conv, []set{{"L1.weight", []int{3, 2, 3, 3}, ""}, {"L1.bias", []int{3}, ""}},
			"layer 2 (gated) needs the gate tensor L2.gates with the shape of L1.weight, [3 2 3 3]"},
		{conv, []set{{"L1.weight", []int{3, 2, 3, 3}, ""}, {"L1.bias", []int{3}, ""}, {"L2.gates", []int{3, 2, 9}, ""}},
			"L2.gates has shape [3 2 9], layer 2 (gated) expects the shape of L1.weight, [3 2 3 3]"},
		{conv, []set{{"L1.weight", []int{3, 2, 3, 3}, ""}, {"L1.bias", []int{3}, ""}, {"L2.gates", []int{3, 2, 3, 3}, ""}, {"L4.weight", []int{1, 4}, ""}},
			"L4.weight has shape [1 4], layer 4 (linear) expects [1 3]"},
	}
	for i, c := range cases {
		m := c.model()
		w := network.New(m, 1, ir.Squared)
		for _, s := range c.sets {
			n := 1
			for _, v := range s.shape {
				n *= v
			}
			w.Set(s.name, s.shape, make([]float64, n), s.pen)
		}
		err := w.Finalize()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: Finalize error %v, want %q", i, err, c.want)
		}
	}

	// Data that does not fit its shape; a layer the model does not have; bad geometry.
	m := fc()
	w := network.New(m, 1, ir.Squared)
	w.Set("L1.weight", []int{3, 4}, make([]float64, 11), "")
	if err := w.Finalize(); err == nil || !strings.Contains(err.Error(), "tensor L1.weight has shape [3 4] (12 numbers) but 11 data values") {
		t.Errorf("short data: %v", err)
	}
	bad := mk("bad", ir.Shape{1, 3}, &ir.Layer{Kind: ir.Conv, Kernel: []int{4}, Width: 1})
	w = network.New(bad, 1, ir.Squared)
	w.Set("L1.weight", []int{1, 1, 4}, make([]float64, 4), "")
	if err := w.Finalize(); err == nil || !strings.Contains(err.Error(), "larger than the padded input") {
		t.Errorf("oversized kernel: %v", err)
	}
	pool := mk("pool", ir.Shape{1, 3}, &ir.Layer{Kind: ir.MaxPool, Kernel: []int{4}})
	if err := network.New(pool, 1, ir.Squared).Finalize(); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("oversized window: %v", err)
	}
	// CheckModel: weights of another architecture.
	w = network.New(fc(), 1, ir.Squared)
	if err := w.CheckModel(conv()); err == nil {
		t.Error("CheckModel accepted weights of another model")
	}
}
