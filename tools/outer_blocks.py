"""Time rung 12 (notebook 01b's `matmul_outer`) at one size with other blocks of `b`, side by side: the measurement
behind `OUTER_DEPTH` and `OUTER_WIDTH` on this machine.

    .venv/bin/python tools/outer_blocks.py [--size 4096] [--threads N] [--repeats 3] [--wide-vectors] [--tile-rows 6,12] [DEPTHxWIDTH ...]

Each block is DEPTH terms of the sum by WIDTH columns of `b`, packed once and shared by every thread (default: the
blocks `tune_outer` chooses from, `OUTER_BLOCKS`, the largest first). The one packed block is read from the
cache that holds it once for each tile of rows of `a`, so the smaller blocks ask less of the shared L3 and more of
each core's L2. `tune_outer` (which `make bench` runs) times the same kernel and keeps the fastest at 2048^3; this
tool also checks each block's product and counts its page faults, at any size and number of threads, and times the
tiles of 6 and of 12 rows side by side where the CPU has registers for the taller one (`TILE_ROWS` is 12 there).
"""
import argparse, os, resource, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

def _block(spec):
    "'768x2048' as (768, 2048): positive whole numbers, DEPTHxWIDTH."
    try:
        d,w = map(int, spec.lower().split('x'))
        if d > 0 and w > 0: return d,w
    except ValueError: pass
    raise argparse.ArgumentTypeError(f"a block is DEPTHxWIDTH, two positive whole numbers such as 768x2048; got {spec!r}")

def _heights(spec):
    "'6,12' as [6, 12]: heights of rung 12's tile, each 6 or 12."
    heights = spec.split(',')
    if any(h.strip() not in ('6', '12') for h in heights):
        raise argparse.ArgumentTypeError(f"tile heights are 6, 12 or 6,12; got {spec!r}")
    return sorted({int(h) for h in heights})

def parse_args(argv):
    p = argparse.ArgumentParser(prog='tools/outer_blocks.py', description=__doc__.split('\n\n')[0])
    p.add_argument('blocks', nargs='*', type=_block, metavar='DEPTHxWIDTH',
                   help="blocks of b to time (default: OUTER_BLOCKS of notebook 01b)")
    p.add_argument('--size', type=int, default=4096, help="the square size timed (default 4096)")
    p.add_argument('--threads', type=int, default=0, help="numba's threads (default: all)")
    p.add_argument('--repeats', type=int, default=3, help="timed runs of each block, taking turns (default 3)")
    p.add_argument('--wide-vectors', action='store_true', help="let numba use 512-bit vectors on AVX-512 CPUs")
    p.add_argument('--tile-rows', type=_heights, metavar='ROWS',
                   help="heights of rung 12's tile to time, a comma list of 6 and/or 12 (default: both where TILE_ROWS is 12, else 6)")
    args = p.parse_args(argv)
    if args.size < 6: p.error(f"--size must be at least 6 (the smaller tile's rows); got {args.size}")
    if args.threads < 0 or args.repeats < 1: p.error("--threads must be 0 (all) or more, --repeats 1 or more")
    return args

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.wide_vectors and not os.environ.get('NUMBA_CPU_FEATURES'):   # numba reads them once, when imported
        from exp.bench import wide_vector_env
        if (env := wide_vector_env()) is not None: os.execve(sys.executable, [sys.executable, __file__, *argv], env)
    import numba, numpy as np
    import exp.nb_01b as rung
    from exp.measure import time_side_by_side, cpu_peak, cpu_cores, gflops
    if args.threads > numba.config.NUMBA_NUM_THREADS:
        raise SystemExit(f"--threads {args.threads}: numba runs at most {numba.config.NUMBA_NUM_THREADS} threads here")
    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    blocks = args.blocks or rung.OUTER_BLOCKS
    heights = args.tile_rows or sorted({6, rung.TILE_ROWS})
    numba.set_num_threads(threads)
    kernel = rung._outer_kernel_parallel    # what matmul_outer runs on a large product, on any number of threads, and what tune_outer times
    rng = np.random.default_rng(0)
    a,b = (rng.standard_normal((args.size, args.size), dtype=np.float32) for _ in range(2))
    want = a.astype(np.float64) @ b.astype(np.float64)
    named = (lambda d, w, h: f'{d}x{w}') if len(heights) == 1 else (lambda d, w, h: f'{d}x{w}, {h} rows')
    fns = {named(d, w, h): lambda blk=(d, w), h=h: kernel(a, b, blk, h) for h in heights for d,w in blocks}   # packed at each call: nothing compiled again
    kernel(a[:64, :64].copy(), b[:64, :64].copy())   # compiled (or loaded from numba's cache) first: that takes page faults too
    faults = {}
    for name,f in fns.items():                    # each block's product counted, then checked, before it is timed
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c = f()
        faults[name] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before   # first uses of c's and b's fresh pages
        err = np.abs(c - want).max() / np.abs(want).max()
        if err > 1e-4: raise SystemExit(f"block {name}: the product is wrong (largest error {err:.1e} of the largest entry)")
    timings = time_side_by_side(fns, repeats=args.repeats, min_time=0)
    peak = cpu_peak(cores=min(threads, cpu_cores()))
    print(f"rung 12 at {args.size}^3 on {threads} thread(s), {rung.simd_bits()}-bit vectors, {rung.vector_registers()} vector registers, "
          f"tiles of {' and '.join(map(str, heights))} rows (TILE_ROWS {rung.TILE_ROWS}); {peak}")
    for name,t in timings.items():
        g = gflops(args.size, args.size, args.size, t.min)
        share = f" = {g / peak.gflops:4.0%} of the peak" if peak.gflops else ''   # None where the clock is not known
        print(f"  {name:>18}: {g:7.1f} GFLOP/s{share} (fastest of {len(t.times)}; median {gflops(args.size, args.size, args.size, t.median):.1f}; {faults[name]:,} page faults in a call)")

if __name__ == '__main__': main()
