"The names the 2019 lessons' notebooks take from `exp` by star import (see docs/following-2019.md), with their 2019 behaviour."
import subprocess, sys

import torch


def star(mod, code):
    "Run `code` after `from exp.<mod> import *` in a fresh Python, as a 2019 notebook does; return what it prints."
    res = subprocess.run([sys.executable, '-c', f"from exp.{mod} import *\n{code}"], capture_output=True, text=True, cwd='/', timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_nb00_passes_on_TEST():
    assert star('nb_00', "print(TEST)") == 'test'


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
