// ATIS slot filling (`w1:TAG1 ... wn:TAGn <=> INTENT` lines, BIO in the files, BIOES for the model).
// Slot labels seen only in dev/test are read as `@@UNKNOWN@@` (see lib/tagger.libsonnet).
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  train, valid, test
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';

lib.experiment(
  lib.task(
    reader={ type: 'ain_atis', tag_scheme: 'BIO', convert_to: 'BIOES' },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('DEV_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={ glove: lib.glove, cuda_device: lib.cuda_device },
)
