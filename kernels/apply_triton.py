"""Triton kernel of :func:`formcast.kernels.apply.apply_token_bitmask_inplace_triton`.

One launch per call, over a grid of (row to mask, block of ``BLOCK`` tokens). Each program
loads the ``BLOCK // 32`` mask words of its block (words past the mask's width load as 0, so the
tokens they would cover are disallowed), expands them to one bit per token and stores ``-inf``
where the bit is 0, for tokens below the logits' width.

Inputs are checked by the caller (:mod:`formcast.kernels.apply`); importing this module imports
torch and triton, and with ``TRITON_INTERPRET=1`` set beforehand the kernel runs in Triton's
interpreter, on CPU tensors too (how the tests run it without a GPU).
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

__all__ = ["TRITON_DTYPES", "apply_rows"]

TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# Tokens per program: 128 mask words. Small vocabularies waste a masked block; a (16, 49152)
# batch is 192 programs, enough to spread over a GPU's SMs.
BLOCK = 4096


@triton.jit
def _apply_kernel(
    logits_ptr,
    mask_ptr,
    rows_ptr,
    vocab,
    words,
    logits_row_stride,
    mask_row_stride,
    HAS_ROWS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    if HAS_ROWS:
        row = tl.load(rows_ptr + tl.program_id(0)).to(tl.int64)
    else:
        row = tl.program_id(0).to(tl.int64)
    start = tl.program_id(1) * BLOCK
    word_ids = start // 32 + tl.arange(0, BLOCK // 32)
    packed = tl.load(mask_ptr + row * mask_row_stride + word_ids, mask=word_ids < words, other=0)
    disallowed = ((packed[:, None] >> tl.arange(0, 32)[None, :]) & 1) == 0
    disallowed = tl.reshape(disallowed, (BLOCK,))
    tokens = start + tl.arange(0, BLOCK)
    tl.store(
        logits_ptr + row * logits_row_stride + tokens,
        float("-inf"),
        mask=disallowed & (tokens < vocab),
    )


def apply_rows(logits2d: Any, mask2d: Any, rows: Any) -> None:
    """Mask ``logits2d[r]`` with ``mask2d[r]`` for ``r`` in ``rows`` (all rows when ``None``).

    ``logits2d`` has a contiguous last dimension and a dtype in :data:`TRITON_DTYPES`;
    ``mask2d`` is int32 on the same device; ``rows`` is an integer tensor there, or ``None``.

    Raises
    ------
    ValueError
        If ``logits2d`` is on the CPU and the kernel is compiled rather than interpreted.
    """
    device = logits2d.device
    if device.type == "cpu" and isinstance(_apply_kernel, triton.runtime.JITFunction):
        raise ValueError(
            "expected logits on a GPU for the Triton backend, got a CPU tensor; use "
            "apply_token_bitmask_inplace (numba on CPU), or set TRITON_INTERPRET=1 before "
            "triton is imported to run Triton's interpreter"
        )
    n_rows = logits2d.shape[0] if rows is None else rows.shape[0]
    vocab = logits2d.shape[1]
    if n_rows == 0 or vocab == 0:
        return
    if mask2d.shape[1] > 1 and mask2d.stride(1) != 1:
        mask2d = mask2d.contiguous()
    grid = (n_rows, triton.cdiv(vocab, BLOCK))
    args = (
        logits2d,
        mask2d,
        rows,
        vocab,
        mask2d.shape[1],
        logits2d.stride(0),
        mask2d.stride(0),
    )
    # No float arithmetic to fuse; saying so also silences Triton 3.9's warning about the default.
    options = {"num_warps": 8, "enable_fp_fusion": False}
    if device.type == "cuda":
        # Triton launches on the current device, which need not be the tensor's.
        with torch.cuda.device(device):
            _apply_kernel[grid](*args, HAS_ROWS=rows is not None, BLOCK=BLOCK, **options)
    else:
        _apply_kernel[grid](*args, HAS_ROWS=rows is not None, BLOCK=BLOCK, **options)
