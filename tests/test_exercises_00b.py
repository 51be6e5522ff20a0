"The checks of notebook 00b's exercises reject typical wrong answers, each with a message that says what is wrong."
import math, statistics

import numpy as np, pytest, torch

from exp.measure import check_faster, cpu_peak
from exercise_checks import accepts, cases, checks, covered, rejects, right_cases

EX = checks('00b_measure')


def _tried(seconds_per_call, min_time):
    tried = []
    for e in range(12):
        for m in (1, 2, 5):
            tried.append(m * 10**e)
            if tried[-1] * seconds_per_call >= min_time: return tried

def kept_runs_only(seconds_per_call, repeats=7, min_time=0.05, warmup=1):      # the runs that chose the number forgotten
    return warmup + repeats * _tried(seconds_per_call, min_time)[-1]

def choosing_run_twice(seconds_per_call, repeats=7, min_time=0.05, warmup=1):  # the run that chose it counted again
    tried = _tried(seconds_per_call, min_time)
    return warmup + sum(tried) + repeats * tried[-1]

def no_warmup(seconds_per_call, repeats=7, min_time=0.05, warmup=1):
    tried = _tried(seconds_per_call, min_time)
    return sum(tried) + (repeats - 1) * tried[-1]

def strictly_longer(seconds_per_call, repeats=7, min_time=0.05, warmup=1):    # '>' where time_fn keeps '>='
    tried = _tried(seconds_per_call, min_time * (1 + 1e-9))
    return warmup + sum(tried) + (repeats - 1) * tried[-1]

def no_return(seconds_per_call, repeats=7, min_time=0.05, warmup=1):
    tried = _tried(seconds_per_call, min_time)
    warmup + sum(tried) + (repeats - 1) * tried[-1]


WRONG = {
    'ex1': [(kept_runs_only, 'not the shorter runs that tried 1, 2, 5, ... calls before it'),
            (choosing_run_twice, 'counts as the first of the repeats'),
            (no_warmup, 'the warm-up calls come first'),
            (strictly_longer, 'calls_in_all(0.025, repeats=3, min_time=0.05, warmup=0), a call of 25 ms, which time_fn runs 2 at a time, is 18, expected 7'),
            (no_return, 'is None: does your function `return` it?'),
            (lambda t, repeats=7, min_time=0.05, warmup=1: calls_closed_form(t, repeats, min_time, warmup) * t,
             'is 0.455: that is the seconds the calls take, where their count is wanted'),
            (lambda t, repeats=7, min_time=0.05, warmup=1: math.inf, 'is inf, expected 388,889')],
    'ex2': [(lambda ts, fast, slow: ts[slow].median / ts[fast].median, 'the ratio of the medians'),
            (lambda ts, fast, slow: statistics.mean(ts[slow].times) / statistics.mean(ts[fast].times),
             "the ratio of the means, which one interrupted run (14 ms of 'loops') drags"),
            (lambda ts, fast, slow: ts[fast].min / ts[slow].min, 'upside down'),
            (lambda ts, fast, slow: check_faster(ts, fast, slow, by=1), 'calls the course\'s check'),
            (lambda ts, fast, slow: ts[slow].min, "times_faster(timings, 'broadcast', 'loops') is 0.0029, but their fastest runs give 1,450")],
    'ex3': [(lambda: [5 * 784 * 10, 8 * 5 * 784 * 10, 7500, 4000], 'you predicted 39,200, but PyTorch\'s FLOP counter counts 78,400 (half of it'),
            (lambda: [78_400, 78_400, 15_000, 8_000], 'the batch makes 8 of them'),
            (lambda: [78_400, 627_200, 8_000, 15_000], '(A @ B) @ C: you predicted 8,000, but PyTorch\'s FLOP counter counts 15,000 (the count of A @ (B @ C)'),
            (lambda: 78_400, 'give a list of 4 numbers of FLOPs')],
    'ex4': [(lambda m, k, n, t, peak: (2 * m * k * n / t.median / 1e9, 2 * m * k * n / t.median / 1e9 / peak), 'by the median run'),
            (lambda m, k, n, t, peak: (m * k * n / t.min / 1e9, m * k * n / t.min / 1e9 / peak), 'half of it: a multiply-add is two FLOPs'),
            (lambda m, k, n, t, peak: (2 * m * k * n / t.min / 1e9, 200 * m * k * n / t.min / 1e9 / peak), 'a percentage; give the fraction'),
            (lambda m, k, n, t, peak: 2 * m * k * n / t.min / 1e9, 'should be a pair (GFLOP/s, fraction of the peak)')],
    'ex5': [(lambda c, b, f, g, d=torch.float32: c * (b // torch.finfo(d).bits) * f * g, 'half of it: each FMA is two FLOPs'),
            (lambda c, b, f, g, d=torch.float32: c * (b // 32) * f * 2 * g, 'as if the numbers were float32; torch.float64 numbers take 64 bits'),
            (lambda c, b, f, g, d=torch.float32: c * b * f * 2 * g, 'counting bits, not lanes: 512 bits hold 16 numbers of torch.float32'),
            (lambda c, b, f, g, d=torch.float32: c * (b // torch.finfo(d).bits) * 2 * g, 'the FMA units left out'),
            (lambda c, b, f, g, d=torch.float32: (b // torch.finfo(d).bits) * f * 2 * g, 'the cores left out: each of the 6 does as much'),
            (lambda c, b, f, g, d=torch.float32: cpu_peak().gflops, "uses the course's `cpu_peak`"),
            (lambda c, b, f, g, d=torch.float32: None, 'is None')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def calls_closed_form(seconds_per_call, repeats=7, min_time=0.05, warmup=1):   # a list of the numbers, then sums
    numbers = [m * 10**e for e in range(12) for m in (1, 2, 5)]
    k = next(i for i,n in enumerate(numbers) if n * seconds_per_call >= min_time)
    return warmup + sum(numbers[:k + 1]) + (repeats - 1) * numbers[k]


RIGHT = {'ex1': [calls_closed_form],
         'ex2': [lambda timings, fast, slow: min(timings[slow].times) / min(timings[fast].times)],
         'ex3': [lambda: [np.prod([2, 5, 784, 10]), 8 * np.prod([2, 5, 784, 10]), torch.tensor(15_000), 8000.0],
                 lambda: np.array([78_400, 627_200, 15_000, 8_000]), lambda: torch.tensor([78_400, 627_200, 15_000, 8_000])],
         'ex4': [lambda m, k, n, t, peak: (2 * m * k * n / t.min * 1e-9, 2 * m * k * n / t.min * 1e-9 / peak)]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
