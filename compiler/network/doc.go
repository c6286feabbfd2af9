// Package network owns the recovered network: the weights.json model of
// docs/cli.md (layers with resolved parameters, tensors in PyTorch layouts), its
// forward pass for every layer kind, and the non-convex objective computed directly
// from the weights — independently of any convex program, so that it can certify one.
//
// Pipeline position: convex solution ──compiler/derive recover──▶ *Weights ──▶ weights.json,
// and back: weights.json ──Forward/Objective──▶ cnnc verify / predict.
//
// # Building and checking a Weights
//
// New(model, β, loss) copies the model's layers; a rule's Recover adds tensors with
// Set and calls Finalize, which resolves auto widths from the tensors, fills default
// penalties, materialises the weights of fixed layers and validates every tensor shape
// against the layers. Read/ReadFile validate the same way; Write emits stable JSON with
// one layer and one tensor per line, floats in strconv 'g' −1 form (bit-exact round trip).
//
// # Layers (sample shapes: [D] vector, [C,L] 1-D signal, [C,H,W] image; all row-major)
//
// A [C,L] signal is treated as [C,1,L] with kernel (1,K), stride (1,s), padding (0,p),
// so every spatial layer has one 2-D implementation.
//
//   - conv (PyTorch Conv1d/Conv2d, zero padding P per side, stride S):
//     y[o,i,j] = b[o] + Σ_c Σ_{a<Kh} Σ_{e<Kw} W[o,c,a,e]·x̄[c, i·Sh+a−Ph, j·Sw+e−Pw],
//     x̄ = x inside the image, 0 outside; output Ho = ⌊(H+2Ph−Kh)/Sh⌋+1 (likewise Wo).
//   - circconv (stride 1, output the size of the input). Per spatial dimension of
//     length L with kernel K ≤ L, left = ⌊(K−1)/2⌋ and right = K−1−left:
//     y[o,t] = b[o] + Σ_c Σ_{s<K} W[o,c,s]·x[c, (t+s−left) mod L],  t = 0…L−1,
//     which is PyTorch Conv1d/Conv2d(padding='same', padding_mode='circular'), i.e. an
//     unpadded convolution of F.pad(x, (left, right), mode='circular'). weights.json
//     stores this W (PyTorch's cross-correlation). Relation to §7.3 (docs/math/07-linear-cnn.md),
//     (u ⊛ x)[t] = Σ_s u[s]·x[(t−s) mod L]: for a full-length kernel (K = L),
//     y = u ⊛ x exactly when W[s] = u[(left−s) mod L] (a flip and a shift by left;
//     CircWeight and CircFilter convert); for K < L, W[s] = u[K−1−s] gives
//     y[t] = (u ⊛ x)[(t+right) mod L], the §7.3 output rotated by right.
//   - relu: max(0, z) elementwise.
//   - gated (§3.1): layer i must directly follow a linear, conv or circconv layer i−1
//     with affine map A(x; W, b). The gate tensor L<i>.gates has W's shape, and an
//     optional L<i>.gate_bias of shape [out] (only when layer i−1 has a bias; 0 when
//     absent). With x the input of layer i−1, the gated layer outputs
//     1[A(x; G, g₀) > 0] ⊙ A(x; W, b)   (strict >, elementwise),
//     so for one linear unit j: φ = 1[x·g_j > 0]·(x·u_j), the §3.1 unit with a fixed gate.
//   - avgpool/maxpool windowed (PyTorch AvgPool/MaxPool, no padding, floor mode, stride
//     default = window): mean / max over each window; global: over all positions of
//     each channel, output [C] (PyTorch AdaptiveAvgPool/AdaptiveMaxPool to 1, flattened).
//   - flatten: the same numbers as a vector (row-major C, H, W).
//   - linear: y = W·vec(x) + b with W [out, in]; a multi-dimensional input is
//     flattened first (row-major). fixed=VALUE: every weight is VALUE, not penalised.
//
// # Objective (the scale of docs/language.md, "The objective")
//
//	obj = loss + penalty,
//	loss: squared ½ Σ_{i,k} (ŷ_ik − y_ik)², hinge Σ max(0, 1 − y·ŷ), logistic Σ log(1 + e^{−y·ŷ}),
//	      cross_entropy Σ_i (Σ_k y_ik·log Σ_k e^{ŷ_ik} − Σ_k y_ik ŷ_ik) (softmax, one-hot targets),
//	penalty = (β/2) Σ_T P(T),  P by the tensor's Penalty:
//	  l2:   ‖T‖² (sum of squares);
//	  l1sq: Σ_g (Σ_{a,r} |T[a, g, r]|)², T viewed as [shape[0], Groups, rest]: axis 1
//	        (in_features / in_channels) holds the hidden units, each unit owning a
//	        contiguous block — for a linear layer after flatten of [C,H,W], unit c owns
//	        columns c·H·W … (c+1)·H·W−1, so ‖w_c‖₁ sums its window weights over every
//	        output (§5.2's ‖w_j‖₁², and ‖W_j‖_{1,1}² for vector outputs);
//	  none: 0.
//
//	path, group: the tensor is covered by the network-level regulariser (below).
//
// Parallel branches (branches.go): a conv, circconv or linear layer with "branches": K
// is K parallel copies of itself (Out = K·width, branch-major); a later linear layer
// of the same run is block-diagonal (zero outside its K blocks, checked). With
// "regularizer": "path" or "group" (three-layer parallel networks, docs/math/08 and
// 09) the objective adds β·R(θ) — R the ℓ2 path norm Σ_k |w3_k|·sqrt(Σ_j ‖A_kj‖²‖B_kj‖²)
// or its group-ℓ1 variant Σ_k |w3_k|·Σ_j ‖A_kj‖‖B_kj‖ — instead of per-tensor penalties
// on the tensors it covers.
//
// Defaults when a tensor's Penalty is empty: .weight → l2 (none for fixed layers);
// .bias → l2 on hidden layers, none on the output layer (the last conv, circconv or
// linear layer) — docs/language.md: a hidden bias is a constant input feature under weight
// decay, the output bias is one unpenalised scalar; .gates, .gate_bias → none.
//
// Forward and Objective compute this definition directly in float64: the reference that
// certifies the convex solver. Conv and linear layers run as matrix products (gonum's
// Dgemm) on batches of samples, the other layers one sample at a time; a sample's output
// does not depend on the number of cores or on the other samples. They agree with the
// plain per-sample loops to 1e-12 (TestForwardBatchedMatchesScalar) and with PyTorch
// (float64) to 1e-12 (compiler/network/nettest).
package network
