"""
Fused CPU kernels for the mean-field (AIN) decoder: `mean_field_kernels.cpp`, compiled on first
use with `torch.utils.cpp_extension` (a C++ compiler and ninja are needed; the build is cached in
`TORCH_EXTENSIONS_DIR`, by default `~/.cache/torch_extensions`, and takes about half a minute once).

Each kernel does in one pass over the `(labels, positions)` array what several PyTorch operations
do in several (the softmax over 17 labels is six), for float32 tensors on the CPU. The plain
PyTorch operations in `mfvi.py` stay the reference: tests compare both, and they run wherever the
kernels do not (GPU, float64, no compiler, tracing for export). Set `ALLENNLP_AIN_KERNELS=0` to
use the plain operations always; a failed build logs one warning and falls back to them.
"""
import hashlib
import logging
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import List, Optional

import torch

logger = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "ALLENNLP_AIN_KERNELS"
_SOURCE = Path(__file__).with_suffix(".cpp")
_lock = threading.Lock()
_state: dict = {"tried": False, "module": None}


def _capability_flags() -> List[str]:
    """Compiler flags for the vector instructions PyTorch itself uses on this CPU."""
    capability = torch.backends.cpu.get_cpu_capability()
    if capability == "AVX512":
        return ["-DCPU_CAPABILITY=AVX512", "-DCPU_CAPABILITY_AVX512", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma"]
    if capability == "AVX2":
        return ["-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma", "-mf16c"]
    return []  # ATen's portable vectors


def enabled() -> bool:
    """Whether the kernels may be used (`ALLENNLP_AIN_KERNELS` is not `0`)."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "1").strip() != "0"


def kernels() -> Optional[ModuleType]:
    """The compiled kernels, built on the first call; `None` when disabled or when the build failed."""
    if not enabled():
        return None
    if not _state["tried"]:
        with _lock:
            if not _state["tried"]:
                _state["module"] = _build()
                _state["tried"] = True
    return _state["module"]


def _build() -> Optional[ModuleType]:
    flags = ["-O3", *_capability_flags()]
    key = hashlib.sha1((_SOURCE.read_text() + " ".join(flags) + torch.__version__).encode()).hexdigest()[:12]
    try:
        from torch.utils import cpp_extension

        logger.info(
            "Loading the fused mean-field kernels (compiled on first use, about 30 s, then cached under %s)",
            os.environ.get("TORCH_EXTENSIONS_DIR", "~/.cache/torch_extensions"),
        )
        return cpp_extension.load(name=f"allennlp_ain_mean_field_{key}", sources=[str(_SOURCE)], extra_cflags=flags, verbose=False)
    except Exception as error:  # no compiler, no ninja, a header mismatch: the plain operations serve
        logger.warning(
            "The fused mean-field kernels could not be built (%s: %s); AIN decoding uses plain PyTorch "
            "operations, which give the same results more slowly. Set %s=0 to skip the attempt.",
            type(error).__name__,
            str(error).strip().splitlines()[-1] if str(error).strip() else "",
            ENVIRONMENT_VARIABLE,
        )
        return None


def for_tensors(*tensors: torch.Tensor) -> Optional[ModuleType]:
    """The kernels if every tensor is a float32 CPU tensor and they are available, else `None`."""
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in tensors):
        return None
    return kernels()
