// Shared pieces of every experiment: encoders, decoders, the paper's trainer.
// A config describes its dataset once with `task(...)` and picks one cell of
// {encoder} x {decoder} x {task} by calling `experiment(task, encoder, decoder, options)`:
//
//   local lib = import 'lib/tagger.libsonnet';
//   lib.experiment(
//     lib.task(reader={ type: 'ain_conll', tag_scheme: 'IOB1', convert_to: 'BIOES' },
//              train=std.extVar('TRAIN_DATA'), dev=std.extVar('DEV_DATA'), test=std.extVar('TEST_DATA')),
//     encoder=std.extVar('ENCODER'),
//     decoder=std.extVar('DECODER'),
//     options={ glove: lib.glove, cuda_device: lib.cuda_device },
//   )
{
  // The paper's encoders (section 3.2). `glove` is a GloVe text file or null; `char_dropout` is
  // the dropout on the character embeddings, before the character CNN.
  embedder(glove, with_chars, cased=false, char_dropout=0.0)::
    {
      token_embedders: {
        tokens: {
          type: if cased then 'ain_cased_embedding' else 'embedding',
          embedding_dim: 50,
          trainable: true,
          [if glove != null then 'pretrained_file']: glove,
        },
      } + (if with_chars then {
             token_characters: {
               type: 'ain_character_encoding',
               embedding: { embedding_dim: 25 },
               embedding_dropout: char_dropout,
               encoder: { type: 'cnn', embedding_dim: 25, num_filters: 50, ngram_filter_sizes: [3] },
               dropout: 0.0,
             },
           } else {}),
    },

  embedding_dim(with_chars):: 50 + (if with_chars then 50 else 0),

  encoders:: {
    // word embedding + character CNN (50 filters) -> BiLSTM (hidden 256 per direction)
    bilstm: {
      with_chars: true,
      encoder(input_dim):: { type: 'lstm', input_size: input_dim, hidden_size: 256, bidirectional: true },
      dropout(p):: p,
    },
    // word embedding -> one CNN layer (hidden 512, kernel 3)
    cnn: {
      with_chars: false,
      encoder(input_dim):: { type: 'ain_cnn', input_dim: input_dim, hidden_dim: 512, kernel_size: 3 },
      dropout(p):: p,
    },
    // word embedding -> the output layer alone: a single linear layer, no context
    // The model drops out the embeddings and again the encoder output; with pass_through these
    // are the same vector, so each dropout gets rate 1 - sqrt(1 - p): together they are exactly
    // one dropout of rate p (two Bernoulli(sqrt(1 - p)) masks multiply to one Bernoulli(1 - p)).
    word: {
      with_chars: false,
      encoder(input_dim):: { type: 'pass_through', input_dim: input_dim },
      dropout(p):: 1 - std.sqrt(1 - p),
    },
  },

  // Words are looked up lowercased (GloVe 6B is uncased) unless `cased`: then a training word keeps
  // its case and its own vector, started from the GloVe vector of its lowercased form, and an
  // unseen word falls back to its lowercased form (`ain_cased_single_id`, `ain_cased_embedding`).
  token_indexers(with_chars, cased=false):: {
    tokens: if cased then { type: 'ain_cased_single_id' } else { type: 'single_id', lowercase_tokens: true },
  } + (if with_chars then { token_characters: { type: 'characters', min_padding_length: 3 } } else {}),

  // The paper's decoders, by the names configs and scripts use (DECODER, `main_job.py --decoder`).
  // `mfvi1` and `mfvi2` are config aliases, not registered names: both are the registered `mfvi`
  // decoder with 3 mean-field iterations, AIN-1O (first order) and AIN-F2O (factorized second
  // order) respectively. `maxent` and `crf` are the registered decoders of the same names.
  decoders:: {
    maxent: { type: 'maxent' },
    crf: { type: 'crf' },
    mfvi1: { type: 'mfvi', order: 1, iterations: 3 },
    mfvi2: { type: 'mfvi', order: 2, iterations: 3 },
  },

  // The decoder config of a name of `decoders`; an unknown name is an error that lists the names.
  decoder(name)::
    if std.objectHas($.decoders, name) then $.decoders[name]
    else error 'unknown decoder %s; the decoders are %s' % [
      std.toString(name),
      std.join(', ', std.objectFields($.decoders)),
    ],

  // SGD lr 0.1, batch 32, halve the learning rate after 10 epochs without dev improvement.
  trainer(validation_metric, num_epochs, cuda_device):: {
    optimizer: { type: 'sgd', lr: 0.1 },
    learning_rate_scheduler: { type: 'reduce_on_plateau', mode: 'max', factor: 0.5, patience: 10 },
    validation_metric: validation_metric,
    num_epochs: num_epochs,
    patience: 25,
    grad_norm: 5.0,
    cuda_device: cuda_device,
  } + $.resumable,

  // What every trainer adds so that `allennlp train --recover` continues a run as if it had never
  // stopped: checkpoints a kill cannot leave half written (and a right `best.th` after one), and
  // the random states saved with them.
  resumable:: {
    checkpointer: { type: 'ain_atomic' },
    callbacks: [{ type: 'ain_rng_state' }],
  },

  // The vocabulary is built from the training data alone (no dev/test words or labels leak
  // into the model), plus every word of the GloVe file when one is given, so that dev/test
  // words that GloVe covers keep their pretrained vectors. The label namespace gets the OOV
  // token `@@UNKNOWN@@`: a label never seen in training (ATIS has 7 slot labels only in
  // dev/test, CoNLL-2000 has I-LST only in test) is read as `@@UNKNOWN@@` instead of
  // crashing; the model never sees it as a gold label, so it (practically) never predicts it,
  // and such a gold span counts as one unmatched span (a recall error), as it should. Every
  // namespace of `label_namespaces` gets this token.
  vocabulary(glove, label_namespaces=['labels']):: {
    type: 'from_instances',
    tokens_to_add: { [namespace]: ['@@UNKNOWN@@'] for namespace in label_namespaces },
  } + (if glove != null then {
         pretrained_files: { tokens: glove },
         min_pretrained_embeddings: { tokens: -1 },
       } else {}),

  // The label encoding a reader's tags come out in: its `convert_to` if set, else its
  // `tag_scheme`; null for a reader without tag schemes (`ain_ud`). The lib cannot see a reader's
  // Python defaults (`ain_conll` and `ain_atis` read BIO and convert to BIOES when the keys are
  // absent), so those readers must set both keys (`convert_to: null` for no conversion).
  readers_with_schemes:: ['ain_conll', 'ain_atis'],
  label_encoding(reader)::
    local has(key) = std.objectHas(reader, key);
    if std.member($.readers_with_schemes, reader.type) && !(has('tag_scheme') && has('convert_to')) then
      error "reader '%s' must set both tag_scheme and convert_to: label_encoding is derived from them" % reader.type
    else if has('convert_to') && reader.convert_to != null then reader.convert_to
    else if has('tag_scheme') then reader.tag_scheme
    else null,

  // One dataset: its reader, its data paths and the label encoding derived from the reader.
  // `validation_reader`: a reader for the dev (and test) data when it differs from `reader`
  // (e.g. CoNLL-2000, whose dev set is a held-out part of its training file); it must give the
  // same labels as `reader`. `test` may be null (no test set: nothing is evaluated on test).
  task(reader, train, dev, test, validation_reader=null)::
    local label_encoding = $.label_encoding(reader);
    {
      reader: reader,
      validation_reader: validation_reader,
      train: train,
      dev: dev,
      test: test,
      label_encoding:
        if validation_reader == null || $.label_encoding(validation_reader) == label_encoding then label_encoding
        else error 'the validation reader gives %s labels, the reader %s' % [
          $.label_encoding(validation_reader),
          label_encoding,
        ],
    },

  // What `experiment` takes as `options`, and their values when not given:
  //   glove         a GloVe text file (its vectors start the word embeddings, its words join the
  //                 vocabulary), or null for random embeddings
  //   cuda_device   -1 for the CPU, 0 for the first GPU
  //   num_epochs    training epochs (early stopping may end sooner)
  //   dropout       the model's dropout rate p (the encoder's rule turns it into `model.dropout`)
  //   cased         look words up with their case (see `token_indexers`)
  //   char_dropout  dropout on the character embeddings, before the character CNN
  defaults:: {
    glove: null,
    cuda_device: -1,
    num_epochs: 100,
    dropout: 0.5,
    cased: false,
    char_dropout: 0.0,
  },

  // One cell: `task` (from `task(...)`), an encoder name of `encoders`, a decoder name of
  // `decoders`, and `options` merged over `defaults`; an unknown option key is an error. The
  // validation metric is span F1 for a task with a label encoding, else accuracy.
  experiment(task, encoder, decoder, options={})::
    local unknown = std.setDiff(std.objectFields(options), std.objectFields($.defaults));
    local opt =
      if unknown != [] then
        error 'unknown experiment option %s; the options are %s' % [
          std.join(', ', unknown),
          std.join(', ', std.objectFields($.defaults)),
        ]
      else $.defaults + options;
    local enc = $.encoders[encoder];
    local indexers = $.token_indexers(enc.with_chars, opt.cased);
    local validation_metric = if task.label_encoding == null then '+accuracy' else '+f1-measure-overall';
    {
      dataset_reader: task.reader { token_indexers: indexers },
      // every distributed worker validates on the whole dev set (see the readers' distributed_sharding)
      validation_dataset_reader:
        (if task.validation_reader != null then task.validation_reader else task.reader)
        { token_indexers: indexers, distributed_sharding: false },
      train_data_path: task.train,
      validation_data_path: task.dev,
      test_data_path: task.test,
      evaluate_on_test: task.test != null,
      datasets_for_vocab_creation: ['train'],
      vocabulary: $.vocabulary(opt.glove),
      model: {
        type: 'ain_tagger',
        text_field_embedder: $.embedder(opt.glove, enc.with_chars, opt.cased, opt.char_dropout),
        encoder: enc.encoder($.embedding_dim(enc.with_chars)),
        decoder: $.decoder(decoder),
        label_encoding: task.label_encoding,
        dropout: enc.dropout(opt.dropout),
      },
      // batches of 32 sentences of similar length (less padding), in random order every epoch
      data_loader: { batch_sampler: { type: 'bucket', batch_size: 32 } },
      // validation draws nothing from `random`, so a resumed run replays the same batch order
      validation_data_loader: { batch_sampler: { type: 'bucket', batch_size: 32, shuffle: false } },
      trainer: $.trainer(validation_metric, opt.num_epochs, opt.cuda_device),
    },

  // Structure-level knowledge distillation (allennlp_ain/modules/distillation.py): `cell`, an
  // `experiment(...)`, as the student of `teachers` (an archive, or { language or dataset: archive }),
  // driven by the `ain_distillation` trainer callback (teacher pass, cache, λ schedule).
  // `distillation` is the head's { loss, interpolation (λ, the start of the annealing), temperature,
  // k }; `annealing` the rate a of λ_e = max(0, λ - a·e), or null for a fixed λ. `head` patches the
  // model where the distilling head's config lives (the `ain_tagger` itself by default).
  distill(cell, teachers, distillation, annealing=null, head=function(d) { distillation: d })::
    cell + {
      model+: head(distillation),
      trainer+: {
        callbacks+: [{ type: 'ain_distillation', teachers: teachers } + (if annealing != null then { annealing: annealing } else {})],
      },
    },

  // The official code's settings of each loss (MultilangStructureKD): posterior at T = 2.25 (the
  // paper's), top-WK on the teacher's 10 best paths, top-K on its best one; λ annealed from 1.
  distillation_losses:: {
    emission: { loss: 'emission', interpolation: 1.0 },
    top_k: { loss: 'top_k', interpolation: 1.0, k: 1 },
    top_wk: { loss: 'top_wk', interpolation: 1.0, k: 10 },
    posterior: { loss: 'posterior', interpolation: 1.0, temperature: 2.25 },
    'posterior+top_wk': { loss: 'posterior+top_wk', interpolation: 1.0, temperature: 2.25, k: 10 },
  },
  distillation_loss(name)::
    if std.objectHas($.distillation_losses, name) then $.distillation_losses[name]
    else error 'unknown distillation loss %s; the losses are %s' % [
      std.toString(name),
      std.join(', ', std.objectFields($.distillation_losses)),
    ],
  annealing:: 0.005,

  // The external variables every config reads as options: GLOVE ('' for "no GloVe file") and
  // CUDA_DEVICE (an integer).
  glove:: local g = std.extVar('GLOVE'); if g == '' then null else g,
  cuda_device:: std.parseInt(std.extVar('CUDA_DEVICE')),
}
