"The checks of notebook 01's exercises reject typical wrong answers, each with a message that says what is wrong."
import pytest, torch

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases

EX = checks('01_matmul')


def loop_distances(x):
    return torch.stack([((x - row) ** 2).sum(1) for row in x])

def standardise_in_place(x):
    x -= x.mean(0); x /= x.std(0)
    return x

def centre_in_place(x):
    x -= x.mean(0)
    return x

def loop_centre(x):
    return torch.stack([col - col.mean() for col in x.T]).T


def transposed(w): return w.movedim(0, 1)

def lin_with_helper(x, w, b): return torch.einsum('ni,io->no', x, transposed(w)) + b

def product_of(x, w): return torch.einsum('ni,oi->no', x, w)


WRONG = {
    'ex1': [(lambda: [(2, 3, 4), None, (6, 5, 7), (2, 3), (256, 256, 3), (0, 3), None][::-1], 'ones(2, 1, 4) * ones(3, 1): you predicted None, but it has shape (2, 3, 4)'),
            (lambda: [(2, 1, 4), None, (6, 5, 7), (2, 3), (256, 256, 3), (0, 3), None], 'you predicted (2, 1, 4), but it has shape (2, 3, 4)'),   # "the bigger shape"
            (lambda: [(2, 3, 4), (5, 3), (6, 5, 7), (2, 3), (256, 256, 3), (0, 3), None], 'ones(5, 3) * ones(5,): you predicted (5, 3), but it raises'),
            (lambda: [(2, 3, 4), None, (6, 5, 7), (2, 3), None, (0, 3), None], 'ones(256, 256, 3) * ones(256, 1): you predicted None, but it has shape (256, 256, 3)'),   # aligned from the left
            (lambda: [(2, 3, 4), None, (6, 5, 7), (2, 3), (256, 256, 3), (1, 3), None], 'ones(0, 3) * ones(1, 3): you predicted (1, 3), but it has shape (0, 3)'),
            (lambda: (2, 3, 4), 'give a list of 7 predictions')],
    'ex2': [(lambda x: ((x[:, None] - x[None]) ** 2).sum(0), 'for x of shape (7, 13) has shape (7, 13), expected (7, 7)'),
            (lambda x: (x[:, None] - x[None]).sum(-1) ** 2, 'values differ'),
            (loop_distances, 'correct, but `loop_distances` uses a Python loop'),
            (lambda x: torch.cdist(x, x) ** 2, "correct, but torch's cdist computes the distances for you")],
    'ex3': [(lambda x, w, b: torch.einsum('ni,io->no', x, w) + b, 'torch.einsum refuses'),   # rung 4's spec, for w stored (in, out)
            (lambda x, w, b: torch.einsum('ni,io->no', x, w.T) + b, 'correct, but it calls T (on w or on the result)'),
            (lambda x, w, b: torch.einsum('ni,oi->no', x, w), 'values differ'),                    # the bias forgotten
            (lambda x, w, b: torch.einsum('oi,ni->on', w, x).T + b, 'correct, but it calls T (on w or on the result)'),   # the result transposed
            (lambda x, w, b: x @ w.T + b, 'correct, but it does not call `torch.einsum` itself'),
            (lin_with_helper, 'correct, but it calls movedim (on w or on the result)'),          # through a helper of its own
            (lambda x, w, b: torch.einsum('ni,oi->on', x, w) + b, 'the product must be (6, 3)'),   # the bias's error, not einsum's
            (lambda x, w, b: None, 'is None')],
    'ex4': [(lambda A, B: (A @ B).trace(), 'computes the whole product AB'),
            (lambda A, B: torch.einsum('ik,ki->i', A, B), 'has shape (40,), expected ()'),
            (lambda A, B: torch.einsum('ik,kj->', A, B), 'for A (40, 30), B (30, 40) is '),   # the sum of all of AB: a number, the wrong one
            (lambda A, B: (A * B.T).sum(), 'correct, but it does not call `torch.einsum` itself'),
            (lambda A, B: torch.einsum('ii->', (A[:, :, None] * B).sum(1)), 'makes a tensor of 48,000 numbers'),   # all of AB, by broadcasting: no FLOPs counted
            (lambda A, B: torch.einsum('ik,ki->', A, B.T), 'raised RuntimeError')],                              # B.T is (40, 30): the sizes clash
    'ex5': [(lambda x: x - x.mean(1, keepdim=True), 'values differ'),
            (lambda x: x - x.mean(1), 'one mean per column'),                 # (4, 9) - (4,): a torch error, explained
            (lambda x: x - x.mean(), 'values differ'),
            (loop_centre, 'uses a Python loop'),
            (lambda x: x.zero_(), 'values differ'),                           # changes x in place
            (standardise_in_place, 'values differ'),
            (centre_in_place, "x changed too")],
    'ex6': [(lambda: 'bi,bj->bji', 'has shape (4, 5, 3), expected (4, 3, 5)'),
            (lambda: 'bi,bj->b', 'has shape (4,), expected (4, 3, 5)'),
            (lambda: 'bi,bi->bii', 'torch.einsum refuses'),
            (lambda: None, 'should return an einsum spec')],
    'ex7': [(lambda: 'bi,ji,bj->b', 'torch.einsum refuses'),
            (lambda: 'bi,ij,bj->bj', 'has shape (4, 5), expected (4,)'),
            (lambda: 'bi,ij,bj->', 'has shape (), expected (4,)')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def gram_distances(x):     # |a|² + |b|² - 2 a·b
    sq = (x * x).sum(1)
    return sq[:, None] + sq[None, :] - 2 * x @ x.T

RIGHT = {'ex1': [lambda: [torch.Size([2, 3, 4]), None, [6, 5, 7], (2, 3), (256, 256, 3), torch.Size([0, 3]), None]],
         'ex2': [gram_distances],
         'ex3': [lambda x, w, b: product_of(x, w) + b, lambda x, w, b: torch.einsum('bi,oi->bo', x, w) + b[None], lambda x, w, b: torch.einsum('ni,oi->no', x, w) + b.expand(len(x), -1)],
         'ex4': [lambda A, B: torch.einsum('ik,ki->', A, B).item(), lambda A, B: torch.einsum('ij,ji', A, B)],
         'ex5': [lambda x: x - x.mean(0, keepdim=True), lambda x: x - x.sum(0) / x.shape[0]],
         'ex6': [lambda: 'bi, bj -> bij', lambda: '...i,...j->...ij']}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
