"The checks of notebook 02b's exercises reject typical wrong answers, each with a message that says what is wrong."
import pytest, torch

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases
from exp.nb_02b import Tensor, _elementwise, _make

EX = checks('02b_autograd')


def tanh_wrong_derivative(x):     # 1 - t where 1 - t² is meant
    t = x.data.tanh()
    return _make(t, 'tanh', (x,), (lambda g: g * (1 - t),))

def tanh_forgets_g(x):            # the local derivative alone, not multiplied by the incoming gradient
    t = x.data.tanh()
    return _make(t, 'tanh', (x,), (lambda g: 1 - t**2,))

def tanh_composed(x):             # right, but from exp: no backward of its own
    return (x.exp() - (-x).exp()) / (x.exp() + (-x).exp())

def tanh_vjp_of_engine_tensors(x):   # the VJP computes with the engine's Tensor `out`, not with torch's
    out = _make(x.data.tanh(), 'tanh', (x,), (lambda g: g * (1 - out**2),))
    return out

def repeat_grad_first_copy(g, r, c):
    return g[:g.shape[0] // r, :g.shape[1] // c]

def repeat_grad_interleave(g, r, c):     # the gradient of repeat_interleave: neighbours summed
    m,n = g.shape[0] // r, g.shape[1] // c
    return g.reshape(m, r, n, c).sum((1, 3))

def repeat_grad_mean(g, r, c):
    m,n = g.shape[0] // r, g.shape[1] // c
    return g.reshape(r, m, c, n).mean((0, 2))

def repeat_grad_rows_only(g, r, c):      # sums the copies down, forgets those across
    m = g.shape[0] // r
    return g.reshape(r, m, -1).sum(0)

def sigmoid_own_backward(x):
    s = torch.sigmoid(x.data)
    return _make(s, 'sigmoid', (x,), (lambda g: g * s * (1 - s),))

def maximum_no_unbroadcast(a, b):  # _make directly: gradients of the broadcast shape
    ad,bd = a.data,b.data
    return _make(torch.maximum(ad, bd), 'maximum', (a, b), (lambda g: g * (ad > bd), lambda g: g * (bd > ad)))

def maximum_swapped(a, b):
    return _elementwise('maximum', a, b, torch.maximum, lambda g,a,b: g * (b > a), lambda g,a,b: g * (a > b))

def maximum_both(a, b):            # the whole gradient to both inputs
    return _elementwise('maximum', a, b, torch.maximum, lambda g,a,b: g, lambda g,a,b: g)


def repeat_grad_float32(g, r, c):       # the blocks summed into a float32 zeros: the check's float64 lost
    m,n = g.shape[0] // r, g.shape[1] // c
    out = torch.zeros(m, n)
    for p in range(r):
        for q in range(c): out += g[p*m:(p+1)*m, q*n:(q+1)*n]
    return out


WRONG = {
    'ex1': [(tanh_wrong_derivative, 'the gradient of sum(w * tanh(x)) with respect to x: 21 of 21 values differ'),
            (tanh_forgets_g, 'the gradient of sum(w * tanh(x)) with respect to x: '),
            (tanh_composed, 'is made of 9 recorded operations'),
            (lambda x: Tensor(x.data.tanh()), 'has the right values, but records nothing'),
            (lambda x: x.data.tanh(), "is a torch tensor, not the engine's `Tensor`"),
            (tanh_vjp_of_engine_tensors, "backward fails: the backward of 'tanh' gave an engine Tensor, not a torch tensor")],
    'ex2': [(lambda: ((64, 10), (10,)), 'the broken version gives the right gradient, of shape (10,)'),
            (lambda: ((64, 10), (64,)), 'an input of shape (64,) cannot get a gradient of shape (64, 10)'),
            (lambda: ((64, 10), (1, 64, 10)), 'cannot get a gradient of shape (64, 10)'),
            (lambda: (64, 10), 'should return two shapes'),
            (lambda: ((64, 10), (64, 1)), 'has as many dimensions as the gradient')],   # the lesson's own column
    'ex3': [(repeat_grad_first_copy, 'repeat_grad(g, 2, 3) for x of shape (2, 3), g of shape (4, 9): that is the gradient of the first copy only'),
            (repeat_grad_interleave, 'the gradient of repeat_interleave'),
            (repeat_grad_mean, 'sum the copies, not average them'),
            (repeat_grad_float32, 'keep the input'),
            (repeat_grad_rows_only, 'repeat_grad(g, 2, 3) for x of shape (2, 3), g of shape (4, 9) has shape (2, 9), expected (2, 3)')],
    'ex4': [(lambda x: 1 / (1 + x.exp()), 'sigmoid(x), x a Tensor of shape (4, 5): 20 of 20 values differ'),
            (sigmoid_own_backward, "is one recorded operation, 'sigmoid', with a backward of its own"),
            (lambda x: Tensor(torch.sigmoid(x.data)), 'records nothing'),
            (lambda x: None, 'is None'),
            (lambda x: 1 / (1 + torch.exp(-x)), "hands the engine's Tensor to a torch function")],
    'ex5': [(maximum_no_unbroadcast, 'backward fails: the backward of \'maximum\' gave a gradient of shape (3, 4) for an input of shape (3, 1)'),
            (maximum_swapped, 'with respect to a, a of shape (3, 1) and b (1, 4): 3 of 3 values differ'),
            (maximum_both, 'with respect to a, a of shape (3, 1) and b (1, 4): 3 of 3'),
            (lambda a, b: b + (a - b).relu(), 'is made of 3 recorded operations (-, relu, +)')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def tanh_from_exp(x):   # its own backward, the value from exponentials
    e2 = (2 * x.data).exp()
    t = (e2 - 1) / (e2 + 1)
    return _make(t, 'tanh', (x,), (lambda g: g * (1 - t * t),))

def repeat_grad_blocks(g, r, c):         # a loop over the blocks
    m,n = g.shape[0] // r, g.shape[1] // c
    return sum(g[p*m:(p+1)*m, q*n:(q+1)*n] for p in range(r) for q in range(c))

def repeat_grad_autograd(g, r, c):       # autograd itself, on a stand-in x
    x = torch.zeros(g.shape[0] // r, g.shape[1] // c, dtype=g.dtype, requires_grad=True)
    (x.repeat(r, c) * g).sum().backward()
    return x.grad

RIGHT = {'ex1': [tanh_from_exp],
         'ex2': [lambda: ((3, 4, 5), (4, 1)), lambda: [(64, 10), (1,)]],
         'ex3': [repeat_grad_blocks, repeat_grad_autograd],
         'ex4': [lambda x: x.exp() / (1 + x.exp())],
         'ex5': [lambda a, b: _elementwise('maximum', a, b, lambda p, q: torch.where(p > q, p, q),
                                           lambda g, p, q: torch.where(p > q, g, 0.), lambda g, p, q: torch.where(q > p, g, 0.))]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
