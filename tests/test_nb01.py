"Tests for exp.nb_01: every matmul rung against torch, and the argument checks (the timing helpers: test_measure.py)."
import math, time

import pytest, torch
from hypothesis import given, settings, strategies as st

from strategies import matmul_pair

import exp.nb_01 as nb

RUNGS = list(nb.RUNGS.values())      # every rung the notebook exports, so a new one is tested too
ids = [f.__name__ for f in RUNGS]


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@settings(deadline=None, max_examples=40)
@given(pair=matmul_pair())
def test_rung_matches_torch(matmul, pair):
    a,b = pair
    a0,b0 = a.clone(),b.clone()
    c = matmul(a, b)
    assert c.shape == (a.shape[0], b.shape[1]) and c.dtype == a.dtype
    torch.testing.assert_close(c, a @ b)
    assert torch.equal(a, a0) and torch.equal(b, b0), "the inputs must not change"
    assert c.data_ptr() not in (a.data_ptr(), b.data_ptr()) or c.numel() == 0, "the result is a new tensor"


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('shapes', [((1, 7), (7, 1)), ((7, 1), (1, 7)), ((1, 5), (5, 4)), ((4, 5), (5, 1)),
                                    ((0, 3), (3, 2)), ((3, 0), (0, 2)), ((3, 2), (2, 0))])
def test_edge_shapes(matmul, shapes):
    torch.manual_seed(0)
    a,b = torch.randn(*shapes[0], dtype=torch.float64),torch.randn(*shapes[1], dtype=torch.float64)
    c = matmul(a, b)
    assert c.shape == (shapes[0][0], shapes[1][1]) and c.dtype == torch.float64
    torch.testing.assert_close(c, a @ b)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_transposed_inputs(matmul):
    torch.manual_seed(0)
    a,b = torch.randn(6, 4).T,torch.randn(3, 6).T          # (4,6) @ (6,3), both non-contiguous
    assert not a.is_contiguous() and not b.is_contiguous()
    torch.testing.assert_close(matmul(a, b), a.contiguous() @ b.contiguous())


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('a,b,expected', [
    (torch.randn(3), torch.randn(3, 2), ['(3,)', '(3, 2)', '2-D']),
    (torch.randn(2, 3, 4), torch.randn(4, 2), ['(2, 3, 4)', '(4, 2)', '2-D']),
    (torch.randn(2, 3), torch.randn(4, 5), ['(2, 3)', '(4, 5)', '3 columns', '4 rows']),
    (torch.randn(2, 3), torch.randn(3, 5, dtype=torch.float64), ['(2, 3)', '(3, 5)', 'float32', 'float64', 'dtype']),
    ([[1., 2.]], torch.randn(2, 1), ['list', '(2, 1)', 'tensors']),
], ids=['1-D', '3-D', 'inner mismatch', 'dtype mismatch', 'not a tensor'])
def test_bad_arguments(matmul, a, b, expected):
    with pytest.raises(ValueError) as e: matmul(a, b)
    for part in expected: assert part in str(e.value), f"{part!r} not in {str(e.value)!r}"


def test_check_matmul_args_refuses_bool():
    "The loops, elementwise and broadcast rungs used to return an OR of ANDs, where einsum and @ raise."
    for rung in RUNGS:
        with pytest.raises(ValueError, match='bool tensors have no product'): rung(torch.ones(2, 3, dtype=torch.bool), torch.ones(3, 2, dtype=torch.bool))


def test_check_matmul_args_accepts_matrices():
    assert nb.check_matmul_args(torch.zeros(2, 3), torch.zeros(3, 4)) is None
    assert nb.check_matmul_args(torch.zeros(0, 0), torch.zeros(0, 5)) is None


def test_chain_exports():
    assert {'matmul_loops', 'time_fn', 'Timing', 'test_near', 'load_mnist', 'torch'} <= set(nb.__all__)


def test_near_product_scales_its_tolerance_to_the_terms():
    "Sums of thousands of terms: a few float32 results near 0 fail a tolerance relative to the result, none this one."
    from exp.nb_01 import near_product, test_product
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(512, 2048, generator=g), torch.randn(2048, 512, generator=g)
    c = a @ b
    test_product(c, a, b)
    assert not near_product(c - a[:, :1] @ b[:1, :], a, b)   # one term of 2,048 left out
    assert not near_product(c[:, :-1], a, b)                  # the wrong shape
    assert near_product(a.double() @ b.double(), a.double(), b.double())
    assert near_product(torch.zeros(3, 4), torch.zeros(3, 0), torch.zeros(0, 4))   # empty sums
    with pytest.raises(AssertionError, match=r'c\[\d+, \d+\] is .*off by .* of the size of its terms'): test_product(c * 1.001, a, b)
    with pytest.raises(AssertionError, match=r'has shape \(512, 511\), expected \(512, 512\)'): test_product(c[:, :-1], a, b)
    with pytest.raises(ValueError, match='a has 2048 columns but b has 512 rows'): near_product(c, a, c)   # named, not a bare torch error
    bad = c.clone(); bad[1, 2] = math.nan
    with pytest.raises(AssertionError, match=r'c\[1, 2\] is nan'): test_product(bad, a, b)            # a NaN was read as 0 off


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.complex64])
def test_near_product_takes_each_dtypes_rounding(dtype):
    "float16 and bfloat16 products failed float32's 1e-5 ('more than rounding'); complex ones were compared by their real parts."
    from exp.nb_01 import near_product, test_product
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 300, generator=g).to(dtype), torch.randn(300, 32, generator=g).to(dtype)
    if dtype.is_complex: a, b = a + 1j * torch.randn(64, 300, generator=g), b - 2j * torch.randn(300, 32, generator=g)
    test_product(a @ b, a, b)
    assert not near_product(a @ b - a[:, :1] @ b[:1, :], a, b)        # one term of 300 left out
    if dtype.is_complex: assert not near_product((a @ b).real.to(dtype), a, b)   # the imaginary parts count
    ar, br = a.real.float(), b.real.float()
    assert not near_product(ar @ br + 5j, ar, br)                     # ... a result's too, for real inputs
    assert not near_product(a @ b, a, b, rtol=1e-9)                     # a tolerance given is used


def test_test_product_names_a_result_that_is_not_a_tensor_and_takes_an_infinite_one():
    from exp.nb_01 import near_product, test_product
    a, b = torch.tensor([[math.inf, 1.]]), torch.ones(2, 1)
    test_product(a @ b, a, b)                                           # inf - inf was nan: "off by inf"
    assert not near_product(torch.tensor([[5.]]), a, b)
    with pytest.raises(AssertionError, match=r'the product is None, not a tensor \(a missing return\?\)'): test_product(None, a, b)
    assert not near_product([[math.inf]], a, b)


def test_check_matmul_args_names_two_devices():
    "Inputs on two devices passed the check; the rungs then disagreed (one worked, others failed inside PyTorch)."
    from exp.nb_01 import check_matmul_args
    with pytest.raises(ValueError, match='a is on cpu, b on meta'): check_matmul_args(torch.ones(2, 3), torch.ones(3, 4, device='meta'))


def test_near_product_compares_each_element_with_the_size_of_its_own_terms():
    "One tolerance for the whole product, from its largest terms, would let a 50 % error in a small element through."
    from exp.nb_01 import near_product
    a, b = torch.tensor([[1e-4, 1e-4], [1e4, 1e4]], dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64)
    bad = a @ b
    bad[0, 0] *= 1.5
    assert near_product(a @ b, a, b) and not near_product(bad, a, b)


def test_a_nan_in_the_inputs_is_right_where_the_exact_product_has_one():
    "NaN == NaN is False: the exact product of inputs holding a NaN was called wrong, 'off by inf'."
    a,b = torch.randn(3, 4),torch.randn(4, 2)
    a[0, 1] = math.nan
    assert nb.near_product(a @ b, a, b)
    nb.test_product(a @ b, a, b)
    c = a @ b
    c[1, 1] = math.nan                                    # a NaN the exact product does not have
    with pytest.raises(AssertionError, match=r'c\[1, 1\] is nan, the product -?\d'): nb.test_product(c, a, b)
