"""Run a command while busy-loop processes keep the cores busy, as a browser and a build do on a learner's laptop.

    python tools/busy.py 2 -- nbdev_test --path nbs/01_matmul.ipynb   # two busy loops alongside a notebook
    python tools/busy.py 0 -- nbdev_test                   # none: the command alone

`make test` runs the notebooks this way (`BUSY=2`, with `tools/test_nbs.py`), so a lesson whose timing checks only hold on a quiet machine
fails there, in CI, rather than on a learner's laptop. The exit status is the command's.
"""
import os, signal, subprocess, sys

SPIN = 'import os, sys\nparent = int(sys.argv[1])\nwhile os.getppid() == parent: pass'   # spins until busy.py (its pid given) is gone, however it ended


def run_busy(n, cmd):
    "Run `cmd` (a list) with `n` busy-loop processes alongside; stop them afterwards, whatever happens; return its exit status."
    if n < 0: raise ValueError(f"the number of busy loops must be 0 or more, got {n}")
    if not cmd: raise ValueError("no command to run")
    loops = [subprocess.Popen([sys.executable, '-c', SPIN, str(os.getpid())]) for _ in range(n)]
    if n: print(f"busy.py: {n} busy-loop process(es) running alongside: {' '.join(cmd)}", flush=True)
    try: return subprocess.run(cmd).returncode
    finally:
        for p in loops: p.kill()
        for p in loops: p.wait()


USAGE = "usage: python tools/busy.py N -- COMMAND [ARGS...]   (N busy-loop processes alongside COMMAND)"

if __name__ == '__main__':
    args = sys.argv[1:]
    if '--' not in args or not args[0].isdigit() or args.index('--') == len(args) - 1: sys.exit(USAGE)
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))   # a kill stops the loops and the command too
    try: sys.exit(run_busy(int(args[0]), args[args.index('--') + 1:]))
    except FileNotFoundError as e: sys.exit(f"busy.py: no such command: {e.filename}\n{USAGE}")
