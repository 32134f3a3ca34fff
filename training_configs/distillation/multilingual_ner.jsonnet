// Structure-level distillation from monolingual teachers to one multilingual student (issue 17,
// experiment 1): CoNLL-2003 English and CoNLL-2002 Spanish and Dutch NER (BIOES), one
// `ain_multitask_tagger` (lib/multilingual.libsonnet: word embeddings per language, a shared
// character CNN and BiLSTM, one CRF `ner` head with per-language gates), each sentence taught by
// its own language's teacher (an `ain_tagger` archive, e.g. a conll03_ner.jsonnet or
// conll02_ner.jsonnet run with DECODER=crf). Every language's data mixes by √N (μ = ζ = 1); model
// selection is on TARGET's dev set. λ is annealed from 1 by 0.005 per epoch, or fixed.
// Variables (environment or --ext-var):
//   LANGUAGES   the student's languages, a comma-separated subset of en,es,nl
//   TARGET      the language whose dev (and test) set selects (and scores) the model
//   LOSS        emission | top_k | top_wk | posterior | posterior+top_wk, or none: the student
//               without KD (no teachers read, no callback)
//   INTERPOLATION  '' for the official teacher annealing (λ from 1, less 0.005 per epoch), or a
//               fixed λ (the official alternative is 0.5)
//   EN_TEACHER, ES_TEACHER, NL_TEACHER   the teachers' archives ('' for none: that language trains
//               on its gold labels alone); the teachers' label sets must be the student's
//   EN_TRAIN, EN_DEV, EN_TEST   eng.train, eng.testa, eng.testb (likewise ES_*, NL_*: esp.*, ned.*;
//               only those of LANGUAGES are read, and only TARGET's dev and test)
//   EN_EMBEDDINGS, ES_EMBEDDINGS, NL_EMBEDDINGS   pretrained word vectors (text), or ''
//   BASE         '' to train from scratch, or a model archive of this config to fine-tune (its
//               weights and vocabulary, AllenNLP's `from_archive` model; the archive must stay
//               where it is, as the fine-tuned archive loads it): e.g. the student without KD,
//               fine-tuned on one language (LANGUAGES=TARGET=es, LOSS=none), is a Spanish teacher
//   CUDA_DEVICE  -1 for the CPU, 0 for the first GPU
local lib = import '../lib/tagger.libsonnet';
local mll = import '../lib/multilingual.libsonnet';
local readers = {
  en: { type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' },
  es: { type: 'ain_conll', label_column: -1, tag_scheme: 'BIO', convert_to: 'BIOES' },
  nl: { type: 'ain_conll', label_column: -1, tag_scheme: 'BIO', convert_to: 'BIOES' },
};
local languages = std.split(std.extVar('LANGUAGES'), ',');
local target = std.extVar('TARGET');
local var(language, name) = std.extVar(std.asciiUpper(language) + '_' + name);
local datasets = {
  [l + '_ner']: mll.dataset(
    l, 'ner', readers[l], var(l, 'TRAIN'),
    dev=if l == target then var(l, 'DEV') else null,
    test=if l == target then var(l, 'TEST') else null,
  )
  for l in languages
};
local teachers = { [l]: var(l, 'TEACHER') for l in languages if var(l, 'TEACHER') != '' };
local embeddings = { [l]: var(l, 'EMBEDDINGS') for l in languages if var(l, 'EMBEDDINGS') != '' };

local scratch = mll.experiment(
  datasets,
  target=target + '_ner',
  options={
    decoder: 'crf',
    embeddings: embeddings,
    other_task: 1.0,
    other_language: 1.0,
    cuda_device: lib.cuda_device,
  },
);

local base = std.extVar('BASE');
local student = if base == '' then scratch else scratch + {
  vocabulary: { type: 'from_files', directory: base },
  model: { type: 'from_archive', archive_file: base },
};

local interpolation = std.extVar('INTERPOLATION');

if std.extVar('LOSS') == 'none' then student else lib.distill(
  student,
  teachers=teachers,
  distillation=lib.distillation_loss(std.extVar('LOSS'))
               + (if interpolation == '' then {} else { interpolation: std.parseJson(interpolation) }),
  annealing=if interpolation == '' then lib.annealing else null,
  head=function(d) { heads+: { ner+: { distillation: d } } },
)
