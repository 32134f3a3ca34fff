"""
A torch-2 fix for AllenNLP's `reduce_on_plateau` scheduler.

AllenNLP 2.10.1 passes `verbose=...` to `torch.optim.lr_scheduler.ReduceLROnPlateau`, which
current torch no longer accepts. This re-registers the same name, with the same parameters, so
existing configs (and the paper's schedule: halve the learning rate after 10 epochs without
improvement) run unchanged. `verbose` is still accepted and ignored.
"""

import torch
from allennlp.training.learning_rate_schedulers import LearningRateScheduler
from allennlp.training.learning_rate_schedulers.learning_rate_scheduler import _PyTorchLearningRateSchedulerWithMetricsWrapper


@LearningRateScheduler.register("reduce_on_plateau", exist_ok=True)
class ReduceOnPlateau(_PyTorchLearningRateSchedulerWithMetricsWrapper):
    """
    Multiply the learning rate by `factor` after `patience` epochs without improvement of the
    validation metric. Registered as a `LearningRateScheduler` with name "reduce_on_plateau",
    replacing AllenNLP's entry (which fails on torch 2).

    # Parameters

    optimizer : `torch.optim.Optimizer`
    mode : `str`, optional (default = `"min"`)
        `"min"` for a loss, `"max"` for an accuracy or F1. AllenNLP passes the validation metric
        with its sign already applied, so `"min"` with `"-loss"` and `"max"` with `"+f1"`.
    factor : `float`, optional (default = `0.1`)
    patience : `int`, optional (default = `10`)
    verbose : `bool`, optional (default = `False`)
        Accepted for compatibility and ignored.
    threshold_mode : `str`, optional (default = `"rel"`)
    threshold : `float`, optional (default = `1e-4`)
    cooldown : `int`, optional (default = `0`)
    min_lr : `float`, optional (default = `0.0`)
    eps : `float`, optional (default = `1e-8`)
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        verbose: bool = False,
        threshold_mode: str = "rel",
        threshold: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer=optimizer,
            mode=mode,
            factor=factor,
            patience=patience,
            threshold_mode=threshold_mode,
            threshold=threshold,
            cooldown=cooldown,
            min_lr=min_lr,
            eps=eps,
        )
        super().__init__(scheduler)
