#!/usr/bin/env bash
# The low-resource experiments of issue 16 (Lin et al., 2018) on the real data, each an
# `allennlp train` run of training_configs/multilingual/<target>_ner.jsonnet in RUN_ROOT/<name>:
#
#   benchmarks/low_resource_runs.sh RUN_ROOT NAME ...
#
# A NAME is <target>_<size>_<ablation>_s<seed>[_e<epochs>]:
#   target    nl (CoNLL-2002 Dutch NER; auxiliaries English NER, Dutch and English UD POS) or
#             es (CoNLL-2002 Spanish NER; auxiliaries English NER, the Spanish POS column)
#   size      the sampled target training sentences (100, 200, ...) or `all`
#   ablation  single | cross_lingual | cross_task | all (lib/multilingual.libsonnet's `select`)
#   seed      the sample's seed and the run's random, numpy and torch seeds
#   epochs    a cap on the epochs (for the full-size runs); without it the config's 150
# e.g. `nl_200_all_s1`, `es_all_single_s1_e20`. Every run uses the config's schedule (batch 10, no
# early stopping, the target's dev F1 selects the epoch): baseline and multi-task model get the
# same target updates (every target batch once per epoch) and the same selection. English words get the GloVe 50d subset; Dutch and Spanish words
# are random (no vectors in ../shared/data).
#
# JOBS runs (default 2) train at once, each with one thread and `nice`; the others wait their
# turn. Each logs to RUN_ROOT/<name>.log; a run whose directory holds a finished model.tar.gz is
# skipped, one with a config.json but no archive continues with `--recover`. The script returns
# when every run has ended; start it with nohup in the background. DRY_RUN=1 prints the commands,
# quoted for a shell, and runs nothing.
set -euo pipefail
root=${1:?usage: low_resource_runs.sh RUN_ROOT NAME ...}
shift
pattern='<nl|es>_<size|all>_<single|cross_lingual|cross_task|all>_s<seed>[_e<epochs>]'
[ $# -gt 0 ] || { echo "name the runs: $pattern" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
data=${AIN_SHARED_DATA:-$here/../shared/data}
glove=$data/embeddings/glove.6B.50d.subset.txt
[ -n "${DRY_RUN:-}" ] || mkdir -p "$root"

commands=()
for name in "$@"; do
  if [[ ! "$name" =~ ^(nl|es)_([0-9.]+|all)_(single|cross_lingual|cross_task|all)_s([0-9]+)(_e([0-9]+))?$ ]]; then
    echo "$name: not $pattern" >&2; exit 2
  fi
  target=${BASH_REMATCH[1]} size=${BASH_REMATCH[2]} ablation=${BASH_REMATCH[3]} seed=${BASH_REMATCH[4]}
  epochs=${BASH_REMATCH[6]}
  env_vars=(TARGET_SAMPLE="$size" TARGET_SEED="$seed" ABLATION="$ablation" ENCODER="${ENCODER:-lstm_s}"
    DECODER="${DECODER:-crf}" EN_NER_TRAIN="$data/conll2003_en/eng.train" EN_EMBEDDINGS="$glove"
    CUDA_DEVICE=-1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
  case $target in
    nl) config=dutch_ner.jsonnet
        env_vars+=(NL_NER_TRAIN="$data/conll2002/ned.train" NL_NER_DEV="$data/conll2002/ned.testa"
          NL_NER_TEST="$data/conll2002/ned.testb" NL_EMBEDDINGS=""
          NL_POS_TRAIN="$data/ud/UD_Dutch-LassySmall/nl_lassysmall-ud-train.conllu"
          EN_POS_TRAIN="$data/ud/UD_English-EWT/en_ewt-ud-train.conllu");;
    es) config=spanish_ner.jsonnet
        env_vars+=(ES_NER_TRAIN="$data/conll2002/esp.train" ES_NER_DEV="$data/conll2002/esp.testa"
          ES_NER_TEST="$data/conll2002/esp.testb" ES_EMBEDDINGS="" ES_POS_TRAIN="$data/conll2002/esp.train");;
  esac
  if [ -f "$root/$name/model.tar.gz" ]; then echo "$name: finished, skipped"; continue; fi
  overrides="{}"
  if [ -n "$epochs" ]; then overrides="{\"trainer.num_epochs\": $epochs}"; fi
  recover=""
  if [ -f "$root/$name/config.json" ]; then recover="--recover"; fi
  command=(env "${env_vars[@]}" nice -n 10 "$here/.venv/bin/allennlp" train
    "$here/training_configs/multilingual/$config" -s "$root/$name" $recover -o "$overrides"
    --include-package allennlp_ain --file-friendly-logging)
  line=$(printf '%q ' "${command[@]}")
  echo "$name: $line"  # quoted: a line can be pasted into a shell
  commands+=("$line > $(printf '%q' "$root/$name.log") 2>&1 || echo '$name failed: see $root/$name.log' >&2")
done
[ -z "${DRY_RUN:-}" ] || exit 0
[ ${#commands[@]} -gt 0 ] || exit 0
printf '%s\0' "${commands[@]}" | xargs -0 -P "${JOBS:-2}" -I{} bash -c '{}'
