import torch


class WordDropout(torch.nn.Module):
    """
    Drop whole words: during training each token's vector (all of its features: word embedding
    and character features alike) is zeroed with probability `p`, with no rescaling of the kept
    tokens, so that the encoder learns to tag from context when a word's own representation is
    missing. The setting Akbik et al. (2018) use (`p = 0.05`), which the AIN paper says it follows.
    Input and output: `(batch, seq, dim)`. The identity in evaluation mode or with `p = 0`.
    """

    def __init__(self, p: float = 0.05) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"word dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return embedded
        keep = torch.empty(embedded.shape[:-1] + (1,), device=embedded.device, dtype=embedded.dtype)
        return embedded * keep.bernoulli_(1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
