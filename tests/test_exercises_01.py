"The checks of notebook 01's exercises reject typical wrong answers, each with a message that says what is wrong."
import pytest, torch

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases

EX = checks('01_matmul')


def loop_distances(x):
    return torch.stack([((x - row) ** 2).sum(1) for row in x])

def standardise_in_place(x):
    x -= x.mean(0); x /= x.std(0)
    return x

def loop_centre(x):
    return torch.stack([col - col.mean() for col in x.T]).T


WRONG = {
    'ex1': [(lambda: [(8, 6, 7, 5), None, (3, 3), (256, 256, 3), None, None], 'you predicted (8, 6, 7, 5), but it has shape (8, 7, 6, 5)'),
            (lambda: [(8, 7, 6, 5), (5, 3), (3, 3), (256, 256, 3), None, None], 'ones(5, 3) * ones(5,): you predicted (5, 3), but it raises'),
            (lambda: [(8, 7, 6, 5), None, (3,), (256, 256, 3), None, None], 'ones(3,) * ones(3, 1): you predicted (3,), but it has shape (3, 3)'),
            (lambda: [(8, 7, 6, 5), None, (3, 3), (256, 256, 3), (256, 256, 3), None], 'you predicted (256, 256, 3), but it raises'),
            (lambda: (8, 7, 6, 5), 'give a list of 6 predictions')],
    'ex2': [(lambda x: ((x[:, None] - x[None]) ** 2).sum(0), 'for x of shape (7, 13) has shape (7, 13), expected (7, 7)'),
            (lambda x: (x[:, None] - x[None]).sum(-1) ** 2, 'values differ'),
            (loop_distances, 'correct, but `loop_distances` uses a Python loop')],
    'ex3': [(lambda x, w, b: torch.einsum('bi,io->bo', x, w), 'values differ'),
            (lambda x, w, b: x @ w + b, 'correct, but it does not call `torch.einsum` itself'),
            (lambda x, w, b: None, 'is None')],
    'ex4': [(lambda A, B: (A @ B).trace(), 'computes the whole product AB'),
            (lambda A, B: torch.einsum('ik,ki->i', A, B), 'has shape (40,), expected ()'),
            (lambda A, B: torch.einsum('ik,kj->', A, B), 'for A (40, 30), B (30, 40) is '),   # the sum of all of AB: a number, the wrong one
            (lambda A, B: (A * B.T).sum(), 'correct, but it does not call `torch.einsum` itself')],
    'ex5': [(lambda x: x - x.mean(1, keepdim=True), 'values differ'),
            (lambda x: x - x.mean(), 'values differ'),
            (loop_centre, 'uses a Python loop'),
            (lambda x: x.zero_(), 'values differ'),                           # changes x in place
            (standardise_in_place, 'values differ')],
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

RIGHT = {'ex1': [lambda: [torch.Size([8, 7, 6, 5]), None, [3, 3], (256, 256, 3), None, None]],
         'ex2': [gram_distances, lambda x: torch.cdist(x, x) ** 2],
         'ex3': [lambda x, w, b: torch.einsum('bi,io->bo', x, w) + b[None]],
         'ex4': [lambda A, B: torch.einsum('ik,ki->', A, B).item(), lambda A, B: torch.einsum('ij,ji', A, B)],
         'ex5': [lambda x: x - x.mean(0, keepdim=True), lambda x: x - x.sum(0) / x.shape[0]],
         'ex6': [lambda: 'bi, bj -> bij', lambda: '...i,...j->...ij']}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
