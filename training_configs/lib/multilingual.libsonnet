// Multilingual multi-task experiments (Lin et al., 2018): one target dataset and auxiliary
// datasets of other languages and tasks in one `ain_multitask_tagger`. A config describes its
// datasets and names the target; everything shared follows from their languages and tasks:
//
//   words       one vocabulary namespace and word embedding per language (`tokens_<language>`,
//               the `ain_multilingual` embedder), with an optional pretrained file per language
//   characters  one character CNN (widths 2, 3, 4) with a highway layer, for every language
//   encoder     one, for everything (`encoder`: a name of multitask.libsonnet's `encoders`)
//   per task    one head: its decoder and universal projection, label namespace `<task>_labels`
//   per (task, language) with a dataset: the head's specific projection and gate (`languages`)
//
//   local mll = import 'lib/multilingual.libsonnet';
//   local datasets = {
//     nl_ner: mll.dataset('nl', 'ner', { type: 'ain_conll', tag_scheme: 'BIO', convert_to: 'BIOES' },
//                         train='ned.train', dev='ned.testa', test='ned.testb', sample=200, seed=1),
//     en_ner: mll.dataset('en', 'ner', { type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' },
//                         train='eng.train'),
//   };
//   mll.experiment(mll.select(datasets, 'nl_ner', 'all'), target='nl_ner', options={ decoder: 'crf' })
//
// Training mixes the datasets by Lin et al.'s rate (`ain_mixing_rate`): per epoch every target
// batch once and `int(r_i / r_tgt · n_tgt)` batches of auxiliary i. Validation, model selection
// and the test set are the target's alone.
local lib = import 'tagger.libsonnet';
local mtl = import 'multitask.libsonnet';
{
  // One dataset. `sample` (a count, a fraction, or null for all) and `seed` apply to its training
  // file only; dev and test are read whole. An auxiliary needs no dev or test file.
  dataset(language, task, reader, train, dev=null, test=null, sample=null, seed=13):: {
    language: language,
    task: task,
    reader: reader,
    train: train,
    dev: dev,
    test: test,
    sample: sample,
    seed: seed,
    label_encoding: lib.label_encoding(reader),
  },

  // An external variable as a `sample`: '' or 'all' for every sentence, else a count or a fraction.
  sample(text):: if text == '' || text == 'all' then null else std.parseJson(text),

  // The datasets that train with `target`: the target alone ('single'), those of its task
  // ('cross_lingual': the target's task in other languages), those of its language
  // ('cross_task': other tasks of the target's language), or all of them ('all').
  ablations:: ['single', 'cross_lingual', 'cross_task', 'all'],
  select(datasets, target, ablation)::
    local t = datasets[target];
    local keep(d) =
      if ablation == 'single' then false
      else if ablation == 'cross_lingual' then d.task == t.task
      else if ablation == 'cross_task' then d.language == t.language
      else if ablation == 'all' then true
      else error 'unknown ablation %s; the ablations are %s' % [std.toString(ablation), std.join(', ', $.ablations)];
    { [name]: datasets[name] for name in std.objectFields(datasets) if name == target || keep(datasets[name]) },

  // What `experiment` takes as `options`, and their defaults:
  //   embeddings      { language: pretrained word-vector text file } for the languages that have one
  //   word_dim        word embedding width (every language)
  //   char_dim, char_filters   character embedding width; filters per width (2, 3, 4)
  //   highway_layers  highway layers over the character CNN (0: none)
  //   encoder         a name of multitask.libsonnet's `encoders`: lstm_s (one shared BiLSTM, Lin
  //                   et al.'s), sc_lstm, lstm_d; with `hidden` units per direction and `layers`
  //   decoder         a name of tagger.libsonnet's `decoders` (every head)
  //   dropout         on the embeddings and the encoder's output
  //   other_task, other_language   μ and ζ of the mixing rate for another task / language
  //   batch_size, lr, momentum, num_epochs, patience (null: no early stopping), grad_norm
  //   seed            the run's random, numpy and torch seeds (null: AllenNLP's defaults)
  //   bucket          batches of sentences of similar length (less padding)
  //   cuda_device     -1 for the CPU
  // The sizes are Lin et al.'s example configuration (50d words and characters, 20 filters per
  // width, hidden 171, lr 0.02, batch 10); their highway is 2 SELU layers, the issue's one.
  defaults:: {
    embeddings: {},
    word_dim: 50,
    char_dim: 50,
    char_filters: 20,
    highway_layers: 1,
    encoder: 'lstm_s',
    hidden: 171,
    layers: 1,
    decoder: 'crf',
    dropout: 0.5,
    other_task: 0.1,
    other_language: 0.1,
    batch_size: 10,
    lr: 0.02,
    momentum: 0.9,
    num_epochs: 150,
    patience: null,
    grad_norm: 5.0,
    seed: null,
    bucket: true,
    cuda_device: -1,
  },

  experiment(datasets, target, options={})::
    local unknown = std.setDiff(std.objectFields(options), std.objectFields($.defaults));
    local opt =
      if unknown != [] then
        error 'unknown multilingual option %s; the options are %s' % [std.join(', ', unknown), std.join(', ', std.objectFields($.defaults))]
      else $.defaults + options;
    local tgt =
      if !std.objectHas(datasets, target) then error 'the target %s is not one of the datasets %s' % [target, std.toString(std.objectFields(datasets))]
      else if datasets[target].dev == null then error 'the target %s needs a dev file' % target
      else datasets[target];
    local names = std.objectFields(datasets);
    local uniq(xs) = std.uniq(std.sort(xs));
    local tasks = uniq([datasets[n].task for n in names]);
    // the target's task last: lstm_d feeds it from the top layer
    local order = [t for t in tasks if t != tgt.task] + [tgt.task];
    local languages = uniq([datasets[n].language for n in names]);
    local of_task(t) = [n for n in names if datasets[n].task == t];
    local label_encoding(t) =
      local encodings = uniq([std.toString(datasets[n].label_encoding) for n in of_task(t)]);
      if std.length(encodings) == 1 then datasets[of_task(t)[0]].label_encoding
      else error 'the datasets of task %s give labels in different encodings %s' % [t, std.toString(encodings)];
    // pretrained vectors of the languages that have datasets here (an ablation may leave one out)
    local vectored = [l for l in languages if std.objectHas(opt.embeddings, l)];
    local word_key(language) = 'tokens_' + language;
    local indexers(language) = {
      [word_key(language)]: { type: 'single_id', namespace: word_key(language), lowercase_tokens: true },
      // the widest filter needs 4 characters
      token_characters: { type: 'characters', min_padding_length: 4 },
    };
    local reader(n, train) =
      local d = datasets[n];
      d.reader {
        language: d.language,
        label_namespace: d.task + '_labels',
        token_indexers: indexers(d.language),
      } + (if train && d.sample != null then { sample: d.sample, seed: d.seed } else {})
        + (if train then {} else { distributed_sharding: false });
    local characters = {
      type: 'ain_character_encoding',
      embedding: { embedding_dim: opt.char_dim, vocab_namespace: 'token_characters' },
      encoder: { type: 'cnn', embedding_dim: opt.char_dim, num_filters: opt.char_filters, ngram_filter_sizes: [2, 3, 4] },
    };
    local input_dim = opt.word_dim + 3 * opt.char_filters;
    local metric = '+' + tgt.task + (if tgt.label_encoding == null then '_accuracy' else '_f1-measure-overall');
    local sorting = if opt.bucket then { sorting_key: 'tokens' } else {};
    {
      dataset_reader: { type: 'multitask', readers: { [n]: reader(n, true) for n in names } },
      // validation, model selection and test: the target's alone, read whole (no sample)
      validation_dataset_reader: { type: 'multitask', readers: { [target]: reader(target, false) } },
      train_data_path: { [n]: datasets[n].train for n in names },
      validation_data_path: { [target]: tgt.dev },
      [if tgt.test != null then 'test_data_path']: { [target]: tgt.test },
      evaluate_on_test: tgt.test != null,
      datasets_for_vocab_creation: ['train'],
      vocabulary: {
        type: 'from_instances',
        tokens_to_add: { [t + '_labels']: ['@@UNKNOWN@@'] for t in tasks },
      } + (if vectored != [] then {
             pretrained_files: { [word_key(l)]: opt.embeddings[l] for l in vectored },
             min_pretrained_embeddings: { [word_key(l)]: -1 for l in vectored },
           } else {}),
      model: {
        type: 'ain_multitask_tagger',
        text_field_embedder: {
          type: 'ain_multilingual',
          words: {
            [l]: {
              type: 'embedding',
              embedding_dim: opt.word_dim,
              vocab_namespace: word_key(l),
              trainable: true,
              [if std.objectHas(opt.embeddings, l) then 'pretrained_file']: opt.embeddings[l],
            }
            for l in languages
          },
          shared: {
            token_characters:
              if opt.highway_layers > 0 then { type: 'ain_highway', embedder: characters, num_layers: opt.highway_layers }
              else characters,
          },
        },
        encoder: mtl.encoders(order, input_dim, opt.hidden, opt.layers, opt.dropout)[opt.encoder],
        heads: {
          [t]: {
            label_namespace: t + '_labels',
            label_encoding: label_encoding(t),
            decoder: lib.decoder(opt.decoder),
            languages: uniq([datasets[n].language for n in of_task(t)]),
          }
          for t in tasks
        },
        dataset_tasks: { [n]: datasets[n].task for n in names },
        dropout: opt.dropout,
      },
      data_loader: {
        type: 'multitask',
        scheduler: {
          type: 'ain_mixing_rate',
          batch_size: opt.batch_size,
          target: target,
          tasks: { [n]: datasets[n].task for n in names },
          languages: { [n]: datasets[n].language for n in names },
          other_task: opt.other_task,
          other_language: opt.other_language,
        } + sorting,
      },
      // validation draws nothing from `random`, so a resumed run replays the same batch order
      validation_data_loader: {
        type: 'multitask',
        scheduler: { type: 'ain_random_interleave', batch_size: 32 } + sorting,
        shuffle: false,
      },
      trainer: {
        optimizer: { type: 'sgd', lr: opt.lr, momentum: opt.momentum },
        validation_metric: metric,
        num_epochs: opt.num_epochs,
        [if opt.patience != null then 'patience']: opt.patience,
        grad_norm: opt.grad_norm,
        cuda_device: opt.cuda_device,
      } + lib.resumable,
    } + (if opt.seed != null then { random_seed: opt.seed, numpy_seed: opt.seed, pytorch_seed: opt.seed } else {}),
}
