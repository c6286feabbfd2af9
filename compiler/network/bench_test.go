package network_test

import (
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// BenchmarkForwardFashion: 60000 samples of 1×28×28 through conv 4×4 stride 4 with
// 8 filters (49 patches), relu, global average pooling and linear 1 — the size of the
// full Fashion-MNIST training set.
func BenchmarkForwardFashion(b *testing.B) {
	m, w, X := fashionCNN(b, "fashion_cnn", 8, 60000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := network.Forward(m, w, X); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForwardCNN: 2000 samples of 1×28×28 through conv 4×4 stride 4 with 398
// filters (49 patches), relu, global average pooling and linear 1, by the batched
// forward pass and by the per-sample scalar one it replaced (network.ForwardScalar).
func BenchmarkForwardCNN(b *testing.B) {
	m, w, X := fashionCNN(b, "fashion_cnn398", 398, 2000)
	b.Run("batched", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := network.Forward(m, w, X); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := network.ForwardScalar(w, X); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fashionCNN is the benchmarks' network: 1×28×28 inputs through conv 4×4 stride 4
// with the given number of filters (49 patches), relu, global average pooling and
// linear 1, with seeded random weights, and n random images.
func fashionCNN(b *testing.B, name string, filters, n int) (*ir.Model, *network.Weights, *mat.Dense) {
	m := mk(name, ir.Shape{1, 28, 28},
		&ir.Layer{Kind: ir.Conv, Kernel: []int{4, 4}, Stride: []int{4, 4}, Width: filters},
		&ir.Layer{Kind: ir.ReLU}, &ir.Layer{Kind: ir.AvgPool, Global: true},
		&ir.Layer{Kind: ir.Linear, Width: 1})
	rng := rand.New(rand.NewSource(1))
	w := network.New(m, 1e-3, ir.Squared)
	fill(b, m, w, rng, nil)
	if err := w.Finalize(); err != nil {
		b.Fatal(err)
	}
	data := make([]float64, n*784)
	for i := range data {
		data[i] = rng.Float64()
	}
	return m, w, mat.NewDense(n, 784, data)
}
