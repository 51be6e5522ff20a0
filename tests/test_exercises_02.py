"The checks of notebook 02's exercises reject typical wrong answers, each with a message that says what is wrong."
import math

import pytest, torch

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases
from exp.nb_02 import Module, grad_check

EX = checks('02_fully_connected')


# ex1: a leaky ReLU
class LeakyNoChain(Module):                 # forgets to multiply by out.g
    def __init__(self, a=0.1): self.a = a
    def forward(self, inp): return torch.where(inp > 0, inp, self.a * inp)
    def bwd(self, out, inp): inp.g = torch.where(inp > 0, 1., self.a)

class LeakyReluSlope(LeakyNoChain):         # the ReLU's slope, 0, where inp < 0
    def bwd(self, out, inp): inp.g = out.g * (inp > 0)

class LeakySlopeOne(LeakyNoChain):          # slope 1 everywhere
    def bwd(self, out, inp): inp.g = out.g.clone()

class LeakyFixedSlope(LeakyNoChain):        # 0.1 written in, not self.a
    def forward(self, inp): return torch.where(inp > 0, inp, 0.1 * inp)
    def bwd(self, out, inp): inp.g = out.g * torch.where(inp > 0, 1., 0.1)

class LeakyWrittenIn(LeakyNoChain):        # the check's own first slope, 0.2, written in: passed when only 0.2 was tried
    def forward(self, inp): return torch.where(inp > 0, inp, 0.2 * inp)
    def bwd(self, out, inp): inp.g = out.g * torch.where(inp > 0, 1., 0.2)

class LeakyGradWrittenIn(LeakyNoChain):     # the forward uses self.a, the gradient 0.2
    def bwd(self, out, inp): inp.g = out.g * torch.where(inp > 0, 1., 0.2)

class LeakyInPlace(LeakyNoChain):
    def forward(self, inp): inp[inp < 0] *= self.a; return inp

class LeakyNoGrad(LeakyNoChain):            # writes the gradient to the wrong tensor
    def bwd(self, out, inp): out.g = out.g * torch.where(inp > 0, 1., self.a)

class LeakyReturns(LeakyNoChain):           # returns the gradient instead of storing it
    def bwd(self, out, inp): return out.g * torch.where(inp > 0, 1., self.a)


# ex3: a gradient check of a Lin layer
def check_lin_half(layer, x):               # out.g = Y: the gradient of sum(Y²)/2
    out = layer(x); out.g = out; layer.backward()
    return grad_check(lambda: (layer(x) ** 2).sum(), [x, layer.w, layer.b], [x.g, layer.w.g, layer.b.g])

def check_lin_no_bias(layer, x):
    out = layer(x); out.g = 2 * out; layer.backward()
    return grad_check(lambda: (layer(x) ** 2).sum(), [x, layer.w], [x.g, layer.w.g])

def check_lin_no_return(layer, x):
    out = layer(x); out.g = 2 * out; layer.backward()
    grad_check(lambda: (layer(x) ** 2).sum(), [x, layer.w, layer.b], [x.g, layer.w.g, layer.b.g])

def check_lin_stale_loss(layer, x):         # the loss computed once: grad_check's nudges change nothing
    out = layer(x); out.g = 2 * out; layer.backward()
    loss = (out ** 2).sum()
    return grad_check(lambda: loss, [x, layer.w, layer.b], [x.g, layer.w.g, layer.b.g])

def check_lin_typo(layer, x):               # a mistake of the learner's own: it comes through as it is
    out = layer(x); out.g = 2 * out; layer.backward()
    return grad_check(lambda: (layer(x) ** 2).sum(), [x, layer.W, layer.b], [x.g, layer.w.g, layer.b.g])


# ex4: a sigmoid
class SigmoidNoChain(Module):
    def forward(self, inp): return 1 / (1 + (-inp).exp())
    def bwd(self, out, inp): inp.g = out * (1 - out)

class SigmoidFromInput(SigmoidNoChain):     # right, but recomputes σ from the input
    def bwd(self, out, inp): inp.g = out.g * torch.sigmoid(inp) * (1 - torch.sigmoid(inp))

class SigmoidHalf(SigmoidNoChain):          # σ' taken as σ
    def bwd(self, out, inp): inp.g = out.g * out

class SigmoidInPlaceGrad(SigmoidNoChain):   # multiplies out.g in place, then hands it down
    def bwd(self, out, inp): out.g *= out * (1 - out); inp.g = out.g

class SigmoidFromArgs(SigmoidNoChain):      # reads the input Module.__call__ kept, not the parameter inp
    def bwd(self, out, inp): s = torch.sigmoid(self.args[0]); inp.g = out.g * s * (1 - s)

class SigmoidCachedExp(SigmoidNoChain):      # right, from an e^{-z} kept in forward: not from the output
    def forward(self, inp): self.e = (-inp).exp(); return 1 / (1 + self.e)
    def bwd(self, out, inp): inp.g = out.g * self.e / (1 + self.e) ** 2

class SigmoidWrongSign(SigmoidNoChain):
    def forward(self, inp): return 1 / (1 + inp.exp())


# ex5: softplus
class SoftplusSigmoidOfOut(Module):          # σ of the output, where the derivative is σ of the input
    def forward(self, inp): return (1 + inp.exp()).log()
    def bwd(self, out, inp): inp.g = out.g * torch.sigmoid(out)

class SoftplusNoChain(SoftplusSigmoidOfOut):
    def bwd(self, out, inp): inp.g = 1 - (-out).exp()

class SoftplusOneMinusLeftOut(SoftplusSigmoidOfOut):
    def bwd(self, out, inp): inp.g = out.g * (-out).exp()

class SoftplusSigmoidRule(SoftplusSigmoidOfOut):   # the sigmoid's σ(1 - σ), copied
    def bwd(self, out, inp): inp.g = out.g * out * (1 - out)

class SoftplusStashed(SoftplusSigmoidOfOut):       # keeps the input itself in forward, reads it in bwd
    def forward(self, inp): self.z = inp; return (1 + inp.exp()).log()
    def bwd(self, out, inp): inp.g = out.g * torch.sigmoid(self.z)

class SoftplusCachedSigmoid(SoftplusSigmoidOfOut):  # right, from σ(z) kept in forward: not from the output
    def forward(self, inp): self.s = torch.sigmoid(inp); return (1 + inp.exp()).log()
    def bwd(self, out, inp): inp.g = out.g * self.s

class SoftplusFromInput(SoftplusSigmoidOfOut):     # right, but reads the input
    def bwd(self, out, inp): inp.g = out.g * torch.sigmoid(inp)


# ex6: a skip connection
class Skip(Module):
    def __init__(self, layer): self.layer = layer
    def forward(self, inp): return inp + self.layer(inp)

class SkipAssigns(Skip):                    # the skip's share overwrites the layer's
    def bwd(self, out, inp):
        self.layer.out.g = out.g; self.layer.backward()
        inp.g = out.g

class SkipAssignsFirst(Skip):               # the layer's backward overwrites the skip's share
    def bwd(self, out, inp):
        inp.g = out.g
        self.layer.out.g = out.g; self.layer.backward()

class SkipNoLayerGrad(Skip):                # runs the layer's backward without giving it out.g
    def bwd(self, out, inp):
        self.layer.backward(); inp.g += out.g

class SkipForwardBypass(Skip):              # calls forward directly: the layer keeps nothing for its backward
    def forward(self, inp): return inp + self.layer.forward(inp)
    def bwd(self, out, inp):
        self.layer.out.g = out.g; self.layer.backward(); inp.g += out.g

class SkipNoLayer(Skip):                    # forgets the path through the layer
    def bwd(self, out, inp): inp.g = out.g


SHAPES = {'X': (7, 300), 'Z': (7, 20), 'A': (7, 20), 'O': (7, 1), 'w1': (300, 20), 'b1': (20,), 'w2': (20, 1), 'b2': (1,)}

WRONG = {
    'ex1': [(LeakyNoChain, 'inp.g differs from the finite-difference gradient: it is the slope alone: the chain rule '
                           'multiplies it by out.g'),
            (LeakyReluSlope, "it is 0 where inp < 0, as for a ReLU; the leaky ReLU's slope there is a"),
            (LeakySlopeOne, 'it is wrong only where inp < 0, where the slope is a (here 0.2)'),
            (LeakyFixedSlope, 'LeakyRelu(0.2)(z) is wrong: it uses the slope 0.1, not self.a'),
            (LeakyWrittenIn, 'LeakyRelu(0.05)(z) is wrong: it uses the slope 0.2, not self.a'),
            (LeakyGradWrittenIn, 'it is wrong only where inp < 0, where the slope is a (here 0.05)'),
            (LeakyInPlace, "LeakyRelu's forward changed its input in place"),
            (LeakyNoGrad, "LeakyRelu's bwd replaced out.g: it should leave the gradient in inp.g"),
            (LeakyReturns, 'inp.g was not set: each backward pass stores its gradients there')],
    'ex2': [(lambda n_in, a, b: math.sqrt(2 / ((1 + a**2) * n_in)), "two_slope_std(200, 0.5, 2.0) is 0.08944: that is the leaky ReLU's std (b = 1)"),
            (lambda n_in, a, b: math.sqrt(2 / n_in), "that is Kaiming's std for a plain ReLU"),
            (lambda n_in, a, b: 2 / ((a**2 + b**2) * n_in), 'that is a variance: the std is its square root'),
            (lambda n_in, a, b: math.sqrt(2 / ((a + b) * n_in)), 'its variance by the slope squared'),
            (lambda n_in, a, b: math.sqrt(2 / ((a**2 + b**2) * n_in)) if b > 1 else 1., 'two_slope_std(500, 1.0, 1.0) is 1: expected 0.04472'),
            (lambda n_in, a, b: None, 'two_slope_std(200, 0.5, 2.0) is None: does your function `return` it?')],
    'ex3': [(check_lin_half, 'check_lin rejects a correct Lin(n_in=5, n_out=3), x of shape (4, 5): '
                             'gradient 0 (shape (4, 5)) is wrong'),
            (check_lin_stale_loss, 'A relative error of 1: the numerical gradient is 0. Does the function given to grad_check compute '
                                   'the loss afresh'),
            (check_lin_no_bias, 'check_lin passes a Lin whose bias gradient is wrong (it averages out.g over the batch'),
            (check_lin_no_return, "check_lin returned None: return grad_check's relative errors")],
    'ex4': [(SigmoidNoChain, "it is σ'(z) alone: the chain rule multiplies it by out.g"),
            (SigmoidFromInput, "correct, but Sigmoid's bwd computes from the input"),
            (SigmoidHalf, "it is out.g · σ: σ alone is not σ'"),
            (SigmoidInPlaceGrad, "Sigmoid's bwd changed out.g in place"),
            (SigmoidFromArgs, "correct, but Sigmoid's bwd computes from the input"),
            (SigmoidWrongSign, 'Sigmoid()(z) for z of shape (5, 7): 35 of 35 values differ'),
            (SigmoidCachedExp, 'Sigmoid keeps e from its forward pass')],
    'ex5': [(SoftplusSigmoidOfOut, 'it is out.g · σ(out): the derivative is σ of the input z'),
            (SoftplusNoChain, "it is f'(z) alone"),
            (SoftplusOneMinusLeftOut, 'the derivative is one minus it'),
            (SoftplusSigmoidRule, "that is the sigmoid's rule"),
            (SoftplusFromInput, "correct, but Softplus's bwd computes from the input"),
            (SoftplusStashed, "Softplus keeps z from its forward pass"),
            (SoftplusCachedSigmoid, "Softplus keeps s from its forward pass")],
    'ex6': [(SkipAssigns, "x.g differs from the finite-difference gradient: it holds only the skip's share, out.g. "
                          "The layer's backward had put its share in inp.g, and bwd assigned over it where it must accumulate"),
            (SkipAssignsFirst, 'it holds only the share through the layer; the skip adds out.g to it'),
            (SkipNoLayerGrad, "Lin.backward() needs the gradient of its output in out.g: run the backward of what comes "
                              "after it first. In Skip's bwd, give the layer the gradient of its output, self.layer.out.g"),
            (SkipForwardBypass, "Skip's forward did not call the layer as self.layer(inp)"),
            (SkipNoLayer, "it holds only the skip's share, out.g: the layer's backward did not run")],
    'ex7': [(lambda: {**SHAPES, 'X': (300, 7), 'w2': (1, 20)},
             'X.g: you predicted (300, 7), but it has shape (7, 300); w2.g: you predicted (1, 20), but it has shape (20, 1)'),
            (lambda: {**SHAPES, 'O': (7,), 'b2': ()}, 'O.g: you predicted (7,), but it has shape (7, 1)'),
            (lambda: {'X': (64, 784), 'Z': (64, 50), 'A': (64, 50), 'O': (64, 1), 'w1': (784, 50), 'b1': (50,), 'w2': (50, 1), 'b2': (1,)},
             'X.g: you predicted (64, 784), but it has shape (7, 300)'),   # the lesson's model, copied
            (lambda: {k: v for k,v in SHAPES.items() if k[0] != 'b'}, 'no prediction for b1, b2'),
            (lambda: list(SHAPES.values()), 'give a dict from each name (X, Z, A, O, w1, b1, w2, b2) to a shape')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def test_skip_names_an_in_place_change_of_out_g():
    class Skip(Module):
        def __init__(self, layer): self.layer = layer
        def forward(self, inp): return inp + self.layer(inp)
        def bwd(self, out, inp):
            self.layer.out.g = out.g
            self.layer.backward()
            out.g += inp.g; inp.g = out.g
    rejects(EX['ex6'], Skip, 'changed out.g in place')


def test_check_lin_may_reject_with_any_error():
    "A learner's check_lin that rejects a broken Lin with a RuntimeError (as torch.autograd.gradcheck does) is fine."
    def check_lin(layer, x):
        out = layer(x); out.g = 2 * out; layer.backward()
        errs = grad_check(lambda: (layer(x) ** 2).sum(), [x, layer.w, layer.b], [x.g, layer.w.g, layer.b.g])
        if max(errs) > 1e-6: raise RuntimeError('gradients differ')
        return errs
    assert EX['ex3'].grade(check_lin) == 'correct'


class LeakyClamp(Module):
    def __init__(self, a=0.1): self.a = a
    def forward(self, inp): return inp.clamp_min(0) + self.a * inp.clamp_max(0)
    def bwd(self, out, inp): inp.g = out.g * ((inp > 0).double() + self.a * (inp <= 0).double())

class SigmoidTorch(Module):
    def forward(self, inp): return torch.sigmoid(inp)
    def bwd(self, out, inp): inp.g = out.g * (out - out ** 2)

class SoftplusTorch(Module):
    def forward(self, inp): return torch.nn.functional.softplus(inp)
    def bwd(self, out, inp): inp.g = -torch.expm1(-out) * out.g

class SkipNewTensor(Module):
    def __init__(self, layer): self.layer = layer
    def forward(self, inp): return inp + self.layer(inp)
    def bwd(self, out, inp):
        self.layer.out.g = out.g
        self.layer.backward()
        inp.g = inp.g + out.g

RIGHT = {'ex1': [LeakyClamp],
         'ex2': [lambda n_in, a, b: (2 / (a * a + b * b) / n_in) ** 0.5],
         'ex4': [SigmoidTorch],
         'ex5': [SoftplusTorch],
         'ex6': [SkipNewTensor],
         'ex7': [lambda: {'X': torch.Size([7, 300]), 'Z': [7, 20], 'A': (7, 20), 'O': (7, 1),
                          'w1': (300, 20), 'b1': (20,), 'w2': (20, 1), 'b2': (1,)}]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)


def test_check_lin_must_check_the_loss_asked_for():
    def check_lin(layer, x):   # a self-consistent check, but of the loss sum(Y)
        out = layer(x); out.g = torch.ones_like(out); layer.backward()
        return grad_check(lambda: layer(x).sum(), [x, layer.w, layer.b], [x.g, layer.w.g, layer.b.g])
    rejects(EX['ex3'], check_lin, 'checks the gradients of another loss')


def test_ex3_lets_an_error_of_the_learners_own_code_through():
    "It used to turn any error into 'check_lin rejects a correct Lin', with a question about out.g."
    with pytest.raises(AttributeError, match="'W'"): EX['ex3'].grade(check_lin_typo)
