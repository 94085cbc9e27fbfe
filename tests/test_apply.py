"""Bitmask kernels: every backend against a one-line numpy reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formcast.kernels import apply as apply_module
from formcast.kernels.apply import (
    apply_token_bitmask_inplace,
    apply_token_bitmask_inplace_numba,
    apply_token_bitmask_inplace_torch,
    apply_token_bitmask_inplace_triton,
)
from formcast.kernels.bitmask import allocate_token_bitmask, bitmask_words, reset_token_bitmask

try:
    import torch
except ImportError:  # the numpy backend is tested without the hf extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")
needs_cuda = pytest.mark.skipif(
    torch is None or not torch.cuda.is_available(), reason="needs a CUDA device"
)


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


@needs_cuda
def test_torch_cuda_matches_reference():
    _torch_cases("cuda")()


def _triton_cases(device: str):
    """The Triton backend against the reference; on CUDA also the dispatcher (Triton there)."""

    @settings(max_examples=100, deadline=None)
    @given(
        cases(batch=False) | cases(batch=True),
        st.sampled_from(["float32", "float16", "bfloat16"]),
        st.booleans(),
        st.sampled_from(["list", "tensor", "strided"]),
    )
    def check(case, dtype, mask_as_tensor, layout):
        logits, bitmask, rows = case
        t = torch.from_numpy(logits).to(device=device, dtype=getattr(torch, dtype))
        if layout == "strided" and t.ndim == 2:  # rows 2 apart in a bigger buffer
            base = torch.zeros((2 * t.shape[0], t.shape[1] + 3), device=device, dtype=t.dtype)
            base[::2, : t.shape[1]] = t
            t = base[::2, : t.shape[1]]
        expected = reference_apply(t.float().cpu().numpy(), bitmask, rows)
        mask = torch.from_numpy(bitmask).to(device) if mask_as_tensor else bitmask
        if layout == "tensor" and rows is not None:
            rows = torch.tensor(rows, dtype=torch.int64, device=device)
        apply_token_bitmask_inplace_triton(t, mask, rows)
        np.testing.assert_array_equal(t.float().cpu().numpy(), expected)
        if device != "cpu":
            t2 = torch.from_numpy(logits).to(device=device, dtype=getattr(torch, dtype))
            apply_token_bitmask_inplace(t2, mask, rows)
            np.testing.assert_array_equal(t2.float().cpu().numpy(), expected)

    return check


def _triton_fixed_cases(device: str) -> None:
    """Several vocabulary blocks, 1-D logits with a (1, words) mask, and the fallbacks."""
    rng = np.random.default_rng(0)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for vocab, words, batch, rows in (
            (9000, 282, 3, None),  # mask exactly covers the vocabulary
            (9000, 280, 3, [2, 0]),  # logits wider than the mask
            (9000, 300, 3, [1]),  # mask wider than the logits
            (4096 * 2 + 1, 257, 2, None),
        ):
            bitmask = rng.integers(-(2**31), 2**31, (batch, words), dtype=np.int64)
            bitmask = bitmask.astype(np.int32)
            bitmask[:, ::7] = -1
            bitmask[:, ::5] = 0
            logits = rng.normal(size=(batch, vocab)).astype(np.float32)
            t = torch.from_numpy(logits).to(device=device, dtype=dtype)
            expected = reference_apply(t.float().cpu().numpy(), bitmask, rows)
            apply_token_bitmask_inplace_triton(t, torch.from_numpy(bitmask).to(device), rows)
            np.testing.assert_array_equal(t.float().cpu().numpy(), expected)
    one_d = torch.zeros(70, device=device)
    apply_token_bitmask_inplace_triton(one_d, np.array([[1, 0, 1 << 5]], np.int32))
    assert torch.isfinite(one_d).nonzero().flatten().tolist() == [0, 69]
    # A non-contiguous last dimension and float64 take the torch ops.
    base = torch.zeros(2, 80, device=device)
    view = base[:, ::2]
    bitmask = np.array([[1, 0], [0, 1 << 7]], np.int32)
    expected = reference_apply(view.cpu().numpy(), bitmask)
    apply_token_bitmask_inplace_triton(view, bitmask)
    np.testing.assert_array_equal(view.cpu().numpy(), expected)
    assert torch.isfinite(base[:, 1::2]).all()
    f64 = torch.zeros(2, 40, dtype=torch.float64, device=device)
    apply_token_bitmask_inplace_triton(f64, bitmask)
    assert torch.isfinite(f64).sum().item() == 1 + 1
    with pytest.raises(ValueError, match="out of range"):
        apply_token_bitmask_inplace_triton(f64, bitmask, indices=[2])


# Runs in a fresh interpreter: TRITON_INTERPRET must be set before triton is first imported.
_INTERPRETER_SCRIPT = """
import conftest  # the same hypothesis profile as the pytest run
import test_apply

test_apply._triton_cases("cpu")()
test_apply._triton_fixed_cases("cpu")
print("ok")
"""


@needs_torch
def test_triton_interpreter_matches_reference():
    pytest.importorskip("triton", reason="needs triton (its CPU interpreter runs this test)")
    tests = Path(__file__).parent
    env = dict(os.environ, TRITON_INTERPRET="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tests), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_INTERPRETER_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tests.parent,
        env=env,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr


@needs_torch
def test_triton_refuses_cpu_tensors_when_compiled():
    pytest.importorskip("triton", reason="needs triton")
    if os.environ.get("TRITON_INTERPRET"):
        pytest.skip("TRITON_INTERPRET is set: the interpreter runs on CPU tensors")
    with pytest.raises(ValueError, match="expected logits on a GPU"):
        apply_token_bitmask_inplace_triton(torch.zeros(2, 40), np.zeros((2, 2), np.int32))


@needs_cuda
def test_triton_cuda_matches_reference():
    pytest.importorskip("triton", reason="needs triton")
    _triton_cases("cuda")()
    _triton_fixed_cases("cuda")


def test_backend_env_var(monkeypatch):
    monkeypatch.setenv("FORMCAST_APPLY_BACKEND", "torch")
    assert apply_module._torch_backend() == "torch"
    monkeypatch.setenv("FORMCAST_APPLY_BACKEND", "Triton")
    assert apply_module._torch_backend() == "triton"
    monkeypatch.setenv("FORMCAST_APPLY_BACKEND", "auto")
    assert apply_module._torch_backend() == (
        "triton" if apply_module._triton_available() else "torch"
    )
    monkeypatch.setenv("FORMCAST_APPLY_BACKEND", "cuda")
    with pytest.raises(ValueError, match="FORMCAST_APPLY_BACKEND"):
        apply_module._torch_backend()


def test_import_costs_only_numpy():
    code = (
        "import json, sys; import formcast.kernels.apply; "
        "print(json.dumps(sorted(m for m in ('numba', 'torch', 'triton') if m in sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(proc.stdout) == []


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
