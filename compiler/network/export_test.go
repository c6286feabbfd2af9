package network

import (
	"fmt"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// ForwardScalar is the forward pass one sample at a time with the scalar conv and
// linear of step.run, on contiguous chunks of samples per core (the pass Forward used
// before it was batched): the reference of
// the batched pass in tests and benchmarks.
func ForwardScalar(w *Weights, X *mat.Dense) (*mat.Dense, error) {
	p, err := w.compile()
	if err != nil {
		return nil, err
	}
	n, d := X.Dims()
	if n == 0 || d != p.in.size() {
		return nil, fmt.Errorf("forward: the data have %d features per sample, the input has %d", d, p.in.size())
	}
	out := p.out.size()
	Y := mat.NewDense(n, out, nil)
	nw := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for t := 0; t < nw; t++ {
		lo, hi := t*n/nw, (t+1)*n/nw
		wg.Add(1)
		go func() {
			defer wg.Done()
			bufs := make([][]float64, len(p.steps))
			var scratch []float64
			for i, st := range p.steps {
				bufs[i] = make([]float64, st.out.size())
				if st.gate != nil && len(scratch) < st.out.size() {
					scratch = make([]float64, st.out.size())
				}
			}
			for i := lo; i < hi; i++ {
				src := X.RawRowView(i)
				for k, st := range p.steps {
					st.run(bufs[k], src, scratch)
					src = bufs[k]
				}
				copy(Y.RawRowView(i), src)
			}
		}()
	}
	wg.Wait()
	return Y, nil
}

// SetForwardBudgets sets the batch size cap and the per-worker memory budgets of the
// batched forward pass (float64s) and returns a function restoring them.
func SetForwardBudgets(batch, act, gemm int) (restore func()) {
	b, a, g := batchMax, actBudget, gemmBudget
	batchMax, actBudget, gemmBudget = batch, act, gemm
	return func() { batchMax, actBudget, gemmBudget = b, a, g }
}

// ForwardBatchSize is the number of samples per batch Forward uses for w.
func ForwardBatchSize(w *Weights) (int, error) {
	p, err := w.compile()
	if err != nil {
		return 0, err
	}
	return p.layout().batch, nil
}
