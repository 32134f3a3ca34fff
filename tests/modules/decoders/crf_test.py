import pytest
import torch

from allennlp_ain.modules.decoders import LinearChainCrf, MaxEnt, SequenceDecoder
from allennlp_ain.tag_schemes import allowed_transitions
from tests.modules.decoders.brute_force import BIOES, all_sequences, chain_scores, exact, valid_bioes

LABELS = 3
LENGTHS = [4, 1, 3, 2]


def random_problem(seed: int, lengths=LENGTHS, num_labels=LABELS, pad_to=None):
    generator = torch.Generator().manual_seed(seed)
    batch, width = len(lengths), pad_to or max(lengths)
    logits = torch.randn(batch, width, num_labels, generator=generator, dtype=torch.float64)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    crf = LinearChainCrf(num_labels).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(num_labels, num_labels, generator=generator))
        crf.start_transitions.copy_(torch.randn(num_labels, generator=generator))
        crf.end_transitions.copy_(torch.randn(num_labels, generator=generator))
    return crf, logits, mask


def reference(crf, logits, b, n):
    transitions, start, end = (p.detach() for p in crf.potentials())
    return exact(logits[b, :n].double(), transitions.double(), start.double(), end.double())


@pytest.mark.parametrize("seed", range(5))
def test_partition_viterbi_marginals_loss_match_brute_force(seed):
    crf, logits, mask = random_problem(seed)
    log_z = crf.log_partition(logits, mask)
    tags = crf.decode(logits, mask)
    marginals = crf.marginals(logits, mask)
    gold = torch.randint(0, LABELS, mask.shape, generator=torch.Generator().manual_seed(seed + 100))
    loss = crf.loss(logits, gold, mask)
    expected_nll = []
    for b, n in enumerate(LENGTHS):
        ref_log_z, ref_best, _, ref_marginals, _, _ = reference(crf, logits, b, n)
        assert log_z[b].item() == pytest.approx(ref_log_z.item(), abs=1e-4)
        assert tags[b, :n].tolist() == ref_best.tolist()
        assert tags[b, n:].eq(0).all()
        torch.testing.assert_close(marginals[b, :n].double(), ref_marginals, atol=1e-4, rtol=1e-4)
        assert marginals[b, n:].abs().sum() == 0
        transitions, start, end = (p.detach().double() for p in crf.potentials())
        gold_score = chain_scores(logits[b, :n].double(), transitions, start, end, gold[b, :n].unsqueeze(0))[0]
        expected_nll.append(ref_log_z - gold_score)
    assert loss.item() == pytest.approx(torch.stack(expected_nll).mean().item(), abs=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_topk_matches_brute_force(seed):
    crf, logits, mask = random_problem(seed)
    k = 5
    paths, scores = crf.topk(logits, mask, k)
    assert paths.shape == (len(LENGTHS), k, max(LENGTHS)) and scores.shape == (len(LENGTHS), k)
    transitions, start, end = (p.detach().double() for p in crf.potentials())
    for b, n in enumerate(LENGTHS):
        _, _, _, _, ref_scores, ref_sequences = reference(crf, logits, b, n)
        available = min(k, LABELS**n)
        torch.testing.assert_close(scores[b, :available].double(), ref_scores[:available], atol=1e-4, rtol=0)
        assert torch.isneginf(scores[b, available:]).all()
        # each returned path really has the returned score, and the paths are distinct
        recomputed = chain_scores(logits[b, :n].double(), transitions, start, end, paths[b, :available, :n])
        torch.testing.assert_close(recomputed, scores[b, :available].double(), atol=1e-4, rtol=0)
        assert len({tuple(p) for p in paths[b, :available, :n].tolist()}) == available
    # the best path of topk is the Viterbi path
    assert torch.equal(paths[:, 0], crf.decode(logits, mask))


def test_padding_and_batch_composition_do_not_change_results():
    crf, logits, mask = random_problem(7, pad_to=6)
    alone = [crf.log_partition(logits[b : b + 1, :n], mask[b : b + 1, :n]) for b, n in enumerate(LENGTHS)]
    torch.testing.assert_close(crf.log_partition(logits, mask), torch.cat(alone))
    # garbage in the padding changes nothing
    noisy = logits.masked_fill(~mask.unsqueeze(2), 1e3)
    torch.testing.assert_close(crf.log_partition(noisy, mask), crf.log_partition(logits, mask))
    assert torch.equal(crf.decode(noisy, mask), crf.decode(logits, mask))
    torch.testing.assert_close(crf.marginals(noisy, mask), crf.marginals(logits, mask))
    assert torch.equal(crf.topk(noisy, mask, 3)[0], crf.topk(logits, mask, 3)[0])


@pytest.mark.parametrize("decoder_class", [LinearChainCrf, MaxEnt])
def test_constraints_are_respected(decoder_class):
    constraints = allowed_transitions("BIOES", BIOES)
    decoder = decoder_class(len(BIOES), constraints=constraints)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, len(BIOES), generator=generator) * 3
    mask = torch.arange(5).unsqueeze(0) < torch.randint(1, 6, (64, 1), generator=generator)
    tags = decoder.decode(logits, mask)
    for b in range(64):
        assert valid_bioes(tags[b, : mask[b].sum()].tolist())
    if decoder_class is LinearChainCrf:
        paths, scores = decoder.topk(logits, mask, 4)
        for b in range(64):
            for r in range(4):
                if scores[b, r] > -1000:  # every finite-score path is valid
                    assert valid_bioes(paths[b, r, : mask[b].sum()].tolist())
        # the constrained CRF is the brute force over valid sequences only
        n = 4
        sequences = all_sequences(n, len(BIOES))
        valid = torch.tensor([valid_bioes(s) for s in sequences.tolist()])
        transitions, start, end = (p.detach() for p in decoder.potentials())
        scores = chain_scores(logits[0, :n], transitions, start, end, sequences[valid])
        one = torch.ones(1, n, dtype=torch.bool)
        assert decoder.log_partition(logits[:1, :n], one).item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-3)


def test_registry_and_errors():
    assert SequenceDecoder.by_name("crf") is LinearChainCrf
    crf = LinearChainCrf(3)
    with pytest.raises(ValueError, match=r"\(batch, seq, 3\)"):
        crf.decode(torch.zeros(2, 4, 5), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask shape"):
        crf.decode(torch.zeros(2, 4, 3), torch.ones(2, 3, dtype=torch.bool))


def test_long_sequence_and_big_batch_stay_finite():
    crf = LinearChainCrf(17)
    with torch.no_grad():
        crf.transitions.normal_(0, 5)
    logits = torch.randn(256, 1000, 17) * 20
    mask = torch.ones(256, 1000, dtype=torch.bool)
    assert torch.isfinite(crf.loss(logits, logits.argmax(-1), mask))
    assert crf.decode(logits, mask).shape == (256, 1000)


def test_gradients_and_autocast():
    crf, logits, mask = random_problem(11)
    crf = crf.float()
    logits = logits.float().requires_grad_()
    crf.loss(logits, logits.argmax(-1), mask).backward()
    assert logits.grad.abs().sum() > 0 and crf.transitions.grad.abs().sum() > 0
    assert crf.start_transitions.grad.abs().sum() > 0 and crf.end_transitions.grad.abs().sum() > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = crf.loss(logits.bfloat16(), logits.argmax(-1), mask)
        log_z = crf.log_partition(logits, mask)
    assert torch.isfinite(loss)
    # the dynamic program runs in float32 even under autocast
    torch.testing.assert_close(log_z, crf.log_partition(logits, mask))


@pytest.mark.parametrize("seed", range(3))
def test_log_marginals_and_their_gradients_match_brute_force(seed):
    # forward-backward in log space against enumeration, values and first-order gradients
    crf, logits, mask = random_problem(seed)
    logits = logits.clone().requires_grad_()
    weights = torch.randn(logits.shape, generator=torch.Generator().manual_seed(seed + 50), dtype=torch.float64)
    log_marginals = crf.log_marginals(logits, mask)
    assert log_marginals.dtype == torch.float64
    assert log_marginals[~mask].abs().sum() == 0
    (gradient,) = torch.autograd.grad((log_marginals * weights).masked_fill(~mask.unsqueeze(2), 0).sum(), logits)
    reference_logits = logits.detach().clone().requires_grad_()
    total = 0.0
    for b, n in enumerate(LENGTHS):
        ref_marginals = reference(crf, reference_logits, b, n)[3]
        torch.testing.assert_close(log_marginals[b, :n], ref_marginals.log(), atol=1e-8, rtol=1e-8)
        total = total + (ref_marginals.log() * weights[b, :n]).sum()
    (ref_gradient,) = torch.autograd.grad(total, reference_logits)
    torch.testing.assert_close(gradient, ref_gradient, atol=1e-8, rtol=1e-8)
