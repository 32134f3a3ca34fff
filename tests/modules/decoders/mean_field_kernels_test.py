"""
The fused CPU kernels of the mean-field decoder against the plain PyTorch operations they replace
(each kernel on its own, then the decoder with and without them) and against the naive
per-position reference of `mfvi_test`.
"""
import logging
import math

import pytest
import torch

from allennlp_ain.modules.decoders import MeanField, mean_field_kernels, mfvi
from tests.modules.decoders.mfvi_test import naive_mean_field

KERNELS = mean_field_kernels.kernels()
needs_kernels = pytest.mark.skipif(KERNELS is None, reason="the fused kernels could not be built here (no C++ compiler?)")


def ragged_mask(lengths, width):
    return torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


def garbage_at_padding(logits, mask):
    """NaN and ±inf where the mask is off: neither path may let them reach a real token."""
    fill = torch.tensor([float("nan"), float("inf"), -float("inf")]).repeat(logits.numel())[: logits.numel()].view(logits.shape)
    return torch.where(mask.unsqueeze(2), logits, fill)


@needs_kernels
def test_label_major_equals_the_transposing_copy():
    mask = ragged_mask([5, 0, 3, 1], 5)
    logits = garbage_at_padding(torch.randn(4, 5, 7), mask)
    order = 2
    unary = torch.full((7, 4, 5 + order), 123.0)
    real = torch.full((1, 4 * (5 + order)), 123.0)
    KERNELS.label_major(logits, mask, unary, real)
    expected = torch.zeros(7, 4, 5 + order)
    expected[:, :, :5] = torch.where(mask.unsqueeze(0), logits.permute(2, 0, 1), torch.zeros(()))
    assert torch.equal(unary, expected)
    expected_real = torch.zeros(4, 5 + order)
    expected_real[:, :5] = mask
    assert torch.equal(real.view(4, 5 + order), expected_real)


@needs_kernels
@pytest.mark.parametrize("labels", [1, 3, 17, 40])
@pytest.mark.parametrize("scale", [1.0, 1.0 / math.log(2.0)])
def test_softmax_equals_the_plain_operations_into_a_framed_view(labels, scale):
    n = 16 * 5 + 3  # whole vectors and a tail
    scores = torch.randn(labels, n) * 5
    scores[0, 3] = 80.0  # one dominant label
    real = (torch.rand(n) > 0.2).float()
    framed = torch.full((labels, n + 4), 7.0)
    KERNELS.softmax(scores, scale, framed[:, 2 : 2 + n], real)
    expected = torch.softmax(scores * (scale * math.log(2.0)), dim=0) * real
    torch.testing.assert_close(framed[:, 2 : 2 + n], expected, atol=2e-7, rtol=1e-5)
    assert (framed[:, :2] == 7.0).all() and (framed[:, 2 + n :] == 7.0).all()  # the frame untouched


@needs_kernels
@pytest.mark.parametrize("in_place", [False, True])
def test_softmax_backward_equals_the_jacobian_product(in_place):
    labels, n = 17, 16 * 3 + 5
    q = torch.softmax(torch.randn(labels, n), dim=0)
    dq = torch.randn(labels, n)
    expected = q * (dq - (q * dq).sum(0, keepdim=True))
    out = dq if in_place else torch.empty(labels, n)
    KERNELS.softmax_backward(dq.clone() if not in_place else dq, q, out)
    torch.testing.assert_close(out, expected)


@needs_kernels
def test_batch_major_equals_the_masked_transpose():
    mask = ragged_mask([4, 0, 2], 4)
    framed = torch.randn(5, 3, 6)
    out = torch.full((3, 4, 5), 9.0)
    KERNELS.batch_major(framed, mask, out)
    expected = torch.where(mask.unsqueeze(2), framed[:, :, :4].permute(1, 2, 0), torch.zeros(()))
    assert torch.equal(out, expected)


@needs_kernels
def test_first_max_is_the_first_argmax_and_zero_at_padding():
    labels, batch, width = 6, 9, 11
    mask = ragged_mask([10, 0, 3, 10, 1, 7, 10, 2, 5], 10)
    scores = torch.randint(0, 3, (labels, batch, width)).float()  # many ties: the first maximum wins
    scores[:, 3, 4] = -float("inf")
    scores[2, 3, 5] = float("inf")
    scores[4, 3, 5] = float("inf")
    tags = KERNELS.first_max(scores, mask)
    expected = scores.argmax(0)[:, :10].masked_fill(~mask, 0)
    # PyTorch's argmax returns the first maximum on CPU; an all -inf column gives label 0
    assert torch.equal(tags, expected)


@needs_kernels
def test_add_boundaries_equals_the_plain_operations():
    mask = ragged_mask([4, 0, 1, 3], 4)
    unary = torch.randn(5, 4, 5)
    start, end = torch.randn(5), torch.randn(5)
    expected = unary.clone()
    mfvi._add_boundaries(expected, mask, start, end)
    KERNELS.add_boundaries(unary, mask, start, end)
    torch.testing.assert_close(unary, expected)


def _run_decoder(decoder, logits, mask, gold, monkeypatch, use_kernels):
    monkeypatch.setenv(mean_field_kernels.ENVIRONMENT_VARIABLE, "1" if use_kernels else "0")
    decoder.zero_grad()
    inputs = logits.clone().requires_grad_()
    inference = decoder.infer(inputs, mask)
    marginals, tags = inference.marginals, inference.tags
    inference.loss(gold).backward()
    with torch.no_grad():
        predicted = decoder.decode(logits, mask)
    return [marginals.detach(), inputs.grad] + [p.grad.clone() for p in decoder.parameters()], tags, predicted


@needs_kernels
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("labels", [1, 5, 17])
def test_the_decoder_gives_the_same_with_and_without_the_kernels(order, labels, monkeypatch):
    generator = torch.Generator().manual_seed(order * 100 + labels)
    lengths = [23, 1, 0, 17, 2, 23, 9]
    mask = ragged_mask(lengths, 23)
    logits = garbage_at_padding(torch.randn(len(lengths), 23, labels, generator=generator) * 2, mask)
    decoder = MeanField(labels, order=order)
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    gold = torch.randint(0, labels, mask.shape, generator=generator)
    fast, fast_tags, fast_predicted = _run_decoder(decoder, logits, mask, gold, monkeypatch, True)
    plain, plain_tags, plain_predicted = _run_decoder(decoder, logits, mask, gold, monkeypatch, False)
    assert torch.equal(fast_tags, plain_tags) and torch.equal(fast_predicted, plain_predicted)
    assert torch.equal(fast_tags, fast_predicted)
    for a, b in zip(fast, plain):
        assert not a.isnan().any()
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@needs_kernels
def test_the_kernels_follow_the_naive_reference():
    generator = torch.Generator().manual_seed(7)
    lengths = [6, 1, 4]
    mask = ragged_mask(lengths, 6)
    logits = torch.randn(3, 6, 4, generator=generator)
    decoder = MeanField(4, order=2, iterations=3)
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    assert mfvi._kernels_for(logits) is not None
    scores = decoder.final_scores(logits, mask)
    for b, reference in enumerate(naive_mean_field(decoder, logits, mask)):
        torch.testing.assert_close(scores[b, : lengths[b]].double(), reference, atol=1e-5, rtol=1e-5)


@needs_kernels
def test_large_batches_split_over_threads_give_the_same(monkeypatch):
    # more columns than one task's grain (16,384): the kernels run on ATen's threads
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        mask = ragged_mask([100] * 150 + [37] * 50, 100)
        logits = torch.randn(200, 100, 9)
        decoder = MeanField(9)
        with torch.no_grad():
            decoder.transitions.normal_()
        gold = torch.randint(0, 9, mask.shape)
        fast, fast_tags, _ = _run_decoder(decoder, logits, mask, gold, monkeypatch, True)
        plain, plain_tags, _ = _run_decoder(decoder, logits, mask, gold, monkeypatch, False)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(fast_tags, plain_tags)
    for a, b in zip(fast, plain):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_the_kernels_apply_to_float32_cpu_tensors_only(monkeypatch):
    monkeypatch.setenv(mean_field_kernels.ENVIRONMENT_VARIABLE, "0")
    assert mean_field_kernels.for_tensors(torch.zeros(2)) is None
    monkeypatch.setenv(mean_field_kernels.ENVIRONMENT_VARIABLE, "1")
    assert mean_field_kernels.for_tensors(torch.zeros(2, dtype=torch.float64)) is None
    assert mean_field_kernels.for_tensors(torch.zeros(2, dtype=torch.bfloat16)) is None
    monkeypatch.setattr(mfvi, "_tracing", lambda: True)
    assert mfvi._kernels_for(torch.zeros(2)) is None


def test_a_failed_build_falls_back_with_one_warning(monkeypatch, caplog):
    from torch.utils import cpp_extension

    def broken(*args, **kwargs):
        raise RuntimeError("Error building extension\nninja: build stopped: subcommand failed.")

    monkeypatch.setattr(cpp_extension, "load", broken)
    monkeypatch.setattr(mean_field_kernels, "_state", {"tried": False, "module": None})
    monkeypatch.setenv(mean_field_kernels.ENVIRONMENT_VARIABLE, "1")
    with caplog.at_level(logging.WARNING, logger=mean_field_kernels.__name__):
        assert mean_field_kernels.kernels() is None
        assert mean_field_kernels.kernels() is None  # tried once
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "subcommand failed" in warnings[0].getMessage()
    # and the decoder still works, on the plain operations
    decoder = MeanField(3)
    mask = ragged_mask([3, 1], 3)
    assert decoder.decode(torch.randn(2, 3, 3), mask).shape == (2, 3)
