"""Bitmask kernels: every backend against a one-line numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formcast.kernels.apply import (
    apply_token_bitmask_inplace,
    apply_token_bitmask_inplace_numba,
    apply_token_bitmask_inplace_torch,
)
from formcast.kernels.bitmask import allocate_token_bitmask, bitmask_words, reset_token_bitmask

try:
    import torch
except ImportError:  # the numpy backend is tested without the hf extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")


def reference_allowed(bitmask: np.ndarray, vocab: int) -> np.ndarray:
    """Bit i of word i//32 (little-endian) set = allowed; tokens past the mask are disallowed."""
    bits = np.unpackbits(np.ascontiguousarray(bitmask).view(np.uint8), -1, bitorder="little")
    return np.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, max(0, vocab - bits.shape[-1]))])[
        ..., :vocab
    ].astype(bool)


def reference_apply(logits: np.ndarray, bitmask: np.ndarray, rows=None) -> np.ndarray:
    out = logits.copy()
    allowed = reference_allowed(bitmask, logits.shape[-1])
    if rows is None:
        out[~allowed] = -np.inf
    else:
        for r in rows:
            out[r][~allowed[r]] = -np.inf
    return out


@st.composite
def cases(draw, batch: bool):
    """Logits and a bitmask whose word count may fall short of or exceed the vocabulary."""
    vocab = draw(st.integers(1, 200))
    words = draw(
        st.sampled_from(
            [bitmask_words(vocab), max(1, bitmask_words(vocab) - 1), bitmask_words(vocab) + 1]
        )
    )
    n = draw(st.integers(1, 4)) if batch else None
    shape_m = (n, words) if batch else (words,)
    shape_l = (n, vocab) if batch else (vocab,)
    word = st.one_of(st.just(-1), st.just(0), st.integers(-(2**31), 2**31 - 1))
    bitmask = draw(arrays(np.int32, shape_m, elements=word))
    logits = draw(arrays(np.float32, shape_l, elements=st.floats(-10, 10, width=32)))
    rows = None
    if batch and draw(st.booleans()):
        rows = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    return logits, bitmask, rows


def test_allocate_and_reset():
    bm = allocate_token_bitmask(3, 65)
    assert bm.shape == (3, 3) and bm.dtype == np.int32 and (bm == -1).all()
    bm[1] = 0
    reset_token_bitmask(bm, index=1)
    assert (bm == -1).all()
    bm[:] = 0
    reset_token_bitmask(bm)
    assert (bm == -1).all()
    with pytest.raises(ValueError, match="batch_size"):
        allocate_token_bitmask(0, 10)
    with pytest.raises(TypeError, match="int32"):
        reset_token_bitmask(np.zeros(3, np.int64))


def test_doc_example_bit_order():
    logits = np.zeros(40, dtype=np.float32)
    apply_token_bitmask_inplace(logits, np.array([[0b101, 1 << 3]], dtype=np.int32))
    assert np.flatnonzero(np.isfinite(logits)).tolist() == [0, 2, 35]


@settings(max_examples=200, deadline=None)
@given(cases(batch=False) | cases(batch=True))
@example((np.zeros(33, np.float32), np.array([-1], np.int32), None))  # logits wider than mask
@example((np.zeros((1, 5), np.float32), np.array([[-1, -1]], np.int32), [0]))
def test_numba_matches_reference(case):
    logits, bitmask, rows = case
    expected = reference_apply(logits, bitmask, rows)
    apply_token_bitmask_inplace_numba(logits, bitmask, rows)
    np.testing.assert_array_equal(logits, expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_numpy_other_dtypes(dtype):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 100)).astype(dtype)
    bitmask = rng.integers(-(2**31), 2**31, size=(3, 3), dtype=np.int64).astype(np.int32)
    expected = reference_apply(logits, bitmask, [0, 2])
    apply_token_bitmask_inplace(logits, bitmask, indices=[0, 2])
    np.testing.assert_array_equal(logits, expected)


def test_numba_non_contiguous_logits():
    base = np.zeros((2, 80), np.float32)
    view = base[:, ::2]
    bitmask = np.array([[1, 0], [0, 1 << 7]], np.int32)
    expected = reference_apply(view.copy(), bitmask)
    apply_token_bitmask_inplace(view, bitmask)
    np.testing.assert_array_equal(view, expected)
    assert np.isfinite(base[:, 1::2]).all()


def _torch_cases(device: str):
    @settings(max_examples=100, deadline=None)
    @given(
        cases(batch=False) | cases(batch=True),
        st.sampled_from(["float32", "bfloat16"]),
        st.booleans(),
    )
    def check(case, dtype, mask_as_tensor):
        logits, bitmask, rows = case
        t = torch.from_numpy(logits).to(device=device, dtype=getattr(torch, dtype))
        expected = reference_apply(t.float().cpu().numpy(), bitmask, rows)
        mask = torch.from_numpy(bitmask).to(device) if mask_as_tensor else bitmask
        apply_token_bitmask_inplace_torch(t, mask, rows)
        np.testing.assert_array_equal(t.float().cpu().numpy(), expected)
        # and the dispatcher (numba on CPU float32, torch ops otherwise)
        t2 = torch.from_numpy(logits).to(device=device, dtype=getattr(torch, dtype))
        apply_token_bitmask_inplace(t2, mask, rows)
        np.testing.assert_array_equal(t2.float().cpu().numpy(), expected)

    return check


@needs_torch
def test_torch_cpu_matches_reference():
    _torch_cases("cpu")()


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_cuda_matches_reference():
    _torch_cases("cuda")()


@needs_torch
def test_reset_torch_bitmask():
    bm = torch.zeros(2, 3, dtype=torch.int32)
    reset_token_bitmask(bm, index=0)
    assert bm[0].tolist() == [-1, -1, -1] and bm[1].tolist() == [0, 0, 0]


@needs_torch
def test_torch_cpu_float32_writes_in_place_through_numba():
    t = torch.zeros(2, 64)
    bitmask = np.array([[1, 0], [0, -1]], np.int32)
    apply_token_bitmask_inplace(t, bitmask)
    assert torch.isfinite(t).sum().item() == 1 + 32


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="rows"):
        apply_token_bitmask_inplace(np.zeros((2, 10), np.float32), np.zeros((3, 1), np.int32))
    with pytest.raises(ValueError, match="out of range"):
        apply_token_bitmask_inplace(
            np.zeros((2, 10), np.float32), np.zeros((2, 1), np.int32), indices=[2]
        )
    with pytest.raises(TypeError, match="int32"):
        apply_token_bitmask_inplace(np.zeros(10, np.float32), np.zeros(1, np.int64))
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        apply_token_bitmask_inplace([0.0] * 10, np.zeros(1, np.int32))
