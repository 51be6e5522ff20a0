"The checks of notebook 01b's exercises reject typical wrong answers, each with a message that says what is wrong."
import math

import numpy as np, pytest, torch
from numba import njit

from exercise_checks import accepts, cases, checks, covered, rejects, right_cases
from exp.nb_01b import _ikj_kernel

EX = checks('01b_inside_the_operator')


ikj_kernel = _ikj_kernel.py_func   # the lesson's i-k-j rung, not k-i-j (the plain function, as a learner would write it)

def kji_kernel(a, b):     # k outside, but i innermost: down the columns of a and c
    (ar,ac),(br,bc) = a.shape,b.shape
    c = np.zeros((ar, bc), a.dtype)
    for k in range(ac):
        for j in range(bc):
            for i in range(ar): c[i,j] += a[i,k] * b[k,j]
    return c

def kij_float64(a, b):    # c made without a dtype: float64 for float32 inputs
    (ar,ac),(br,bc) = a.shape,b.shape
    c = np.zeros((ar, bc))
    for k in range(ac):
        for i in range(ar):
            for j in range(bc): c[i,j] += a[i,k] * b[k,j]
    return c

@njit
def kij_assigns(a, b):    # '=' where the sum needs '+=', compiled with @njit by the learner
    (ar,ac),(br,bc) = a.shape,b.shape
    c = np.zeros((ar, bc), a.dtype)
    for k in range(ac):
        for i in range(ar):
            for j in range(bc): c[i,j] = a[i,k] * b[k,j]
    return c

def kij_float32(a, b):    # c hard-coded float32: right for float32 inputs only
    c = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c


def kij_empty_like(a, b):  # c from empty_like: never set to zero
    c = np.empty_like(a[:, :1] * b[:1, :])
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c


def kji_hoisted(a, b):     # k-j-i with a column of a read whole first: the order shows in c, not in the reads
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        ak = a[:, k]
        for j in range(b.shape[1]):
            for i in range(a.shape[0]): c[i, j] += ak[i] * b[k, j]
    return c

def kij_outer(a, b):      # one loop, the rest NumPy's
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]): c += np.outer(a[:, k], b[k])
    return c

def kij_rows(a, b):       # two loops, a row of c at a time
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]): c[i, :] += a[i, k] * b[k, :]
    return c

def ijk_sums(a, b):       # each element's whole sum at once: the order i-j-k
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            s = 0.
            for k in range(a.shape[1]): s += a[i, k] * b[k, j]
            c[i, j] = s
    return c

def kij_chained(a, b):    # right, indexed a[i][k], one index at a time
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i][j] += a[i][k] * b[k][j]
    return c


def kij_with_torch(a, b):  # torch inside a kernel numba compiles
    return (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()

def strides_bytes(order, m, k, n):   # bytes (float32), not elements
    s = {'a': {'i': k, 'k': 1}, 'b': {'k': n, 'j': 1}, 'c': {'i': n, 'j': 1}}
    return tuple(4 * s[x].get(order[-1], 0) for x in 'abc')

def strides_transposed(order, m, k, n):   # as if stored a column after another
    s = {'a': {'i': 1, 'k': m}, 'b': {'k': 1, 'j': k}, 'c': {'i': 1, 'j': m}}
    return tuple(s[x].get(order[-1], 0) for x in 'abc')


def pack_right(a, i0, k0, kd):
    out = np.zeros((kd, 6), a.dtype)
    rows = a[i0:i0 + 6, k0:k0 + kd]
    out[:, :len(rows)] = rows.T
    return out.ravel()

def pack_by_rows(a, i0, k0, kd):      # row after row: out[kd*i + k]
    out = np.zeros((6, kd), a.dtype)
    rows = a[i0:i0 + 6, k0:k0 + kd]
    out[:len(rows)] = rows
    return out.ravel()

def pack_into_empty(a, i0, k0, kd):   # np.empty, the end never written
    out = np.full(6 * kd, 7, a.dtype)
    for k in range(kd):
        for i in range(min(6, len(a) - i0)): out[6*k + i] = a[i0 + i, k0 + k]
    return out

def pack_loops(a, i0, k0, kd):        # the lesson's way, in loops
    out = np.empty(6 * kd, a.dtype)
    for k in range(kd):
        for i in range(6): out[6*k + i] = a[i0 + i, k0 + k] if i0 + i < len(a) else 0
    return out

WRONG = {
    'ex1': [(lambda m, k, n, s: (m * k * n, m * k * n / (s * 1e9)), 'you count 392,000,000 FLOPs, where the product'),
            (lambda m, k, n, s: (2 * m * k * n + m * n, (2 * m * k * n + m * n) / s), 'take 5.23 ms, but you say 5.23e+06 s'),
            (lambda m, k, n, s: (2 * m * k * n, 2 * m * k * n / (s * 1e9)), 'is the product alone'),
            (lambda m, k, n, s: 2 * m * k * n + m * n, 'should return two numbers, (FLOPs, seconds)'),
            (lambda m, k, n, s: (m * (2 * k - 1) * n + m * n, 2 * m * k * n / (s * 1e9)), 'or you counted k - 1 additions per sum, then the bias')],
    'ex2': [(lambda o, s: (o * s * 1e9) ** (1 / 3), 'n = 79.37 takes 10 µs, not the overhead\'s 5 µs'),
            (lambda o, s: (o * s / 2) ** (1 / 3), 'is 0.063, but at 100 GFLOP/s the arithmetic of an n x n @ n x n product with n = 0.063 takes 5e-06 ns'),
            (lambda o, s: math.sqrt(o * s * 1e9 / 2), 'not the overhead')],
    'ex3': [(strides_bytes, 'but you say 4 for a (count elements, not bytes)'),
            (strides_transposed, 'a[i,k] then a[i,k+1] are 1 element apart'),
            (lambda order, m, k, n: (1, 1, 1), 'b[k,j] then b[k+1,j] are 11 elements apart'),
            (lambda order, m, k, n: None, 'should return three numbers')],
    'ex4': [(ikj_kernel, 'correct, but k is not the outer loop (the loops run in the order i-k-j)'),
            (kji_kernel, 'correct, but the inner loop runs over i, not j (the order k-j-i'),
            (kji_hoisted, 'correct, but the inner loop runs over i, not j (the order k-j-i'),
            (kij_outer, 'correct, but kij_kernel does not add to c one element at a time'),
            (kij_rows, 'correct, but kij_kernel does not add to c one element at a time'),
            (ijk_sums, 'each element of c is written once, its whole sum over k done inside'),
            (kij_float64, 'gives float64: make `c` of `a`\'s dtype'),
            (kij_assigns, 'values differ'),
            (kij_with_torch, 'numba cannot compile kij_kernel'),
            (kij_float32, 'a float64 (4, 3), b (3, 2) gives float32'),
            (kij_empty_like, 'np.empty does not set it to zero')],
    'ex5': [(lambda r, c, l, along: r * c // l, "accumulator_registers(4, 4, 8, 'k') is 2: vectorised along k"),
            (lambda r, c, l, along: r * c, "accumulator_registers(6, 16, 8, 'j') is 96: vectorised along j"),
            (lambda r, c, l, along: r * c if along == 'k' else r * c // l, "accumulator_registers(4, 4, 8, 'j') is 2: vectorised along j"),
            (lambda r, c, l, along: r * c if along == 'k' else r * (c // l), "accumulator_registers(4, 4, 8, 'j') is 0: vectorised along j")],
    'ex6': [(pack_by_rows, 'holds the rows one after the other'),
            (pack_into_empty, 'are not zero'),
            (lambda a, i0, k0, kd: a[i0:i0 + 6, k0:k0 + kd].T.ravel(), 'has shape (16,), not (24,)'),   # no zeros: too short at the end
            (lambda a, i0, k0, kd: pack_right(a, i0, k0, kd).astype(np.float64), 'gives float64'),
            (lambda a, i0, k0, kd: pack_right(a, i0, 0, kd), 'values differ'),                          # k0 ignored
            (lambda a, i0, k0, kd: list(pack_right(a, i0, k0, kd)), 'returns a list')],
}


@pytest.mark.parametrize('name,answer,msg', cases(WRONG))
def test_wrong_answers_rejected(name, answer, msg): rejects(EX[name], answer, msg)

def test_every_exercise_has_wrong_answers(): covered(EX, WRONG)


def test_kij_names_a_result_never_set_to_zero():
    def kij_kernel(a, b):
        c = np.empty((a.shape[0], b.shape[1]), a.dtype)
        for k in range(a.shape[1]):
            for i in range(a.shape[0]):
                for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
        return c
    rejects(EX['ex4'], kij_kernel, 'np.empty does not set it to zero')


@njit
def kij_compiled(a, b):    # compiled by the learner, c made with zeros_like's dtype
    c = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c

def kij_full(a, b):          # right, c made with np.full
    c = np.full((a.shape[0], b.shape[1]), 0, a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c
def kij_astype(a, b):        # right, summed in float64, then converted
    c = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c.astype(a.dtype)
def kij_copy(a, b):          # right, a copy of c returned
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c.copy()
def kij_empty_slice(a, b):   # right, c zeroed with a slice
    c = np.empty((a.shape[0], b.shape[1]), a.dtype)
    c[:] = 0
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c
def kij_empty_loop(a, b):    # right, c zeroed in loops first
    c = np.empty((a.shape[0], b.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]): c[i, j] = 0
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c

def kij_zero_first(a, b):    # right, each element zeroed at k == 0, just before its first term
    c = np.empty((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        for i in range(a.shape[0]):
            for j in range(b.shape[1]):
                if k == 0: c[i, j] = 0
                c[i, j] += a[i, k] * b[k, j]
    return c

def strides_as_array(order, m, k, n):
    s = {'a': {'i': k, 'k': 1}, 'b': {'k': n, 'j': 1}, 'c': {'i': n, 'j': 1}}
    return np.array([s[x].get(order[-1], 0) for x in 'abc'])

RIGHT = {'ex1': [lambda m, k, n, s: (m * n * (2 * k + 1), m * n * (2 * k + 1) / s / 1e9),
                 lambda m, k, n, s: np.array([m * n * (2 * k + 1), m * n * (2 * k + 1) / s / 1e9])],
         'ex2': [lambda overhead, s: (overhead * s * 1e9 / 2) ** (1 / 3)],
         'ex3': [strides_as_array, lambda order, m, k, n: torch.from_numpy(strides_as_array(order, m, k, n))],
         'ex4': [kij_compiled, kij_chained, kij_full, kij_astype, kij_copy, kij_empty_slice, kij_empty_loop, kij_zero_first],
         'ex5': [lambda rows, cols, lanes, along: rows * cols if along == 'k' else rows * math.ceil(cols / lanes)],
         'ex6': [pack_loops, njit(pack_loops)]}


@pytest.mark.parametrize('name,answer', right_cases(RIGHT))
def test_other_right_answers_accepted(name, answer): accepts(EX[name], answer)
