#!/usr/bin/env bash
# Fixed small runs whose model.safetensors hashes must not move when the code is restructured (issue 27).
# Usage: benchmarks/model_hashes.sh OUTDIR, from a checkout (its src; PYTHON: the interpreter, default .venv/bin/python).
# OUTDIR must be new. Hashes are comparable on one machine only (float sums differ between CPUs and thread counts).
# The hashes of 2026-12-07 (before and after issue 27, after issue 28, and after issue 29's turns and small-data
# defaults): benchmarks/logs/model_hashes.txt
set -euo pipefail
out=$1; mkdir -p "$out"; src=$(pwd)/src
r() { name=$1; shift; PYTHONPATH=$src OMP_NUM_THREADS=2 "${PYTHON:-$(pwd)/.venv/bin/python}" -m rnnkit train "$@" --out "$out/$name" --quiet --seed 0 >/dev/null 2>&1 || echo "FAILED $name"; }
r classify tests/data/trec_train.csv --epochs 2
r classify-accurate tests/data/trec_train.csv --preset accurate --ensemble 2 --epochs 1 --hidden 32
r classify-bag tests/data/trec_train.csv --model bag --epochs 2
r classify-pretrain tests/data/trec_train.csv --pretrain --pretrain-epochs 1 --epochs 1 --hidden 32 --layers 1
r lm tests/data/shakespeare_sample.txt --task lm --epochs 1 --hidden 64 --embedding-dim 32
r lm-words tests/data/shakespeare_sample.txt --task lm --tokenizer word --subwords 500 --epochs 1 --hidden 32 --embedding-dim 32
r tag tests/data/ewt_train_sample.conllu --epochs 2 --subwords 0  # 0: the hash from before small data read n-grams (issue 29)
r tag-crf tests/data/ewt_train_sample.conllu --epochs 1 --crf --subwords 500 --hidden 32
for d in "$out"/*/; do echo "$(basename $d) $(sha256sum $d/model.safetensors | cut -c1-16)"; done
