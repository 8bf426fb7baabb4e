#!/usr/bin/env bash
# Training iterations per second of the gpu recipe on one GPU: each model alone, then both side by side.
#   OUT=/tmp/out bash bench/gpu_throughput.sh      (about 150 s; prints one line per run)
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the project, not installed on a bare GPU machine
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 A3_DATA_DIR="${A3_DATA_DIR:-data}"
S=${SECONDS_EACH:-45}
DATA="--dataset svhn-partial --reference selection --profile gpu --ckpt-every ${CKPT:-500} --fid-samples 10"  # the log is written at checkpoints
rate() { python3 bench/iteration_rate.py "$1" "$2/problem3/$3/seed0/train_log.csv"; }  # rate <label> <results dir> <model>
# shellcheck disable=SC2086
{ timeout $S python3 problem3/train_gan.py $DATA --results-dir /tmp/t_gan >/dev/null 2>&1; rate "gan alone" /tmp/t_gan gan
  timeout $S python3 problem3/train_vae.py $DATA --results-dir /tmp/t_vae >/dev/null 2>&1; rate "vae alone" /tmp/t_vae vae
  timeout $S python3 problem3/train_gan.py $DATA --results-dir /tmp/t_both >/dev/null 2>&1 &
  timeout $S python3 problem3/train_vae.py $DATA --results-dir /tmp/t_both >/dev/null 2>&1; wait
  rate "gan beside vae" /tmp/t_both gan; rate "vae beside gan" /tmp/t_both vae; } 2>&1 | tee "$OUT/throughput.txt"
