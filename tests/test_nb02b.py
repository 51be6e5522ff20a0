"Notebook 02b's engine as a library: every operation's gradient against autograd (hypothesis over broadcast shapes), backward's rules, the errors."
import operator, re

import numpy as np

import pytest
import torch
from hypothesis import given, settings, strategies as st

from exp import nb_02b
from exp.measure import Timing
from exp.nb_02 import Model, grad_check, init_params, rel_error
from exp.nb_02b import Tensor, mlp_mse, no_grad, time_engine, unbroadcast

f64 = torch.float64


def engine_and_autograd(f, *xs, w=None):
    "Gradients of `sum(w * f(*xs))` w.r.t. each of `xs`, by the engine and by autograd."
    w = torch.randn(f(*xs).shape, dtype=f64) if w is None else w
    ts = [Tensor(x.clone(), requires_grad=True) for x in xs]
    (f(*ts) * w).sum().backward()
    xa = [x.clone().requires_grad_() for x in xs]
    (f(*xa) * w).sum().backward()
    return [t.grad for t in ts], [x.grad for x in xa]


def assert_same_grads(f, *xs, tol=1e-12):
    ours, theirs = engine_and_autograd(f, *xs)
    for o, t in zip(ours, theirs):
        assert o.shape == t.shape and rel_error(o, t) < tol


# ------------------------------------------------------------------------------------------- broadcasting, by hypothesis
@st.composite
def broadcast_pair(draw, max_ndim=3, max_dim=4):
    "Two float64 tensors whose shapes broadcast: from one result shape, each drops some leading dims and sets some to 1."
    out = draw(st.lists(st.integers(1, max_dim), min_size=0, max_size=max_ndim))
    def operand():
        shape = out[draw(st.integers(0, len(out))):]
        return tuple(1 if draw(st.booleans()) else n for n in shape)
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    return torch.randn(operand(), generator=g, dtype=f64), torch.randn(operand(), generator=g, dtype=f64)


BINARY = {'+': operator.add, '-': operator.sub, '*': operator.mul, '/': lambda a, b: a / (b * b + 0.5)}


@pytest.mark.parametrize('op', BINARY)
@settings(deadline=None, max_examples=60)
@given(pair=broadcast_pair())
def test_broadcasting_operations_match_autograd(op, pair):
    assert_same_grads(BINARY[op], *pair)


@settings(deadline=None, max_examples=60)
@given(pair=broadcast_pair(), number=st.floats(-3, 3))
def test_numbers_mix_in_on_either_side(pair, number):
    a, _ = pair
    assert_same_grads(lambda t: number - t * number + (t + number) * 2, a)


@settings(deadline=None, max_examples=60)
@given(pair=broadcast_pair())
def test_unbroadcast_undoes_broadcasting(pair):
    a, b = pair
    g = torch.randn(torch.broadcast_shapes(a.shape, b.shape), dtype=f64)
    for t in (a, b):
        assert unbroadcast(g, t.shape).shape == t.shape
        tt = t.clone().requires_grad_()
        (tt.expand(g.shape) * g).sum().backward()
        assert torch.allclose(unbroadcast(g, t.shape), tt.grad)


# ------------------------------------------------------------------------------------------- every other operation
rows, cols = torch.tensor([0, 2, 2, 1]), torch.tensor([1, 0, 0, 3])
UNARY = {
    'neg': (lambda a: -a, False), 'pow3': (lambda a: a ** 3, False), 'sqrt': (lambda a: a ** 0.5, True),
    'relu': (lambda a: a.relu(), False), 'exp': (lambda a: a.exp(), False), 'log': (lambda a: a.log(), True),
    'sum': (lambda a: a.sum(), False), 'sum0': (lambda a: a.sum(0), False), 'sum-1k': (lambda a: a.sum(-1, keepdim=True), False),
    'mean': (lambda a: a.mean(), False), 'mean1': (lambda a: a.mean(1, keepdim=True), False),
    'reshape': (lambda a: a.reshape(2, 6), False), 'reshape-1': (lambda a: a.reshape(-1), False), 'T': (lambda a: a.T, False),
    'rows': (lambda a: a[rows], False), 'rows_cols': (lambda a: a[rows, cols], False),
    'twice': (lambda a: a * a + a.exp() * a, False), 'rdiv': (lambda a: 1 / a - 2, True),
}


@pytest.mark.parametrize('name', UNARY)
def test_each_operation_against_autograd_and_finite_differences(name):
    f, positive = UNARY[name]
    torch.manual_seed(0)
    a = torch.rand(3, 4, dtype=f64) + 0.5 if positive else torch.randn(3, 4, dtype=f64)
    assert_same_grads(f, a)
    w = torch.randn(f(a).shape, dtype=f64)
    t = Tensor(a.clone(), requires_grad=True)
    (f(t) * w).sum().backward()
    with no_grad(): grad_check(lambda: (f(Tensor(a)) * w).sum().item(), [a], [t.grad])


def test_matmul_and_a_torch_tensor_on_the_left():
    torch.manual_seed(0)
    a, b = torch.randn(4, 3, dtype=f64), torch.randn(3, 5, dtype=f64)
    assert_same_grads(lambda x, y: x @ y, a, b)
    assert_same_grads(lambda x: a.sum() * (b.T @ x.T), a)      # torch @ Tensor, then torch * Tensor


# ------------------------------------------------------------------------------------------- backward's rules
def test_gradients_accumulate_until_zeroed():
    w = Tensor(torch.tensor([1., 2.], dtype=f64), requires_grad=True)
    loss = (w * w).sum()
    loss.backward(); loss.backward()
    assert torch.equal(w.grad, 4 * w.data)
    w.zero_grad(); loss.backward()
    assert torch.equal(w.grad, 2 * w.data)


def test_a_long_chain_needs_no_recursion():
    x = Tensor(torch.tensor(1., dtype=f64), requires_grad=True)
    y = x
    for _ in range(10_000): y = y * 1.0001 - 0
    y.backward()
    assert abs(x.grad.item() / 1.0001 ** 10_000 - 1) < 1e-9


def test_a_wide_diamond_adds_every_path():
    x = Tensor(torch.tensor(2., dtype=f64), requires_grad=True)
    total = x * 0
    for _ in range(3000): total = total + x * x            # x used 6,000 times
    total.backward()
    assert x.grad.item() == pytest.approx(3000 * 2 * 2.)


def test_no_grad_records_nothing_and_restores():
    w = Tensor(torch.ones(3), requires_grad=True)
    with no_grad(): assert not (w * 2).requires_grad
    assert (w * 2).requires_grad
    with pytest.raises(KeyError):
        with no_grad(): raise KeyError
    assert (w * 2).requires_grad                            # restored after an exception too


def test_no_grad_stops_torch_autograd_too_since_import_star_gives_it_torchs_name():
    w = torch.ones(3, requires_grad=True)
    with no_grad(): y = w * 2
    assert not y.requires_grad and torch.is_grad_enabled() and (w * 2).requires_grad   # and restored after


@pytest.mark.parametrize('n,w2,b2', [(1, torch.randn(4, 2), torch.zeros(2)), (1, torch.randn(4, 1), torch.zeros(3)),
                                      (3, torch.randn(4), torch.zeros(3)), (3, torch.randn(4, 1), torch.zeros(3, 1))])
def test_mlp_mse_refuses_a_network_with_more_than_one_output(n, w2, b2):
    "At N = 1 the outputs were averaged against the one target; a bias per row (N of them) gave outputs of the right shape."
    x,y = torch.randn(n, 3),torch.randn(n)
    with pytest.raises(ValueError, match=rf'one output: w2 of shape \(4, 1\) and b2 of one number; got w2 of shape {re.escape(str(tuple(w2.shape)))}'):
        mlp_mse(x, y, torch.randn(3, 4), torch.zeros(4), w2, b2)
    with pytest.raises(ValueError, match='one output'): mlp_mse(Tensor(x), y, *map(Tensor, (torch.randn(3, 4), torch.zeros(4), w2, b2)))


def test_mlp_mse_takes_a_w2_of_one_dimension():
    x,y,w1,b1,w2 = torch.randn(5, 3),torch.randn(5),torch.randn(3, 4),torch.zeros(4),torch.randn(4)
    torch.testing.assert_close(mlp_mse(x, y, w1, b1, w2, torch.zeros(())), mlp_mse(x, y, w1, b1, w2[:, None], torch.zeros(1)))


def test_constants_get_no_gradient():
    w, c = Tensor(torch.ones(2), requires_grad=True), Tensor(torch.ones(2))
    (w * c).sum().backward()
    assert c.grad is None and w.grad is not None


def test_leaf_grad_is_its_own_tensor():
    w = Tensor(torch.ones(2, 3), requires_grad=True)
    w.sum().backward()
    w.grad += 1                                             # a plain tensor, not a broadcast view
    assert torch.equal(w.grad, torch.full((2, 3), 2.))


# ------------------------------------------------------------------------------------------- the payoff
def test_mlp_matches_the_hand_written_model():
    torch.manual_seed(0)
    params = init_params(20, 8, dtype=f64)
    x, y = torch.randn(30, 20, dtype=f64), torch.randn(30, dtype=f64)
    model = Model(*params); model(x, y); model.backward()
    tx, tp = Tensor(x, requires_grad=True), [Tensor(p, requires_grad=True) for p in params]
    mlp_mse(tx, y, *tp).backward()
    for t, hand in zip([tx, *tp], [x, *params]): assert rel_error(t.grad, hand.g) < 1e-10


def test_time_engine_times_both_side_by_side():
    torch.manual_seed(0)
    t = time_engine(torch.randn(64, 10), torch.randint(0, 10, (64,)), nh=4, repeats=2)
    assert set(t) == {'engine', 'autograd'} and all(isinstance(v, Timing) and len(v.times) == 2 for v in t.values())


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize('f, err, match', [
    (lambda a: a + Tensor(torch.ones(4)), ValueError, 'do not broadcast'),
    (lambda a: a @ a, ValueError, 'inner sizes'),
    (lambda a: a + Tensor(torch.ones(3, dtype=f64)), TypeError, 'dtypes float32 and float64'),
    (lambda a: a * 'x', TypeError, 'not a str'),
    (lambda a: a * True, TypeError, 'not a bool'),
    (lambda a: a ** a, TypeError, 'exponent'),
    (lambda a: a.sum(3), ValueError, 'does not fit'),
    (lambda a: a[0], TypeError, 'int64'),
    (lambda a: a.reshape(2, 3).T.T.reshape(6).T, ValueError, '2-D'),
    (lambda a: a.relu().backward(), RuntimeError, 'scalar'),
    (lambda a: Tensor(a.data).sum().backward(), RuntimeError, 'does not require'),
    (lambda a: Tensor(a), TypeError, 'already a Tensor'),
    (lambda a: Tensor(torch.arange(3), requires_grad=True), ValueError, 'floating-point'),
    (lambda a: Tensor(torch.ones(3), requires_grad=1), TypeError, 'True or False'),
])
def test_bad_input_gets_a_clear_error(f, err, match):
    with pytest.raises(err, match=match): f(Tensor(torch.ones(2, 3), requires_grad=True))


@pytest.mark.parametrize('g, shape', [((2, 3), (4,)), ((3,), (2, 3)), ((2, 3), (3, 3)), ((10,), (10, 1)), ((3,), (1, 1, 1))])
def test_unbroadcast_refuses_a_shape_that_does_not_broadcast(g, shape):
    "These used to return a gradient of the wrong shape, silently."
    with pytest.raises(ValueError, match='cannot come from a tensor of shape'): unbroadcast(torch.ones(g), shape)


def test_mlp_mse_refuses_column_targets():
    "(N, 1) targets against (N,) outputs used to broadcast to (N, N): a wrong loss, silently; time_engine timed it."
    x, y = torch.randn(6, 5, dtype=f64), torch.randn(6, dtype=f64)
    with pytest.raises(ValueError, match=r'one target per row of x, shape \(6,\); got shape \(6, 1\)'):
        mlp_mse(x, y[:, None], *init_params(5, 4, dtype=f64))
    with pytest.raises(ValueError, match='one target per row'): time_engine(x, y[:, None], repeats=1)


def test_a_wrong_vjp_is_named(monkeypatch):
    monkeypatch.setattr(nb_02b, 'unbroadcast', lambda g, shape: g)    # forgets to sum: gradients of the wrong shape
    a, b = Tensor(torch.ones(4, 3), requires_grad=True), Tensor(torch.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward of '\+' gave a gradient of shape \(4, 3\) for an input of shape \(3,\)"):
        (a + b).sum().backward()


# --- found by a reviewer: each was a silent wrong result or an unclear error ------------------------------------

def test_leaves_never_share_a_grad_tensor():
    a, b, w = [Tensor(torch.randn(3, dtype=torch.float64), requires_grad=True) for _ in range(3)]
    ((a + b) * w).sum().backward()
    assert a.grad is not b.grad
    a.grad.zero_()
    assert torch.equal(b.grad, w.data)                    # zeroing one leaf's gradient leaves the other's alone


def test_a_float_number_does_not_truncate_an_int_tensor():
    with pytest.raises(TypeError, match='dtypes int64 and float32'): Tensor(torch.arange(3)) * 1.5
    assert torch.equal((Tensor(torch.arange(3)) * 2).data, torch.tensor([0, 2, 4]))


def test_a_result_its_backward_uses_changed_in_place_is_refused_at_backward():
    "exp's backward uses its result: changed in place, it gave a wrong gradient silently (PyTorch refuses it too)."
    x = Tensor(torch.tensor([0., 1.], dtype=torch.float64), requires_grad=True)
    y = x.exp()
    y.data.add_(1)
    with pytest.raises(RuntimeError, match=r"the result of 'exp' was changed in place"): y.sum().backward()
    x = Tensor(torch.tensor([0., 1.], dtype=torch.float64), requires_grad=True)
    y = x.exp(); loss = y.sum()
    y.data.add_(1)                               # after sum took it: the error names both operations
    with pytest.raises(RuntimeError, match=r"an input of 'sum' \(the result of 'exp'\) was changed in place"): loss.backward()


def test_the_error_names_the_shapes_passed_in():
    with pytest.raises(ValueError, match=r'a gradient of shape \(64, 10\) cannot come from a tensor of shape \(64,\)'):
        unbroadcast(torch.ones(64, 10), (64,))
    with pytest.raises(ValueError, match=r'a gradient of shape \(10,\) cannot come from a tensor of shape \(1, 10\)'):
        unbroadcast(torch.ones(10), torch.Size([1, 10]))


def test_an_input_changed_in_place_after_use_is_refused_at_backward():
    x = Tensor(torch.tensor([1., 2.], dtype=torch.float64), requires_grad=True)
    loss = (x * x).sum()
    x.data.add_(10)
    with pytest.raises(RuntimeError, match=r"an input of '\*' \(a leaf\) was changed in place"): loss.backward()
    x = Tensor(torch.tensor([1., 2.], dtype=torch.float64), requires_grad=True)
    loss = (x * x).sum()
    x.data = x.data + 10                                   # a new tensor: the recorded values are still those used
    loss.backward()
    assert torch.equal(x.grad, torch.tensor([2., 4.], dtype=torch.float64))


def test_power_zero_has_zero_gradient():
    x = Tensor(torch.tensor([0., 2.], dtype=torch.float64), requires_grad=True)
    (x ** 0).sum().backward()
    assert torch.equal(x.grad, torch.zeros(2, dtype=torch.float64))


def test_numpy_numbers_combine_like_python_numbers():
    t = Tensor(torch.ones(2, dtype=torch.float64))
    assert torch.equal((np.float64(2) * t).data, (2 * t).data) and torch.equal((t + np.float64(1)).data, (t + 1).data)


def test_make_names_a_missing_tuple_comma():
    from exp.nb_02b import _make
    x = Tensor(torch.randn(3), requires_grad=True)
    t = x.data.tanh()
    with pytest.raises(TypeError, match=r"a tuple of one needs its comma: \(x,\)"): _make(t, 'tanh', (x,), (lambda g: g * (1 - t**2)))
    with pytest.raises(TypeError, match="not Tensor and tuple"): _make(t, 'tanh', x, (lambda g: g,))


def test_time_engine_and_mlp_mse_name_inputs_they_cannot_use():
    "An int x failed in init_params, naming a dtype argument; a list y failed in y.to; a 1-D x gave a number silently."
    with pytest.raises(ValueError, match='time_engine: x must be a floating-point'): time_engine(torch.arange(8).view(2, 4), torch.randn(2), repeats=1)
    with pytest.raises(ValueError, match='time_engine: y must be a tensor'): time_engine(torch.randn(2, 4), [1., 2.], repeats=1)
    w1, b1, w2, b2 = init_params(4, 3)
    with pytest.raises(ValueError, match=r'x of shape \(N, inputs\)'): mlp_mse(torch.randn(4), torch.randn(4), w1, b1, w2, b2)


def test_sum_takes_numpy_integer_dims_and_refuses_bools():
    x = torch.randn(2, 3)
    assert torch.equal(Tensor(x).sum(np.int64(1)).data, x.sum(1)) and torch.equal(Tensor(x).sum((np.int64(0), -1)).data, x.sum((0, 1)))
    for bad in (True, (0, False), 1.0, 2):
        with pytest.raises(ValueError, match='does not fit'): Tensor(x).sum(bad)


def test_relu_passes_no_gradient_at_zero_or_below():
    x = Tensor(torch.tensor([-1., 0., 2.], dtype=torch.float64), requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0., 0., 1.]                   # as torch's relu: 0 at 0


def test_relu_stops_an_infinite_gradient_where_it_was_off():
    "g * (a > 0) gave 0 * inf = nan where the ReLU was off and the gradient arriving was infinite; autograd gives 0."
    x = torch.tensor([[-1., 0., 4.], [2., -3., 0.]], dtype=torch.float64)
    w = torch.tensor([[1., -1.], [0.5, 2.], [-1., 1.]], dtype=torch.float64)
    ours = [Tensor(v, requires_grad=True) for v in (x, w)]
    theirs = [v.clone().requires_grad_() for v in (x, w)]
    ((ours[0] @ ours[1]).relu() ** 0.5).sum().backward()
    ((theirs[0] @ theirs[1]).relu() ** 0.5).sum().backward()
    assert torch.isinf((theirs[0] @ theirs[1]).relu().detach().pow(-0.5)).any()      # the case: an infinite gradient arrives
    for o, t in zip(ours, theirs): torch.testing.assert_close(o.grad, t.grad)         # no nan


def test_indexing_keeps_its_indices_as_they_were():
    "Indices changed in place after the forward pass moved the gradient to the new places, without a word."
    t = Tensor(torch.zeros(3, 3, dtype=torch.float64), requires_grad=True)
    rows, cols = torch.tensor([0, 2]), torch.tensor([1, 1])
    y = t[rows, cols].sum()
    cols[0] = 0
    y.backward()
    assert t.grad.nonzero().tolist() == [[0, 1], [2, 1]]


def test_time_engine_runs_the_backward_pass_of_both(monkeypatch):
    ours, theirs = [], []
    real_ours, real_theirs = Tensor.backward, torch.Tensor.backward
    monkeypatch.setattr(Tensor, 'backward', lambda self, *a, **k: ours.append(1) or real_ours(self, *a, **k))
    monkeypatch.setattr(torch.Tensor, 'backward', lambda self, *a, **k: theirs.append(1) or real_theirs(self, *a, **k))
    time_engine(torch.randn(16, 5), torch.randn(16), nh=3, repeats=2)
    assert len(ours) >= 3 and len(theirs) >= 3              # a warm-up, then at least one call in each of the 2 runs


def test_a_numpy_int_takes_the_tensors_dtype_as_an_int_does():
    t = Tensor(torch.ones(2, dtype=torch.int32))
    assert (t + np.int64(1)).data.dtype == (t + 1).data.dtype == torch.int32
