// Package patch owns patch extraction for convolutional layers: it turns a data
// matrix (one flattened sample per row, row-major (C, H, W) or (C, L)) into the
// stacked patch matrix of §1.1 (docs/math/01-machinery.md),
//
//	M = [X_1; X_2; …; X_K] ∈ R^{nK×h},   row k·n + i (0-based) = x_{i,k}ᵀ,
//
// where k runs over the K output positions of the convolution in row-major order
// (k = t for 1-D, k = a·W_out + b for 2-D) and x_{i,k} ∈ R^h, h = C·∏kernel, is the
// receptive field of sample i at position k with features ordered (c, kh, kw) — the
// order of a PyTorch conv weight [out, in, Kh, Kw] flattened row-major, so that a
// filter u ∈ R^h written as weight[j] computes (conv x)[j, k] = x_{i,k}ᵀ u.
//
// Zero padding P per side: positions outside the input read 0. Circular (circconv):
// stride 1, K = the input's spatial size, and position t reads x[(t + s − P) mod L]
// for kernel offset s, i.e. PyTorch's padding_mode='circular' with left padding P
// (padding='same' uses P = ⌊(K−1)/2⌋).
//
// Only M is materialised; the per-position matrices X_k are views into it, and the
// pooling windows of a following pooling layer are index lists over positions.
//
// Pipeline position: dataset.Dataset.X ──Extract──▶ *Patches ──▶ compiler/derive
// (CNN rules) and backend/pattern (arrangements of M).
package patch

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// Options bound the work of ExtractWith. The zero value applies the default memory
// budget, reports no progress and never stops early.
type Options struct {
	// MaxMemory is the memory budget in bytes (package budget: 0 the default, < 0
	// none). Bytes(n, K, h) is checked against it before anything is allocated.
	MaxMemory int64
	// AppendOnes appends the constant-1 feature to every patch (as AppendOnes does,
	// without the copy).
	AppendOnes bool
	// Progress receives the samples extracted; nil: none.
	Progress progress.Reporter
	// Context ends the extraction early (checked every 256 samples; the error is
	// ctx.Err()); nil: never.
	Context context.Context
}

// Bytes is the memory of the stacked patch matrix of n samples, K positions and h
// features per patch, with the position-to-pixel index table (K·h entries);
// saturating.
func Bytes(n, K, h int64) int64 {
	return budget.Add(budget.Floats(n, K, h), budget.Floats(K, h))
}

// Patches is the result of Extract.
type Patches struct {
	N   int      // samples
	K   int      // output positions
	H   int      // features per patch (C·∏kernel, +1 with AppendOnes)
	In  ir.Shape // input sample shape [C, L] or [C, H, W]
	Out []int    // spatial output shape [L_out] or [H_out, W_out]; ∏Out = K
	M   *mat.Dense
	// Bias is true when the last feature is the constant 1 (AppendOnes).
	Bias bool
}

// X returns the patch matrix X_k (n×h) of position k as a view into M.
func (p *Patches) X(k int) *mat.Dense {
	return p.M.Slice(k*p.N, (k+1)*p.N, 0, p.H).(*mat.Dense)
}

// Row returns x_{i,k} as a view into M (do not modify).
func (p *Patches) Row(k, i int) []float64 { return p.M.RawRowView(k*p.N + i) }

// Rows returns the stacked patch matrix of the positions ks, [X_{ks[0]}; X_{ks[1]}; …]
// (n·len(ks) × h): a view when the positions are consecutive, a copy otherwise.
func (p *Patches) Rows(ks []int) *mat.Dense {
	consecutive := len(ks) > 0
	for j := 1; j < len(ks); j++ {
		if ks[j] != ks[j-1]+1 {
			consecutive = false
		}
	}
	if consecutive {
		return p.M.Slice(ks[0]*p.N, (ks[len(ks)-1]+1)*p.N, 0, p.H).(*mat.Dense)
	}
	out := mat.NewDense(p.N*len(ks), p.H, nil)
	for j, k := range ks {
		out.Slice(j*p.N, (j+1)*p.N, 0, p.H).(*mat.Dense).Copy(p.X(k))
	}
	return out
}

// Sum returns Σ_k w_k X_k (n×h) for position weights w (length K; nil entries are 0).
func (p *Patches) Sum(w []float64) *mat.Dense {
	out := mat.NewDense(p.N, p.H, nil)
	for k := 0; k < p.K && k < len(w); k++ {
		if w[k] == 0 {
			continue
		}
		xk := p.X(k)
		for i := 0; i < p.N; i++ {
			dst := out.RawRowView(i)
			src := xk.RawRowView(i)
			for c := range dst {
				dst[c] += w[k] * src[c]
			}
		}
	}
	return out
}

// AppendOnes returns a copy of p with a constant-1 feature appended to every patch
// (the bias of a conv layer with bias=true, penalised like a weight — §1.1, docs/math/01-machinery.md).
func (p *Patches) AppendOnes() *Patches {
	q := *p
	q.H = p.H + 1
	q.Bias = true
	q.M = mat.NewDense(p.N*p.K, q.H, nil)
	for r := 0; r < p.N*p.K; r++ {
		row := q.M.RawRowView(r)
		copy(row, p.M.RawRowView(r))
		row[p.H] = 1
	}
	return &q
}

// Extract builds the stacked patch matrix of X (n × ∏in, one sample per row,
// row-major over in) for a convolution with the given kernel, stride and per-side
// padding (one entry per spatial dimension of in; nil stride means 1, nil padding
// 0). circular selects wrap-around (circconv): stride must be 1 and padding is the
// left offset P (see the package doc). Errors name the offending argument.
func Extract(X *mat.Dense, in ir.Shape, kernel, stride, padding []int, circular bool) (*Patches, error) {
	return ExtractWith(X, in, kernel, stride, padding, circular, Options{})
}

// ExtractWith is Extract with Options: the size of the patch matrix is computed
// first (without overflow, for any padding) and checked against the memory budget,
// whose *budget.TooLarge error names the sizes.
func ExtractWith(X *mat.Dense, in ir.Shape, kernel, stride, padding []int, circular bool, o Options) (*Patches, error) {
	if X == nil {
		return nil, fmt.Errorf("patch: no data")
	}
	if len(in) != 2 && len(in) != 3 {
		return nil, fmt.Errorf("patch: input shape %v is not [C, L] or [C, H, W]", in)
	}
	sp := len(in) - 1
	n, f := X.Dims()
	if f != in.Size() {
		return nil, fmt.Errorf("patch: data has %d features per sample, input shape %v has %d", f, in, in.Size())
	}
	dims := []int(in[1:])
	ker, str, pad := make([]int, sp), make([]int, sp), make([]int, sp)
	if len(kernel) != sp {
		return nil, fmt.Errorf("patch: kernel %v has %d entries, the input has %d spatial dimensions", kernel, len(kernel), sp)
	}
	if stride != nil && len(stride) != sp {
		return nil, fmt.Errorf("patch: stride %v has %d entries, want %d", stride, len(stride), sp)
	}
	if padding != nil && len(padding) != sp {
		return nil, fmt.Errorf("patch: padding %v has %d entries, want %d", padding, len(padding), sp)
	}
	out := make([]int, sp)
	K := 1
	K64 := int64(1)
	for d := 0; d < sp; d++ {
		ker[d], str[d] = kernel[d], 1
		if stride != nil && stride[d] != 0 {
			str[d] = stride[d]
		}
		if padding != nil {
			pad[d] = padding[d]
		}
		if in[0] <= 0 || dims[d] <= 0 {
			return nil, fmt.Errorf("patch: input shape %v has an empty dimension", in)
		}
		if ker[d] <= 0 || str[d] <= 0 || pad[d] < 0 {
			return nil, fmt.Errorf("patch: kernel %v, stride %v, padding %v must be positive (padding ≥ 0)", kernel, stride, padding)
		}
		if circular {
			if str[d] != 1 {
				return nil, fmt.Errorf("patch: circular convolution needs stride 1, got %v", stride)
			}
			if ker[d] > dims[d] {
				return nil, fmt.Errorf("patch: circular kernel %v is longer than the input %v", kernel, in)
			}
			out[d] = dims[d]
		} else {
			span := int64(dims[d]) + 2*int64(pad[d]) - int64(ker[d])
			if span < 0 {
				return nil, fmt.Errorf("patch: kernel %v does not fit the padded input %v (padding %v)", kernel, in, padding)
			}
			out64 := span/int64(str[d]) + 1
			K64 = budget.Mul(K64, out64)
			if out64 > 1<<31 {
				out64 = 1 << 31 // only reached when the budget check below refuses
			}
			out[d] = int(out64)
			continue
		}
		K64 = budget.Mul(K64, int64(out[d]))
	}
	h64 := int64(in[0])
	for _, k := range ker {
		h64 = budget.Mul(h64, int64(k))
	}
	if o.AppendOnes {
		h64++
	}
	if n == 0 || K64 == 0 {
		return nil, fmt.Errorf("patch: no samples")
	}
	if err := budget.Check(o.MaxMemory, Bytes(int64(n), K64, h64),
		fmt.Sprintf("the patch matrix of %d samples × %d positions (output %v) × %d features", n, K64, out, h64),
		"Each sample contributes one row per output position of the convolution: lower the padding, raise the stride, or use fewer samples (`limit N`)."); err != nil {
		return nil, err
	}
	if Bytes(int64(n), K64, h64) > 1<<47 { // even without a budget: no allocation of 128 TiB can succeed
		return nil, fmt.Errorf("patch: the patch matrix of %d samples × %d positions × %d features is too large to allocate", n, K64, h64)
	}
	for _, v := range out {
		K *= v
	}
	h := int(h64)
	hk := h
	if o.AppendOnes {
		hk--
	}
	p := &Patches{N: n, K: K, H: h, In: in, Out: out, M: mat.NewDense(n*K, h, nil), Bias: o.AppendOnes}

	// 2-D view of every case: 1-D is H = 1, kernel 1, stride 1, padding 0 in the first dim.
	C := in[0]
	IH, IW, KH, KW, SH, SW, PH, PW, OH, OW := 1, dims[0], 1, ker[0], 1, str[0], 0, pad[0], 1, out[0]
	if sp == 2 {
		IH, IW, KH, KW, SH, SW, PH, PW, OH, OW = dims[0], dims[1], ker[0], ker[1], str[0], str[1], pad[0], pad[1], out[0], out[1]
	}
	// src[k·hk + feat] = index into a sample row, or −1 for a zero (padding) entry.
	h = hk
	src := make([]int, K*h)
	for a := 0; a < OH; a++ {
		for b := 0; b < OW; b++ {
			k := a*OW + b
			for c := 0; c < C; c++ {
				for s := 0; s < KH; s++ {
					for t := 0; t < KW; t++ {
						r := a*SH + s - PH
						q := b*SW + t - PW
						idx := -1
						if circular {
							r, q = mod(r, IH), mod(q, IW)
							idx = (c*IH+r)*IW + q
						} else if r >= 0 && r < IH && q >= 0 && q < IW {
							idx = (c*IH+r)*IW + q
						}
						src[k*h+(c*KH+s)*KW+t] = idx
					}
				}
			}
		}
	}
	task := progress.Start(o.Progress, "patch extraction", int64(n), "samples")
	defer task.End()
	for i := 0; i < n; i++ {
		if i%256 == 255 {
			if o.Context != nil && o.Context.Err() != nil {
				return nil, o.Context.Err()
			}
		}
		x := X.RawRowView(i)
		for k := 0; k < K; k++ {
			row := p.M.RawRowView(k*n + i)
			for j, idx := range src[k*h : (k+1)*h] {
				if idx >= 0 {
					row[j] = x[idx]
				}
			}
			if o.AppendOnes {
				row[h] = 1
			}
		}
		task.Add(1)
	}
	return p, nil
}

func mod(a, m int) int {
	a %= m
	if a < 0 {
		a += m
	}
	return a
}

// Windows returns the pooling windows of a pooling layer over a convolution's output
// grid out ([L] or [H, W], positions numbered row-major as in Extract): window l
// (row-major over the pooled grid, PyTorch's floor mode, no padding) lists the
// positions it covers. kernel nil means global pooling (one window of all
// positions); stride nil or 0 means stride = kernel (PyTorch's default). pooled is
// the pooled grid's shape.
func Windows(out, kernel, stride []int) (windows [][]int, pooled []int, err error) {
	K := 1
	for _, o := range out {
		K *= o
	}
	if kernel == nil {
		all := make([]int, K)
		for k := range all {
			all[k] = k
		}
		return [][]int{all}, []int{1}, nil
	}
	sp := len(out)
	if len(kernel) != sp || (stride != nil && len(stride) != sp) {
		return nil, nil, fmt.Errorf("patch: pooling window %v / stride %v does not match the %d spatial dimensions of %v", kernel, stride, sp, out)
	}
	str := make([]int, sp)
	pooled = make([]int, sp)
	for d := 0; d < sp; d++ {
		str[d] = kernel[d]
		if stride != nil && stride[d] != 0 {
			str[d] = stride[d]
		}
		if kernel[d] <= 0 || str[d] <= 0 || kernel[d] > out[d] {
			return nil, nil, fmt.Errorf("patch: pooling window %v (stride %v) does not fit the %v convolution output", kernel, stride, out)
		}
		pooled[d] = (out[d]-kernel[d])/str[d] + 1
	}
	OH, OW, KH, KW, SH, SW, PH, PW := 1, out[0], 1, kernel[0], 1, str[0], 1, pooled[0]
	if sp == 2 {
		OH, OW, KH, KW, SH, SW, PH, PW = out[0], out[1], kernel[0], kernel[1], str[0], str[1], pooled[0], pooled[1]
	}
	_ = OH
	for a := 0; a < PH; a++ {
		for b := 0; b < PW; b++ {
			var w []int
			for s := 0; s < KH; s++ {
				for t := 0; t < KW; t++ {
					w = append(w, (a*SH+s)*OW+b*SW+t)
				}
			}
			windows = append(windows, w)
		}
	}
	return windows, pooled, nil
}
