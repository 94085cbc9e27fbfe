"""Token bitmask buffers: allocation and reset.

Layout (XGrammar's, so masks interoperate with vLLM/SGLang-style engines): an ``int32`` array of
shape ``(batch_size, ceil(vocab_size / 32))``; token ``i`` is allowed when bit ``i % 32`` (little
endian, bit 0 = least significant) of word ``i // 32`` is set. A word of ``-1`` allows all 32
tokens it covers.

Only numpy is imported here: this module is re-exported by ``formcast`` and must stay light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "allocate_token_bitmask",
    "bitmask_words",
    "reset_token_bitmask",
]

_ALL_ALLOWED = np.int32(-1)


def bitmask_words(vocab_size: int) -> int:
    """Number of ``int32`` words needed for ``vocab_size`` tokens: ``ceil(vocab_size / 32)``.

    Raises
    ------
    ValueError
        If ``vocab_size`` is negative or not an integer.
    """
    _check_count("vocab_size", vocab_size, minimum=0)
    return (vocab_size + 31) // 32


def allocate_token_bitmask(batch_size: int, vocab_size: int) -> npt.NDArray[np.int32]:
    """Allocate a bitmask for ``batch_size`` sequences, every token allowed.

    Parameters
    ----------
    batch_size:
        Number of rows (sequences); at least 1.
    vocab_size:
        Width of the logits the mask is for (``TokenizerInfo.vocab_size``).

    Returns
    -------
    numpy.ndarray
        ``int32`` array of shape ``(batch_size, ceil(vocab_size / 32))`` filled with ``-1``.

    Raises
    ------
    ValueError
        If a size is not a non-negative integer or ``batch_size`` is 0.

    Examples
    --------
    >>> allocate_token_bitmask(2, 40).shape
    (2, 2)
    >>> int(allocate_token_bitmask(1, 40)[0, 0])
    -1
    """
    _check_count("batch_size", batch_size, minimum=1)
    return np.full((batch_size, bitmask_words(vocab_size)), _ALL_ALLOWED, dtype=np.int32)


def reset_token_bitmask(bitmask: Any, index: int | None = None) -> None:
    """Set a bitmask (or one row of it) back to "every token allowed", in place.

    ``bitmask`` may be a numpy array or a torch tensor of dtype ``int32``.

    Raises
    ------
    TypeError
        If ``bitmask`` is not an ``int32`` numpy array or torch tensor.
    IndexError
        If ``index`` is out of range for the batch.
    """
    if isinstance(bitmask, np.ndarray):
        if bitmask.dtype != np.int32:
            raise TypeError(f"expected an int32 bitmask, got dtype {bitmask.dtype}")
    elif type(bitmask).__module__.startswith("torch"):
        import torch

        if bitmask.dtype != torch.int32:
            raise TypeError(f"expected an int32 bitmask, got dtype {bitmask.dtype}")
    else:
        raise TypeError(
            f"expected a numpy array or torch tensor, got {type(bitmask).__name__}; "
            "allocate one with allocate_token_bitmask()"
        )
    if index is None:
        bitmask[...] = -1
        return
    if bitmask.ndim == 1:
        raise IndexError("index given for a 1-D bitmask; pass index=None")
    if not -bitmask.shape[0] <= index < bitmask.shape[0]:
        raise IndexError(f"row {index} out of range for a bitmask of {bitmask.shape[0]} rows")
    bitmask[index] = -1


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"expected {name} to be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
