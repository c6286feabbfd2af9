package network

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// Forward runs the network on every row of X (n × prod(input shape), row-major
// C, H, W) and returns the n × out outputs. m may be nil; otherwise w must match it
// (CheckModel). The computation is the layer-by-layer definition of the package doc in
// float64, on batches of samples: conv (non-circular) and linear layers as matrix
// products (forwardBatch), the other layers one sample at a time.
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

// Batch sizes and per-worker memory of the forward pass. Every output number is
// computed by the same operations whatever the batch, the column chunk or the worker
// (see forwardBatch), so these only trade memory for speed.
var (
	batchMax   = 128     // samples per batch at most
	actBudget  = 1 << 18 // float64s of activations per worker (both buffers), unless one sample needs more
	gemmBudget = 1 << 18 // float64s of patch matrix + product per worker, unless one column needs more
)

func (p *plan) forward(X *mat.Dense) (*mat.Dense, error) {
	n, d := X.Dims()
	if n == 0 || d != p.in.size() {
		return nil, fmt.Errorf("forward: the data have %d features per sample, the input %s has %d", d, shapeString(p.in.shape()), p.in.size())
	}
	Y := mat.NewDense(n, p.out.size(), nil)
	// Fixed batches [k·B, (k+1)·B) handed out to the workers in turn, each worker with
	// its own buffers sized once.
	lay := p.layout()
	nbatch := (n + lay.batch - 1) / lay.batch
	w := min(runtime.GOMAXPROCS(0), nbatch)
	var next atomic.Int64
	var wg sync.WaitGroup
	for t := 0; t < w; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bb := lay.alloc()
			for {
				k := int(next.Add(1)) - 1
				if k >= nbatch {
					return
				}
				lo := k * lay.batch
				p.forwardBatch(bb, X, Y, lo, min(n, lo+lay.batch))
			}
		}()
	}
	wg.Wait()
	return Y, nil
}

// batchLayout is the batch size of a plan and the sizes of one worker's buffers.
type batchLayout struct {
	batch    int // samples per batch
	a, b     int // the two activation buffers (float64s)
	pt, gemm int // patch matrix and product (float64s)
}

// batchBufs is one worker's buffers: activations of a batch, samples back to back, in
// a and b (each step reads one and writes the other; relu and flatten work in place),
// and the patch matrix and product of one column chunk of a conv or linear step.
type batchBufs struct{ a, b, pt, gemm []float64 }

func (l batchLayout) alloc() *batchBufs {
	return &batchBufs{make([]float64, l.a), make([]float64, l.b), make([]float64, l.pt), make([]float64, l.gemm)}
}

// inPlace: the step keeps its input buffer (relu, flatten).
func (st *step) inPlace() bool { return st.kind == stepReLU || st.kind == stepCopy }

// isGemm: the step runs as matrix products (linear, non-circular conv).
func (st *step) isGemm() bool { return st.kind == stepLinear || st.kind == stepConv && !st.circ }

func (p *plan) layout() batchLayout {
	perA, perB := p.in.size(), 0 // float64s per sample of buffers a and b
	inA := true
	for _, st := range p.steps {
		if st.inPlace() {
			continue
		}
		inA = !inA
		if inA {
			perA = max(perA, st.out.size())
		} else {
			perB = max(perB, st.out.size())
		}
	}
	l := batchLayout{batch: min(batchMax, max(1, actBudget/(perA+perB)))}
	l.a, l.b = l.batch*perA, l.batch*perB
	for _, st := range p.steps {
		switch {
		case st.isGemm():
			K, P, O := st.gemmDims()
			cols := min(l.batch*P, st.maxCols())
			l.pt, l.gemm = max(l.pt, K*cols), max(l.gemm, O*cols)
		case st.gate != nil: // circular conv, per sample: the gate's pre-activation
			l.gemm = max(l.gemm, st.out.size())
		}
	}
	return l
}

// gemmDims of a linear or conv step: the patch matrix has K rows (numbers per kernel
// position) and P columns per sample (output positions); O outputs per position.
func (st *step) gemmDims() (K, P, O int) {
	if st.kind == stepLinear {
		return st.in.size(), 1, st.out.size()
	}
	return st.in.C * st.kh * st.kw, st.out.H * st.out.W, st.out.C
}

// maxCols is the number of patch-matrix columns of one product within gemmBudget.
func (st *step) maxCols() int {
	K, _, O := st.gemmDims()
	return max(1, gemmBudget/(K+O))
}

// forwardBatch runs samples lo..hi−1 of X through the network into the same rows of Y.
//
// A linear or non-circular conv step is G = W·Pᵀ over column chunks of the patch
// matrix Pᵀ (K × columns, one column per sample and output position: the im2col of the
// inputs, zeros where the kernel falls outside the input; for linear the inputs
// themselves), then dst[(o·Ho+i)·Wo+j] = G[o, column] + b[o] per sample. The product is
// gonum's native Dgemm with neither matrix transposed, which accumulates each G[o, c]
// as Σ_l W[o,l]·Pᵀ[l,c] in order of l (k-blocks in order, elementwise multiply-adds),
// from W and that column alone: the output of a sample does not depend on the batch,
// the chunk, the number of cores or the other samples.
func (p *plan) forwardBatch(bb *batchBufs, X, Y *mat.Dense, lo, hi int) {
	nb := hi - lo
	in := p.in.size()
	src, dst := bb.a, bb.b
	for s := 0; s < nb; s++ {
		copy(src[s*in:(s+1)*in], X.RawRowView(lo+s))
	}
	for k := 0; k < len(p.steps); k++ {
		st := p.steps[k]
		ni, no := st.in.size(), st.out.size()
		switch {
		case st.kind == stepReLU:
			x := src[:nb*ni]
			for i, v := range x {
				x[i] = max(v, 0) // as math.Max: NaN stays NaN, −0 becomes 0
			}
			continue
		case st.kind == stepCopy:
			continue
		case st.isGemm():
			// a relu right after an ungated product is applied as its outputs are written
			relu := st.gate == nil && k+1 < len(p.steps) && p.steps[k+1].kind == stepReLU
			st.gemmBatch(dst[:nb*no], src[:nb*ni], nb, bb, relu)
			if relu {
				k++
			}
		default: // circular conv, pools: one sample at a time
			for s := 0; s < nb; s++ {
				st.run(dst[s*no:(s+1)*no], src[s*ni:(s+1)*ni], bb.gemm)
			}
		}
		src, dst = dst, src
	}
	out := p.out.size()
	for s := 0; s < nb; s++ {
		copy(Y.RawRowView(lo+s), src[s*out:(s+1)*out])
	}
}

// gemmBatch computes a linear or non-circular conv step on nb samples (src, dst back
// to back), gated or not, as described at forwardBatch; with relu (ungated steps only),
// followed by a relu.
func (st *step) gemmBatch(dst, src []float64, nb int, bb *batchBufs, relu bool) {
	K, P, O := st.gemmDims()
	ni, no := st.in.size(), st.out.size()
	total := nb * P
	chunks := (total + st.maxCols() - 1) / st.maxCols()
	cols := (total + chunks - 1) / chunks // chunks of even size
	for c0 := 0; c0 < total; c0 += cols {
		m := min(cols, total-c0)
		pt, g := bb.pt[:K*m], bb.gemm[:O*m]
		// segments: the columns c0..c0+m−1 are positions p0..p1−1 of sample s, at
		// column off of the chunk
		segments(c0, m, P, func(s, p0, p1, off int) {
			x := src[s*ni : (s+1)*ni]
			if st.kind == stepLinear {
				for r, v := range x {
					pt[r*m+off] = v
				}
				return
			}
			st.im2col(pt, m, off, x, p0, p1)
		})
		blasImpl.Dgemm(blas.NoTrans, blas.NoTrans, O, m, K, 1, st.w, K, pt, m, 0, g, m)
		segments(c0, m, P, func(s, p0, p1, off int) {
			y := dst[s*no : (s+1)*no]
			for o := 0; o < O; o++ {
				d, gr := y[o*P+p0:o*P+p1], g[o*m+off:o*m+off+p1-p0]
				bias := 0.0
				if st.b != nil {
					bias = st.b[o]
				}
				switch {
				case relu:
					for k, v := range gr {
						d[k] = max(v+bias, 0)
					}
				case st.b == nil:
					copy(d, gr)
				default:
					for k, v := range gr {
						d[k] = v + bias
					}
				}
			}
		})
		if st.gate == nil {
			continue
		}
		blasImpl.Dgemm(blas.NoTrans, blas.NoTrans, O, m, K, 1, st.gate, K, pt, m, 0, g, m)
		segments(c0, m, P, func(s, p0, p1, off int) {
			y := dst[s*no : (s+1)*no]
			for o := 0; o < O; o++ {
				d, gr := y[o*P+p0:o*P+p1], g[o*m+off:o*m+off+p1-p0]
				bias := 0.0
				if st.gateB != nil {
					bias = st.gateB[o]
				}
				for k, v := range gr {
					if !(v+bias > 0) {
						d[k] = 0
					}
				}
			}
		})
	}
}

// blasImpl is gonum's native BLAS, named directly rather than through blas64 so that
// the forward pass keeps its per-column determinism (forwardBatch) whatever
// implementation blas64 is set to use.
var blasImpl gonum.Implementation

// segments calls f for the columns c0..c0+m−1 of a patch matrix with P columns per
// sample, split by sample: positions p0..p1−1 of sample s are columns off..off+p1−p0−1.
func segments(c0, m, P int, f func(s, p0, p1, off int)) {
	for c := c0; c < c0+m; {
		s, p0 := c/P, c%P
		p1 := min(P, p0+c0+m-c)
		f(s, p0, p1, c-c0)
		c += p1 - p0
	}
}

// im2col writes the patches of output positions p0..p1−1 of one sample x of a
// non-circular conv into columns off.. of pt (leading dimension ld): row
// (c·kh+a)·kw+e, column off+p−p0 holds x[c, i·sh+a−ph, j·sw+e−pw] for p = i·Wo+j, or 0
// where that falls outside the input.
func (st *step) im2col(pt []float64, ld, off int, x []float64, p0, p1 int) {
	H, Wd, Wo := st.in.H, st.in.W, st.out.W
	for c := 0; c < st.in.C; c++ {
		xc := x[c*H*Wd : (c+1)*H*Wd]
		for a := 0; a < st.kh; a++ {
			for e := 0; e < st.kw; e++ {
				row := pt[((c*st.kh+a)*st.kw+e)*ld+off:]
				for p := p0; p < p1; {
					i, j0 := p/Wo, p%Wo
					j1 := min(Wo, j0+p1-p)
					seg := row[p-p0 : p-p0+j1-j0]
					p += j1 - j0
					r := i*st.sh + a - st.ph
					if r < 0 || r >= H {
						clear(seg)
						continue
					}
					xr := xc[r*Wd : (r+1)*Wd]
					q := j0*st.sw + e - st.pw
					for k := range seg {
						if q >= 0 && q < Wd {
							seg[k] = xr[q]
						} else {
							seg[k] = 0
						}
						q += st.sw
					}
				}
			}
		}
	}
}

// run computes one layer on one sample: dst = layer(src), scratch at least as long as
// dst when the layer is gated. The batched pass uses it for circular convolutions and
// pools; the scalar conv and linear below are also the reference of its tests.
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
