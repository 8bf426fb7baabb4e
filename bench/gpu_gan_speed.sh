#!/usr/bin/env bash
# GAN training iterations/s of the gpu recipe on one GPU: this tree against a baseline tree, alternating, so that
# drift shows; then this tree at batch 128. Prints a line per run and the ratio of the means.
#   mkdir baseline && git archive <commit> | tar x -C baseline    (baseline/ listed in .git/info/exclude)
#   BASELINE=baseline A3_DATA_DIR=data OUT=/tmp/out bash bench/gpu_gan_speed.sh   (about 4 minutes)
set -u
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to a folder for the output}" "${BASELINE:?set BASELINE to the baseline tree}"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 A3_DATA_DIR
A3_DATA_DIR=$(realpath "${A3_DATA_DIR:-data}")
S=${SECONDS_EACH:-40}
# a reference older trees know too: only the speed is read
FLAGS="--dataset svhn-partial --reference svhn-test-10k --profile gpu --ckpt-every ${CKPT:-250} --fid-samples 10"
gan() {  # gan <label> <tree> [flags...]: the GAN alone for $S seconds, then its rate (the log is written at checkpoints)
  local label=$1 tree=$2 dir; shift 2
  dir=$(mktemp -d)
  # shellcheck disable=SC2086
  (cd "$tree" && PYTHONPATH=. timeout "$S" python3 problem3/train_gan.py $FLAGS --results-dir "$dir" "$@" >/dev/null 2>&1)
  log=$(ls "$dir"/problem3/gan/seed0/train_log.csv "$dir"/problem3/gan/train_log.csv 2>/dev/null | head -1)
  python3 bench/iteration_rate.py "$label" "${log:-$dir/problem3/gan/seed0/train_log.csv}"  # older trees: no seed0/
}
{ for round in 1 2; do gan "baseline, round $round" "$BASELINE"; gan "this tree, round $round" .; done
  gan "this tree, batch 128" . --batch-size 128; } 2>&1 | tee "$OUT/gan_speed.txt"
python3 - "$OUT/gan_speed.txt" <<'PY'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(baseline|this tree), round \d: ([\d.]+) it/s", line)
    if m:
        rates.setdefault(m[1], []).append(float(m[2]))
if len(rates) == 2:
    print(f"this tree / baseline: {statistics.mean(rates['this tree']) / statistics.mean(rates['baseline']):.2f}x")
PY
