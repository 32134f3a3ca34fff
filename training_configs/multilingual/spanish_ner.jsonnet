// Lin et al. (2018), low-resource Spanish NER: the target is CoNLL-2002 Spanish NER (`esp`, BIO
// read as BIOES), optionally sampled; the auxiliaries are English NER (CoNLL-2003) and Spanish
// POS: the second column of the CoNLL-2002 Spanish training file (its own tag set, `NC`, `SP`,
// `DA`, ...: the POS task has Spanish data only, so nothing needs harmonising).
//
// Variables (environment or --ext-var):
//   ES_NER_TRAIN, ES_NER_DEV, ES_NER_TEST   esp.train, esp.testa, esp.testb
//   EN_NER_TRAIN                            eng.train
//   ES_POS_TRAIN                            esp.train (its POS column)
//   TARGET_SAMPLE  the Spanish NER training sentences: a count (200), a fraction (0.1) or 'all'
//   TARGET_SEED    the seed of that sample and of the run
//   ABLATION       single | cross_lingual (+ English NER) | cross_task (+ Spanish POS) | all
//   ENCODER        lstm_s | sc_lstm | lstm_d (lib/multitask.libsonnet)
//   DECODER        maxent | crf | mfvi1 | mfvi2 (lib/tagger.libsonnet)
//   ES_EMBEDDINGS, EN_EMBEDDINGS   pretrained word vectors (text), or '' for random ones
//   CUDA_DEVICE    -1 for the CPU, 0 for the first GPU
local lib = import '../lib/tagger.libsonnet';
local mll = import '../lib/multilingual.libsonnet';
local conll02 = { type: 'ain_conll', label_column: -1, tag_scheme: 'BIO', convert_to: 'BIOES' };
local conll03 = { type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' };
local conll02_pos = { type: 'ain_conll', label_column: 1, tag_scheme: null, convert_to: null };
local seed = std.parseInt(std.extVar('TARGET_SEED'));
local datasets = {
  es_ner: mll.dataset('es', 'ner', conll02, std.extVar('ES_NER_TRAIN'), std.extVar('ES_NER_DEV'), std.extVar('ES_NER_TEST'),
                      sample=mll.sample(std.extVar('TARGET_SAMPLE')), seed=seed),
  en_ner: mll.dataset('en', 'ner', conll03, std.extVar('EN_NER_TRAIN')),
  es_pos: mll.dataset('es', 'pos', conll02_pos, std.extVar('ES_POS_TRAIN')),
};
local embeddings = { [l]: std.extVar(std.asciiUpper(l) + '_EMBEDDINGS') for l in ['es', 'en'] };

mll.experiment(
  mll.select(datasets, 'es_ner', std.extVar('ABLATION')),
  target='es_ner',
  options={
    encoder: std.extVar('ENCODER'),
    decoder: std.extVar('DECODER'),
    embeddings: { [l]: embeddings[l] for l in std.objectFields(embeddings) if embeddings[l] != '' },
    seed: seed,
    cuda_device: lib.cuda_device,
  },
)
