#!/usr/bin/env bash
# Problem 3 on one GPU, as one prepared run that fits a 10-minute command (the device tool's limit).
#
#   A3_DATA_DIR=data OUT=/tmp/out bash bench/gpu_problem3.sh
#
# Trains, side by side on the one GPU (each process is bound by kernel launches, not by the GPU):
#   results/gpu_recipe/{vae,gan}   the gpu recipe of problem3/recipes.py, unchanged (what reproduce.py runs);
#   results/gpu_alt/{vae,gan}      and results/gpu_alt2/gan: variants, to choose the next recipe from
#                                  measurements (settings in the commands below).
# then fid.py and qualitative.py on each, and packs logs, FIDs, run.json files and figures (no checkpoints)
# into $OUT/problem3_gpu.tgz. Every training is stopped after $TRAIN_LIMIT_S seconds (default 420), keeping
# its last checkpoint, so the whole run ends inside the limit even if the GPU is slower than planned.
# The README's gpu rows of 2026-11-26 come from this script at commit dca2118 (then the gpu VAE on svhn-partial was
# width 64, 40,000 iterations; it now keeps the cpu settings there, problem3/recipes.py SMALL_SET).
# EXTRA="--iterations 4 --ckpt-every 2 --fid-samples 50" makes a seconds-long smoke run on any machine.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the project, not installed on a bare GPU machine
: "${OUT:?set OUT to a folder for the packed results}"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 A3_DATA_DIR="${A3_DATA_DIR:-data}"
LIMIT=${TRAIN_LIMIT_S:-420}
EXTRA=${EXTRA:-}
DATA="--dataset svhn-partial --reference svhn-test-10k"  # no network there: name the offline files
LOGS=results/gpu_logs
mkdir -p "$LOGS"
date -u +"start %F %T UTC" | tee "$LOGS/timeline.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"; nproc; } | tee "$LOGS/machine.txt"

train() {  # train <results dir> <vae|gan> [flags...]
  local dir=$1 model=$2; shift 2
  local t0=$SECONDS
  # shellcheck disable=SC2086
  timeout "$LIMIT" python3 "problem3/train_$model.py" --profile gpu $DATA --results-dir "$dir" "$@" $EXTRA \
    >"$LOGS/$(basename "$dir")_$model.log" 2>&1
  echo "$dir $model rc=$? $((SECONDS - t0)) s" | tee -a "$LOGS/timeline.txt"
}

train results/gpu_recipe vae --ckpt-every 2000 &
train results/gpu_recipe gan &
train results/gpu_alt vae --batch-size 128 --iterations 12000 --kl-warmup 4000 --ckpt-every 2000 &
train results/gpu_alt gan --batch-size 32 --lr 1e-3 &
train results/gpu_alt2 gan --augment translation,color,cutout &
wait

for dir in results/gpu_recipe results/gpu_alt; do
  t0=$SECONDS
  # shellcheck disable=SC2086
  python3 problem3/fid.py $DATA --results-dir "$dir" >"$LOGS/$(basename "$dir")_fid.log" 2>&1
  echo "$dir fid rc=$? $((SECONDS - t0)) s" | tee -a "$LOGS/timeline.txt"
  python3 problem3/qualitative.py --results-dir "$dir" >"$LOGS/$(basename "$dir")_qualitative.log" 2>&1
  echo "$dir qualitative rc=$?" | tee -a "$LOGS/timeline.txt"
done
# the third GAN: its FID by score_fid.py alone (fid.py wants both models in one results dir)
mkdir -p results/gpu_alt2/problem3 && cp -r results/gpu_recipe/problem3/vae results/gpu_alt2/problem3/ \
  && python3 problem3/fid.py $DATA --results-dir results/gpu_alt2 >"$LOGS/gpu_alt2_fid.log" 2>&1
echo "results/gpu_alt2 fid rc=$?" | tee -a "$LOGS/timeline.txt"
date -u +"end %F %T UTC" | tee -a "$LOGS/timeline.txt"
grep -h "FID\|floor" "$LOGS"/*_fid.log
tar czf "$OUT/problem3_gpu.tgz" --exclude='*.pt' --exclude=fid_samples --exclude=real_floor \
  results/gpu_logs results/gpu_recipe results/gpu_alt results/gpu_alt2
ls -la "$OUT"
