#!/usr/bin/env bash
# Problem 3's gpu recipe on one GPU, as one prepared run that fits a 10-minute command:
#
#   A3_DATA_DIR=data OUT=/tmp/out bash bench/gpu_problem3.sh        (SMOKE=1: a minutes-long run on any machine)
#
# 1. `reproduce.py --only "Problem 3" --no-report` into results/: the complete gpu recipe, exactly what
#    `python reproduce.py` runs on a GPU (both trainings, monitoring FIDs, figures, final FIDs by score_fid.py);
#    stopped after $RECIPE_LIMIT_S seconds (default 540) should the GPU be slower than planned.
# 2. Beside it, single-factor variants, each stopped after $VARIANT_LIMIT_S seconds (default 360), into
#    results/gpu_variants/<name>: GAN batch 128, GAN without augmentation, VAE width 64. Their monitoring FIDs
#    (train_log.csv, fixed latents, the selection images) at equal iterations choose the next recipe.
# Then it prints every checkpoint's FID and packs logs, FIDs, run.json files, training logs and figures (no
# checkpoints, no sample folders) into $OUT/problem3_gpu.tgz. The trainings share the GPU: each process is bound
# by kernel launches, not by the GPU (bench/gpu_throughput.sh measures that).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the project, not installed on a bare GPU machine
: "${OUT:?set OUT to a folder for the packed results}"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 A3_DATA_DIR="${A3_DATA_DIR:-data}"
# No network there: a download attempt (official SVHN files) should fail at once, not wait for a connect timeout.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
RECIPE_LIMIT=${RECIPE_LIMIT_S:-540}
VARIANT_LIMIT=${VARIANT_LIMIT_S:-360}
if [ -n "${SMOKE:-}" ]; then QUICK=--quick; EXTRA="--iterations 4 --ckpt-every 2 --fid-samples 50"
else QUICK=; EXTRA=; fi
RESULTS=results${QUICK:+/quick}
LOGS=results/gpu_logs
mkdir -p "$LOGS"
date -u +"start %F %T UTC" | tee "$LOGS/timeline.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"; nproc; } | tee "$LOGS/machine.txt"

variant() {  # variant <name> <vae|gan> [flags...]
  local name=$1 model=$2; shift 2
  local t0=$SECONDS
  # shellcheck disable=SC2086
  timeout "$VARIANT_LIMIT" python3 "problem3/train_$model.py" --profile gpu --dataset svhn-partial \
    --reference selection --results-dir "results/gpu_variants/$name" "$@" $EXTRA >"$LOGS/variant_$name.log" 2>&1
  echo "variant $name rc=$? $((SECONDS - t0)) s" | tee -a "$LOGS/timeline.txt"
}

variant gan_batch128 gan --batch-size 128 &
variant gan_no_augment gan --augment none &
variant vae_width64 vae --width 64 &
t0=$SECONDS
# shellcheck disable=SC2086
timeout "$RECIPE_LIMIT" python3 reproduce.py --only "Problem 3" --no-report $QUICK >"$LOGS/recipe.log" 2>&1
echo "recipe (reproduce.py) rc=$? $((SECONDS - t0)) s" | tee -a "$LOGS/timeline.txt"
wait
date -u +"end %F %T UTC" | tee -a "$LOGS/timeline.txt"

grep -h "FID\|floor\|all steps done" "$LOGS/recipe.log"
python3 - "$RESULTS" results/gpu_variants/* <<'PY'
import csv, glob, sys
for root in sys.argv[1:]:  # each checkpoint's monitoring FID (step:FID) and the training's wall time
    for log in sorted(glob.glob(f"{root}/problem3/*/*/train_log.csv")):
        rows = [r for r in csv.DictReader(open(log)) if r.get("fid")]
        print(log, "  ".join(f"{r['step']}:{float(r['fid']):.0f}" for r in rows),
              f"| {rows[-1]['elapsed_s'][:5]} s" if rows else "")
PY
tar czf "$OUT/problem3_gpu.tgz" --exclude='*.pt' --exclude=fid_samples --exclude=real_floor --exclude='*.npz' \
  "$LOGS" "$RESULTS/problem3" results/gpu_variants
ls -la "$OUT"
