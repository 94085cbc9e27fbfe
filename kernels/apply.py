"""Apply a token bitmask to logits in place: disallowed tokens get ``-inf``.

Backends, picked from the type and device of ``logits``:

* numpy arrays (float32/float64): a numba kernel (``nogil``, cached on disk);
* torch CPU tensors: the same numba kernel on a zero-copy numpy view when the dtype allows it
  (float32/float64), plain torch ops otherwise (float16, bfloat16);
* torch tensors on a CUDA device: one Triton kernel launch (:mod:`.apply_triton`) when
  ``triton`` is importable, else plain torch ops on the device (bits unpacked with shifts and
  ``bitwise_and``, then ``masked_fill_``); ``FORMCAST_APPLY_BACKEND=torch`` forces the torch ops
  (``triton`` forces Triton, ``auto``, the default, picks as above);
* torch tensors on other accelerators: the torch ops.

The bitmask layout is XGrammar's (see :mod:`formcast.kernels.bitmask`). The vocabulary size is
``logits.shape[-1]``: logits beyond the ``32 * words`` tokens the mask covers are disallowed, and
mask bits beyond the logits' width are ignored.

numba, torch and triton are imported on first use; importing this module costs only numpy.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "apply_token_bitmask_inplace",
    "apply_token_bitmask_inplace_numba",
    "apply_token_bitmask_inplace_torch",
    "apply_token_bitmask_inplace_triton",
]

BACKEND_ENV = "FORMCAST_APPLY_BACKEND"

_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def apply_token_bitmask_inplace(
    logits: Any,
    bitmask: Any,
    indices: Sequence[int] | npt.NDArray[np.integer] | Any | None = None,
) -> None:
    """Set the logits of disallowed tokens to ``-inf``, in place.

    Parameters
    ----------
    logits:
        ``(vocab,)`` or ``(batch, vocab)`` numpy array or torch tensor (CPU or accelerator).
    bitmask:
        ``int32`` numpy array or torch tensor of shape ``(words,)`` or ``(batch, words)`` as made
        by :func:`~formcast.kernels.bitmask.allocate_token_bitmask`; bit set = allowed. A 1-D
        ``logits`` also accepts a ``(1, words)`` bitmask.
    indices:
        Batch rows to mask (row ``r`` of ``logits`` with row ``r`` of ``bitmask``); all rows
        when ``None``. Only for 2-D logits.

    Raises
    ------
    TypeError
        If ``logits`` or ``bitmask`` has an unsupported type or dtype.
    ValueError
        If the shapes do not agree, an index is out of range, or ``FORMCAST_APPLY_BACKEND`` is
        not one of ``auto``, ``triton``, ``torch``.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.zeros(40, dtype=np.float32)
    >>> mask = np.array([[0b101, 1 << 3]], dtype=np.int32)  # tokens 0, 2 and 35
    >>> apply_token_bitmask_inplace(logits, mask)
    >>> np.flatnonzero(np.isfinite(logits)).tolist()
    [0, 2, 35]
    """
    if isinstance(logits, np.ndarray):
        apply_token_bitmask_inplace_numba(logits, bitmask, indices)
        return
    if not _is_torch_tensor(logits):
        raise TypeError(
            f"expected logits as a numpy array or torch tensor, got {type(logits).__name__}"
        )
    import torch

    if (
        logits.device.type == "cpu"
        and logits.dtype in (torch.float32, torch.float64)
        and not logits.requires_grad
    ):
        # Zero-copy view: the numba kernel writes straight into the tensor's storage.
        apply_token_bitmask_inplace_numba(logits.numpy(), _to_numpy(bitmask), indices)
        return
    if logits.device.type == "cuda" and _torch_backend() == "triton":
        apply_token_bitmask_inplace_triton(logits, bitmask, indices)
        return
    apply_token_bitmask_inplace_torch(logits, bitmask, indices)


def apply_token_bitmask_inplace_numba(
    logits: npt.NDArray[np.floating],
    bitmask: Any,
    indices: Sequence[int] | npt.NDArray[np.integer] | Any | None = None,
) -> None:
    """numpy backend of :func:`apply_token_bitmask_inplace` (numba kernel).

    float16 arrays, which numba cannot index, take a vectorised numpy path instead.
    """
    if not isinstance(logits, np.ndarray):
        raise TypeError(f"expected logits as a numpy array, got {type(logits).__name__}")
    if logits.dtype.kind != "f":
        raise TypeError(f"expected floating-point logits, got dtype {logits.dtype}")
    mask = _to_numpy(bitmask)
    logits2d, mask2d = _as_batch(logits, mask, indices)
    rows = _rows(indices, logits2d.shape[0], mask2d.shape[0])
    if logits.dtype in _NUMBA_DTYPES:
        _numba_kernel()(logits2d, mask2d, rows)
        return
    allowed = _unpack_numpy(mask2d[rows], logits2d.shape[1])
    sub = logits2d[rows]
    sub[~allowed] = -np.inf
    logits2d[rows] = sub


def apply_token_bitmask_inplace_torch(
    logits: Any,
    bitmask: Any,
    indices: Sequence[int] | npt.NDArray[np.integer] | Any | None = None,
) -> None:
    """torch backend of :func:`apply_token_bitmask_inplace`, for any device.

    The bitmask is moved to ``logits.device`` (non-blocking from CPU) and unpacked there with
    about seven torch ops.
    """
    logits2d, mask2d, rows = _torch_batch(logits, bitmask, indices)
    _apply_torch_ops(logits2d, mask2d, rows)


def apply_token_bitmask_inplace_triton(
    logits: Any,
    bitmask: Any,
    indices: Sequence[int] | npt.NDArray[np.integer] | Any | None = None,
) -> None:
    """Triton backend of :func:`apply_token_bitmask_inplace`: one kernel launch per call.

    Needs ``triton`` and logits on a GPU (or CPU tensors under Triton's interpreter,
    ``TRITON_INTERPRET=1`` set before triton is imported). Logits whose last dimension is not
    contiguous, of a dtype other than float32/float16/bfloat16, or that require grad take the
    torch backend instead.

    Raises
    ------
    TypeError
        If ``logits`` or ``bitmask`` has an unsupported type or dtype.
    ValueError
        If the shapes do not agree, an index is out of range, or CPU logits are given without
        Triton's interpreter.
    ImportError
        If ``triton`` is not installed.
    """
    logits2d, mask2d, rows = _torch_batch(logits, bitmask, indices)
    from .apply_triton import TRITON_DTYPES, apply_rows

    if (
        logits2d.dtype not in TRITON_DTYPES
        or logits2d.requires_grad
        or (logits2d.shape[1] > 1 and logits2d.stride(1) != 1)
    ):
        _apply_torch_ops(logits2d, mask2d, rows)
        return
    apply_rows(logits2d, mask2d, rows)


# -- helpers ---------------------------------------------------------------------------------


def _torch_backend() -> str:
    """``"triton"`` or ``"torch"``: the backend for torch tensors on an accelerator."""
    choice = os.environ.get(BACKEND_ENV, "auto").strip().lower()
    if choice in ("torch", "triton"):
        return choice
    if choice not in ("", "auto"):
        raise ValueError(
            f"expected {BACKEND_ENV} to be 'auto', 'triton' or 'torch', got {choice!r}"
        )
    return "triton" if _triton_available() else "torch"


@functools.cache
def _triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_batch(logits: Any, bitmask: Any, indices: object) -> tuple[Any, Any, Any]:
    """Checked 2-D views of logits and mask (the mask on ``logits.device``) and the rows.

    The rows are ``None`` for all rows, else an int64 tensor of row ids on ``logits.device``.
    """
    import torch

    if not _is_torch_tensor(logits):
        raise TypeError(f"expected logits as a torch tensor, got {type(logits).__name__}")
    if not logits.dtype.is_floating_point:
        raise TypeError(f"expected floating-point logits, got dtype {logits.dtype}")
    if isinstance(bitmask, np.ndarray):
        _check_mask_dtype(bitmask.dtype, "int32")
        bitmask = torch.from_numpy(bitmask)
    elif _is_torch_tensor(bitmask):
        if bitmask.dtype != torch.int32:
            raise TypeError(f"expected an int32 bitmask, got dtype {bitmask.dtype}")
    else:
        raise TypeError(
            f"expected the bitmask as a numpy array or torch tensor, got {type(bitmask).__name__}"
        )
    logits2d, mask2d = _as_batch(logits, bitmask, indices)
    device = logits.device
    mask2d = mask2d.to(device, non_blocking=True)
    if indices is None:
        return logits2d, mask2d, None
    rows_np = _rows(indices, logits2d.shape[0], mask2d.shape[0])
    return logits2d, mask2d, torch.from_numpy(rows_np).to(device, non_blocking=True)


def _apply_torch_ops(logits2d: Any, mask2d: Any, rows: Any) -> None:
    import torch

    vocab = logits2d.shape[1]
    device = logits2d.device
    if rows is not None:
        mask2d = mask2d.index_select(0, rows)
    n_rows, words = mask2d.shape
    shifts = torch.arange(32, device=device, dtype=torch.int32)
    bits = torch.bitwise_and(torch.bitwise_right_shift(mask2d.unsqueeze(-1), shifts), 1)
    allowed = bits.reshape(n_rows, words * 32).to(torch.bool)
    if words * 32 >= vocab:
        allowed = allowed[:, :vocab]
    else:
        pad = torch.zeros((n_rows, vocab - words * 32), dtype=torch.bool, device=device)
        allowed = torch.cat([allowed, pad], dim=1)
    if rows is None:
        logits2d.masked_fill_(~allowed, float("-inf"))
    else:
        sub = logits2d.index_select(0, rows)
        sub.masked_fill_(~allowed, float("-inf"))
        logits2d.index_copy_(0, rows, sub)


def _is_torch_tensor(x: object) -> bool:
    # Checked by module name so that numpy-only callers never import torch.
    return type(x).__module__.startswith("torch") and hasattr(x, "device")


def _check_mask_dtype(dtype: Any, expected: str) -> None:
    if str(dtype) != expected:
        raise TypeError(
            f"expected an {expected} bitmask, got dtype {dtype}; "
            "allocate one with allocate_token_bitmask()"
        )


def _to_numpy(bitmask: Any) -> npt.NDArray[np.int32]:
    if isinstance(bitmask, np.ndarray):
        _check_mask_dtype(bitmask.dtype, "int32")
        return bitmask
    if _is_torch_tensor(bitmask):
        _check_mask_dtype(str(bitmask.dtype).removeprefix("torch."), "int32")
        out: npt.NDArray[np.int32] = bitmask.detach().cpu().numpy()
        return out
    raise TypeError(
        f"expected the bitmask as a numpy array or torch tensor, got {type(bitmask).__name__}"
    )


def _as_batch(logits: Any, mask: Any, indices: object) -> tuple[Any, Any]:
    """Views of logits and mask as 2-D ``(batch, ·)``, after checking that their shapes agree."""
    if logits.ndim == 1:
        if indices is not None:
            raise ValueError("indices given for 1-D logits; pass indices=None or 2-D logits")
        if mask.ndim == 2 and mask.shape[0] == 1:
            mask = mask[0]
        if mask.ndim != 1:
            raise ValueError(
                f"expected a (words,) or (1, words) bitmask for 1-D logits, "
                f"got shape {tuple(mask.shape)}"
            )
        return logits.reshape(1, -1), mask.reshape(1, -1)
    if logits.ndim != 2:
        raise ValueError(
            f"expected logits of shape (vocab,) or (batch, vocab), got {tuple(logits.shape)}"
        )
    if mask.ndim != 2:
        raise ValueError(
            f"expected a (batch, words) bitmask for 2-D logits, got shape {tuple(mask.shape)}"
        )
    if indices is None and mask.shape[0] != logits.shape[0]:
        raise ValueError(
            f"bitmask has {mask.shape[0]} rows but logits have {logits.shape[0]}; "
            "pass indices= to mask only some rows"
        )
    return logits, mask


def _rows(indices: object, n_logits: int, n_mask: int) -> npt.NDArray[np.int64]:
    if indices is None:
        return np.arange(n_logits, dtype=np.int64)
    if _is_torch_tensor(indices):
        indices = indices.detach().cpu().numpy()  # type: ignore[attr-defined]
    rows = np.asarray(indices, dtype=np.int64).reshape(-1)
    limit = min(n_logits, n_mask)
    bad = rows[(rows < 0) | (rows >= limit)]
    if bad.size:
        raise ValueError(
            f"index {int(bad[0])} out of range: logits have {n_logits} rows, the bitmask {n_mask}"
        )
    return rows


def _unpack_numpy(mask2d: npt.NDArray[np.int32], vocab: int) -> npt.NDArray[np.bool_]:
    bits = np.unpackbits(
        np.ascontiguousarray(mask2d).view(np.uint8), axis=-1, bitorder="little"
    ).astype(bool)
    if bits.shape[1] >= vocab:
        out: npt.NDArray[np.bool_] = bits[:, :vocab]
        return out
    pad = np.zeros((bits.shape[0], vocab - bits.shape[1]), dtype=bool)
    return np.concatenate([bits, pad], axis=1)


@functools.cache
def _numba_kernel() -> Callable[..., None]:
    import numba

    @numba.njit(nogil=True, cache=True)
    def apply_rows(logits, bitmask, rows):
        vocab = logits.shape[1]
        words = bitmask.shape[1]
        covered = min(vocab, words * 32)
        ninf = -np.inf
        for r in rows:
            for w in range((covered + 31) // 32):
                word = bitmask[r, w]
                if word == -1:
                    continue
                base = w * 32
                end = min(base + 32, covered)
                for i in range(base, end):
                    if (word >> (i - base)) & 1 == 0:
                        logits[r, i] = ninf
            for i in range(covered, vocab):
                logits[r, i] = ninf

    return apply_rows
