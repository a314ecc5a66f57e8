#!/usr/bin/env bash
# The GPU checks of the search and embed stages in one command, for a session with a GPU machine.
#
#   bash bench/gpu_check.sh [OUTDIR]     on the GPU machine, from the repository root
#   bash bench/gpu_check.sh --smoke      the same steps, tiny and on the CPU (checks this script)
#   bash bench/gpu_check.sh --scale [OUTDIR]   only bench/scale.py on the GPU, as a call of its own
#                                        (--smoke --scale: the same, tiny and on the CPU)
#
# It runs bench/search_speed.py --device cuda (CIFAR-10-sized and ImageNet-sized problems, fp32
# and TF32, against the official-structured reference) and bench/embed_speed.py --device cuda
# (random-weight ViT-L/14 and DINOv2 ViT-g/14, batch 256, fp16), each under a time limit so the
# whole script ends inside 9.5 minutes (allow it 10 minutes), and writes their
# sections of bench/RESULTS.md (after every problem or model). On a machine with several GPUs it
# also times `hume search` on one GPU and under torchrun on all of them (bench/search_speed.py
# --ranks 1,N: seconds per seed and the ratio; the three steps then get shorter limits). Logs,
# JSON and the updated RESULTS.md are copied to OUTDIR (default: $OUT, else /tmp/hume-gpu-check).
# With --scale it runs instead the scale benchmark (every stage, import to export, through the
# commands: N 100 000 and 1.28 M, K 1 000, 2 seeds, 5 iterations, evaluate without baselines;
# what its 500-second budget cannot measure is extrapolated) and ends inside 9.5 minutes too.
#
# Python packages: the GPU machine has no internet. Wheels that its Python lacks (open_clip_torch,
# zarr and their dependencies) are installed from .whl/ when that folder exists. .whl/ is ignored
# by git: copy it to the GPU machine together with the repository. Fetch the wheels on a machine
# where pip reaches PyPI, with:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.9.4 zarr==3.1.6 numcodecs==0.16.6 \
#     donfig==0.8.1.post1 google-crc32c==1.9.0
set -u -o pipefail

smoke=0
scale=0
while [ "${1:-}" = "--smoke" ] || [ "${1:-}" = "--scale" ]; do
    [ "$1" = "--smoke" ] && smoke=1
    [ "$1" = "--scale" ] && scale=1
    shift
done
out="${1:-${OUT:-/tmp/hume-gpu-check}}"
mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$smoke" = 0 ] && [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/hume-site .whl/*.whl || exit 1
    export PYTHONPATH="$PYTHONPATH:/tmp/hume-site"
fi

status=0
if [ "$smoke" = 1 ] && [ "$scale" = 1 ]; then
    timeout 300 "$py" bench/scale.py --device cpu --n 300,600 --k 3 --dims 16,12 --no-baselines \
        --json "$out/scale.json" 2>&1 | tee "$out/scale.log" || status=1
    exit $status
fi
if [ "$smoke" = 1 ]; then
    results="$out/RESULTS.md"
    cp bench/RESULTS.md "$results"
    timeout 120 "$py" bench/search_speed.py --quick --tf32 --json "$out/search.json" \
        --results "$results" 2>&1 | tee "$out/search.log" || status=1
    timeout 120 "$py" bench/embed_speed.py --models pixels --n-images 64 --no-write \
        2>&1 | tee "$out/embed.log" || status=1
    # the multi-GPU line's code path, with two CPU ranks
    timeout 120 "$py" bench/search_speed.py --ranks 1,2 --quick --seeds 4 \
        --json "$out/search_ranks.json" --results "$results" 2>&1 | tee "$out/ranks.log" || status=1
    exit $status
fi

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.txt"
"$py" -c "import torch, sys; print('torch', torch.__version__, 'cuda', torch.cuda.is_available()); sys.exit(0 if torch.cuda.is_available() else 1)" \
    2>&1 | tee "$out/torch.txt" || exit 1
if [ "$scale" = 1 ]; then
    timeout 560 "$py" bench/scale.py --device cuda --n 100000,1280000 --k 1000 --seeds 2 --iters 5 \
        --no-baselines --source-dtype float16 --budget-s 500 --json "$out/scale_cuda.json" 2>&1 \
        | tee "$out/scale.log" || status=1
    exit $status
fi
gpus=$("$py" -c "import torch; print(torch.cuda.device_count())")
limit=270
[ "$gpus" -ge 2 ] && limit=190  # leave time for the multi-GPU line below
timeout $limit "$py" bench/search_speed.py --device cuda --ref-iters 1 --iters 2 --seeds 10 --tf32 \
    --json "$out/search_cuda.json" --results bench/RESULTS.md 2>&1 | tee "$out/search.log" || status=1
if [ "$gpus" -ge 2 ]; then
    timeout 160 "$py" bench/search_speed.py --device cuda --ranks "1,$gpus" --seeds $((4 * gpus)) \
        --json "$out/search_ranks_cuda.json" --results bench/RESULTS.md 2>&1 \
        | tee "$out/ranks.log" || status=1
fi
if "$py" -c "import open_clip, zarr" 2>/dev/null; then
    timeout $limit "$py" bench/embed_speed.py --device cuda 2>&1 | tee "$out/embed.log" || status=1
else
    echo "error: the embed benchmark needs open_clip and zarr: put their wheels in .whl/ (command" \
         "at the top of this script) and copy .whl/ to this machine" | tee "$out/embed.log"
    status=1
fi
cp bench/RESULTS.md "$out/RESULTS.md"
exit $status
