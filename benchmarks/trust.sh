#!/usr/bin/env bash
# Issue 15 acceptance run: Double Trouble metrics, paired significance and the randomization
# cascade for the seven attribution methods on the first N sentences of sst2/test.tsv.
#
#   benchmarks/trust.sh NAME MODEL_DIR EXPLAINER_MLM SAMPLER_MLM N N_RANDOMIZATION OUT_DIR
#   .venv/bin/python benchmarks/trust_table.py OUT_DIR NAME     # the markdown tables of BENCHMARKS.md
#
# Steps (each an `interp-studio` command; its stdout's last line is the JSON, stderr the progress,
# wall/user seconds and load averages go to OUT_DIR/NAME_times.txt):
#   store        attribute-dataset: every method's scores for N rows (marginalization top-n 50)
#   aucrep       evaluate --metric auc_rep from the store, sampler = the explainer's MLM
#                (also reports AUC with removal, AOPC ERASER and ferret, every pair's CI/p/Holm)
#   aucrep_indep the same with --sampler-mlm SAMPLER_MLM (Pham et al. 2022)
#   lootau       evaluate --metric loo_tau from the store
#   rand         evaluate --metric randomization on N_RANDOMIZATION rows (recomputes every map at
#                every cascade step, so it is the expensive one)
set -u
NAME=$1 MODEL=$2 MLM=$3 SAMPLER=$4 N=$5 NR=$6 E=$7
DATA=${DATA:-../shared/data/sst2/test.tsv}
CLI=${CLI:-.venv/bin/interp-studio}
METHODS=${METHODS:-marginalization,zero,unk,loo,grad_input,integrated_gradients,lime}
mkdir -p "$E"
step() { local name=$1; shift
  echo "== $name start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$E/${NAME}_times.txt"
  /usr/bin/time -f "$name %e s wall %U s user" -a -o "$E/${NAME}_times.txt" "$CLI" "$@" \
      > "$E/${NAME}_$name.json" 2> "$E/${NAME}_$name.err"
  echo "== $name end $(date +%T) rc $? load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$E/${NAME}_times.txt"; }
common=(--model "$MODEL" --data "$DATA" --mlm "$MLM" --methods "$METHODS" --top-n 50 --device cpu --json)
step store attribute-dataset "${common[@]}" --n "$N" --out "$E/${NAME}_store"
step aucrep evaluate --metric auc_rep "${common[@]}" --n "$N" --store "$E/${NAME}_store" --out "$E/${NAME}_aucrep_out"
step aucrep_indep evaluate --metric auc_rep "${common[@]}" --n "$N" --store "$E/${NAME}_store" \
    --sampler-mlm "$SAMPLER" --out "$E/${NAME}_aucrep_indep_out"
step lootau evaluate --metric loo_tau "${common[@]}" --n "$N" --store "$E/${NAME}_store"
step rand evaluate --metric randomization "${common[@]}" --n "$NR"
