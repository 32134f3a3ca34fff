// CoNLL-2002 NER, Spanish or Dutch: the language is chosen by the data paths
// (esp.* or ned.*). `token POS NER` columns, UTF-8, BIO in the files, BIOES for the model.
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  {esp,ned}.train, {esp,ned}.testa, {esp,ned}.testb
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     a word-vector file in GloVe text format for the language, or '' for random
//             embeddings (the English GloVe file does not suit Spanish or Dutch)
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';

lib.experiment(
  lib.task(
    reader={ type: 'ain_conll', label_column: 2, tag_scheme: 'BIO', convert_to: 'BIOES', encoding: 'utf-8' },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('DEV_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={
    glove: lib.glove,
    cuda_device: lib.cuda_device,
    // Word vectors see case only where no character CNN does (docs/results-accuracy.md).
    cased: !lib.encoders[std.extVar('ENCODER')].with_chars,
  },
)
