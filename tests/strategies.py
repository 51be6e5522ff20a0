"Hypothesis strategies shared by the tests of the matmul rungs."
import torch
from hypothesis import strategies as st


@st.composite
def matmul_pair(draw, max_dim=6):
    "Two matrices `a` (n×k) and `b` (k×m) of one float dtype; dimensions 0 to `max_dim`, either may be a transposed view."
    n,k,m = (draw(st.integers(0, max_dim)) for _ in range(3))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    def make(rows, cols, transposed):
        return torch.randn(cols, rows, generator=g, dtype=dtype).T if transposed else torch.randn(rows, cols, generator=g, dtype=dtype)
    return make(n, k, draw(st.booleans())), make(k, m, draw(st.booleans()))
