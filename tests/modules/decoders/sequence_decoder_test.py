"""
The decoder contract, for every registered decoder: declared capabilities, per-sentence
log-likelihood and the loss defined from it, dtypes (float64 stays float64, half precision computes
in float32), gradcheck, and one run of each algorithm per `infer`.
"""
import pytest
import torch

from allennlp_ain.modules.decoders import LinearChainCrf, MaxEnt, MeanField, SequenceDecoder, linear_chain
from allennlp_ain.tag_schemes import allowed_transitions
from tests.modules.decoders.brute_force import BIOES, all_sequences, chain_scores, valid_bioes

L = 3
LENGTHS = [3, 1, 2]

DECODERS = {
    "maxent": lambda n, **kw: MaxEnt(n, **kw),
    "crf": lambda n, **kw: LinearChainCrf(n, **kw),
    "mfvi1": lambda n, **kw: MeanField(n, order=1, **kw),
    "mfvi2": lambda n, **kw: MeanField(n, order=2, **kw),
}


def problem(name, seed=0, dtype=torch.float64, num_labels=L, lengths=LENGTHS, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    decoder = DECODERS[name](num_labels, **kwargs).to(dtype)
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    width = max(lengths)
    logits = torch.randn(len(lengths), width, num_labels, generator=generator, dtype=dtype)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    tags = torch.randint(0, num_labels, mask.shape, generator=generator)
    return decoder, logits, mask, tags


def test_every_registered_decoder_is_covered():
    assert set(SequenceDecoder.list_available()) == {"maxent", "crf", "mfvi"}
    assert SequenceDecoder.default_implementation == "crf"


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_capabilities_are_declared_and_honoured(name):
    decoder, logits, mask, _ = problem(name)
    expected = {"maxent": (True, False, False), "crf": (True, True, True)}.get(name, (False, False, False))
    assert (decoder.exact_marginals, decoder.has_partition, decoder.has_topk) == expected
    if decoder.has_partition:
        assert decoder.log_partition(logits, mask).shape == (len(LENGTHS),)
    else:
        with pytest.raises(NotImplementedError, match=type(decoder).__name__):
            decoder.log_partition(logits, mask)
    if decoder.has_topk:
        paths, scores = decoder.topk(logits, mask, 2)
        assert paths.shape == (len(LENGTHS), 2, max(LENGTHS)) and scores.shape == (len(LENGTHS), 2)
    else:
        with pytest.raises(NotImplementedError, match=type(decoder).__name__):
            decoder.topk(logits, mask, 2)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_log_likelihood_per_sentence_and_the_loss_is_its_negative_mean(name):
    decoder, logits, mask, tags = problem(name, seed=1)
    log_likelihood = decoder.log_likelihood(logits, tags, mask)
    assert log_likelihood.shape == (len(LENGTHS),) and (log_likelihood <= 0).all()
    torch.testing.assert_close(decoder.loss(logits, tags, mask), -log_likelihood.mean())
    # each sentence alone gives its own value: the batch does not mix sentences
    for b, n in enumerate(LENGTHS):
        alone = decoder.log_likelihood(logits[b : b + 1, :n], tags[b : b + 1, :n], mask[b : b + 1, :n])
        torch.testing.assert_close(alone[0], log_likelihood[b])
    # a distribution: over every label sequence of a sentence the probabilities sum to 1 where the
    # decoder's distribution is a product of its marginals or the exact CRF
    n = LENGTHS[0]
    sequences = all_sequences(n, L)
    one = torch.ones(len(sequences), n, dtype=torch.bool)
    total = decoder.log_likelihood(logits[:1, :n].expand(len(sequences), n, L), sequences, one).exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-9)
    if name != "crf":  # factorized: log P(y) = Σᵢ log Qᵢ(yᵢ)
        log_marginals = decoder.log_marginals(logits, mask)
        expected = log_marginals.gather(2, tags.unsqueeze(2)).squeeze(2).masked_fill(~mask, 0).sum(1)
        torch.testing.assert_close(log_likelihood, expected)
    else:
        transitions, start, end = decoder.potentials()
        for b, n in enumerate(LENGTHS):
            scores = chain_scores(logits[b, :n], transitions, start, end, all_sequences(n, L))
            gold = chain_scores(logits[b, :n], transitions, start, end, tags[b : b + 1, :n])[0]
            assert log_likelihood[b].item() == pytest.approx((gold - torch.logsumexp(scores, 0)).item(), abs=1e-9)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_paths_log_likelihood_is_the_log_likelihood_of_each_path_with_shared_work_done_once(name, monkeypatch):
    decoder, logits, mask, _ = problem(name, seed=6)
    assert decoder.scores_transitions == (name != "maxent")
    generator = torch.Generator().manual_seed(60)
    paths = torch.randint(0, L, (len(LENGTHS), 4, max(LENGTHS)), generator=generator)
    inference = decoder.infer(logits, mask)
    per_path = inference.paths_log_likelihood(paths)
    assert per_path.shape == (len(LENGTHS), 4)
    expected = torch.stack([decoder.log_likelihood(logits, paths[:, r], mask) for r in range(4)], dim=1)
    torch.testing.assert_close(per_path, expected)
    # the generic definition (one rank at a time) gives the same as each decoder's vectorised one
    torch.testing.assert_close(SequenceDecoder._paths_log_likelihood(decoder, inference, paths), per_path)
    with pytest.raises(ValueError, match="paths must have shape"):
        inference.paths_log_likelihood(paths[:, 0])
    if decoder.has_partition:  # one partition function for every path
        calls = []
        forward = linear_chain.forward_scores
        monkeypatch.setattr(linear_chain, "forward_scores", lambda *a: calls.append(1) or forward(*a))
        decoder.infer(logits, mask).paths_log_likelihood(paths)
        assert len(calls) == 1


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_dtypes_are_respected(name):
    decoder, logits, mask, tags = problem(name, seed=2)
    inference = decoder.infer(logits, mask)
    outputs = [inference.log_likelihood(tags), inference.log_marginals, inference.marginals]
    if decoder.has_partition:
        outputs.append(inference.log_partition)
    if decoder.has_topk:
        outputs.append(inference.topk(2)[1])
    assert all(output.dtype == torch.float64 for output in outputs)
    assert inference.tags.dtype == torch.long
    # half precision is computed in float32, with a float32 decoder, and under autocast too
    decoder = decoder.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = decoder.infer(logits.bfloat16(), mask)
        assert half.log_marginals.dtype == torch.float32 and half.log_likelihood(tags).dtype == torch.float32
    reference = decoder.infer(logits.bfloat16().float(), mask)
    torch.testing.assert_close(half.log_marginals, reference.log_marginals)
    assert torch.equal(half.tags, reference.tags)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_gradcheck(name):
    decoder, logits, mask, tags = problem(name, seed=3, lengths=[3, 2])
    logits.requires_grad_()
    # the decoder's own parameters are gradcheck inputs too: gradcheck perturbs them in place and
    # differentiates with respect to them (transitions, start, end, second order)
    parameters = [p for p in decoder.parameters()]
    assert len(parameters) == {"maxent": 0, "crf": 3, "mfvi1": 3, "mfvi2": 4}[name]

    def log_likelihood(logits, *_):
        return decoder.log_likelihood(logits, tags, mask)

    def log_marginals(logits, *_):
        return decoder.log_marginals(logits, mask)

    assert torch.autograd.gradcheck(log_likelihood, (logits, *parameters))
    assert torch.autograd.gradcheck(log_marginals, (logits, *parameters))
    if decoder.has_partition:
        assert torch.autograd.gradcheck(lambda x, *_: decoder.log_partition(x, mask), (logits, *parameters))


@pytest.mark.parametrize("name", ["crf", "mfvi1", "mfvi2"])
def test_one_infer_runs_each_algorithm_once(name, monkeypatch):
    decoder, logits, mask, tags = problem(name, seed=5)
    calls = {"forward": 0, "backward": 0, "iterate": 0}

    def counting(key, function):
        def wrapped(*args, **kwargs):
            calls[key] += 1
            return function(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(linear_chain, "forward_scores", counting("forward", linear_chain.forward_scores))
    monkeypatch.setattr(linear_chain, "backward_scores", counting("backward", linear_chain.backward_scores))
    if name != "crf":
        monkeypatch.setattr(decoder, "_iterate", counting("iterate", decoder._iterate))
    inference = decoder.infer(logits, mask)
    for _ in range(2):  # the evaluation of a batch: tags, marginals, loss (and log Z where there is one)
        inference.tags, inference.marginals, inference.log_marginals, inference.log_likelihood(tags)
        if decoder.has_partition:
            inference.log_partition
    expected = {"forward": 1, "backward": 1, "iterate": 0} if name == "crf" else {"forward": 0, "backward": 0, "iterate": 1}
    assert calls == expected


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_constrained_decoding_is_valid_in_float64_too(name):
    decoder, logits, mask, _ = problem(name, seed=6, num_labels=len(BIOES), lengths=[5, 4, 1],
                                       constraints=allowed_transitions("BIOES", BIOES))
    tags = decoder.decode(logits * 5, mask)
    for b, n in enumerate([5, 4, 1]):
        assert valid_bioes(tags[b, :n].tolist())


@pytest.mark.parametrize("name", sorted(DECODERS))
@pytest.mark.parametrize("garbage", [float("nan"), float("inf"), float("-inf")])
def test_garbage_at_padded_positions_reaches_no_value_and_no_gradient(name, garbage):
    decoder, logits, mask, tags = problem(name, constraints=None)
    clean = logits.clone().requires_grad_()
    dirty_values = logits.masked_fill(~mask.unsqueeze(2), garbage).requires_grad_()
    results = []
    for values in (clean, dirty_values):
        inference = decoder.infer(values, mask)
        loss = inference.loss(tags)
        (gradient,) = torch.autograd.grad(loss + inference.marginals.sum(), values)
        results.append((loss, inference.marginals, inference.log_marginals, inference.tags, gradient))
    for clean_result, dirty_result in zip(*results):
        assert torch.isfinite(dirty_result.double()).all()
        assert torch.equal(clean_result, dirty_result) or torch.allclose(clean_result, dirty_result)
    assert not results[1][4][~mask].any()  # no gradient flows to padding


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_an_empty_row_is_an_empty_sentence(name):
    decoder, logits, mask, tags = problem(name)
    # append a row with no token at all (its logits random, as an encoder would leave them)
    logits = torch.cat([logits, torch.randn(1, *logits.shape[1:], dtype=logits.dtype)])
    mask = torch.cat([mask, torch.zeros(1, mask.size(1), dtype=torch.bool)])
    tags = torch.cat([tags, torch.randint(0, L, (1, tags.size(1)))])
    inference = decoder.infer(logits, mask)
    assert inference.log_likelihood(tags)[-1] == 0.0
    assert not inference.tags[-1].any() and not inference.marginals[-1].any()
    if decoder.has_partition:
        assert inference.log_partition[-1] == 0.0
    # the loss is the mean over the three real sentences, the empty one does not count
    real = decoder.infer(logits[:-1], mask[:-1]).log_likelihood(tags[:-1])
    assert torch.allclose(inference.loss(tags), -real.mean())
    assert torch.allclose(decoder.loss(logits, tags, mask), -real.mean())
    assert decoder.loss(logits[-1:], tags[-1:], mask[-1:]) == 0.0


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("name", sorted(DECODERS))
def test_one_ten_thousand_token_sentence_among_one_token_ones_decodes_as_each_alone(name, constrained):
    # float64: in float32 the CRF's log-space recursions reach |alpha| ~ 1e4 over 10,000 tokens, so
    # its marginals differ between batch layouts by up to ~5e-4 (the tags do not)
    labels = [BIOES[i] for i in range(len(BIOES))]
    kwargs = {"constraints": allowed_transitions("BIOES", dict(enumerate(labels)))} if constrained else {}
    lengths = [1] * 7 + [10_000] + [1] * 8
    decoder, logits, mask, _ = problem(name, seed=7, num_labels=len(labels), lengths=lengths, **kwargs)
    with torch.no_grad():
        inference = decoder.infer(logits, mask)
        tags, marginals = inference.tags, inference.marginals
        assert torch.isfinite(marginals).all()
        for b, n in enumerate(lengths):
            alone = decoder.infer(logits[b : b + 1, :n], mask[b : b + 1, :n])
            assert torch.equal(alone.tags[0], tags[b, :n])
            torch.testing.assert_close(alone.marginals[0], marginals[b, :n])
    if constrained:  # random potentials: AIN's messages carry the penalties, yet the output is valid
        assert all(valid_bioes(tags[b, :n].tolist()) for b, n in enumerate(lengths))
