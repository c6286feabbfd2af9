package network

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// Forward runs the network on every row of X (n × prod(input shape), row-major
// C, H, W) and returns the n × out outputs. m may be nil; otherwise w must match it
// (CheckModel). The computation is the layer-by-layer definition of the package doc,
// one sample at a time with buffers reused across samples, in float64.
func Forward(m *ir.Model, w *Weights, X *mat.Dense) (*mat.Dense, error) {
	if w == nil || X == nil {
		return nil, fmt.Errorf("forward: nil weights or data")
	}
	if m != nil {
		if err := w.CheckModel(m); err != nil {
			return nil, err
		}
	}
	p, err := w.compile()
	if err != nil {
		return nil, err
	}
	return p.forward(X)
}

func (p *plan) forward(X *mat.Dense) (*mat.Dense, error) {
	n, d := X.Dims()
	if n == 0 || d != p.in.size() {
		return nil, fmt.Errorf("forward: the data have %d features per sample, the input %s has %d", d, shapeString(p.in.shape()), p.in.size())
	}
	out := p.out.size()
	Y := mat.NewDense(n, out, nil)
	// samples are independent: contiguous chunks on every core, each with its own
	// buffers (the same arithmetic per sample, so the result does not depend on the
	// number of cores)
	w := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for t := 0; t < w; t++ {
		lo, hi := t*n/w, (t+1)*n/w
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

// run computes one layer on one sample: dst = layer(src).
func (st *step) run(dst, src, scratch []float64) {
	switch st.kind {
	case stepConv:
		st.conv(dst, src, st.w, st.b)
		if st.gate != nil {
			g := scratch[:len(dst)]
			st.conv(g, src, st.gate, st.gateB)
			mask(dst, g)
		}
	case stepLinear:
		linear(dst, src, st.w, st.b)
		if st.gate != nil {
			g := scratch[:len(dst)]
			linear(g, src, st.gate, st.gateB)
			mask(dst, g)
		}
	case stepReLU:
		for i, v := range src {
			dst[i] = math.Max(v, 0)
		}
	case stepAvgPool, stepMaxPool:
		st.pool(dst, src)
	case stepCopy:
		copy(dst, src)
	}
}

// mask sets dst[i] = 0 where the gate pre-activation g[i] is not > 0.
func mask(dst, g []float64) {
	for i := range dst {
		if !(g[i] > 0) {
			dst[i] = 0
		}
	}
}

// linear: dst[o] = b[o] + Σ_k W[o, k]·src[k].
func linear(dst, src, W, b []float64) {
	in := len(src)
	for o := range dst {
		row := W[o*in : (o+1)*in]
		s := 0.0
		if b != nil {
			s = b[o]
		}
		for k, v := range row {
			s += v * src[k]
		}
		dst[o] = s
	}
}

// conv: dst[o,i,j] = b[o] + Σ_c Σ_a Σ_e W[o,c,a,e]·x[c, r, q] with r = i·sh + a − ph,
// q = j·sw + e − pw; outside the input the term is 0 (zero padding) or the index wraps
// around modulo H, W (circular: stride 1, ph = ⌊(Kh−1)/2⌋, pw = ⌊(Kw−1)/2⌋).
// With zero padding the loops run over the kernel entries that land inside the input.
func (st *step) conv(dst, src, W, b []float64) {
	C, H, Wd := st.in.C, st.in.H, st.in.W
	Ho, Wo := st.out.H, st.out.W
	kh, kw := st.kh, st.kw
	for o := 0; o < st.out.C; o++ {
		bias := 0.0
		if b != nil {
			bias = b[o]
		}
		wo := W[o*C*kh*kw : (o+1)*C*kh*kw]
		for i := 0; i < Ho; i++ {
			r0 := i*st.sh - st.ph
			aLo, aHi := 0, kh
			if !st.circ {
				aLo, aHi = max(0, -r0), min(kh, H-r0)
			}
			for j := 0; j < Wo; j++ {
				q0 := j*st.sw - st.pw
				eLo, eHi := 0, kw
				if !st.circ {
					eLo, eHi = max(0, -q0), min(kw, Wd-q0)
				}
				s := bias
				for c := 0; c < C; c++ {
					xc := src[c*H*Wd : (c+1)*H*Wd]
					wc := wo[c*kh*kw : (c+1)*kh*kw]
					for a := aLo; a < aHi; a++ {
						r := r0 + a
						if st.circ {
							r = wrap(r, H)
						}
						xr := xc[r*Wd : (r+1)*Wd]
						wr := wc[a*kw : (a+1)*kw]
						if st.circ {
							for e, wv := range wr {
								s += wv * xr[wrap(q0+e, Wd)]
							}
							continue
						}
						for e := eLo; e < eHi; e++ {
							s += wr[e] * xr[q0+e]
						}
					}
				}
				dst[(o*Ho+i)*Wo+j] = s
			}
		}
	}
}

// wrap reduces r into [0, n) for −n ≤ r < 2n (circular padding never reaches further).
func wrap(r, n int) int {
	if r < 0 {
		return r + n
	}
	if r >= n {
		return r - n
	}
	return r
}

// pool: average or maximum over each window (or over all positions when global).
func (st *step) pool(dst, src []float64) {
	C, H, Wd := st.in.C, st.in.H, st.in.W
	isMax := st.kind == stepMaxPool
	if st.global {
		for c := 0; c < C; c++ {
			xc := src[c*H*Wd : (c+1)*H*Wd]
			acc := xc[0]
			if !isMax {
				acc = 0
				for _, v := range xc {
					acc += v
				}
				acc /= float64(len(xc))
			} else {
				for _, v := range xc[1:] {
					acc = math.Max(acc, v)
				}
			}
			dst[c] = acc
		}
		return
	}
	Ho, Wo := st.out.H, st.out.W
	for c := 0; c < C; c++ {
		xc := src[c*H*Wd : (c+1)*H*Wd]
		for i := 0; i < Ho; i++ {
			for j := 0; j < Wo; j++ {
				r0, q0 := i*st.sh, j*st.sw
				acc := xc[r0*Wd+q0]
				if !isMax {
					acc = 0
				}
				for a := 0; a < st.kh; a++ {
					for e := 0; e < st.kw; e++ {
						v := xc[(r0+a)*Wd+q0+e]
						if isMax {
							acc = math.Max(acc, v)
						} else {
							acc += v
						}
					}
				}
				if !isMax {
					acc /= float64(st.kh * st.kw)
				}
				dst[(c*Ho+i)*Wo+j] = acc
			}
		}
	}
}
