#!/usr/bin/env bash
# The run on a machine with an NVIDIA GPU behind notebook 01c's saved outputs and `make bench`'s GPU figures:
# one script of a few minutes (see CONTRIBUTING.md, "Measuring on a GPU").
#
#   tools/gpu_run.sh --wheels      here, where pip works: download into .whl/ the wheels (Python 3.12) that a GPU
#                                  machine without network may lack, and the MNIST cache, gzipped
#   tools/gpu_run.sh               there: install those into /tmp/site, then write into $OUT (default gpu-run/)
#                                  01c_gpu.ipynb (executed, every cell, saved after each), bench/ (the matmul and train
#                                  sections, all threads), bench-1threads.json and bench-8threads.json (the two best CPU rungs
#                                  and torch @ at 4096^3 on one and eight threads, eight where there are more than 8 CPUs:
#                                  how they scale) and log.txt
#   tools/gpu_run.sh --notebook    there: the preflight and 01c only (about two minutes)
#   tools/gpu_run.sh --again       there: a second run in one session: 01c, its tests, and the bench's GPU targets alone
#   tools/gpu_run.sh --scaling     there: the host CPU only, for #16's item 3: the two best CPU rungs and torch @ at 4096^3
#                                  on 1, all and 8 threads (8 where there are more: bench-Nthreads.json each), and rung 12 on all threads with
#                                  other blocks of b (in log.txt); a few minutes, compiling included
# Each step's time limit is cut to what is left of DEADLINE (550) seconds since the start: see within(), below.
# The run ends naming the steps that failed (exit status 1) and those skipped for time (which alone do not fail it).
set -uo pipefail
cd "$(dirname "$0")/.."
case "$#:${1:-}" in   # a typo must not start the full run: it would spend the device session's time
    0:|1:--wheels|1:--notebook|1:--again|1:--scaling) ;;
    *) echo "usage: tools/gpu_run.sh [--wheels | --notebook | --again | --scaling] (see the top of this file)" >&2; exit 2 ;;
esac
WHEELS=(numba-cuda==0.30.4 cuda-core==1.2.2 cuda-pathfinder==1.9.1 fastcore==1.14.5 fastprogress==1.0.5 execnb==0.1.18
        ipython==9.18.1 ipython-pygments-lexers==1.1.1 pygments==2.21.0 jedi==0.20.1 parso==0.8.7 matplotlib-inline==0.2.2
        pexpect==4.9.0 ptyprocess==0.7.0 prompt-toolkit==3.0.53 wcwidth==0.9.4 stack-data==0.6.3 asttokens==3.0.2
        executing==2.3.0 pure-eval==0.2.4 traitlets==5.16.1 pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1 packaging==26.4
        numpy==2.4.6)   # numba-cuda 0.30.4 (the newest) still names np.row_stack, which numpy 2.5 removed

if [[ "${1:-}" == --wheels ]]; then
    set -e
    cache="$(.venv/bin/python -c 'from exp.nb_00 import data_dir; print(data_dir())')"   # where make data put MNIST (DLF_DATA, XDG_CACHE_HOME, ...)
    [ -f "$cache/train-images-idx3-ubyte" ] || { echo "no MNIST in $cache: run make data first"; exit 1; }
    rm -rf .whl.part && mkdir .whl.part   # filled beside .whl, then swapped in: never half a set, nor an old wheel beside a new one
    .venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d .whl.part "${WHEELS[@]}"
    tar czf .whl.part/mnist.tgz -C "$cache" .
    rm -rf .whl && mv .whl.part .whl
    du -sh .whl
    exit 0
fi

OUT="${OUT:-gpu-run}"
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
failed=() skipped=() LAST_SKIPPED=0   # the steps that failed (the exit status says so) and those skipped for time: named at the end
step_failed() {   # step_failed NAME MESSAGE: a failure, unless the last step was skipped for time (`within` has said so): then a skip
    (( LAST_SKIPPED )) && { skipped+=("$1"); return; }
    echo "$2"; failed+=("$1")
}
finish() {
    (( ${#skipped[@]} )) && echo "gpu_run.sh: skipped, out of time: ${skipped[*]}"
    (( ${#failed[@]} )) && { echo "gpu_run.sh: failed: ${failed[*]}"; exit 1; }
    exit 0
}
trap 'sleep 1' EXIT   # on every way out (--notebook and --again end early): let tee write the last lines
ls .whl/*.whl > /dev/null 2>&1 || { echo "no wheels in .whl/: run tools/gpu_run.sh --wheels where pip works, and carry .whl"; exit 1; }
[[ "${1:-}" == --scaling ]] || command -v nvidia-smi > /dev/null || { echo "no nvidia-smi here: this run is for a machine with an NVIDIA GPU"; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 DLF_DATA=/tmp/mnist
mkdir -p "$DLF_DATA" && tar xzf .whl/mnist.tgz -C "$DLF_DATA" || { echo "could not unpack .whl/mnist.tgz into $DLF_DATA"; exit 1; }
[[ "${1:-}" == --scaling ]] || nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.memory,memory.total --format=csv
lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|CPU max MHz|L2|L3)'   # the host CPU: are its cores hardware threads?
echo "AVX-512 flags the OS shows: $(grep -o 'avx512[a-z0-9_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"   # a VM may hide some from LLVM
[ -d /usr/local/cuda/nvvm ] && export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"   # where numba-cuda finds NVVM when torch's wheels hold only NVRTC
# Every step runs under its own limit, cut to what is left of DEADLINE seconds since the start (the device call's
# limit is 570 s: the rest is for tee and the files' way back); a step with under 20 s left is skipped, and says so.
DEADLINE="${DEADLINE:-550}"
within() {   # within SECONDS_WANTED COMMAND...: run it under that limit or what is left, whichever is less
    local want=$1 left=$(( DEADLINE - SECONDS )); shift
    LAST_SKIPPED=0
    (( left < 20 )) && { echo "skipped, ${left} s left of ${DEADLINE}: $*"; LAST_SKIPPED=1; return 124; }
    timeout -k 10 "$(( want < left ? want : left ))" "$@"
}
scaling() {  # scaling THREADS SECONDS: the two best CPU rungs and torch @ at 4096^3 on THREADS threads -> $OUT/bench-Nthreads.json
    echo "== bench: micro, outer and torch @ at 4096^3 on $1 thread(s)"
    within "$2" python3 -m exp.bench --wide-vectors --only matmul --threads "$1" --sizes 4096x4096x4096 --rungs micro,outer,torch \
        --peak-sizes 4096 --repeats 3 --max-call 10 --out "/tmp/bench-$1threads" \
        && cp "/tmp/bench-$1threads/results.json" "$OUT/bench-$1threads.json" || step_failed "scaling-$1" "bench or its copy failed: $?"
}
CPUS="$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')"   # all the CPUs this process may use (nproc obeys OMP_NUM_THREADS)

if [[ "${1:-}" == --scaling ]]; then    # how the compiled rungs scale with the host's cores; 1 thread first: it compiles them
    scaling 1 130
    (( CPUS > 1 )) && scaling "$CPUS" 130
    echo "== rung 12 at 4096^3 on all threads, other blocks of b side by side, with both heights of tile where TILE_ROWS is 12 (tools/outer_blocks.py)"
    within 100 python3 tools/outer_blocks.py --wide-vectors || step_failed outer_blocks "tools/outer_blocks.py exited with $?"
    (( CPUS > 8 )) && scaling 8 130     # are 16 threads faster than 8, or do the 16 CPUs share 8 cores' FMA units?
    finish
fi
# The steps, most needed first, each under its own time limit (within: the last ones may be cut short or skipped,
# so that the device call's own limit never is what stops the run). At most 8 files come back from $OUT, so the two scaling runs keep only their results.json.
echo "== preflight: versions, and every GPU rung checked against torch @ (a failing package is named)"
within 90 python3 - <<'EOF'
import numba, numba.cuda, numpy, torch, triton, cuda.core
try: import cuda.bindings; bindings = cuda.bindings.__version__
except Exception as e: bindings = repr(e)
print('torch', torch.__version__, 'triton', triton.__version__, 'numba', numba.__version__, 'numpy', numpy.__version__,
      'cuda.core', cuda.core.__version__, 'cuda.bindings', bindings, '\nnumba.cuda from', numba.cuda.__file__)
from exp.nb_01c import gpu_rungs
rungs,note = gpu_rungs()
print(note, '\nGPU rungs that work:', ', '.join(rungs) or 'none')
EOF
(( $? )) && step_failed preflight "the preflight failed"

echo "== notebook 01c"
within 220 python3 - "$OUT" <<'EOF'
"Execute notebook 01c top to bottom on this GPU, every cell even after one fails (unlike nbdev_test), saving it after each cell."
import os, sys, time
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
nb,start,dest = read_nb('nbs/01c_gpu.ipynb'),time.time(),f'{sys.argv[1]}/01c_gpu.ipynb'
def save(cell): write_nb(nb, dest + '.part'); os.replace(dest + '.part', dest)   # whole: a time limit cuts the run short, never a file
CaptureShell(mpl_format='png').run_all(nb, exc_stop=False, postproc=save)   # plain PNGs, as make outputs saves them
errs = [(i, o.get('name') or o.get('ename')) for i,c in enumerate(nb.cells) for o in c.get('outputs', [])
        if o.get('name') == 'stderr' or o.get('output_type') == 'error']
print(f"notebook 01c: {time.time() - start:.0f} s; stderr or error outputs in cells: {errs or 'none'}")
sys.exit(any(kind != 'stderr' for _,kind in errs))   # a cell that raised fails the step; a warning on stderr does not
EOF
(( $? )) && step_failed notebook-01c "notebook 01c: a cell raised, or the step failed"

[[ "${1:-}" == --notebook ]] && finish     # tools/gpu_run.sh --notebook: only the preflight and notebook 01c

echo "== the kernels checked against torch @ on this GPU: odd shapes, many blocks (tests/test_nb01c.py; 01c's tuning ran every config)"
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 within 80 python3 -m pytest -q -p no:cacheprovider tests/test_nb01c.py -k 'not every_triton_config' \
    || step_failed pytest "pytest exited with $?"

if [[ "${1:-}" == --again ]]; then
    echo "== bench: the GPU targets"
    within 150 python3 -m exp.bench --wide-vectors --only matmul --sizes 5x784x10 --peak-sizes 2048 --max-call 2 --repeats 3 --out "$OUT/bench" \
        || step_failed bench "bench exited with $?"
    finish
fi

echo "== bench: CPU and GPU rungs, training on both"
within 230 python3 -m exp.bench --wide-vectors --only matmul,train --sizes 5x784x10,50000x784x10,1024x1024x1024,4096x4096x4096 \
    --max-call 2 --repeats 3 --out "$OUT/bench" || step_failed bench "bench exited with $?"
scaling 1 90                              # the two best CPU rungs on one thread, then on eight:
(( CPUS > 8 )) && scaling 8 40            # are 16 threads faster than 8, or do the 16 CPUs share 8 cores' FMA units?
finish
