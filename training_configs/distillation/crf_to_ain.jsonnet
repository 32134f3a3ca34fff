// Structure-level distillation from an exact CRF teacher to an AIN-1O student (issue 17,
// experiment 3): the teacher is a conll03_ner.jsonnet run with DECODER=crf; the student has the
// same encoder and the AIN-1O decoder (`mfvi1`) and learns from the teacher's label structures,
// to decode at AIN's speed. λ is annealed from 1 by 0.005 per epoch (the official code's setting).
// Variables (environment or --ext-var):
//   TEACHER   the teacher's archive (model.tar.gz)
//   LOSS      emission | top_k | top_wk | posterior | posterior+top_wk
//   TRAIN_DATA, DEV_DATA, TEST_DATA  eng.train, eng.testa, eng.testb
//   ENCODER   bilstm | cnn | word (the teacher's)
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
// The teacher signals are cached in $ALLENNLP_CACHE_ROOT/cache/ain_distillation (~/.allennlp).
local lib = import '../lib/tagger.libsonnet';
local encoder = std.extVar('ENCODER');

lib.distill(
  lib.experiment(
    lib.task(
      reader={ type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' },
      train=std.extVar('TRAIN_DATA'),
      dev=std.extVar('DEV_DATA'),
      test=std.extVar('TEST_DATA'),
    ),
    encoder=encoder,
    decoder='mfvi1',
    // as conll03_ner.jsonnet, so that the student reads words as its teacher does
    options={ glove: lib.glove, cuda_device: lib.cuda_device, cased: !lib.encoders[encoder].with_chars },
  ),
  teachers=std.extVar('TEACHER'),
  distillation=lib.distillation_loss(std.extVar('LOSS')),
  annealing=lib.annealing,
)
