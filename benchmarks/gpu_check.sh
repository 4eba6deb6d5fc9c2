#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one short run (issue 15), for a machine that has one:
#   1. the test suite's device tests (pytest -m cuda: every task trains on the GPU as on the CPU; a GPU run resumes;
#      the recurrent weights sit in flat buffers that cuDNN uses without copying),
#   2. the training speed of the classifier, the language model and the tagger on CUDA beside the CPU (one epoch each
#      on the samples in tests/data, wall time from the command to the saved model).
# Usage, from the repository root, with the venv set up by the README's first command:
#   bash benchmarks/gpu_check.sh [OUT_DIR]      # the log goes to OUT_DIR/gpu_check.txt (default benchmarks/logs)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/logs}"
mkdir -p "$out"
log="$out/gpu_check.txt"
python=".venv/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
    echo "# $(date -u +%F) $(uname -m), $(nproc) CPUs"
    "$python" -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
    echo "## pytest -m cuda"
    "$python" -m pytest -q -m cuda tests/training/test_device.py tests/nn/test_flat_weights.py -p no:cacheprovider 2>&1 | tail -3
    echo "## training speed (seconds, one run each)"
    echo "| task | data | cpu | cuda |"
    echo "|---|---|---:|---:|"
    run() {  # task, data, options...
        local task="$1" data="$2"
        shift 2
        local times=()
        for device in cpu cuda; do
            local started=$SECONDS
            "$python" -m rnnkit train "tests/data/$data" "$@" --device "$device" --quiet --out "$work/$task-$device" >/dev/null
            times+=("$((SECONDS - started))")
        done
        echo "| $task | $data | ${times[0]} | ${times[1]} |"
    }
    run classify trec_train.csv --ensemble 1 --epochs 3
    run lm shakespeare_sample.txt --task lm --epochs 3
    run tag ewt_train_sample.conllu --epochs 3
} 2>&1 | tee "$log"
