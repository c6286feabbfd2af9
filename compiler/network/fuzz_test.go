package network_test

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// FuzzRead: arbitrary bytes never panic Read, and whatever Read accepts runs Forward
// on one zero sample without panicking and writes back to JSON that reads again.
func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewSource(9))
	for _, a := range torchArchs() {
		w := network.New(a.m, 0.1, a.loss)
		fill(f, a.m, w, rng, a.widths)
		var b bytes.Buffer
		if err := w.Write(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
		f.Add([]byte(strings.Replace(b.String(), `"out":`, `"out":-`, 1)))
	}
	f.Add([]byte(`{"format":"cnnc-weights/1","layers":[{"index":0,"type":"input","shape":[1099511627776,1099511627776]}],"tensors":[{"name":"L1.weight","shape":[1099511627776,1099511627776],"data":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			t.Skip("input over the per-input size limit (1 MiB)")
		}
		w, err := network.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 1
		for _, v := range w.Layers[0].Shape {
			n *= v
		}
		if n > 1<<16 {
			return
		}
		if _, err := network.Forward(nil, w, mat.NewDense(1, n, nil)); err != nil {
			t.Errorf("Read accepted weights that Forward rejects: %v", err)
		}
		var b bytes.Buffer
		if err := w.Write(&b); err != nil {
			t.Fatalf("Write after Read: %v", err)
		}
		if _, err := network.Read(&b); err != nil {
			t.Fatalf("Read after Write: %v", err)
		}
	})
}
