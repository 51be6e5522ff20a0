"The checks of notebook 01c's exercises reject typical wrong answers, each with a message that says what is wrong."
import math

import pytest
from numba import cuda

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases
from exp.nb_01c import matmul_intensity

EX = checks('01c_gpu')


@cuda.jit
def add_unguarded(a, b, out):      # no `if`: the grid's extra threads index past the edges
    j,i = cuda.grid(2)
    out[i,j] = a[i,j] + b[i,j]

@cuda.jit
def add_rows_first(a, b, out):     # the 2022 lesson's order, i = x, launched with x along the columns
    i,j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]: out[i,j] = a[i,j] + b[i,j]

@cuda.jit
def add_one_axis(a, b, out):       # cuda.grid(1): one row of threads only
    j = cuda.grid(1)
    if j < out.shape[1]: out[0,j] = a[0,j] + b[0,j]

@cuda.jit
def subtracts(a, b, out):
    j,i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]: out[i,j] = a[i,j] - b[i,j]

def add_plain(a, b, out): out[:] = a + b     # no @cuda.jit

@cuda.jit
def add_float_index(a, b, out):              # one thread per element, its row found with / where // is meant
    t = cuda.grid(1)
    i,j = t / out.shape[1],t % out.shape[1]
    if i < out.shape[0]: out[i,j] = a[i,j] + b[i,j]

@cuda.jit
def add_with_bounds_first(a, b, out):        # right, written otherwise: the guard as an early return
    x,y = cuda.grid(2)
    if y >= out.shape[0] or x >= out.shape[1]: return
    out[y,x] = a[y,x] + b[y,x]


WRONG = {
    'ex1': [(lambda m, n, threads=16: (n // threads) * (m // threads) * threads**2 - m * n, 'negative: with blocks rounded down'),
            (lambda m, n, threads=16: (n // threads + 1) * (m // threads + 1) * threads**2 - m * n, 'a whole extra row and column of blocks'),
            (lambda m, n, threads=16: math.ceil(n / threads) * math.ceil(m / threads) * threads**2, 'take away the 693 that have an element'),
            (lambda m, n, threads=16: (math.ceil(n / threads), math.ceil(m / threads)), 'should be a number')],
    'ex2': [(add_unguarded, 'check i < out.shape[0] and j < out.shape[1]'),
            (add_rows_first, 'is your j the x of cuda.grid(2)'),
            (add_one_axis, 'were never written'),
            (subtracts, 'values differ'),
            (add_plain, 'put @cuda.jit above its def'),
            (add_float_index, 'indexed with a number that is not whole')],
    'ex3': [(lambda threads, regs, smem: max(2048 // threads, 65536 // (regs * threads)), 'the registers limit allows no more than 2'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // regs, 32), 'the registers limit allows no more than 2'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads)), 'the shared memory limit allows no more than 4'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads), 32), 'the shared memory limit allows no more than 4'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads), 228 * 1024 // smem if smem else 10**6),
             'is 64: the blocks limit allows no more than 32'),
            (lambda threads, regs, smem: min(1024 // threads, 65536 // (regs * threads), 32, 228 * 1024 // smem if smem else 32),
             'is 4: more fit: no limit is that tight'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads), 32, 228 * 1024 // smem), 'divides by zero: smem can be 0'),
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads), 228 * 1024 // smem) if smem else min(2048 // threads, 65536 // (regs * threads), 32),
             'is 57: the blocks limit allows no more than 32'),                  # the cap forgotten where there is shared memory
            (lambda threads, regs, smem: min(2048 // threads, 65536 // (regs * threads), 32, 228_000 // smem if smem else 32),
             'is 2: more fit')],                                                # 228 KB taken as 228,000 bytes
    'ex4': [(lambda k, n: math.inf, 'it does not grow without bound'),
            (lambda k, n: n / 2, 'writing it grows with m too'),
            (lambda k, n: 2 * k * n / (k + n), 'a float32 is 4 bytes'),
            (lambda k, n: k * n / (4 * (k + n)), 'a multiply-add is 2 FLOPs'),
            (lambda k, n: matmul_intensity(10**9, k, n), 'calls matmul_intensity'),
            (lambda k, n, m=1e12: 2 * m * k * n / (4 * (m * k + k * n + m * n)), 'very close, but not the limit')],
}

RIGHT = {
    'ex1': [lambda m, n, threads=16: -(-m // threads) * threads * -(-n // threads) * threads - m * n],
    'ex2': [add_with_bounds_first],
    'ex3': [lambda threads, regs, smem: min(64 // (threads // 32), 2048 // (regs * threads // 32), 32, (233472 // smem) if smem else 99)],
    'ex4': [lambda k, n: 1 / (2 / n + 2 / k)],   # the same, as 1 / (bytes per FLOP)
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_right_answers_accepted(name, answer): accepts(EX[name], answer)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)
