"""
The distillation losses against brute force on tiny problems (every label sequence enumerated,
L = 3, n ≤ 4): top-wk over every path with exact teacher weights is the structural cross-entropy;
the posterior KL is the KL of the exact marginals; the emission KL is a per-token loop; a student
identical to its teacher minimises the KD term; padding contributes nothing; unsupported students
and settings raise.
"""
import copy
import math

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

from allennlp_ain.modules.decoders import LinearChainCrf, MaxEnt, MeanField
from allennlp_ain.modules.distillation import LOSSES, Distillation, TeacherSignals, supported_losses, tempered_kl
from tests.modules.decoders.brute_force import all_sequences, chain_scores, exact

L = 3
LENGTHS = [4, 1, 3, 2]
EVERY_PATH = L ** max(LENGTHS)
TEMPERATURES = [1.0, 2.25, 4.0]


def randomised(decoder, generator):
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return decoder


def make(name, generator):
    decoder = {"crf": LinearChainCrf(L), "mfvi": MeanField(L), "maxent": MaxEnt(L)}[name].double()
    return randomised(decoder, generator)


def problem(seed, student="crf", lengths=LENGTHS):
    """A CRF teacher, a student, their logits and the mask."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    teacher = make("crf", generator)
    teacher_logits = torch.randn(len(lengths), width, L, generator=generator, dtype=torch.float64)
    student_decoder = make(student, generator)
    student_logits = torch.randn(len(lengths), width, L, generator=generator, dtype=torch.float64)
    return teacher, teacher_logits, student_decoder, student_logits.requires_grad_(), mask


def signals(teacher, logits, mask, k=EVERY_PATH):
    """What the teacher gives: emission logits, log-marginals and its k best paths with their scores."""
    with torch.no_grad():
        inference = teacher.infer(logits, mask)
        tags, scores = inference.topk(k)
        return TeacherSignals(logits.clone(), inference.log_marginals.clone(), tags, scores)


def chain(decoder):
    return [p.detach().double() for p in decoder.potentials()]


def sequence_log_probs(decoder, logits, n):
    """`log p(y)` of every label sequence of a sentence of `n` tokens, by enumeration, and the sequences."""
    sequences = all_sequences(n, L)
    scores = chain_scores(logits[:n].detach().double(), *chain(decoder), sequences)
    return scores - torch.logsumexp(scores, 0), sequences


def kl(p_log, q_log, temperature):
    """`T² · Σ_tokens KL(softmax(p/T) ‖ softmax(q/T))` for `(n, L)` log-scores, written out."""
    p = torch.log_softmax(p_log / temperature, -1)
    q = torch.log_softmax(q_log / temperature, -1)
    return (p.exp() * (p - q)).sum() * temperature**2


def test_top_wk_over_every_path_with_exact_teacher_weights_is_the_structural_cross_entropy():
    teacher, teacher_logits, student, student_logits, mask = problem(0)
    teacher_signals = signals(teacher, teacher_logits, mask)
    distillation = Distillation("top_wk", k=EVERY_PATH)
    per_sentence = distillation.per_sentence(student.infer(student_logits, mask), teacher_signals)
    for b, n in enumerate(LENGTHS):
        teacher_log_p, _ = sequence_log_probs(teacher, teacher_logits[b], n)
        student_log_p, _ = sequence_log_probs(student, student_logits[b], n)
        structural = -(teacher_log_p.exp() * student_log_p).sum()  # −Σ_y p_t(y) log p_s(y)
        assert per_sentence[b].item() == pytest.approx(structural.item(), abs=1e-9)
    loss = distillation.loss(student.infer(student_logits, mask), teacher_signals)
    torch.testing.assert_close(loss, per_sentence.mean())


@pytest.mark.parametrize("k", [1, 5])
def test_top_k_and_top_wk_with_k_paths_are_their_definitions(k):
    teacher, teacher_logits, student, student_logits, mask = problem(1)
    teacher_signals = signals(teacher, teacher_logits, mask, k=k)
    inference = student.infer(student_logits, mask)
    top_k = Distillation("top_k", k=k).per_sentence(inference, teacher_signals)
    top_wk = Distillation("top_wk", k=k).per_sentence(inference, teacher_signals)
    for b, n in enumerate(LENGTHS):
        teacher_log_p, sequences = sequence_log_probs(teacher, teacher_logits[b], n)
        student_log_p, _ = sequence_log_probs(student, student_logits[b], n)
        best = teacher_log_p.argsort(descending=True)[: min(k, L**n)]  # the teacher's real paths
        assert sorted(map(tuple, sequences[best].tolist())) == sorted(
            map(tuple, teacher_signals.topk_tags[b, : len(best), :n].tolist())
        )
        nll = -student_log_p[best]
        weights = torch.softmax(teacher_log_p[best], 0)  # renormalised among the k
        assert top_k[b].item() == pytest.approx(nll.mean().item(), abs=1e-9)  # equal weights
        assert top_wk[b].item() == pytest.approx((weights * nll).sum().item(), abs=1e-9)


def test_top_k_without_scores_weighs_every_given_path_equally():
    teacher, teacher_logits, student, student_logits, mask = problem(2, lengths=[4, 3])
    teacher_signals = signals(teacher, teacher_logits, mask, k=4)
    inference = student.infer(student_logits, mask)
    with_scores = Distillation("top_k", k=4).per_sentence(inference, teacher_signals)
    without = Distillation("top_k", k=4).per_sentence(inference, teacher_signals._replace(topk_scores=None))
    torch.testing.assert_close(with_scores, without)  # every sentence has 4 real paths
    expected = -inference.paths_log_likelihood(teacher_signals.topk_tags).mean(1)
    torch.testing.assert_close(without, expected)


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_posterior_kl_is_the_kl_of_the_exact_marginals_by_enumeration(temperature):
    teacher, teacher_logits, student, student_logits, mask = problem(3)
    distillation = Distillation("posterior", temperature=temperature)
    teacher_signals = signals(teacher, teacher_logits, mask)
    per_sentence = distillation.per_sentence(student.infer(student_logits, mask), teacher_signals)
    for b, n in enumerate(LENGTHS):
        teacher_marginals = exact(teacher_logits[b, :n], *chain(teacher))[3]
        student_marginals = exact(student_logits[b, :n].detach(), *chain(student))[3]
        expected = kl(teacher_marginals.log(), student_marginals.log(), temperature)
        assert per_sentence[b].item() == pytest.approx(expected.item(), abs=1e-9)


@pytest.mark.parametrize("student_name", ["mfvi", "maxent"])
@pytest.mark.parametrize("temperature", [1.0, 2.25])
def test_posterior_kl_of_a_factorized_student_uses_its_own_marginals(student_name, temperature):
    teacher, teacher_logits, student, student_logits, mask = problem(4, student=student_name)
    per_sentence = Distillation("posterior", temperature=temperature).per_sentence(
        student.infer(student_logits, mask), signals(teacher, teacher_logits, mask)
    )
    student_marginals = student.marginals(student_logits.detach(), mask)  # Qᴹ for mfvi, the softmax for maxent
    for b, n in enumerate(LENGTHS):
        teacher_marginals = exact(teacher_logits[b, :n], *chain(teacher))[3]
        expected = kl(teacher_marginals.log(), student_marginals[b, :n].log(), temperature)
        assert per_sentence[b].item() == pytest.approx(expected.item(), abs=1e-9)


@pytest.mark.parametrize("student_name", ["crf", "mfvi", "maxent"])
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_emission_kl_equals_a_per_token_loop(student_name, temperature):
    teacher, teacher_logits, student, student_logits, mask = problem(5, student=student_name)
    per_sentence = Distillation("emission", temperature=temperature).per_sentence(
        student.infer(student_logits, mask), signals(teacher, teacher_logits, mask)
    )
    for b, n in enumerate(LENGTHS):
        total = 0.0
        for i in range(n):
            total += torch.nn.functional.kl_div(
                torch.log_softmax(student_logits[b, i] / temperature, -1),
                torch.softmax(teacher_logits[b, i] / temperature, -1),
                reduction="sum",
            ).item()
        assert per_sentence[b].item() == pytest.approx(total * temperature**2, abs=1e-9)


def test_for_an_ain_student_top_wk_over_every_path_is_a_token_cross_entropy_with_the_teacher_marginals():
    # Σ_y p_t(y) Σᵢ log Qᵢ(yᵢ) = Σᵢ Σ_l q_t,i(l) log Qᵢ(l): the posterior KL at T = 1 plus the
    # teacher's per-token entropies
    teacher, teacher_logits, student, student_logits, mask = problem(6, student="mfvi")
    teacher_signals = signals(teacher, teacher_logits, mask)
    inference = student.infer(student_logits, mask)
    top_wk = Distillation("top_wk", k=EVERY_PATH).per_sentence(inference, teacher_signals)
    posterior = Distillation("posterior").per_sentence(inference, teacher_signals)
    q_t = teacher_signals.log_marginals.exp() * mask.unsqueeze(2)
    entropy = -(q_t * teacher_signals.log_marginals).sum((1, 2))
    torch.testing.assert_close(top_wk, posterior + entropy)
    # and directly: the mean-field log-probability of each path, weighted by p_t
    for b, n in enumerate(LENGTHS):
        teacher_log_p, sequences = sequence_log_probs(teacher, teacher_logits[b], n)
        log_q = inference.log_marginals[b, :n].detach()
        log_q_paths = log_q[torch.arange(n), sequences].sum(1)
        assert top_wk[b].item() == pytest.approx(-(teacher_log_p.exp() * log_q_paths).sum().item(), abs=1e-9)


@pytest.mark.parametrize("loss", ["emission", "posterior", "top_wk", "posterior+top_wk"])
def test_a_crf_student_identical_to_its_teacher_minimises_the_kd_term(loss):
    teacher, teacher_logits, _, _, mask = problem(7)
    student = copy.deepcopy(teacher)
    student_logits = teacher_logits.clone().requires_grad_()
    teacher_signals = signals(teacher, teacher_logits, mask)
    distillation = Distillation(loss, k=EVERY_PATH) if "top_wk" in loss else Distillation(loss, temperature=2.25)
    value = distillation.loss(student.infer(student_logits, mask), teacher_signals)
    value.backward()
    # the minimum: 0 for a KL, the teacher's entropy Σ_y −p_t log p_t for the structural cross-entropy
    entropies = []
    for b, n in enumerate(LENGTHS):
        teacher_log_p, _ = sequence_log_probs(teacher, teacher_logits[b], n)
        entropies.append(-(teacher_log_p.exp() * teacher_log_p).sum())
    expected = torch.stack(entropies).mean().item() if "top_wk" in loss else 0.0
    assert value.item() == pytest.approx(expected, abs=1e-9)
    # a stationary point: no gradient, to the logits or to the transitions
    assert student_logits.grad.abs().max().item() < 1e-9
    if loss != "emission":
        for parameter in student.parameters():
            assert parameter.grad.abs().max().item() < 1e-9
    # and a minimum: any other student does worse
    generator = torch.Generator().manual_seed(70)
    for _ in range(3):
        other = randomised(copy.deepcopy(teacher), generator)
        noise = torch.randn(teacher_logits.shape, generator=generator, dtype=torch.float64)
        other_logits = teacher_logits + 0.5 * noise
        worse = distillation.loss(other.infer(other_logits, mask), teacher_signals)
        assert worse.item() > value.item() + 1e-6


@pytest.mark.parametrize("student_name", ["mfvi", "maxent"])
@pytest.mark.parametrize("loss", ["emission", "posterior"])
def test_a_factorized_student_identical_to_its_teacher_has_zero_kd_and_zero_gradient(student_name, loss):
    generator = torch.Generator().manual_seed(8)
    teacher = make(student_name, generator)
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(LENGTHS).unsqueeze(1)
    logits = torch.randn(len(LENGTHS), 4, L, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        teacher_signals = TeacherSignals(logits.clone(), teacher.infer(logits, mask).log_marginals.clone())
    student, student_logits = copy.deepcopy(teacher), logits.clone().requires_grad_()
    value = Distillation(loss, temperature=4.0).loss(student.infer(student_logits, mask), teacher_signals)
    value.backward()
    assert abs(value.item()) < 1e-12
    assert student_logits.grad.abs().max().item() < 1e-9
    for parameter in student.parameters():
        assert parameter.grad is None or parameter.grad.abs().max().item() < 1e-9


@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_match_finite_differences(loss):
    teacher, teacher_logits, student, student_logits, mask = problem(9, lengths=[3, 2])
    teacher_signals = signals(teacher, teacher_logits, mask, k=4)
    distillation = Distillation(loss, temperature=2.0) if loss in ("emission", "posterior") else Distillation(loss, k=4)
    if loss == "posterior+top_wk":
        distillation.temperature = 2.0

    def kd(logits, transitions):
        with torch.no_grad():
            student.transitions.copy_(transitions)
        student.transitions.grad = None
        return distillation.loss(student.infer(logits, mask), teacher_signals)

    assert torch.autograd.gradcheck(lambda x: kd(x, student.transitions.detach().clone()), (student_logits,))
    if loss == "emission":  # it does not read the transitions
        return
    # the transitions get the right gradient too (finite differences on one entry)
    transitions = student.transitions.detach().clone()
    value = kd(student_logits.detach(), transitions)
    value.backward()
    analytic = student.transitions.grad[0, 1].item()
    step = 1e-6
    shifted = transitions.clone()
    shifted[0, 1] += step
    numeric = (kd(student_logits.detach(), shifted).item() - value.item()) / step
    assert analytic == pytest.approx(numeric, abs=1e-4)


@pytest.mark.parametrize("loss", LOSSES)
def test_padding_contributes_nothing_and_sentences_do_not_mix(loss):
    teacher, teacher_logits, student, student_logits, mask = problem(10, lengths=[4, 1, 0, 3])
    teacher_signals = signals(teacher, teacher_logits, mask, k=10)
    distillation = Distillation(loss, temperature=2.25) if loss in ("emission", "posterior") else Distillation(loss)
    clean = distillation.per_sentence(student.infer(student_logits, mask), teacher_signals)
    assert clean[2].item() == 0.0  # an empty sentence
    torch.testing.assert_close(distillation.loss(student.infer(student_logits, mask), teacher_signals), clean.sum() / 3)
    # garbage at padded positions, and in the ranks beyond a sentence's number of label sequences
    padding = ~mask.unsqueeze(2)
    surplus = torch.isneginf(teacher_signals.topk_scores)
    noisy = TeacherSignals(
        teacher_signals.logits.masked_fill(padding, float("nan")),
        teacher_signals.log_marginals.masked_fill(padding, float("inf")),
        teacher_signals.topk_tags.masked_fill(~mask.unsqueeze(1), 7).masked_fill(surplus.unsqueeze(2), 99),
        teacher_signals.topk_scores,
    )
    noisy_logits = student_logits.detach().masked_fill(padding, float("nan"))
    torch.testing.assert_close(distillation.per_sentence(student.infer(noisy_logits, mask), noisy), clean.detach())
    # each sentence alone gives its own value
    for b, n in enumerate([4, 1, 0, 3]):
        if n == 0:
            continue
        alone = TeacherSignals(*(None if t is None else t[b : b + 1] for t in teacher_signals))
        alone = alone._replace(
            logits=alone.logits[:, :n],
            log_marginals=alone.log_marginals[:, :n],
            topk_tags=alone.topk_tags[:, :, :n],
        )
        value = distillation.per_sentence(student.infer(student_logits[b : b + 1, :n], mask[b : b + 1, :n]), alone)
        torch.testing.assert_close(value[0], clean[b])


def test_float32_and_the_default_settings():
    teacher, teacher_logits, student, student_logits, mask = problem(11)
    teacher_signals = signals(teacher, teacher_logits, mask, k=10)
    student = student.float()
    logits = student_logits.detach().float().requires_grad_()
    for loss in LOSSES:
        distillation = Distillation(loss)
        assert distillation.interpolation == 0.5 and distillation.temperature == 1.0
        assert distillation.k == {"top_k": 1, "top_wk": 10, "posterior+top_wk": 10}.get(loss)
        value = distillation.loss(student.infer(logits, mask), teacher_signals)
        assert value.dtype == torch.float32 and math.isfinite(value.item())
        value.backward()
        assert torch.isfinite(logits.grad).all()
    assert Distillation("top_wk").combine(torch.tensor(2.0), torch.tensor(4.0)).item() == 3.0
    built = Distillation.from_params(Params({"loss": "posterior", "interpolation": 0.8, "temperature": 2.25}))
    assert (built.loss_name, built.interpolation, built.temperature, built.k) == ("posterior", 0.8, 2.25, None)


@pytest.mark.parametrize("student_name", ["crf", "mfvi"])
def test_half_precision_input_under_autocast_is_computed_in_float32(student_name):
    teacher, teacher_logits, student, student_logits, mask = problem(15, student=student_name)
    given = signals(teacher, teacher_logits, mask, k=10)
    teacher_signals = TeacherSignals(*(t.half() if t.is_floating_point() else t for t in given))  # a float16 cache
    student = student.float()
    half = student_logits.detach().bfloat16()
    for loss in LOSSES:
        distillation = Distillation(loss)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value = distillation.loss(student.infer(half, mask), teacher_signals)
        reference = distillation.loss(student.infer(half.float(), mask), teacher_signals)
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, reference)


def test_supported_students():
    generator = torch.Generator().manual_seed(12)
    assert supported_losses(make("crf", generator)) == LOSSES
    assert supported_losses(make("mfvi", generator)) == LOSSES
    assert supported_losses(make("maxent", generator)) == ("emission", "posterior")
    assert supported_losses(MeanField(L, order=2)) == LOSSES


@pytest.mark.parametrize("loss", ["top_k", "top_wk", "posterior+top_wk"])
def test_a_maxent_student_of_a_path_loss_is_a_configuration_error(loss):
    teacher, teacher_logits, student, student_logits, mask = problem(13, student="maxent")
    with pytest.raises(ConfigurationError, match="MaxEnt decoder cannot be a student of"):
        Distillation(loss).check(student)
    with pytest.raises(ConfigurationError, match="MaxEnt"):
        Distillation(loss).loss(student.infer(student_logits, mask), signals(teacher, teacher_logits, mask, k=10))


def test_invalid_settings_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="must be one of emission, top_k, top_wk, posterior"):
        Distillation("kl")
    with pytest.raises(ConfigurationError, match=r"interpolation \(λ\) must be in \[0, 1\]"):
        Distillation("posterior", interpolation=1.5)
    with pytest.raises(ConfigurationError, match="temperature must be positive"):
        Distillation("posterior", temperature=0.0)
    with pytest.raises(ConfigurationError, match="k must be at least 1"):
        Distillation("top_wk", k=0)
    with pytest.raises(ConfigurationError, match="k is for the path losses"):
        Distillation("emission", k=3)


def test_missing_or_misshapen_teacher_signals_are_errors():
    teacher, teacher_logits, student, student_logits, mask = problem(14)
    teacher_signals = signals(teacher, teacher_logits, mask, k=5)
    inference = student.infer(student_logits, mask)
    with pytest.raises(ValueError, match="needs the teacher's topk_scores"):
        Distillation("top_wk", k=5).loss(inference, teacher_signals._replace(topk_scores=None))
    with pytest.raises(ValueError, match="needs the teacher's log_marginals, topk_tags"):
        Distillation("posterior+top_wk").loss(inference, TeacherSignals(logits=teacher_logits))
    with pytest.raises(ValueError, match="gives 5 paths per sentence; this distillation uses k = 10"):
        Distillation("top_wk").loss(inference, teacher_signals)
    with pytest.raises(ValueError, match="label set"):
        Distillation("emission").loss(inference, teacher_signals._replace(logits=teacher_logits[:, :, :2]))
    with pytest.raises(ValueError, match=r"topk_scores must have shape \(4, 5\)"):
        three = teacher_signals._replace(topk_scores=teacher_signals.topk_scores[:, :3])
        Distillation("top_wk", k=5).loss(inference, three)


def test_tempered_kl_is_zero_exactly_where_the_distributions_agree():
    scores = torch.randn(2, 3, L, dtype=torch.float64)
    mask = torch.ones(2, 3, dtype=torch.bool)
    torch.testing.assert_close(tempered_kl(scores, scores + 5.0, mask, 2.0), torch.zeros(2, dtype=torch.float64))
    assert (tempered_kl(scores, scores.flip(-1), mask, 2.0) > 0).all()
    # a label of teacher probability 0 contributes 0
    teacher = scores.clone()
    teacher[..., 0] = float("-inf")
    assert torch.isfinite(tempered_kl(scores, teacher, mask)).all()
