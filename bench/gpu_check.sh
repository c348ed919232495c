#!/usr/bin/env bash
# One prepared check of the GPU path (issue 20), for a GPU machine without Snakemake or internet.
#
#   bash bench/gpu_check.sh                   # on the GPU machine: ≤ 10 min on one H100/H200
#   bash bench/gpu_check.sh --reduced         # tiny sizes, CPU or GPU: validates the script (CI runs it)
#   bash bench/gpu_check.sh --prepare-wheels  # on a CPU machine with PyPI: Snakemake & co. into .whl/
#
# Steps, each in its own process under its own time limit; a failing step prints why and the
# others still run and keep their results:
#   env       Python, torch, CUDA; installs the wheels carried in .whl/ that the image lacks
#   bench     (a) bench/run_bench.py --device cuda, parts attack, train, transfer, switches
#   at_epoch  (c) a CIFAR-10-shaped adversarial-training epoch (45000 fabricated images in
#             CIFAR-10's on-disk format, pre-act ResNet-18, BI-10 ε=4 α=1, batch and switches as
#             configured) through the real pretrain + adv_train_epoch jobs, then in-process once
#             per runtime setting, and bf16-vs-fp32 perturbation agreement
#   smoke     (b) the smoke experiment end to end through Snakemake on the GPU and on the CPU,
#             each from its own copy of the tree; every table compared (accuracies within a point)
#   report    $OUT/results/BENCHMARKS.md, $OUT/summary.json
# Results ($OUT, default a new folder under /tmp): gpu_check.log, steps.tsv, summary.json,
# at_epoch.json, smoke_compare.json, results/<device>.parquet (+ its BENCHMARKS.md). Merge them
# into bench/results/ and BENCHMARKS.md with
#   python bench/run_bench.py --import $OUT/results/*.parquet
#
# Environment: OUT, PYTHON (default .venv/bin/python if it has torch, else python3),
# GPU_CHECK_REDUCED=1 (= --reduced), GPU_CHECK_PARTS (default bench,at_epoch,smoke),
# GPU_CHECK_LIMIT_BENCH / _AT / _SMOKE (seconds per step), GPU_CHECK_VARIANTS (comma-separated
# in-process settings of at_epoch, see bench/gpu_check.py), GPU_CHECK_JOB_CONFIG (extra --config
# words for the real job, e.g. "attack_amp=true"), GPU_CHECK_TIMED_IMAGES, GPU_CHECK_THREADS,
# GPU_CHECK_WORK (scratch folder), GPU_CHECK_NOTE, ADVTRACE_GIT_COMMIT (the tree's commit when
# the copy has no .git).
set -uo pipefail  # not -e: one failing step must not end the check
cd "$(dirname "$0")/.."
ROOT=$PWD

REDUCED=${GPU_CHECK_REDUCED:-0}
PREPARE=0
for arg in "$@"; do
  case $arg in
    --reduced) REDUCED=1 ;;
    --prepare-wheels) PREPARE=1 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
fi
export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT/src:$ROOT/bench${PYTHONPATH:+:$PYTHONPATH}"

if [ "$PREPARE" = 1 ]; then
  exec "$PY" bench/gpu_check.py prepare-wheels --dest "$ROOT/.whl"
fi

OUT=${OUT:-$(mktemp -d /tmp/advtrace-gpu-check-out.XXXXXX)}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/advtrace-gpu-check-work.XXXXXX)}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
: >"$OUT/steps.tsv"

PARTS=${GPU_CHECK_PARTS:-bench,at_epoch,smoke}
THREADS=${GPU_CHECK_THREADS:-$(nproc)}
NOTE=${GPU_CHECK_NOTE:-bench/gpu_check.sh}
if [ "$REDUCED" = 1 ]; then
  LIMIT_BENCH=${GPU_CHECK_LIMIT_BENCH:-600}; LIMIT_AT=${GPU_CHECK_LIMIT_AT:-600}; LIMIT_SMOKE=${GPU_CHECK_LIMIT_SMOKE:-900}
  MODE=(--reduced); NOTE="$NOTE --reduced (validation run, tiny sizes)"
else
  # worst case 110 + 300 + 150 s + ~30 s of env, report, summary: under 10 minutes
  LIMIT_BENCH=${GPU_CHECK_LIMIT_BENCH:-110}; LIMIT_AT=${GPU_CHECK_LIMIT_AT:-300}; LIMIT_SMOKE=${GPU_CHECK_LIMIT_SMOKE:-150}
  MODE=()
fi
echo "gpu_check: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), tree $ROOT, python $PY, out $OUT, work $WORK," \
  "reduced=$REDUCED, parts $PARTS, limits bench ${LIMIT_BENCH}s at_epoch ${LIMIT_AT}s smoke ${LIMIT_SMOKE}s"
FAILED=0

# step NAME LIMIT_S COMMAND...: run under `timeout`, record status and seconds in steps.tsv
step() {
  local name=$1 limit=$2
  shift 2
  echo
  echo "=== step $name (limit ${limit} s): $*"
  local t0 rc secs status msg
  t0=$(date +%s%N)
  if declare -F "$1" >/dev/null; then "$@"; else timeout --kill-after=15 "$limit" "$@"; fi  # functions: no limit
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  case $rc in
    0) status=ok; msg="" ;;
    124 | 137) status=timeout; msg="stopped at its ${limit} s limit: results written before that are kept" ;;
    *) status=failed; msg="exit $rc: see the lines above in gpu_check.log" ;;
  esac
  [ "$rc" = 0 ] || { FAILED=1; echo "!!! step $name: $status after $secs s ($msg); going on with the next step"; }
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$msg" >>"$OUT/steps.tsv"
  return 0
}
skip() { printf '%s\t%s\t%s\t%s\n' "$1" skipped 0 "$2" >>"$OUT/steps.tsv"; echo "--- step $1 skipped: $2"; }
want() { [[ ",$PARTS," == *",$1,"* ]]; }

# --- env: the interpreter, CUDA, and the carried wheels
# prints the modules of argv that do not import here
IMPORTS='
import importlib, sys
bad = []
for m in sys.argv[1:]:
    try:
        importlib.import_module(m)
    except Exception:
        bad.append(m)
print(" ".join(bad))'
env_step() {
  "$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" || {
    echo "gpu_check: $PY cannot import torch: set PYTHON to the interpreter that has PyTorch"; return 3; }
  if [ "$REDUCED" != 1 ] && ! "$PY" -c "import torch; raise SystemExit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device here. The full check needs a GPU; validate the script on the CPU with --reduced."
    return 4
  fi
  local missing
  missing=$("$PY" -c "$IMPORTS" snakemake jsonschema torchattacks yaml pandas pyarrow sklearn torchvision)
  if [ -n "$missing" ]; then
    if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
      echo "missing here: $missing; installing the wheels carried in .whl/ that this Python lacks"
      "$PY" bench/gpu_check.py install-wheels --wheels "$ROOT/.whl" --target "$WORK/site" || echo "gpu_check: installing the wheels FAILED"
    else
      echo "missing here: $missing, and no wheels in $ROOT/.whl/. Prepare them on a machine with PyPI" \
        "(bash bench/gpu_check.sh --prepare-wheels) and carry .whl/ along."
    fi
  fi
  missing=$(PYTHONPATH="$WORK/site:$PYTHONPATH" "$PY" -c "$IMPORTS" snakemake jsonschema yaml pandas pyarrow sklearn torchvision)
  if [ -n "$missing" ]; then
    echo "gpu_check: still missing: $missing. Without snakemake the smoke step and at_epoch's real job fail" \
      "(at_epoch's in-process settings need it not); without torchattacks bench leaves its comparison out."
    return 5
  fi
}
step env 120 env_step
ENV_RC=$(awk -F'\t' '$1 == "env" { print $2 }' "$OUT/steps.tsv")
[ -d "$WORK/site" ] && export PYTHONPATH="$WORK/site:$PYTHONPATH"
if ! "$PY" -c "import torch" 2>/dev/null || { [ "$REDUCED" != 1 ] && ! "$PY" -c "import torch; raise SystemExit(0 if torch.cuda.is_available() else 1)"; }; then
  echo "gpu_check: nothing can run here (see step env); stopping"
  exit 2
fi
[ "$ENV_RC" = ok ] || echo "gpu_check: step env reported a problem; the steps that do not need what is missing still run"

# --- (a) run_bench on the device
if want bench; then
  if [ "$REDUCED" = 1 ]; then
    BENCH=(--device auto --quick --models digits --repeats 1 --warmup 0)
  else
    BENCH=(--device cuda --no-compile-variant)  # compile is measured where it matters: at_epoch
  fi
  step bench "$LIMIT_BENCH" "$PY" bench/run_bench.py "${BENCH[@]}" --parts attack,train,transfer,switches \
    --threads "$THREADS" --out "$OUT/results" --note "$NOTE"
else skip bench "not in GPU_CHECK_PARTS"; fi

# --- (c) CIFAR-10-shaped adversarial-training epoch
if want at_epoch; then
  AT=(--budget-s $((LIMIT_AT - 30)) --job-timeout-s $((LIMIT_AT / 2)))
  [ -n "${GPU_CHECK_VARIANTS:-}" ] && AT+=(--variants "$GPU_CHECK_VARIANTS")
  [ -n "${GPU_CHECK_TIMED_IMAGES:-}" ] && AT+=(--timed-images "$GPU_CHECK_TIMED_IMAGES")
  # shellcheck disable=SC2206
  [ -n "${GPU_CHECK_JOB_CONFIG:-}" ] && AT+=(--job-config ${GPU_CHECK_JOB_CONFIG})
  step at_epoch "$LIMIT_AT" "$PY" bench/gpu_check.py at-epoch "${MODE[@]}" --out "$OUT" --work "$WORK" \
    --threads "$THREADS" --note "$NOTE" "${AT[@]}"
else skip at_epoch "not in GPU_CHECK_PARTS"; fi

# --- (b) the smoke experiment through Snakemake, GPU against CPU
if want smoke; then
  step smoke "$LIMIT_SMOKE" "$PY" bench/gpu_check.py smoke "${MODE[@]}" --out "$OUT" --work "$WORK" \
    --threads "$THREADS" --note "$NOTE" --budget-s $((LIMIT_SMOKE - 15))
else skip smoke "not in GPU_CHECK_PARTS"; fi

# --- (d) the report of what was measured, and the summary
if compgen -G "$OUT/results/*.parquet" >/dev/null; then
  step report 60 "$PY" bench/run_bench.py --report-only --out "$OUT/results"
else skip report "no result table was written"; fi
"$PY" bench/gpu_check.py summary --out "$OUT" || echo "gpu_check: the summary FAILED"
echo "gpu_check: done, results in $OUT; merge them here with: python bench/run_bench.py --import $OUT/results/*.parquet"
exit $FAILED
