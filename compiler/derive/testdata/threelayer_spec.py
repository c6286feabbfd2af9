# Regenerates threelayer_spec.json: the data of the §8 and §9b reference instances,
# drawn exactly as the reference scripts draw them (numpy default_rng streams cannot
# be reproduced in Go). Run: /usr/bin/python3 threelayer_spec.py > threelayer_spec.json
import json
import numpy as np

out = {}
rng = np.random.default_rng(5)            # §8: n=6, d=4, beta=0.1
out["circ3"] = dict(X=rng.standard_normal((6, 4)).tolist(), y=rng.standard_normal(6).tolist(), beta=0.1)
rng = np.random.default_rng(3)            # §9b A (path) and A1 (group): n=6, d=2, no bias, beta=0.1, m1=2
out["A"] = dict(X=rng.standard_normal((6, 2)).tolist(), y=rng.standard_normal(6).tolist(), beta=0.1)
rng = np.random.default_rng(7)            # §9b B: n=5, 2 features + bias column, beta=0.05, m1=2
out["B"] = dict(X=rng.standard_normal((5, 2)).tolist(), y=rng.standard_normal(5).tolist(), beta=0.05)
rng = np.random.default_rng(4)            # §9b.7 CNN: 4 signals of length 4, filter 2, beta=0.05, m1=2
out["cnn"] = dict(X=rng.standard_normal((4, 4)).tolist(), y=rng.standard_normal(4).tolist(), beta=0.05)
print(json.dumps(out, indent=1))
