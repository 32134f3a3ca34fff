#!/usr/bin/env bash
# The structure-level distillation experiments of issue 17 on the real data, each an
# `allennlp train` run in RUN_ROOT/<name>:
#
#   benchmarks/distillation_runs.sh RUN_ROOT [NAME ...]     (default: every run below)
#
# Teachers (BiLSTM word+char encoder, CRF): en_crf on CoNLL-2003 English (GloVe 50d subset),
# es_crf and nl_crf on CoNLL-2002 Spanish and Dutch (no pretrained vectors).
# CRF -> AIN (experiment 3, CoNLL-2003 English): en_mfvi1, the AIN-1O student without KD
# (conll03_ner.jsonnet), and en_mfvi1_<loss>, AIN-1O students of en_crf (crf_to_ain.jsonnet).
# Multilingual NER (experiment 1): ml_<loss>, one BiLSTM-CRF on English, Spanish and Dutch
# (distillation/multilingual_ner.jsonnet; ml_none without KD), each language taught by its own
# teacher, selected on English dev; λ annealed from 1 (the official schedule), or fixed at 0.5
# (ml_<loss>_fixed, the official alternative). Zero-shot (experiment 2): zs_none and zs_posterior on English
# and Spanish only, selected on Spanish dev, scored on Dutch too. Stronger teachers: <language>_ft,
# the student without KD (ml_none) fine-tuned on one language (BASE=ml_none: its weights and
# vocabulary, that language's data alone, selected on its dev), teach the students <...>_ft;
# <language>_zs_ft, zs_none fine-tuned, teach zs_posterior_ft. `benchmarks/distillation_report.py
# --append RUN_DIR` scores a student on each language's test file (`benchmarks/zero_shot.py`).
#
# A run starts once its teachers' and its base's model.tar.gz exist (name them too, or run them
# before); the table lists every teacher before its students, so a student waiting for its teacher
# never holds the slot that teacher needs. JOBS runs (default 2) train at once, each with one
# thread and `nice`, logging to RUN_ROOT/<name>.log; a run whose directory holds a finished
# model.tar.gz is skipped, one with a config.json but no archive continues with `--recover`. The
# script returns when every run has ended; start it with nohup in the background. EPOCHS caps the
# epochs of every run named (default: the configs' 100 and 150; give teachers and students their
# own caps by two calls, one after the other); a run stopped before its cap is scored on its best
# dev epoch (`benchmarks/accuracy_report.py` or `benchmarks/distillation_report.py`
# `--evaluate-stopped`). SEED=N trains the runs named with N as AllenNLP's random, numpy and torch
# seeds, each in RUN_ROOT/<name>_sN (their teachers and bases are the runs without a suffix; unset:
# AllenNLP's default seeds). DRY_RUN=1 prints the commands, quoted for a shell, and runs nothing.
set -euo pipefail
root=${1:?usage: distillation_runs.sh RUN_ROOT [NAME ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
data=${AIN_SHARED_DATA:-$here/../shared/data}
glove=$data/embeddings/glove.6B.50d.subset.txt
[ -n "${DRY_RUN:-}" ] || mkdir -p "$root"

#  name                  config                            teachers              variables
runs="en_crf             conll03_ner.jsonnet               -                     CORPUS=en DECODER=crf
en_mfvi1                 conll03_ner.jsonnet               -                     CORPUS=en DECODER=mfvi1
en_mfvi1_posterior       distillation/crf_to_ain.jsonnet   en_crf                CORPUS=en LOSS=posterior
en_mfvi1_top_wk          distillation/crf_to_ain.jsonnet   en_crf                CORPUS=en LOSS=top_wk
en_mfvi1_emission        distillation/crf_to_ain.jsonnet   en_crf                CORPUS=en LOSS=emission
en_mfvi1_top_k           distillation/crf_to_ain.jsonnet   en_crf                CORPUS=en LOSS=top_k
es_crf                   conll02_ner.jsonnet               -                     CORPUS=esp DECODER=crf
nl_crf                   conll02_ner.jsonnet               -                     CORPUS=ned DECODER=crf
ml_none                  distillation/multilingual_ner.jsonnet -                 LANGUAGES=en,es,nl TARGET=en LOSS=none
ml_emission              distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=emission
ml_top_k                 distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=top_k
ml_top_wk                distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=top_wk
ml_posterior             distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=posterior
ml_posterior_top_wk      distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=posterior+top_wk
ml_posterior_fixed       distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=posterior INTERPOLATION=0.5
ml_top_wk_fixed          distillation/multilingual_ner.jsonnet en_crf,es_crf,nl_crf LANGUAGES=en,es,nl TARGET=en LOSS=top_wk INTERPOLATION=0.5
zs_none                  distillation/multilingual_ner.jsonnet -                 LANGUAGES=en,es TARGET=es LOSS=none
zs_posterior             distillation/multilingual_ner.jsonnet en_crf,es_crf     LANGUAGES=en,es TARGET=es LOSS=posterior
en_ft                    distillation/multilingual_ner.jsonnet -                 LANGUAGES=en TARGET=en LOSS=none BASE=ml_none
es_ft                    distillation/multilingual_ner.jsonnet -                 LANGUAGES=es TARGET=es LOSS=none BASE=ml_none
nl_ft                    distillation/multilingual_ner.jsonnet -                 LANGUAGES=nl TARGET=nl LOSS=none BASE=ml_none
ml_posterior_ft          distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=posterior
ml_top_wk_ft             distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=top_wk
ml_posterior_fixed_ft    distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=posterior INTERPOLATION=0.5
ml_top_wk_fixed_ft       distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=top_wk INTERPOLATION=0.5
ml_posterior_top_wk_ft   distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=posterior+top_wk
ml_emission_ft           distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=emission
ml_top_k_ft              distillation/multilingual_ner.jsonnet en_ft,es_ft,nl_ft LANGUAGES=en,es,nl TARGET=en LOSS=top_k
en_zs_ft                 distillation/multilingual_ner.jsonnet -                 LANGUAGES=en TARGET=en LOSS=none BASE=zs_none
es_zs_ft                 distillation/multilingual_ner.jsonnet -                 LANGUAGES=es TARGET=es LOSS=none BASE=zs_none
zs_posterior_ft          distillation/multilingual_ner.jsonnet en_zs_ft,es_zs_ft LANGUAGES=en,es TARGET=es LOSS=posterior"

wanted=" $* "
commands=()
while read -r name config teachers variables; do
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  env_vars=(ENCODER=bilstm CUDA_DEVICE=-1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 INTERPOLATION= BASE=)
  # every corpus under the multilingual config's names; the single-corpus configs' from CORPUS
  for language in en es nl; do
    case $language in
      en) files=("$data/conll2003_en/eng.train" "$data/conll2003_en/eng.testa" "$data/conll2003_en/eng.testb"); vectors=$glove;;
      es) files=("$data/conll2002/esp.train" "$data/conll2002/esp.testa" "$data/conll2002/esp.testb"); vectors="";;
      nl) files=("$data/conll2002/ned.train" "$data/conll2002/ned.testa" "$data/conll2002/ned.testb"); vectors="";;
    esac
    upper=${language^^}
    env_vars+=("${upper}_TRAIN=${files[0]}" "${upper}_DEV=${files[1]}" "${upper}_TEST=${files[2]}" "${upper}_EMBEDDINGS=$vectors")
  done
  waits=()
  if [ "$teachers" != - ]; then
    for teacher in ${teachers//,/ }; do
      archive=$root/$teacher/model.tar.gz
      waits+=("$archive")
      env_vars+=("${teacher%%_*}"_TEACHER="$archive")  # en_TEACHER=..., uppercased below
    done
    if [ ${#waits[@]} -eq 1 ]; then env_vars+=("TEACHER=${waits[0]}"); fi  # crf_to_ain's variable
  fi
  for variable in $variables; do
    case $variable in
      CORPUS=en) env_vars+=(TRAIN_DATA="$data/conll2003_en/eng.train" DEV_DATA="$data/conll2003_en/eng.testa"
                            TEST_DATA="$data/conll2003_en/eng.testb" GLOVE="$glove");;
      CORPUS=*) corpus=${variable#CORPUS=}
                env_vars+=(TRAIN_DATA="$data/conll2002/$corpus.train" DEV_DATA="$data/conll2002/$corpus.testa"
                           TEST_DATA="$data/conll2002/$corpus.testb" GLOVE="");;  # English vectors do not suit them
      BASE=*) archive=$root/${variable#BASE=}/model.tar.gz  # fine-tune that run's model
              waits+=("$archive"); env_vars+=("BASE=$archive");;
      *) env_vars+=("$variable");;
    esac
  done
  for i in "${!env_vars[@]}"; do  # en_TEACHER -> EN_TEACHER
    key=${env_vars[$i]%%=*}
    env_vars[$i]="${key^^}=${env_vars[$i]#*=}"
  done
  settings=()
  if [ -n "${EPOCHS:-}" ]; then settings+=("\"trainer.num_epochs\": $EPOCHS"); fi
  if [ -n "${SEED:-}" ]; then  # another seed: its own run directory, <name>_s<SEED>
    name=${name}_s$SEED
    settings+=("\"random_seed\": $SEED" "\"numpy_seed\": $SEED" "\"pytorch_seed\": $SEED")
  fi
  overrides="{$(IFS=,; echo "${settings[*]}")}"
  overrides=${overrides//,\"/, \"}
  if [ -f "$root/$name/model.tar.gz" ]; then echo "$name: finished, skipped"; continue; fi
  recover=""
  if [ -f "$root/$name/config.json" ]; then recover="--recover"; fi
  command=(env "${env_vars[@]}" nice -n 10 "$here/.venv/bin/allennlp" train "$here/training_configs/$config"
    -s "$root/$name" $recover -o "$overrides" --include-package allennlp_ain --file-friendly-logging)
  line=$(printf '%q ' "${command[@]}")
  echo "$name: $line"  # quoted: a line can be pasted into a shell
  wait_for=""  # the run starts once every teacher's archive exists
  for archive in "${waits[@]}"; do wait_for+="until [ -f $(printf '%q' "$archive") ]; do sleep 60; done; "; done
  commands+=("$wait_for$line > $(printf '%q' "$root/$name.log") 2>&1 || echo '$name failed: see $root/$name.log' >&2")
done <<< "$runs"
[ -z "${DRY_RUN:-}" ] || exit 0
[ ${#commands[@]} -gt 0 ] || exit 0
printf '%s\0' "${commands[@]}" | xargs -0 -P "${JOBS:-2}" -I{} bash -c '{}'
