// Shared pieces of every experiment: encoders, decoders, the paper's trainer.
// A config picks one cell of {encoder} x {decoder} x {dataset} by calling `experiment(...)`.
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

  // decoder: 'maxent' | 'crf' | 'mfvi1' | 'mfvi2'
  decoder(name)::
    if name == 'mfvi1' then { type: 'mfvi', order: 1, iterations: 3 }
    else if name == 'mfvi2' then { type: 'mfvi', order: 2, iterations: 3 }
    else { type: name },

  // SGD lr 0.1, batch 32, halve the learning rate after 10 epochs without dev improvement.
  trainer(validation_metric, num_epochs, cuda_device):: {
    optimizer: { type: 'sgd', lr: 0.1 },
    learning_rate_scheduler: { type: 'reduce_on_plateau', mode: 'max', factor: 0.5, patience: 10 },
    validation_metric: validation_metric,
    num_epochs: num_epochs,
    patience: 25,
    grad_norm: 5.0,
    cuda_device: cuda_device,
  },

  // The vocabulary is built from the training data alone (no dev/test words or labels leak
  // into the model), plus every word of the GloVe file when one is given, so that dev/test
  // words that GloVe covers keep their pretrained vectors. The label namespace gets the OOV
  // token `@@UNKNOWN@@`: a label never seen in training (ATIS has 7 slot labels only in
  // dev/test, CoNLL-2000 has I-LST only in test) is read as `@@UNKNOWN@@` instead of
  // crashing; the model never sees it as a gold label, so it (practically) never predicts it,
  // and such a gold span counts as one unmatched span (a recall error), as it should.
  vocabulary(glove):: {
    type: 'from_instances',
    tokens_to_add: { labels: ['@@UNKNOWN@@'] },
  } + (if glove != null then {
         pretrained_files: { tokens: glove },
         min_pretrained_embeddings: { tokens: -1 },
       } else {}),

  // `validation_reader`: a reader for the dev (and test) data when it differs from `reader`
  // (e.g. CoNLL-2000, whose dev set is a held-out part of its training file).
  experiment(reader, train, dev, test, encoder, decoder, label_encoding=null, glove=null,
             cuda_device=-1, num_epochs=100, dropout=0.5, validation_reader=null, cased=false,
             char_dropout=0.0)::
    local enc = $.encoders[encoder];
    local validation_metric = if label_encoding == null then '+accuracy' else '+f1-measure-overall';
    {
      dataset_reader: reader { token_indexers: $.token_indexers(enc.with_chars, cased) },
      [if validation_reader != null then 'validation_dataset_reader']:
        validation_reader { token_indexers: $.token_indexers(enc.with_chars, cased) },
      train_data_path: train,
      validation_data_path: dev,
      test_data_path: test,
      evaluate_on_test: test != null,
      datasets_for_vocab_creation: ['train'],
      vocabulary: $.vocabulary(glove),
      model: {
        type: 'ain_tagger',
        text_field_embedder: $.embedder(glove, enc.with_chars, cased, char_dropout),
        encoder: enc.encoder($.embedding_dim(enc.with_chars)),
        decoder: $.decoder(decoder),
        label_encoding: label_encoding,
        dropout: enc.dropout(dropout),
      },
      // batches of 32 sentences of similar length (less padding), in random order every epoch
      data_loader: { batch_sampler: { type: 'bucket', batch_size: 32 } },
      trainer: $.trainer(validation_metric, num_epochs, cuda_device),
    },

  // The external variables every config reads, with '' for "no GloVe file".
  glove:: local g = std.extVar('GLOVE'); if g == '' then null else g,
}
