"The test helpers of notebook 00: each passes on equal inputs and fails, showing both sides, on unequal ones."
import numpy as np, pytest, torch
from exp.nb_00 import equals, near, test_eq, test_ne, test_near, test_near_zero, test_fail

T = torch.tensor


def fails(f):
    "The message of the AssertionError `f()` raises (the test fails if none is raised)."
    with pytest.raises(AssertionError) as e: f()
    return str(e.value)


def test_eq_passes_and_fails_with_both_sides():
    test_eq(3, 3); test_eq('a', 'a'); test_eq([1, 2], [1, 2])
    test_eq(T([1, 2]), T([1, 2])); test_eq(np.array([1, 2]), T([1, 2]))
    msg = fails(lambda: test_eq(T([1, 2, 3]), T([1, 2, 4])))
    assert '==' in msg and 'tensor([1, 2, 3])' in msg and 'tensor([1, 2, 4])' in msg and 'shape (3,)' in msg


def test_eq_compares_shapes():
    assert not equals(T([1, 2]), T([[1, 2]]))
    fails(lambda: test_eq(T([1., 1.]), T(1.)))


def test_ne_passes_and_fails():
    test_ne(1, 2); test_ne(T([1, 2]), T([2, 1])); test_ne(T([1, 2]), T([[1, 2]]))
    msg = fails(lambda: test_ne(T([5]), T([5])))
    assert '!=' in msg and msg.count('tensor([5])') == 2


def test_near_tolerances():
    test_near(T([1.0, 100.0]), T([1.0005, 100.05]))            # within rtol=1e-3
    test_near(T([0.0]), T([5e-6]))                              # within atol=1e-5
    test_near(T([1.0], dtype=torch.float64), T([1.0]))          # dtypes may differ
    fails(lambda: test_near(T([1.0]), T([1.002])))              # 0.2 % is too far
    fails(lambda: test_near(T([0.0]), T([5e-5])))
    assert not near(T([1., 2.]), T([[1., 2.]]))                 # no broadcasting
    msg = fails(lambda: test_near(T([1., 2.]), T([1., 3.])))
    assert 'near' in msg and 'tensor([1., 2.])' in msg and 'tensor([1., 3.])' in msg


def test_near_zero_with_tolerance():
    test_near_zero(T([1e-4, -1e-4])); test_near_zero(T(0.01), tol=0.1)
    msg = fails(lambda: test_near_zero(T([0.0, 0.5])))
    assert '0.5' in msg and '0.001' in msg


def test_fail_checks_raise_and_message():
    test_fail(lambda: 1/0)
    test_fail(lambda: 1/0, contains='division')
    msg = fails(lambda: test_fail(lambda: 1/0, contains='shape'))
    assert 'shape' in msg and 'ZeroDivisionError' in msg
    msg = fails(lambda: test_fail(lambda: 1, msg='should have raised'))
    assert 'none was raised' in msg and 'should have raised' in msg
    with pytest.raises(TypeError, match='test_fail needs a function to call'): test_fail(5)   # it used to pass: 5() raises


# --- exercises: Exercise and the expect_ helpers ---
from exp.nb_00 import (Exercise, Incorrect, called_names, describe, dtype_name, expect_eq, expect_near, expect_no_loops, expect_shape,
                       expect_tensor, python_loops)


def _double_check(f):
    x = torch.arange(6.).view(2, 3)
    expect_near(f(x), 2 * x, 'double(x)')
    expect_no_loops(f)


def test_exercise_three_outcomes(capsys):
    ex = Exercise('ex9', _double_check, 'times two')
    def stub(x): raise NotImplementedError()
    assert ex.grade(lambda x: 2 * x) == 'correct'
    assert ex.grade(stub) == 'not attempted'
    ex.check(lambda x: x * 2); ex.check(stub); ex.hint()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'ex9: correct'
    assert out[1].startswith('ex9: not attempted yet') and 'ex9.hint()' in out[1]
    assert out[2] == 'ex9, a hint: times two'
    with pytest.raises(Incorrect, match=r'^ex9: double\(x\): 5 of 6 values differ; the worst, at \[1, 2\], is 6 where 10'):
        ex.check(lambda x: x + 1)
    with pytest.raises(Incorrect, match=r'^ex9: give the check your function itself, without calling it: got a float32 tensor of shape \(2,\)'):
        ex.grade(torch.ones(2))


def test_exercise_lets_other_errors_through():
    "A bug in the answer shows as its own error, with its traceback, not as a wrong answer."
    with pytest.raises(ZeroDivisionError): Exercise('ex9', _double_check, '').grade(lambda x: 1 / 0)


def test_expect_helpers_name_what_is_wrong():
    with pytest.raises(Incorrect, match='is None: does your function `return` it'): expect_tensor(None)
    with pytest.raises(Incorrect, match='should be a tensor, but is a list'): expect_tensor([1, 2])
    with pytest.raises(Incorrect, match=r'out has shape \(3, 2\), expected \(2, 3\)'): expect_shape(torch.ones(3, 2), (2, 3), 'out')
    with pytest.raises(Incorrect, match=r'1 of 3 values differ; the worst, at \[1\], is nan'):
        expect_near(torch.tensor([1., float('nan'), 3.]), torch.tensor([1., 2., 3.]))
    expect_near(torch.tensor([1., 2.]), torch.tensor([1.0001, 2.0001]))   # rounding is not a difference
    with pytest.raises(Incorrect, match=r"your answer is a tuple \(1, 2\), expected a tuple \(2, 1\)"): expect_eq((1, 2), (2, 1))
    assert describe(None) == 'None' and describe(torch.zeros(2, 3)) == 'a float32 tensor of shape (2, 3)'
    assert describe(np.ones(2)) == 'a float64 NumPy array of shape (2,)' and describe(torch.ones(1, dtype=torch.int8)) == 'an int8 tensor of shape (1,)'
    assert dtype_name(torch.zeros(1, dtype=torch.bfloat16)) == 'bfloat16' and dtype_name(np.ones(1, np.int16)) == 'int16'
    assert dtype_name(torch.int64) == 'int64' and dtype_name(np.dtype('float16')) == 'float16'   # a dtype itself


def test_python_loops_finds_every_kind_of_loop():
    def flat(x): return x.sum()
    def gen(x): return sum(v for v in x)
    def nested(x):
        def inner(y):
            while y: y -= 1
            return y
        return inner(x)
    def listcomp(x):
        a = 1
        return [v for v in x]
    assert python_loops(flat) == [] and python_loops(gen) == [1] and python_loops(nested) == [3] and python_loops(listcomp) == [3]
    with pytest.raises(Incorrect, match=r'correct, but `gen` uses a Python loop \(line 1 of it\): no loops'):
        expect_no_loops(gen, 'no loops')


def test_python_loops_sees_through_partial_decorators_and_methods_and_refuses_objects():
    import functools
    def gen(x, k=1): return sum(v * k for v in x)
    @functools.wraps(gen)
    def decorated(*args): return gen(*args)
    class Doubler:
        def __call__(self, x): return [2 * v for v in x]
        def method(self, x): return [v for v in x]
    assert python_loops(functools.partial(gen, k=2)) == [1] and python_loops(decorated) == [1]
    assert python_loops(Doubler().method) == [1] and python_loops(Doubler.__call__) == [1]   # lines counted from the def
    assert python_loops(functools.partial(torch.mul, other=2)) == [] and python_loops(len) == []   # builtins: no Python code
    with pytest.raises(Incorrect, match='`gen` uses a Python loop'): expect_no_loops(functools.partial(gen, k=2))
    with pytest.raises(TypeError, match='not the class Doubler: pass the function or method'): python_loops(Doubler)
    with pytest.raises(TypeError, match='not a Doubler .*\\(for a model, its forward\\)'): python_loops(Doubler())   # its loops live in methods


def test_equals_and_near_say_false_where_a_side_is_not_numbers():
    "The helpers compare, they do not crash: a tensor against None or a string is unequal, and the failure shows both sides."
    assert not equals(torch.tensor([1, 2]), None) and not equals(torch.tensor([1, 2]), 'ab') and not near(torch.tensor([1.]), None)
    assert equals([torch.tensor([1, 2]), 3], [torch.tensor([1, 2]), 3]) and not equals([torch.tensor([1, 2])], [torch.tensor([1, 3])])
    assert equals(torch.Size([3, 3]), (3, 3)) and not equals([1, 2], (1, 2))       # a list is not a tuple, as in Python
    stacked,rows = torch.tensor([[1, 2], [3, 4]]),[torch.tensor([1, 2]), torch.tensor([3, 4])]
    assert equals(stacked, rows) and not equals(stacked, rows[:1]) and not equals(stacked, [torch.tensor([1, 2]), torch.tensor([3, 5])])
    nan = [float('nan')]; assert equals(nan, nan)                                 # the very same object, as Python's == says
    assert not equals(torch.tensor(3.), [torch.tensor([1, 2])])                   # a single number against a list
    with pytest.raises(AssertionError, match=r"near failed:\n  tensor\(\[1\.\]\)  \(a float32 tensor of shape \(1,\)\)\n  None"):
        test_near(torch.tensor([1.]), None)


def test_dicts_and_lists_of_tensors_compare_item_by_item():
    "A state dict, or a list of gradients of different shapes: compared item by item (they raised, or were never near)."
    w,b = T([[1., 2.], [3., 4.]]),T([0.5])
    assert equals({'w': w, 'b': b}, {'w': w.clone(), 'b': b.clone()}) and not equals({'w': w}, {'w': w + 1})
    assert not equals({'w': w}, {'w': w, 'b': b}) and not equals({'w': w}, [w])
    assert near([w, b], (w + 1e-6, b)) and near([w, w], [w, w]) and not near([w, b], [w, b + 1]) and not near([w, b], [w])
    assert not near([w, b], w) and not near([w], None)
    assert near({'w': w, 'b': b}, {'w': w + 1e-6, 'b': b}) and not near({'w': w}, {'w': w + 1}) and not near({'w': w}, {'v': w})
    assert not near([T([1.])], [T(1.)]) and not near([w, T([1.])], [w, T(1.)])   # each item's shape counts, however the list would stack
    fails(lambda: test_near([w, b], [w, b + 1]))


def test_exercise_sees_a_stub_through_a_check_that_wraps_errors():
    "NotImplementedError is a RuntimeError: a check wrapping the answer's RuntimeErrors must still report a stub as one."
    def wrapping(f):
        try: f()
        except RuntimeError as e: raise Incorrect(f"it failed: {e}") from None
    def stub(): raise NotImplementedError()
    def broken(): raise RuntimeError('shape mismatch')
    ex = Exercise('ex9', wrapping, '')
    assert ex.grade(stub) == 'not attempted'
    with pytest.raises(Incorrect, match='^ex9: it failed: shape mismatch$'): ex.grade(broken)


def test_exercise_names_a_test_helpers_failure():
    from exp.nb_00 import test_eq
    ex = Exercise('ex9', lambda f: test_eq(f(2), 4), '')
    with pytest.raises(Incorrect, match=r'^ex9: ==') as e: ex.grade(lambda x: x + 1)
    assert '3' in str(e.value) and '4' in str(e.value)


def test_expect_near_says_when_a_lower_precision_hides_the_difference():
    e = torch.tensor([0.8990149841], dtype=torch.float64)
    with pytest.raises(Incorrect, match=r'is 0\.89901\d+ where 0\.8990149841 was expected \(the result is float32, '
                                        r"the check works in float64: if rounding explains the difference, keep the input's dtype\)"):
        expect_near(e.float(), e, rtol=1e-9, atol=1e-12)


def test_exercise_names_a_name_left_none():
    with pytest.raises(Incorrect, match='holds None, not a function'): Exercise('ex9', _double_check, '').grade(None)


def test_expect_number_takes_a_number_in_any_form_a_learner_returns_it():
    from exp.nb_00 import expect_number
    assert [expect_number(x) for x in (3, 2.5, np.float32(0.5), np.int64(7), torch.tensor(4.), torch.ones(1, 1))] == [3., 2.5, .5, 7., 4., 1.]
    with pytest.raises(Incorrect, match=r'^f\(2\) is None: does your function `return` it\?$'): expect_number(None, 'f(2)')
    with pytest.raises(Incorrect, match=r'should be a number, but is a float32 tensor of shape \(2,\)'): expect_number(torch.ones(2))
    with pytest.raises(Incorrect, match='should be a number, but is a bool True'): expect_number(True)
    with pytest.raises(Incorrect, match="should be a number, but is a str '3'"): expect_number('3')


def test_dtype_name_of_a_numpy_scalar_type():
    assert dtype_name(np.float32) == 'float32' and dtype_name(np.dtype('int64')) == 'int64'


def test_expect_eq_shows_values_that_look_alike():
    with pytest.raises(Incorrect, match=r'is tensor\(\[1, 2\]\), expected tensor\(\[1, 3\]\)'): expect_eq(torch.tensor([1, 2]), torch.tensor([1, 3]))
    with pytest.raises(Incorrect, match='is an int 1, expected a str'): expect_eq(1, '1')


def test_an_exercise_without_a_hint_says_so(capsys):
    Exercise('ex9', lambda f: None, None).hint()
    assert capsys.readouterr().out.strip() == 'ex9 has no hint'


def _inner(x): return torch.einsum('ij->ji', x)
def _middle(x): return _inner(x) + 1
def _top(x): return _middle(x)
def _rec(n): return _rec(n - 1) if n else torch.zeros(1)

def test_called_names_sees_through_helpers_and_stops_at_cycles():
    "An answer's names include those of the functions it calls, at any depth, without looping on recursion."
    assert {'_middle', '_inner', 'einsum'} <= called_names(_top)
    assert 'einsum' not in _top.__code__.co_names                 # its own code alone would miss it
    assert {'_rec', 'zeros'} <= called_names(_rec)
    assert called_names(torch.mul) == set()                       # a builtin: no Python code
    assert called_names(torch.nn.BCEWithLogitsLoss()) == set()    # an object: no code of its own, not an error


# --- found by a learner's read of 00: checks that passed, or said nothing useful -------------------------------
import exp.nb_00 as nb

def test_test_near_says_where_tensors_differ():
    a = torch.zeros(100, 100); b = a.clone(); b[50, 50] = 1.
    with pytest.raises(AssertionError, match=r'near failed: 1 of 10000 values differ; the worst, at \[50, 50\], is 0 where 1 was expected'):
        nb.test_near(a, b)


def test_test_fail_lets_a_misspelt_name_through_and_names_what_it_expected():
    with pytest.raises(NameError): nb.test_fail(lambda: tensr([1.]))           # noqa: F821  (the typo is the point)
    with pytest.raises(AssertionError, match="expected an exception containing 'zero', but none was raised"):
        nb.test_fail(lambda: 1, contains='zero')


def _all_rows(x): return torch.stack([((x - r) ** 2).sum(1) for r in x])   # a learner's helper, global as in a notebook
def sq_helper(x): return _all_rows(x)


def test_expect_no_loops_looks_in_helpers_and_map():
    "A loop moved into a helper, or into map, passed 01's no-loop exercise."
    with pytest.raises(nb.Incorrect, match='`_all_rows`, which `sq_helper` calls, uses a Python loop'): nb.expect_no_loops(sq_helper)
    with pytest.raises(nb.Incorrect, match='it calls map'): nb.expect_no_loops(lambda x: torch.stack(list(map(lambda r: r * 2, x))))
    nb.expect_no_loops(lambda x: (x[:, None] - x[None]).pow(2).sum(-1))      # no loop: nothing raised


def test_an_answers_own_errors_come_through_as_they_are():
    "An assert in the answer became 'Incorrect: demo: ', and PyTorch's NotImplementedError 'not attempted yet'."
    ex = nb.Exercise('demo', lambda f: nb.expect_near(f(torch.ones(2)), torch.ones(2) * 2), 'double it')
    def asserts(x):
        assert x.ndim == 3, 'my own check'
        return 2 * x
    with pytest.raises(AssertionError, match='my own check') as e: ex.grade(asserts)
    assert not isinstance(e.value, nb.Incorrect)
    class NoForward(torch.nn.Module): pass
    with pytest.raises(NotImplementedError, match='forward'): ex.grade(lambda x: NoForward()(x))   # PyTorch's own, not a stub's
    def stub(x): raise NotImplementedError()
    assert ex.grade(stub) == 'not attempted'
    with pytest.raises(nb.Incorrect, match='demo: '): ex.grade(lambda x: 3 * x)


def test_expect_near_adds_no_dtype_note_when_both_sides_have_one_dtype():
    with pytest.raises(Incorrect) as e: expect_near(torch.tensor([1., 2.]), torch.tensor([1., 3.]))
    assert str(e.value) == 'the result: 1 of 2 values differ; the worst, at [1], is 2 where 3 was expected'


def _loopy(x):
    for r in x: pass
    return torch.stack(list(x))
def _via_lambda(x): return (lambda y: _loopy(y))(x)      # a helper called from code nested in the answer

def test_expect_no_loops_sees_helpers_called_in_nested_code():
    assert 'stack' in called_names(_via_lambda)
    with pytest.raises(Incorrect, match='`_loopy`, which `_via_lambda` calls'): expect_no_loops(_via_lambda)


def test_near_compares_complex_numbers_whole():
    "near and test_near compared complex tensors by their real parts (with a warning), so 1+1j was near 1-5j."
    assert not near(torch.tensor([1 + 1j]), torch.tensor([1 - 5j])) and not near(1j, 5j) and near(torch.tensor([1 + 1j]), torch.tensor([1 + 1j]))
    with pytest.raises(AssertionError, match='near failed'): test_near(torch.tensor([1 + 1j, 2]), torch.tensor([1 - 5j, 2]))


def test_near_zero_and_test_fail_say_what_they_were_given():
    "test_near_zero(None) failed inside PyTorch; test_fail(..., contains=ZeroDivisionError) failed on 'in <string>'."
    with pytest.raises(AssertionError, match=r'\|a\| < 0.001 failed'): test_near_zero(None)
    with pytest.raises(TypeError, match="contains is a piece of the error's message, a str"): test_fail(lambda: 1 / 0, contains=ZeroDivisionError)


def test_equals_compares_an_int_and_a_float_without_rounding_the_int():
    "PyTorch compares int64 with float32 in float32, where 16777217 rounds to 16777216: equal, though they differ."
    assert not equals(T([16777217]), T([16777216.])) and equals(T([16777216]), T([16777216.]))
    assert equals(T([1, 2]), T([1., 2.]))
    assert equals(T([True, False]), T([1, 0])) and equals(T([1 + 0j]), T([1.])) and not equals(T([1.5]), T([1]))


def test_expect_near_compares_complex_numbers_whole():
    with pytest.raises(Incorrect, match=r'1\+5j where 1\+0j was expected'): expect_near(T([1 + 5j]), T([1 + 0j]))
    expect_near(T([1 + 5j]), T([1 + 5j], dtype=torch.complex128))


def test_expect_near_names_a_coarser_dtype_as_a_possible_cause_only():
    "Far more off than float32 rounds (a wrong formula, say), the result is float32 all the same: the note says 'if'."
    with pytest.raises(Incorrect, match=r"is 2 where 2.5 was expected \(the result is float32, the check works in float64: if rounding explains"):
        expect_near(T([1., 2.]), T([1., 2.5], dtype=torch.float64))
    with pytest.raises(Incorrect) as err: expect_near(T([1., 2.], dtype=torch.float64), T([1., 2.5], dtype=torch.float64))
    assert 'rounding' not in str(err.value)                                                   # one dtype: no note


def test_near_says_nan_is_near_nothing_where_both_sides_have_one():
    msg = fails(lambda: test_near(T([1., float('nan')]), T([1., float('nan')])))
    assert 'at [1], is nan where nan was expected (NaN is near nothing, not even NaN)' in msg
    assert 'near nothing' not in fails(lambda: test_near(T([1., float('nan')]), T([1., 2.])))   # only where both are NaN
    for nan in float('nan'), T(float('nan')), T([float('nan')]):                                # a NaN loss, say
        assert 'NaN is near nothing, not even NaN' in fails(lambda: test_near(nan, nan))
    assert 'near nothing' not in fails(lambda: test_near(float('nan'), 1.))


def test_every_exported_helper_named_like_a_test_is_marked_not_a_test():
    "pytest collects a `test*` function a test file imports: each one exp exports says it is a helper (`__test__ = False`)."
    import importlib, inspect, pkgutil, exp
    names = [m.name for m in pkgutil.iter_modules(exp.__path__) if not m.name.startswith('_')]
    helpers = {f'{name}.{k}': f for name in names for k,f in vars(importlib.import_module(f'exp.{name}')).items()
               if k.startswith('test') and inspect.isfunction(f) and f.__module__.startswith('exp.')}
    assert len(helpers) >= 7 and not [k for k,f in helpers.items() if getattr(f, '__test__', True) is not False], helpers


def test_the_helpers_are_not_collected_by_pytest_in_a_project_that_imports_them(tmp_path):
    "A test file of a practitioner's own, star-importing the course: pytest runs its test, not `test_eq` and friends."
    import subprocess, sys
    from pathlib import Path
    (tmp_path / 'test_mine.py').write_text("from exp.nb_01 import *\n\ndef test_mine(): test_eq(1 + 1, 2); test_near(0.1 + 0.2, 0.3)\n")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(tmp_path / 'test_mine.py')],
                       cwd=tmp_path, capture_output=True, text=True, env={**__import__('os').environ, 'PYTHONPATH': str(root)})
    assert r.returncode == 0 and '1 passed' in r.stdout and 'error' not in r.stdout.lower(), r.stdout[-2000:]
