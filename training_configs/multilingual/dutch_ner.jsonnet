// Lin et al. (2018), low-resource Dutch NER: the target is CoNLL-2002 Dutch NER (`ned`, BIO read
// as BIOES), optionally sampled; the auxiliaries are English NER (CoNLL-2003), Dutch POS (UD
// Dutch-LassySmall) and English POS (UD English-EWT).
//
// The POS task is one task for both languages (one head, one universal projection, one label
// set): LassySmall (UD v1) tags coordinating conjunctions `CONJ`, EWT (UD v2) `CCONJ`, the same
// category renamed by UD v2, so the Dutch reader renames `CONJ` to `CCONJ` (`tag_map`); the other
// 16 tags agree.
//
// Variables (environment or --ext-var):
//   NL_NER_TRAIN, NL_NER_DEV, NL_NER_TEST   ned.train, ned.testa, ned.testb
//   EN_NER_TRAIN                            eng.train
//   NL_POS_TRAIN                            nl_lassysmall-ud-train.conllu
//   EN_POS_TRAIN                            en_ewt-ud-train.conllu
//   TARGET_SAMPLE  the Dutch NER training sentences: a count (200), a fraction (0.1) or 'all'
//   TARGET_SEED    the seed of that sample and of the run
//   ABLATION       single | cross_lingual (+ English NER) | cross_task (+ Dutch POS) | all
//   ENCODER        lstm_s | sc_lstm | lstm_d (lib/multitask.libsonnet)
//   DECODER        maxent | crf | mfvi1 | mfvi2 (lib/tagger.libsonnet)
//   NL_EMBEDDINGS, EN_EMBEDDINGS   pretrained word vectors (text), or '' for random ones
//   CUDA_DEVICE    -1 for the CPU, 0 for the first GPU
local lib = import '../lib/tagger.libsonnet';
local mll = import '../lib/multilingual.libsonnet';
local conll02 = { type: 'ain_conll', label_column: -1, tag_scheme: 'BIO', convert_to: 'BIOES' };
local conll03 = { type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' };
local ud = { type: 'ain_ud', tag_column: 'upos' };
local seed = std.parseInt(std.extVar('TARGET_SEED'));
local datasets = {
  nl_ner: mll.dataset('nl', 'ner', conll02, std.extVar('NL_NER_TRAIN'), std.extVar('NL_NER_DEV'), std.extVar('NL_NER_TEST'),
                      sample=mll.sample(std.extVar('TARGET_SAMPLE')), seed=seed),
  en_ner: mll.dataset('en', 'ner', conll03, std.extVar('EN_NER_TRAIN')),
  nl_pos: mll.dataset('nl', 'pos', ud { tag_map: { CONJ: 'CCONJ' } }, std.extVar('NL_POS_TRAIN')),
  en_pos: mll.dataset('en', 'pos', ud, std.extVar('EN_POS_TRAIN')),
};
local embeddings = { [l]: std.extVar(std.asciiUpper(l) + '_EMBEDDINGS') for l in ['nl', 'en'] };

mll.experiment(
  mll.select(datasets, 'nl_ner', std.extVar('ABLATION')),
  target='nl_ner',
  options={
    encoder: std.extVar('ENCODER'),
    decoder: std.extVar('DECODER'),
    embeddings: { [l]: embeddings[l] for l in std.objectFields(embeddings) if embeddings[l] != '' },
    seed: seed,
    cuda_device: lib.cuda_device,
  },
)
