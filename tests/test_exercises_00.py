"The checks of notebook 00's exercises reject typical wrong answers, each with a message that says what is wrong."
import pytest, torch

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases

EX = checks('00_exports')


def counts_loop(y):
    return [int((y == d).sum()) for d in range(10)]


WRONG = {
    'ex1': [(lambda: [True] * 6, 'test_near(tensor([1., 2.]), tensor([[1., 2.]])): you predicted it passes, but it raises: '
                                 'the shapes (2,) and (1, 2) differ, and test_near never broadcasts'),
            (lambda: [False, False, False, False, True, True], 'test_near(tensor([100.]), tensor([100.05])): you predicted it '
                                                               'raises, but it passes: |a - b| is 0.05, within atol + rtol'),
            (lambda: [False, False, True, True, True, True], 'test_near(tensor([0.]), tensor([1e-4])): you predicted it passes, '
                                                             'but it raises: |a - b| is 0.0001, more than atol + rtol·|b| = 1.01e-05'),
            (lambda: [False, False, True, False, True, False], 'test_near compares the values in float64, whatever the dtypes'),
            (lambda: 'False', 'give a list of 6 predictions, each True (it passes) or False (it raises)')],
    'ex2': [(lambda y: torch.bincount(y), 'on 40 labels without a 3 or a 9 has shape (9,), expected (10,): one count for each digit'),
            (lambda y: y.unique(return_counts=True)[1], 'has shape (8,), expected (10,)'),
            (lambda y: torch.bincount(y, minlength=10) / len(y), 'digit_counts(y) on 137 labels: 10 of 10 values differ'),
            (counts_loop, 'should be a tensor, but is a list'),
            (lambda y: None, 'is None: does your function `return` it?'),
            (lambda y: torch.bincount(y.clamp_(max=8), minlength=10), 'values differ')],   # changes y in place: passed when the reference came after
    'ex3': [(lambda y: torch.bincount(y, minlength=10).argmax(), 'is 7: that is the most common digit itself'),
            (lambda y: torch.bincount(y, minlength=10).max(), 'divide by the number of labels'),
            (lambda y: 100 * torch.bincount(y, minlength=10).max().item() / len(y), 'a percentage; give the fraction'),
            (lambda y: 0.1, 'the accuracy if the digits were exactly balanced'),
            (lambda y: torch.bincount(y, minlength=10).min().item() / len(y), 'least common digit'),
            (lambda y: (y == 7).float().mean().item(), 'on 60 labels, most of them 2s is')],   # the first cases' majority written in
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


RIGHT = {'ex2': [lambda y: (y[:, None] == torch.arange(10)).sum(0), lambda y: torch.tensor([(y == d).sum() for d in range(10)])],
         'ex3': [lambda y: torch.bincount(y, minlength=10).max() / len(y),
                 lambda y: (y == y.mode().values).float().mean().item()]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
