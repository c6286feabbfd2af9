package network

// CircWeight converts a full-length circular filter u ∈ R^L in the convention of
// §7.3 (docs/math/07-linear-cnn.md), (u ⊛ x)[t] = Σ_s u[s]·x[(t−s) mod L], into the weights.json
// (PyTorch, padding='same', padding_mode='circular') kernel W of length K = L that
// computes the same y = u ⊛ x: W[s] = u[(left−s) mod L] with left = ⌊(L−1)/2⌋.
// (Proof: y[t] = Σ_s W[s]·x[(t+s−left) mod L]; put r = (left−s) mod L.)
func CircWeight(u []float64) []float64 { return circFlip(u) }

// CircFilter is the inverse of CircWeight: u[r] = W[(left−r) mod L]. The map
// s ↦ (left−s) mod L is an involution, so CircFilter(CircWeight(u)) = u.
func CircFilter(W []float64) []float64 { return circFlip(W) }

func circFlip(v []float64) []float64 {
	L := len(v)
	left := (L - 1) / 2
	out := make([]float64, L)
	for s := range v {
		out[s] = v[((left-s)%L+L)%L]
	}
	return out
}
