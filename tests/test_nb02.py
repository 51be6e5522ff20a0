"Notebook 02's exports as a library: data, init, the gradient checker, and the `Module` layers with their gradients."
import math, re

import pytest
import torch
from hypothesis import given, settings, strategies as st

from exp import nb_02
from exp.measure import Timing
from exp.nb_02 import (Lin, Model, Module, Mse, Relu, get_data, grad_check, init_params, kaiming_normal, mse, normalize,
                       numerical_grad, rel_error, time_backward)

f64 = torch.float64
sizes = st.integers(1, 6)


def autograd_grads(loss_fn, *ts):
    "Gradients of `loss_fn(*ts)` w.r.t. every tensor in `ts`, by autograd, on copies."
    ts = [t.detach().clone().requires_grad_() for t in ts]
    loss_fn(*ts).backward()
    return [t.grad for t in ts]


def reference_loss(x, y, w1, b1, w2, b2):
    return ((((x @ w1 + b1).clamp_min(0) @ w2 + b2).squeeze(-1) - y) ** 2).mean()


# ------------------------------------------------------------------------------------------- data
def test_get_data_shapes_and_dtypes():
    x_train, y_train, x_valid, y_valid = get_data()
    assert x_train.shape == (50_000, 784) and x_valid.shape == (10_000, 784)
    assert y_train.shape == (50_000,) and y_valid.shape == (10_000,)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64


def test_normalize_with_training_statistics():
    torch.manual_seed(0)
    x = torch.rand(1000, 20) * 3 + 2
    z = normalize(x, x.mean(), x.std())
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-5
    assert torch.allclose(normalize(x, 2., 4.), (x - 2) / 4)


@pytest.mark.parametrize('s', [0., -1., torch.tensor([1., 0., 1.]), torch.tensor([1., -2.])])
def test_normalize_rejects_a_std_that_is_not_positive(s):
    "A negative standard deviation used to flip the inputs' sign without a word."
    with pytest.raises(ValueError, match='standard deviation s must be finite and positive'): normalize(torch.ones(2), 0., s)


@pytest.mark.parametrize('m, s, what', [(0., True, 'standard deviation s'), (0., None, 'standard deviation s'), (None, 1., 'mean m'),
                                        ('0', 1., 'mean m'), (torch.tensor(True), 1., 'mean m')])
def test_normalize_names_a_statistic_that_is_not_a_number(m, s, what):
    "True divided by 1, None failed inside PyTorch ('Could not infer dtype of NoneType')."
    with pytest.raises(ValueError, match=f'{what} must be a number or a tensor'): normalize(torch.ones(2), m, s)


@pytest.mark.parametrize('m, s, match', [(0., math.nan, 'standard deviation s'), (0., math.inf, 'standard deviation s'),
                                         (math.nan, 1., 'mean m'), (torch.tensor([0., math.inf]), 1., 'mean m')])
def test_normalize_rejects_non_finite_statistics(m, s, match):
    "A NaN or infinite mean or std would turn every input into NaN (or 0) without a word."
    with pytest.raises(ValueError, match=match): normalize(torch.ones(3, 2), m, s)


# ------------------------------------------------------------------------------------------- init
@pytest.mark.parametrize('a', [0., 0.5, 1.])
def test_kaiming_normal_std(a):
    torch.manual_seed(0)
    w = kaiming_normal(4000, 100, a=a)
    assert w.shape == (4000, 100) and w.dtype == torch.float32
    assert abs(w.std().item() / math.sqrt(2 / ((1 + a**2) * 4000)) - 1) < 0.02


def test_kaiming_normal_keeps_relu_activations_in_scale():
    torch.manual_seed(0)
    x = torch.randn(1000, 300)
    for _ in range(10): x = (x @ kaiming_normal(x.shape[1], 300)).clamp_min(0)
    assert 0.5 < (x ** 2).mean().sqrt().item() < 2


@pytest.mark.parametrize('bad', [0, -3, 2.0, '5', True, None])
def test_kaiming_normal_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match='n_out must be an int, at least 1'): kaiming_normal(10, bad)
    with pytest.raises(ValueError, match='nh must be an int, at least 1'): init_params(10, bad)


@pytest.mark.parametrize('a', [math.nan, math.inf, '0.1', None, True])
def test_kaiming_normal_rejects_a_bad_slope(a):
    with pytest.raises(ValueError, match='the leaky slope a must be a finite number'): kaiming_normal(10, 5, a=a)


@pytest.mark.parametrize('dtype', [torch.int64, torch.bool, 'float32'])
def test_kaiming_normal_names_a_dtype_that_is_not_floating_point(dtype):
    with pytest.raises(ValueError, match='dtype must be a torch floating-point dtype'): kaiming_normal(3, 4, dtype=dtype)


def test_mse_of_an_empty_batch_is_an_error_not_nan():
    with pytest.raises(ValueError, match='N > 0'): mse(torch.zeros(0, 1), torch.zeros(0))


def test_init_params():
    w1, b1, w2, b2 = init_params(7, 5, 3, dtype=f64)
    assert [tuple(t.shape) for t in (w1, b1, w2, b2)] == [(7, 5), (5,), (5, 3), (3,)]
    assert all(t.dtype == f64 for t in (w1, b1, w2, b2))
    assert not b1.any() and not b2.any()
    assert init_params(7, 5)[2].shape == (5, 1)


# ------------------------------------------------------------------------------------------- what 2019's exp.nb_02 passed along
def test_star_import_brings_nn_init_and_mse():
    "2019's notebooks use `nn`, `init` and `mse` after `from exp.nb_02 import *`."
    ns = {}
    exec('from exp.nb_02 import *', ns)
    assert ns['nn'] is torch.nn and ns['init'] is torch.nn.init and ns['mse'] is mse
    assert {'nn', 'init', 'mse'} <= set(nb_02.__all__)
    assert {'Lin', 'Model', 'grad_check', 'kaiming_normal', 'test_near'} <= set(ns)    # nothing that was there is lost


@pytest.mark.parametrize('shape', [(7, 1), (7,)])
def test_mse_is_2019s_formula(shape):
    torch.manual_seed(0)
    out, targ = torch.randn(*shape, dtype=f64), torch.randn(7, dtype=f64)
    assert torch.allclose(mse(out, targ), (out.squeeze(-1) - targ).pow(2).mean())
    assert torch.allclose(mse(out, targ), ((out.reshape(7) - targ) ** 2).mean())
    assert torch.allclose(mse(out, targ), Mse()(out, targ))


def test_mse_of_a_batch_of_one_and_its_gradient():
    out, targ = torch.tensor([[3.]], dtype=f64), torch.tensor([1.], dtype=f64)
    assert mse(out, targ).item() == 4. and mse(out[0], targ).item() == 4.
    g, = autograd_grads(lambda o: mse(o, targ), out)
    assert torch.allclose(g, torch.tensor([[4.]], dtype=f64))               # 2 (o - t) / N


@pytest.mark.parametrize('out_shape, targ_shape', [((3, 1), (4,)), ((3, 1), (3, 1)), ((3, 2), (3,)), ((3,), (4,))])
def test_mse_refuses_shapes_that_would_broadcast(out_shape, targ_shape):
    "2019's formula would broadcast (3, 1) outputs against (3, 1) targets to a 3 x 3 matrix and return a wrong number."
    with pytest.raises(ValueError, match=re.escape(f'got a float32 tensor of shape {out_shape} for the output and a float32 tensor of shape {targ_shape} for the targets')):
        mse(torch.zeros(out_shape), torch.zeros(targ_shape))


# ------------------------------------------------------------------------------------------- gradient checker
def test_numerical_grad_matches_calculus_and_restores_x():
    torch.manual_seed(0)
    x = torch.randn(3, 4, dtype=f64)
    x0 = x.clone()
    g = numerical_grad(lambda: (x ** 3).sum(), x)
    assert torch.equal(x, x0)
    assert rel_error(g, 3 * x ** 2) < 1e-8


def test_numerical_grad_works_on_non_contiguous_and_scalar_tensors():
    w = torch.randn(4, 3, dtype=f64).t()
    assert rel_error(numerical_grad(lambda: (w * w).sum(), w), 2 * w) < 1e-8
    s = torch.tensor(2., dtype=f64)
    assert abs(numerical_grad(lambda: s ** 2, s).item() - 4) < 1e-6


@pytest.mark.parametrize('x', [torch.zeros(3), torch.zeros(3, dtype=torch.float16), [1., 2.]])
def test_numerical_grad_needs_float64(x):
    with pytest.raises(ValueError, match='float64'): numerical_grad(lambda: 0., x)


@pytest.mark.parametrize('eps', [0, 0., -1e-6, math.nan, math.inf, '1e-6', True])
def test_numerical_grad_rejects_a_bad_step(eps):
    "eps = 0 divided by zero; a NaN or infinite step gave a NaN gradient; a negative one hides a mistake."
    x = torch.ones(2, dtype=f64)
    with pytest.raises(ValueError, match='eps must be a finite positive number'): numerical_grad(lambda: x.sum(), x, eps)
    with pytest.raises(ValueError, match='eps must be a finite positive number'): grad_check(lambda: x.sum(), [x], [torch.ones(2, dtype=f64)], eps=eps)


@pytest.mark.parametrize('tol', [0, -1., math.nan])
def test_grad_check_rejects_a_bad_tolerance(tol):
    "A tolerance no error can be below would fail every gradient, right or wrong."
    x = torch.ones(2, dtype=f64)
    with pytest.raises(ValueError, match='tol must be a finite positive number'): grad_check(lambda: x.sum(), [x], [torch.ones(2, dtype=f64)], tol=tol)


def test_grad_check_passes_a_right_gradient_near_zero_and_fails_a_wrong_one():
    "At a least-squares optimum the gradient is rounding: its relative error is near 1, which used to fail a right gradient."
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 3, dtype=f64, generator=g), torch.randn(20, 1, dtype=f64, generator=g)
    w = torch.linalg.lstsq(x, y).solution
    loss = lambda: ((x @ w - y) ** 2).mean()
    right = 2 * x.t() @ (x @ w - y) / len(x)
    assert rel_error(right, numerical_grad(loss, w)) > 0.1
    grad_check(loss, [w], [right])
    for wrong in (right + 1e-4, -2 * right + 1e-4, torch.zeros_like(w) + torch.tensor([[0.], [0.], [1e-4]], dtype=f64)):
        with pytest.raises(AssertionError, match='gradient 0 .* is wrong'): grad_check(loss, [w], [wrong])


def test_grad_check_floor_follows_the_size_of_the_loss():
    "A large loss rounds more: (3x).sum() with x near 1e4 failed at 1.2e-6; a wrong gradient there still fails."
    x = torch.full((4,), 1e4, dtype=f64)
    grad_check(lambda: (3 * x).sum(), [x], [torch.full((4,), 3., dtype=f64)])
    with pytest.raises(AssertionError, match='is wrong'): grad_check(lambda: (3 * x).sum(), [x], [torch.full((4,), 3.01, dtype=f64)])


def test_grad_check_says_how_far_off_a_wrong_gradient_is():
    x = torch.ones(3, dtype=f64)
    with pytest.raises(AssertionError, match=r'relative error .* >= tol 1e-06, and a number off by 1.00e-02, more than .* allows'):
        grad_check(lambda: (x * x).sum(), [x], [2 * x + torch.tensor([0., 0.01, 0.], dtype=f64)])


def test_relu_stops_an_infinite_gradient_where_it_was_off():
    "out.g * (inp > 0) made 0 * inf = nan where the ReLU was off; autograd's threshold_backward gives 0, as notebook 02b checks."
    inp = torch.tensor([-1., 0., 4.], dtype=f64)
    relu = Relu(); out = relu(inp); out.g = torch.tensor([math.inf, math.inf, 1.], dtype=f64)
    relu.backward()
    assert inp.g.tolist() == [0., 0., 1.]


def test_rel_error():
    a = torch.tensor([1., 2.])
    assert rel_error(a, a) == 0 and rel_error(torch.zeros(3), torch.zeros(3)) == 0
    assert rel_error(a, -a) == pytest.approx(1.)
    assert rel_error(a, a * 1.001) == pytest.approx(rel_error(a * 1.001, a))
    with pytest.raises(ValueError, match=r'shapes \(2,\) and \(2, 1\)'): rel_error(a, a[:, None])


def test_grad_check_accepts_right_and_rejects_wrong_gradients():
    torch.manual_seed(0)
    x = torch.randn(5, dtype=f64)
    f = lambda: (x.sin() * x).sum()
    right = x.cos() * x + x.sin()
    errs = grad_check(f, [x], [right])
    assert len(errs) == 1 and errs[0] < 1e-8
    with pytest.raises(AssertionError, match='gradient 0 .* relative error'): grad_check(f, [x], [right * 1.01])


def test_grad_check_rejects_mismatched_arguments():
    x = torch.randn(5, dtype=f64)
    with pytest.raises(ValueError, match='1 params but 2 grads'): grad_check(lambda: x.sum(), [x], [x, x])
    with pytest.raises(ValueError, match=r'shape \(4,\) but its param has shape \(5,\)'):
        grad_check(lambda: x.sum(), [x], [torch.ones(4, dtype=f64)])


# ------------------------------------------------------------------------------------------- Module and layers
def test_module_stores_args_and_out_and_calls_bwd():
    class Double(Module):
        def forward(self, x): return 2 * x
        def bwd(self, out, x): x.g = 2 * out.g
    d = Double()
    x = torch.tensor([1., 2.])
    out = d(x)
    assert d.args == (x,) and d.out is out and torch.equal(out, 2 * x)
    out.g = torch.tensor([1., 1.])
    d.backward()
    assert torch.equal(x.g, torch.tensor([2., 2.]))
    assert repr(d) == 'Double()'


def test_module_errors():
    class NoForward(Module): pass
    with pytest.raises(NotImplementedError, match='NoForward must define forward'): NoForward()(torch.ones(1))
    with pytest.raises(RuntimeError, match='forward pass first'): Relu().backward()


@pytest.mark.parametrize('layer, args', [(Relu(), (torch.ones(2, 3),)), (Lin(torch.ones(3, 2), torch.zeros(2)), (torch.ones(4, 3),))])
def test_module_backward_needs_the_output_gradient(layer, args):
    "After a forward pass, but before whatever comes next has put the gradient in `out.g`."
    layer(*args)
    with pytest.raises(RuntimeError, match=f'{type(layer).__name__}.backward\\(\\) needs the gradient of its output in out.g'):
        layer.backward()


def test_a_loss_starts_the_chain_without_an_output_gradient():
    mse = Mse(); mse(torch.ones(3, 1), torch.zeros(3)); mse.backward()
    assert mse.args[0].g.shape == (3, 1)


def test_relu_forward_and_backward():
    x = torch.tensor([[-1., 0., 2.]])
    r = Relu()
    out = r(x)
    assert torch.equal(out, torch.tensor([[0., 0., 2.]]))
    out.g = torch.tensor([[5., 6., 7.]])
    r.backward()
    assert torch.equal(x.g, torch.tensor([[0., 0., 7.]]))   # derivative 0 at exactly 0, as in PyTorch
    with pytest.raises(ValueError, match='Relu input must be a floating-point tensor, got an int64 tensor of shape \\(3,\\)'):
        r(torch.tensor([1, 2, 3]))


@settings(max_examples=25, deadline=None)
@given(n=sizes, n_in=sizes, n_out=sizes, seed=st.integers(0, 1000))
def test_lin_gradients_match_autograd_and_finite_differences(n, n_in, n_out, seed):
    torch.manual_seed(seed)
    x, w, b = torch.randn(n, n_in, dtype=f64), torch.randn(n_in, n_out, dtype=f64), torch.randn(n_out, dtype=f64)
    lin = Lin(w, b)
    out = lin(x)
    assert torch.allclose(out, x @ w + b)
    out.g = 2 * out                                    # loss = sum(out²)
    lin.backward()
    for ours, ref in zip((x.g, w.g, b.g), autograd_grads(lambda x, w, b: ((x @ w + b) ** 2).sum(), x, w, b)):
        assert torch.allclose(ours, ref)
    assert max(grad_check(lambda: (lin(x) ** 2).sum(), [x, w, b], [x.g, w.g, b.g])) < 1e-6


def test_lin_rejects_bad_shapes_and_dtypes():
    w, b = torch.zeros(4, 3), torch.zeros(3)
    with pytest.raises(ValueError, match=r'bias b, a float32 tensor of shape \(2,\), does not match weight w, a float32 tensor of shape \(4, 3\)'):
        Lin(w, torch.zeros(2))
    with pytest.raises(ValueError, match='dtype float32'): Lin(w, b.double())
    with pytest.raises(ValueError, match='weight w must be 2-D'): Lin(torch.zeros(4), b)
    with pytest.raises(ValueError, match='weight w must be a floating-point tensor, got an int64 tensor of shape \\(4, 3\\)'):
        Lin(w.long(), b)
    lin = Lin(w, b)
    with pytest.raises(ValueError, match=r'input, a float32 tensor of shape \(2, 5\), does not fit .* needs 4 columns'): lin(torch.zeros(2, 5))
    with pytest.raises(ValueError, match='dtype float32'): lin(torch.zeros(2, 4, dtype=f64))
    with pytest.raises(ValueError, match='Lin input must be 2-D'): lin(torch.zeros(4))
    with pytest.raises(ValueError, match='floating-point'): lin([[0., 0., 0., 0.]])
    assert repr(lin) == 'Lin(n_in=4, n_out=3)'


@pytest.mark.parametrize('shape', [(5, 1), (5,)])
def test_mse_value_and_gradient(shape):
    torch.manual_seed(0)
    o, y = torch.randn(*shape, dtype=f64), torch.randn(5, dtype=f64)
    mse = Mse()
    loss = mse(o, y)
    assert torch.allclose(loss, ((o.reshape(5) - y) ** 2).mean())
    mse.backward()
    assert o.g.shape == o.shape
    assert torch.allclose(o.g, autograd_grads(lambda o: ((o.reshape(5) - y) ** 2).mean(), o)[0])
    assert repr(mse) == 'Mse()'


def test_mse_accepts_integer_targets():
    o = torch.tensor([[1.], [2.]])
    assert Mse()(o, torch.tensor([1, 4])).item() == pytest.approx(2.)


@pytest.mark.parametrize('out,targ,match', [
    (torch.zeros(3, 1), torch.zeros(4), r'a float32 tensor of shape \(3, 1\) for the output and a float32 tensor of shape \(4,\) for the targets'),
    (torch.zeros(3, 2), torch.zeros(3), r'\(N, 1\) or \(N,\)'),
    (torch.zeros(3, 1), torch.zeros(3, 1), r'targets of shape \(N,\)'),
    (torch.zeros(0, 1), torch.zeros(0), 'N > 0'),
    (torch.zeros(3, 1), torch.zeros(3, dtype=f64), "output's dtype \\(float32\\)"),
    (torch.zeros(3, 1), torch.zeros(3, dtype=torch.bool), 'or of integers'),
    (torch.zeros(3, 1, dtype=torch.long), torch.zeros(3), 'Mse output must be a floating-point tensor'),
])
def test_mse_rejects_bad_inputs(out, targ, match):
    with pytest.raises(ValueError, match=match): Mse()(out, targ)


# ------------------------------------------------------------------------------------------- Model
@settings(max_examples=20, deadline=None)
@given(n=sizes, n_in=sizes, nh=sizes, seed=st.integers(0, 1000))
def test_model_gradients_match_autograd_and_finite_differences(n, n_in, nh, seed):
    torch.manual_seed(seed)
    x, y = torch.randn(n, n_in, dtype=f64), torch.randn(n, dtype=f64)
    params = init_params(n_in, nh, dtype=f64)
    model = Model(*params)
    loss = model(x, y)
    assert torch.allclose(loss, reference_loss(x, y, *params))
    model.backward()
    ours = [t.g for t in (x, *params)]
    ref = autograd_grads(reference_loss, x, y, *params)
    for g, r in zip(ours, ref[:1] + ref[2:]): assert torch.allclose(g, r)
    assert max(grad_check(lambda: model(x, y), [x, *params], ours)) < 1e-6


def test_model_float32_batch_and_layers():
    torch.manual_seed(0)
    params = init_params(784, 50)
    model = Model(*params)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,)).float()
    loss = model(x, y)
    model.backward()
    assert loss.shape == () and all(t.g.shape == t.shape for t in (x, *params))
    assert [type(l) for l in model.layers] == [Lin, Relu, Lin] and isinstance(model.loss, Mse)
    assert model.layers[0].w is params[0] and model.layers[2].b is params[3]
    assert repr(model) == 'Model(\n  Lin(n_in=784, n_out=50)\n  Relu()\n  Lin(n_in=50, n_out=1)\n  loss: Mse()\n)'


def test_model_backward_needs_a_forward_pass():
    model = Model(*init_params(6, 5))
    with pytest.raises(RuntimeError, match=r'Model.backward\(\) needs a forward pass first'): model.backward()


def test_a_failed_forward_pass_leaves_nothing_for_backward():
    "A forward pass that raised used to leave the last good output with the new inputs: backward then gave w1.g of shape (3, 5)."
    model, x, y = Model(*init_params(6, 5)), torch.randn(4, 6), torch.randn(4)
    model(x, y)
    with pytest.raises(ValueError): model(x[:, :3], y)                    # the first layer refuses 3 inputs
    with pytest.raises(RuntimeError, match=r'Model.backward\(\) needs a forward pass first'): model.backward()
    assert not hasattr(model.layers[2].w, 'g')                           # nothing ran: no layer kept the old pass's output
    model(x, y); model.backward()                                         # a good pass: all is well again
    assert model.layers[0].w.g.shape == (6, 5)


def test_numerical_grad_restores_x_when_f_raises():
    x, calls = torch.zeros(3, dtype=torch.float64), []
    def f():
        calls.append(1)
        if len(calls) == 2: raise ZeroDivisionError('f failed')
        return x.sum()
    with pytest.raises(ZeroDivisionError): nb_02.numerical_grad(f, x)
    assert torch.equal(x, torch.zeros(3, dtype=torch.float64))


def test_mse_names_what_is_not_a_tensor():
    with pytest.raises(ValueError, match=r"mse targets must be a tensor of the output's dtype \(float32\) or of integers, got a list"): mse(torch.zeros(3), [0., 1., 2.])


def test_model_rejects_mismatched_weights():
    w1, b1, w2, b2 = init_params(6, 5)
    with pytest.raises(ValueError, match='5 outputs but w2, .*, takes 4 inputs'): Model(w1, b1, w2[:4], b2)
    with pytest.raises(ValueError, match='bias b'): Model(w1, b2, w2, b2)
    with pytest.raises(ValueError, match='needs 6 columns'): Model(w1, b1, w2, b2)(torch.zeros(3, 7), torch.zeros(3))


# ------------------------------------------------------------------------------------------- benchmark helper
def test_time_backward_returns_timings_side_by_side():
    torch.manual_seed(0)
    x, y = torch.randn(200, 30), torch.randn(200)
    res = time_backward(x, y, nh=8, repeats=2)
    assert list(res) == ['hand-written', 'autograd', 'autograd, no input grad']
    assert all(isinstance(t, Timing) and len(t.times) == 2 and t.min > 0 for t in res.values())


@pytest.mark.parametrize('requires_grad', [False, True])
def test_time_backward_leaves_the_callers_tensor_alone(requires_grad):
    x, y = torch.randn(50, 6, requires_grad=requires_grad), torch.randn(50)
    time_backward(x, y, nh=4, repeats=1)
    assert x.requires_grad == requires_grad and x.grad is None and not hasattr(x, 'g')


def test_time_backward_times_backward_passes_after_one_forward_pass(monkeypatch):
    calls = []
    class CountingModel(Model):
        def __call__(self, x, targ): calls.append('forward'); return super().__call__(x, targ)
        def backward(self): calls.append('backward'); super().backward()
    monkeypatch.setattr(nb_02, 'Model', CountingModel)
    time_backward(torch.randn(50, 6), torch.randn(50), nh=4, repeats=3)
    assert calls[0] == 'forward' and calls.count('forward') == 1
    assert calls.count('backward') >= 4               # a warm-up, then at least one call in each of the 3 runs


@pytest.mark.parametrize('x', [torch.arange(8).view(2, 4), torch.randn(8), [[1., 2.]]])
def test_time_backward_names_an_x_it_cannot_time(x):
    "An int x used to fail in init_params, naming a dtype argument the caller never gave."
    with pytest.raises(ValueError, match='time_backward: x must be'): time_backward(x, torch.randn(2), repeats=1)


def test_time_backward_takes_float32_targets_for_float64_inputs_as_time_engine_does():
    res = time_backward(torch.randn(6, 3, dtype=torch.float64), torch.randn(6), nh=4, repeats=1)
    assert set(res) == {'hand-written', 'autograd', 'autograd, no input grad'}
    with pytest.raises(ValueError, match='time_backward: y must be a tensor'): time_backward(torch.randn(6, 3), [0.] * 6, repeats=1)


def test_sizes_may_be_numpy_integers():
    import numpy as np
    assert kaiming_normal(np.int64(10), np.int32(3)).shape == (10, 3)
    assert [p.shape for p in init_params(np.int64(4), np.int64(5), np.int64(2))] == [(4, 5), (5,), (5, 2), (2,)]
    with pytest.raises(ValueError, match='n_in must be an int, at least 1'): kaiming_normal(np.bool_(True), 3)


def test_numerical_grad_leaves_a_graph_built_before_it_usable():
    "It changes x's numbers and puts them back; autograd must not see that as an in-place change."
    w = torch.randn(4, dtype=torch.float64, requires_grad=True)
    loss = (w * w).sum()
    g = numerical_grad(lambda: (w * w).sum(), w)
    loss.backward()
    assert torch.allclose(w.grad, 2 * w.detach()) and torch.allclose(g, 2 * w.detach(), atol=1e-6)


def test_time_backward_leaves_the_callers_random_stream_alone():
    x, y = torch.randn(16, 5), torch.randn(16)
    torch.manual_seed(11); after = torch.rand(3)
    torch.manual_seed(11); time_backward(x, y, nh=4, repeats=1)
    assert torch.equal(torch.rand(3), after)


def test_mse_and_Mse_take_the_same_arguments():
    "The function and the module are one formula: what one refuses, so does the other, in the same words."
    out, f64 = torch.zeros(3, 1), torch.zeros(3, dtype=torch.float64)
    for name, f in (('mse', mse), ('Mse', Mse())):
        with pytest.raises(ValueError, match=rf"{name} targets must be a tensor of the output's dtype \(float32\)"): f(out, f64)
        with pytest.raises(ValueError, match=f'{name} output must be a floating-point tensor'): f(torch.zeros(3, 1, dtype=torch.long), torch.zeros(3))
    assert mse(out, torch.arange(3)).item() == Mse()(out, torch.arange(3)).item() == pytest.approx(5 / 3)   # integer targets: both take them


def test_grad_check_rejects_a_nan_gradient():
    x = torch.randn(4, dtype=f64)
    with pytest.raises(AssertionError, match='gradient 0'): grad_check(lambda: (x * x).sum(), [x], [torch.full_like(x, math.nan)])


def test_a_failed_forward_pass_leaves_no_output_for_backward():
    lin = Lin(torch.randn(5, 3), torch.zeros(3))
    lin(torch.randn(4, 5)).g = torch.ones(4, 3)
    with pytest.raises(ValueError): lin(torch.randn(4, 6))             # the wrong number of inputs
    with pytest.raises(RuntimeError, match='forward pass first'): lin.backward()


def test_time_backward_times_autograd_with_and_without_the_input_gradient(monkeypatch):
    seen, real = [], nb_02._autograd_loss
    monkeypatch.setattr(nb_02, '_autograd_loss', lambda x, *rest: seen.append(x) or real(x, *rest))
    monkeypatch.setattr(nb_02, 'time_side_by_side', lambda fns, repeats: fns)   # the functions it would time
    fns = time_backward(torch.randn(20, 6), torch.randn(20), nh=4, repeats=1)
    with_input, without = seen
    fns['autograd, no input grad']()
    assert with_input.grad is None and not without.requires_grad
    fns['autograd']()
    assert with_input.grad is not None and with_input.grad.shape == (20, 6)


def test_numerical_grad_refuses_a_tensor_whose_elements_share_memory():
    "A nudge to one element of an expand()ed view moves all its copies: the gradient would come out twice as large."
    w = torch.randn(3, 1, dtype=f64)
    with pytest.raises(ValueError, match=r'sharing memory \(a view such as expand\(\) or unfold\(\) makes, stride \(1, 0\)\): pass x.clone\(\)'):
        numerical_grad(lambda: (w.expand(3, 2) ** 2).sum(), w.expand(3, 2))
    wc = w.expand(3, 2).clone()
    assert rel_error(numerical_grad(lambda: (wc ** 2).sum(), wc), 2 * wc) < 1e-8
    one = torch.randn(1, dtype=f64).expand(1)                          # a stride 0 along a size-1 axis shares nothing
    assert numerical_grad(lambda: (one ** 2).sum(), one).shape == (1,)
    windows = torch.randn(4, dtype=f64).unfold(0, 2, 1)                # strides (1, 1): neighbouring windows overlap
    with pytest.raises(ValueError, match=r'sharing memory .*stride \(1, 1\)'): numerical_grad(lambda: (windows ** 2).sum(), windows)
    for fine in [torch.randn(4, 3, dtype=f64).t(), torch.randn(6, 4, dtype=f64)[1::2, ::3], torch.randn(0, 3, dtype=f64)]:
        assert rel_error(numerical_grad(lambda: (fine ** 2).sum(), fine), 2 * fine) < 1e-8    # views that share nothing
    sparse = torch.eye(2, dtype=f64).to_sparse()
    with pytest.raises(ValueError, match='a dense tensor, got one of layout torch.sparse_coo'): numerical_grad(lambda: 0., sparse)


def test_grad_check_wants_lists_not_a_tensor():
    w = torch.randn(3, dtype=f64)
    with pytest.raises(TypeError, match=r'lists of params and of grads: for one tensor w, pass \[w\]'): grad_check(lambda: (w * w).sum(), w, 2 * w)
    assert grad_check(lambda: (w * w).sum(), [w], [2 * w])[0] < 1e-8


def test_rel_error_counts_imaginary_parts():
    assert rel_error(torch.tensor([5j]), torch.tensor([0j])) == pytest.approx(1.) and rel_error(torch.tensor([1 + 1j]), torch.tensor([1 + 1j])) == 0
