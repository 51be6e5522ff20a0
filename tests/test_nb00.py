"The test helpers of notebook 00: each passes on equal inputs and fails, showing both sides, on unequal ones."
import numpy as np, pytest, torch
from exp.nb_00 import equals, near, test_eq, test_ne, test_near, test_near_zero, test_fail

T = torch.tensor


def fails(f):
    "The message of the AssertionError `f()` raises (the test fails if none is raised)."
    with pytest.raises(AssertionError) as e: f()
    return str(e.value)


def test_eq_passes_and_fails_with_both_sides():
    test_eq(3, 3); test_eq('a', 'a'); test_eq([1, 2], [1, 2])
    test_eq(T([1, 2]), T([1, 2])); test_eq(np.array([1, 2]), T([1, 2]))
    msg = fails(lambda: test_eq(T([1, 2, 3]), T([1, 2, 4])))
    assert '==' in msg and 'tensor([1, 2, 3])' in msg and 'tensor([1, 2, 4])' in msg and 'shape (3,)' in msg


def test_eq_compares_shapes():
    assert not equals(T([1, 2]), T([[1, 2]]))
    fails(lambda: test_eq(T([1., 1.]), T(1.)))


def test_ne_passes_and_fails():
    test_ne(1, 2); test_ne(T([1, 2]), T([2, 1])); test_ne(T([1, 2]), T([[1, 2]]))
    msg = fails(lambda: test_ne(T([5]), T([5])))
    assert '!=' in msg and msg.count('tensor([5])') == 2


def test_near_tolerances():
    test_near(T([1.0, 100.0]), T([1.0005, 100.05]))            # within rtol=1e-3
    test_near(T([0.0]), T([5e-6]))                              # within atol=1e-5
    test_near(T([1.0], dtype=torch.float64), T([1.0]))          # dtypes may differ
    fails(lambda: test_near(T([1.0]), T([1.002])))              # 0.2 % is too far
    fails(lambda: test_near(T([0.0]), T([5e-5])))
    assert not near(T([1., 2.]), T([[1., 2.]]))                 # no broadcasting
    msg = fails(lambda: test_near(T([1., 2.]), T([1., 3.])))
    assert 'near' in msg and 'tensor([1., 2.])' in msg and 'tensor([1., 3.])' in msg


def test_near_zero_with_tolerance():
    test_near_zero(T([1e-4, -1e-4])); test_near_zero(T(0.01), tol=0.1)
    msg = fails(lambda: test_near_zero(T([0.0, 0.5])))
    assert '0.5' in msg and '0.001' in msg


def test_fail_checks_raise_and_message():
    test_fail(lambda: 1/0)
    test_fail(lambda: 1/0, contains='division')
    msg = fails(lambda: test_fail(lambda: 1/0, contains='shape'))
    assert 'shape' in msg and 'ZeroDivisionError' in msg
    msg = fails(lambda: test_fail(lambda: 1, msg='should have raised'))
    assert 'none was raised' in msg and 'should have raised' in msg
