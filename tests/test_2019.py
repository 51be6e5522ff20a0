"The names the 2019 lessons' notebooks take from `exp` by star import (see docs/following-2019.md), with their 2019 behaviour."
import os, re, shlex, subprocess, sys
from pathlib import Path

import torch

GUIDE = Path(__file__).parents[1]/'docs'/'following-2019.md'


def star(mod, code):
    "Run `code` after `from exp.<mod> import *` in a fresh Python, as a 2019 notebook does; return what it prints."
    res = subprocess.run([sys.executable, '-c', f"from exp.{mod} import *\n{code}"], capture_output=True, text=True, cwd='/', timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_nb00_passes_on_TEST():
    assert star('nb_00', "print(TEST)") == 'test'


def test_nb00_passes_on_the_modules_2019_cells_use():
    assert star('nb_00', "import math as m, torch as t, matplotlib.pyplot as p; print(math is m, torch is t, tensor is t.tensor, plt is p)") == 'True True True True'


def test_nb01_passes_on_mpl():
    assert star('nb_01', "import matplotlib; print(mpl is matplotlib, 'image.cmap' in mpl.rcParams)") == 'True True'


def test_nb02_passes_on_nn_init_and_mse():
    assert star('nb_02', "import torch; print(nn is torch.nn, init is torch.nn.init, callable(mse))") == 'True True True'
    assert star('nb_03', "print(TEST, mpl.__name__, nn.__name__, init.__name__, mse.__name__)") == 'test matplotlib torch.nn torch.nn.init mse'


def test_mse_behaves_as_in_2019():
    from exp.nb_02 import mse
    torch.manual_seed(0)
    out, targ = torch.randn(50, 1), torch.randn(50)
    torch.testing.assert_close(mse(out, targ), (out.squeeze(-1) - targ).pow(2).mean())      # 2019's formula
    torch.testing.assert_close(mse(out, targ), torch.nn.functional.mse_loss(out.squeeze(-1), targ))
    torch.testing.assert_close(mse(out[:, 0], targ), mse(out, targ))                          # (N,) outputs too


def test_get_data_is_2019s_split():
    from exp.nb_02 import get_data
    x_train, y_train, x_valid, y_valid = get_data()
    assert (x_train.shape, x_valid.shape, y_train.shape, y_valid.shape) == ((50_000, 784), (10_000, 784), (50_000,), (10_000,))
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]     # MNIST's first training labels, in 2019's order
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64 and 0 <= x_train.min() and x_train.max() == 1
    assert y_train[-3:].tolist() == [8, 4, 8] and y_valid[0] == 3                  # as 2019's 01 and 03 printed them


def test_pixels_are_256_255ths_of_2019s():
    "2019's 02 printed the training mean and std 0.1304 and 0.3073, of pixels stored as p/256; ours are p/255."
    from exp.nb_02 import get_data
    x_train = get_data()[0]
    for ours, theirs in ((x_train.mean().item(), 0.1304), (x_train.std().item(), 0.3073)):
        assert abs(ours / theirs - 256 / 255) < 1e-3, (ours, theirs)


def guide_block(lang):
    "The one code block in `lang` of the guide's section on notebook 04 on."
    section = GUIDE.read_text(encoding='utf-8').split('## From notebook 04 on')[1]
    blocks = re.findall(rf"```{lang}\n(.*?)```", section, re.S)
    assert len(blocks) == 1, blocks
    return '\n'.join(l[3:] if l.startswith('   ') else l for l in blocks[0].splitlines())   # the blocks sit in a list item


def test_the_guides_mnist_file_gives_2019s_get_data_the_same_tensors(tmp_path):
    cmd = shlex.split(guide_block('bash'))
    assert cmd[0] == '.venv/bin/python' and cmd[-1] == '$DL2/mnist.npz'
    subprocess.run([sys.executable, *cmd[1:-1], str(tmp_path/'mnist.npz')], check=True, cwd=GUIDE.parents[1], timeout=300)
    ns = {'__file__': str(tmp_path/'exp'/'nb_02.py'), 'Path': Path, 'tensor': torch.tensor}   # what 2019's exp.nb_01 gives nb_02
    exec(guide_block('python'), ns)
    from exp.nb_02 import get_data
    for got, want in zip(ns['get_data'](), get_data(), strict=True):
        assert got.dtype == want.dtype and torch.equal(got, want)
