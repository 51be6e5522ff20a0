"""Shared by the tests of the exercises: a notebook's checks, as its checks cell defines them, and the wrong answers
each check must reject. Each `tests/test_exercises_XX.py` lists, for every exercise of its notebook, at least two
typical wrong answers and a piece of the message the check must give."""
import json, re
from pathlib import Path

import pytest

from exp.nb_00 import Exercise, Incorrect

ROOT = Path(__file__).resolve().parents[1]
DEFINES = re.compile(r'^\w+ = Exercise\(', re.M)


def is_checks_cell(src):
    "Does the cell source `src` define a notebook's checks? (Folded on the website, it defines `exN = Exercise(...)`.)"
    return src.startswith('#| code-fold: true') and bool(DEFINES.search(src))


def cells(stem):
    "The code cells' sources of `nbs/STEM.ipynb`."
    nb = json.loads((ROOT/'nbs'/f'{stem}.ipynb').read_text(encoding='utf-8'))
    return [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']


def checks(stem):
    """The exercises of `nbs/STEM.ipynb` by name: its cells that define them, run after importing the notebook's module
    (so a check may use what the notebook exports, never what only the notebook defines)."""
    code = cells(stem)
    module = next(m.group(1) for c in code if (m := re.search(r'^#\|\s*default_exp\s+(\S+)', c, re.M)))
    ns = {}
    exec(f'from exp.{module} import *', ns)
    for src in filter(is_checks_cell, code): exec(compile(src, f'{stem}: the checks cell', 'exec'), ns)
    return {k: v for k,v in ns.items() if isinstance(v, Exercise)}


def cases(wrong):
    "pytest parameters (name, answer, message) from {name: [(wrong answer, part of its message), ...]}."
    return [pytest.param(name, answer, msg, id=f'{name}-{i}') for name,answers in wrong.items()
            for i,(answer,msg) in enumerate(answers)]


def right_cases(right):
    "pytest parameters (name, answer) from {name: [right answer, ...]}."
    return [pytest.param(name, answer, id=f'{name}-{i}') for name,answers in right.items() for i,answer in enumerate(answers)]


def rejects(exercise, answer, msg):
    "Check that `exercise` rejects `answer` with `Incorrect`, whose message names the exercise and contains `msg`."
    with pytest.raises(Incorrect) as e: exercise.grade(answer)
    assert str(e.value).startswith(f'{exercise.name}: '), str(e.value)
    assert msg in str(e.value), f"expected {msg!r} in the message: {e.value}"


def accepts(exercise, answer):
    "Check that `exercise` calls `answer`, a right answer written otherwise than the notebook's, correct."
    assert exercise.grade(answer) == 'correct'


def covered(exercises, wrong):
    "Check that every exercise has at least two wrong answers listed, and that every name listed is an exercise."
    assert exercises, 'no exercises found'
    assert set(wrong) == set(exercises), f"listed {sorted(wrong)}, the notebook has {sorted(exercises)}"
    few = [name for name,answers in wrong.items() if len(answers) < 2]
    assert not few, f"fewer than two wrong answers for {few}"
