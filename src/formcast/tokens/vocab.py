"""TokenizerInfo: the exact bytes of every token id, from HF tokenizers, GGUF files or lists.

Three token-string schemes are decoded to bytes:

* byte-level BPE (GPT-2, SmolLM2, tekken through transformers): each character stands for one
  byte through GPT-2's ``bytes_to_unicode`` map (``Ġ`` is a space);
* sentencepiece: ``▁`` is a space and ``<0xNN>`` pieces are raw bytes (byte fallback);
* tiktoken-style objects exposing ``decode_single_token_bytes``, which give bytes directly.

Anything else is probed token by token through the tokenizer's own ``decode``. Every
tokenizer-derived table is checked against the tokenizer's ``decode`` before it is returned.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formcast.errors import TokenizerError
from formcast.tokens.gguf import read_gguf_metadata
from formcast.tokens.trie import TokenTrie

__all__ = ["TokenizerInfo"]

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
_SP_SPACE = "\u2581"  # ▁
_REPLACEMENT = "\ufffd"

# GGUF token types (llama.cpp's llama_token_type).
_GGUF_NORMAL, _GGUF_UNKNOWN, _GGUF_CONTROL, _GGUF_USER, _GGUF_UNUSED, _GGUF_BYTE = range(1, 7)
_GGUF_SPECIAL_TYPES = frozenset({_GGUF_UNKNOWN, _GGUF_CONTROL, _GGUF_UNUSED})


def _gpt2_bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from each byte to a printable character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


_BYTE_ENCODER = _gpt2_bytes_to_unicode()
# str.translate table from byte-level characters to latin-1 characters (one per byte). Latin-1
# characters outside the alphabet map to U+FFFF so that encoding fails, as the HF ByteLevel
# decoder then falls back to the token's UTF-8 for the whole token.
_BYTE_LEVEL_TABLE: dict[int, int] = {o: 0xFFFF for o in range(256)}
_BYTE_LEVEL_TABLE.update({ord(ch): b for b, ch in _BYTE_ENCODER.items()})


def _byte_level_bytes(token: str) -> bytes:
    """Bytes of a GPT-2 byte-level token string."""
    try:
        return token.translate(_BYTE_LEVEL_TABLE).encode("latin-1")
    except UnicodeEncodeError:
        return token.encode("utf-8")


def _sentencepiece_bytes(piece: str, byte_fallback: bool) -> bytes:
    """Bytes of a sentencepiece piece: ``▁`` is a space, ``<0xNN>`` one raw byte."""
    if byte_fallback:
        match = _BYTE_PIECE.fullmatch(piece)
        if match:
            return bytes([int(match.group(1), 16)])
    return piece.replace(_SP_SPACE, " ").encode("utf-8")


@dataclass(frozen=True, eq=False)
class TokenizerInfo:
    """Exact bytes of every token id of a tokenizer, and which ids are special.

    Attributes
    ----------
    token_bytes : tuple of bytes
        Bytes each token id contributes to decoded text; special tokens keep their text.
    special_ids : frozenset of int
        Ids never allowed inside text (control tokens, EOS included).
    eos_ids : tuple of int
        Ids that end generation.
    vocab_size : int
        Width of the model's logits; ids ``>= len(token_bytes)`` are never allowed.
    """

    token_bytes: tuple[bytes, ...] = field(repr=False)
    special_ids: frozenset[int] = field(repr=False)
    eos_ids: tuple[int, ...]
    vocab_size: int
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        token_bytes = tuple(self.token_bytes)
        for i, b in enumerate(token_bytes):
            if not isinstance(b, bytes):
                raise TokenizerError(
                    f"token_bytes[{i}] is {type(b).__name__}, expected bytes; "
                    "encode token strings to their exact bytes first"
                )
        n = len(token_bytes)
        eos_ids = tuple(int(i) for i in self.eos_ids)
        special_ids = frozenset(int(i) for i in self.special_ids) | frozenset(eos_ids)
        if self.vocab_size < n:
            raise TokenizerError(
                f"vocab_size={self.vocab_size} is smaller than the {n} token ids the "
                "tokenizer defines; pass the model's logits width (config.vocab_size)"
            )
        if not eos_ids:
            raise TokenizerError("no EOS token id given; pass eos_ids=[...]")
        for name, ids in (("eos_ids", eos_ids), ("special_ids", special_ids)):
            bad = sorted(i for i in ids if not 0 <= i < n)
            if bad:
                raise TokenizerError(
                    f"{name} contains {bad[:5]}, outside the {n} token ids of the vocabulary"
                )
        object.__setattr__(self, "token_bytes", token_bytes)
        object.__setattr__(self, "eos_ids", eos_ids)
        object.__setattr__(self, "special_ids", special_ids)

    def __repr__(self) -> str:
        return (
            f"TokenizerInfo(num_tokens={len(self.token_bytes)}, vocab_size={self.vocab_size}, "
            f"special={len(self.special_ids)}, eos_ids={self.eos_ids})"
        )

    @property
    def num_tokens(self) -> int:
        """Number of token ids the tokenizer defines (``len(token_bytes)``)."""
        return len(self.token_bytes)

    @property
    def trie(self) -> TokenTrie:
        """Byte trie of the non-special tokens, built on first use and kept."""
        trie = self._cache.get("trie")
        if trie is None:
            trie = TokenTrie.build(self.token_bytes, exclude=self.special_ids)
            self._cache["trie"] = trie
        return trie

    def fingerprint(self) -> str:
        """Return a sha256 hex digest of the whole table, usable as a cache key."""
        digest = self._cache.get("fingerprint")
        if digest is None:
            h = hashlib.sha256(b"formcast.TokenizerInfo.v1\0")
            h.update(f"{self.vocab_size},{len(self.token_bytes)}\0".encode())
            lengths = np.fromiter(
                (len(b) for b in self.token_bytes), dtype="<u4", count=len(self.token_bytes)
            )
            h.update(lengths.tobytes())
            h.update(b"".join(self.token_bytes))
            h.update(np.asarray(sorted(self.special_ids), dtype="<i8").tobytes())
            h.update(b"\0")
            h.update(np.asarray(self.eos_ids, dtype="<i8").tobytes())
            digest = h.hexdigest()
            self._cache["fingerprint"] = digest
        return digest

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> bytes:
        """Concatenate the bytes of ``ids``, leaving out special ids unless told otherwise.

        Raises
        ------
        TokenizerError
            If an id is outside the vocabulary.
        """
        out = []
        n = len(self.token_bytes)
        for i in ids:
            if not 0 <= i < n:
                raise TokenizerError(f"token id {i} is outside the vocabulary of {n} ids")
            if skip_special and i in self.special_ids:
                continue
            out.append(self.token_bytes[i])
        return b"".join(out)

    # ----------------------------------------------------------------------------- builders

    @classmethod
    def from_vocab(
        cls,
        token_bytes: Sequence[bytes],
        *,
        eos_ids: int | Sequence[int],
        special_ids: Iterable[int] = (),
        vocab_size: int | None = None,
    ) -> TokenizerInfo:
        """Build from a list of token bytes indexed by token id.

        Parameters
        ----------
        token_bytes
            Exact bytes of each token id.
        eos_ids
            Id or ids that end generation (added to the special ids).
        special_ids
            Ids never allowed inside text.
        vocab_size
            Logits width; defaults to ``len(token_bytes)``.

        Raises
        ------
        TokenizerError
            If an entry is not bytes, an id is out of range or ``vocab_size`` is too small.
        """
        eos = (eos_ids,) if isinstance(eos_ids, int) else tuple(eos_ids)
        return cls(
            token_bytes=tuple(token_bytes),
            special_ids=frozenset(special_ids),
            eos_ids=eos,
            vocab_size=len(token_bytes) if vocab_size is None else vocab_size,
        )

    @classmethod
    def from_huggingface(
        cls,
        tokenizer: Any,
        *,
        vocab_size: int | None = None,
        generation_config: Any = None,
        eos_ids: Sequence[int] | None = None,
    ) -> TokenizerInfo:
        """Build from a transformers tokenizer (fast or slow) or a tiktoken-style tokenizer.

        The token-string scheme (byte-level BPE, sentencepiece, direct bytes) is read from the
        tokenizer's decoder, and the result is checked against ``tokenizer.decode``.

        Parameters
        ----------
        tokenizer
            A ``transformers`` tokenizer.
        vocab_size
            Model logits width (``model.config.vocab_size``); defaults to the larger of
            ``len(tokenizer)`` and ``tokenizer.vocab_size``.
        generation_config
            Optional ``GenerationConfig`` whose ``eos_token_id`` (int or list) adds EOS ids.
        eos_ids
            Explicit EOS ids, replacing those read from the tokenizer.

        Raises
        ------
        TokenizerError
            If the scheme is unknown, tokens cannot be turned into exact bytes, no EOS id is
            defined, or the table disagrees with ``tokenizer.decode``.
        """
        id_to_token = _hf_id_to_token(tokenizer)
        n = len(id_to_token)
        added = getattr(tokenizer, "added_tokens_decoder", None) or {}
        special = {int(i) for i in getattr(tokenizer, "all_special_ids", ()) if 0 <= i < n}
        special |= {int(i) for i, t in added.items() if getattr(t, "special", False)}

        scheme, byte_fallback = _detect_scheme(tokenizer, id_to_token)
        token_bytes: list[bytes]
        if scheme == "bytes":
            token_bytes = _direct_token_bytes(tokenizer, n)
        elif scheme == "byte_level":
            token_bytes = [b"" if t is None else _byte_level_bytes(t) for t in id_to_token]
        elif scheme == "sentencepiece":
            token_bytes = [
                b"" if t is None else _sentencepiece_bytes(t, byte_fallback) for t in id_to_token
            ]
        else:
            token_bytes = _probe_token_bytes(tokenizer, id_to_token)
        for i in special:  # special tokens keep their text, whatever the scheme
            tok = id_to_token[i]
            if tok is not None:
                token_bytes[i] = tok.encode("utf-8")

        if eos_ids is None:
            eos: list[int] = []
            for source in (
                getattr(tokenizer, "eos_token_id", None),
                getattr(generation_config, "eos_token_id", None),
            ):
                for i in [source] if isinstance(source, int) else (source or ()):
                    if int(i) not in eos:
                        eos.append(int(i))
            if not eos:
                raise TokenizerError(
                    f"{type(tokenizer).__name__} defines no eos_token_id; pass eos_ids=[...] "
                    "or a generation_config with eos_token_id"
                )
        else:
            eos = [int(i) for i in eos_ids]
        width = vocab_size
        if width is None:
            width = max(n, int(getattr(tokenizer, "vocab_size", 0) or 0))
        info = cls(
            token_bytes=tuple(token_bytes),
            special_ids=frozenset(special),
            eos_ids=tuple(eos),
            vocab_size=width,
        )
        _check_against_decode(info, tokenizer, scheme)
        return info

    @classmethod
    def from_gguf(cls, path: str | os.PathLike[str]) -> TokenizerInfo:
        """Build from the tokenizer metadata of a GGUF file, without transformers.

        Supports ``tokenizer.ggml.model`` ``"gpt2"`` (byte-level BPE) and ``"llama"``
        (sentencepiece with byte tokens). Unknown, control and unused tokens are special;
        EOS ids come from ``tokenizer.ggml.eos_token_id`` (and ``eot``/``eom`` if present).

        Raises
        ------
        TokenizerError
            If the file is not a readable GGUF v2/v3 file, has no tokenizer, or its tokenizer
            model is unsupported.
        """
        meta = read_gguf_metadata(os.fspath(path))
        tokens = meta.get("tokenizer.ggml.tokens")
        model = meta.get("tokenizer.ggml.model")
        if not isinstance(tokens, list) or not isinstance(model, str):
            raise TokenizerError(
                f"GGUF file {os.fspath(path)!r} has no tokenizer.ggml.tokens/model metadata"
            )
        types = meta.get("tokenizer.ggml.token_type") or [_GGUF_NORMAL] * len(tokens)
        special = {i for i, t in enumerate(types) if t in _GGUF_SPECIAL_TYPES}
        if model == "gpt2":
            token_bytes = [_byte_level_bytes(t) for t in tokens]
        elif model == "llama":
            token_bytes = [
                _sentencepiece_bytes(t, byte_fallback=ty == _GGUF_BYTE)
                for t, ty in zip(tokens, types, strict=True)
            ]
        else:
            raise TokenizerError(
                f"GGUF tokenizer model {model!r} is not supported (only 'gpt2' and 'llama'); "
                "load the tokenizer with transformers and use TokenizerInfo.from_huggingface"
            )
        for i in special:
            token_bytes[i] = tokens[i].encode("utf-8")
        eos = []
        for key in ("eos_token_id", "eot_token_id", "eom_token_id"):
            value = meta.get(f"tokenizer.ggml.{key}")
            if value is not None and value not in eos:
                eos.append(int(value))
        width = meta.get(f"{meta.get('general.architecture')}.vocab_size")
        return cls(
            token_bytes=tuple(token_bytes),
            special_ids=frozenset(special),
            eos_ids=tuple(eos),
            vocab_size=int(width) if width else len(token_bytes),
        )


# ------------------------------------------------------------------------ GGUF metadata


# GGUF value type -> struct format of one scalar (8 = string, 9 = array).
def _hf_id_to_token(tokenizer: Any) -> list[str | None]:
    """Token string of every id (``None`` for ids the tokenizer leaves unassigned)."""
    get_vocab = getattr(tokenizer, "get_vocab", None)
    if get_vocab is None:
        raise TokenizerError(
            f"{type(tokenizer).__name__} has no get_vocab(); expected a transformers tokenizer, "
            "or build with TokenizerInfo.from_vocab(token_bytes, eos_ids=...)"
        )
    vocab: dict[str, int] = dict(get_vocab())
    for i, tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        vocab.setdefault(str(tok), int(i))
    if not vocab:
        raise TokenizerError(f"{type(tokenizer).__name__} has an empty vocabulary")
    n = max(vocab.values()) + 1
    out: list[str | None] = [None] * n
    for tok, i in vocab.items():
        out[i] = tok
    return out


def _decoder_types(tokenizer: Any) -> list[str]:
    """Types of the fast tokenizer's decoder (flattening ``Sequence``), or [] if none."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    if decoder is None:
        return []
    try:
        state = json.loads(decoder.__getstate__())
    except (AttributeError, TypeError, ValueError):
        return [type(decoder).__name__]
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        found.append(str(node.get("type")))
        for child in node.get("decoders") or ():
            walk(child)
        if node.get("type") == "Replace" and node.get("pattern", {}).get("String") == _SP_SPACE:
            found.append("ReplaceMetaspace")

    walk(state)
    return found


def _detect_scheme(tokenizer: Any, id_to_token: list[str | None]) -> tuple[str, bool]:
    """Return (scheme, byte_fallback) with scheme in bytes/byte_level/sentencepiece/probe."""
    if callable(getattr(tokenizer, "decode_single_token_bytes", None)) or callable(
        getattr(getattr(tokenizer, "tokenizer", None), "decode_single_token_bytes", None)
    ):
        return "bytes", False
    types = _decoder_types(tokenizer)
    if "ByteLevel" in types:
        return "byte_level", False
    if "Metaspace" in types or "ReplaceMetaspace" in types:
        return "sentencepiece", "ByteFallback" in types
    if types:
        return "probe", False
    # Slow tokenizers: GPT2Tokenizer keeps byte_decoder, sentencepiece ones an sp_model.
    if getattr(tokenizer, "byte_decoder", None) is not None:
        return "byte_level", False
    if getattr(tokenizer, "sp_model", None) is not None:
        return "sentencepiece", True
    # No decoder information: infer from the vocabulary itself.
    sample = [t for t in id_to_token if t]
    if any(t.startswith(_SP_SPACE) for t in sample) and any(
        _BYTE_PIECE.fullmatch(t) for t in sample
    ):
        return "sentencepiece", True
    alphabet = set(_BYTE_ENCODER.values())
    if any("\u0120" in t for t in sample) and sum(set(t) <= alphabet for t in sample) > 0.99 * len(
        sample
    ):
        return "byte_level", False
    return "probe", False


def _direct_token_bytes(tokenizer: Any, n: int) -> list[bytes]:
    """Bytes from a tiktoken-style ``decode_single_token_bytes`` (special ids patched later)."""
    fn = getattr(tokenizer, "decode_single_token_bytes", None)
    if not callable(fn):
        fn = tokenizer.tokenizer.decode_single_token_bytes
    out: list[bytes] = []
    for i in range(n):
        try:
            out.append(bytes(fn(i)))
        except (KeyError, ValueError, IndexError):
            out.append(b"")
    return out


def _probe_token_bytes(tokenizer: Any, id_to_token: list[str | None]) -> list[bytes]:
    """Bytes by decoding each token alone; refuses tokens that are not whole characters."""
    out: list[bytes] = []
    broken: list[int] = []
    for i, tok in enumerate(id_to_token):
        if tok is None:
            out.append(b"")
            continue
        text = tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if _REPLACEMENT in text and _REPLACEMENT not in tok:
            broken.append(i)
        out.append(text.encode("utf-8"))
    if broken:
        raise TokenizerError(
            f"cannot recover exact bytes for {len(broken)} tokens of {type(tokenizer).__name__} "
            f"(e.g. ids {broken[:5]}): its decoder is neither byte-level nor sentencepiece; "
            "build the table yourself with TokenizerInfo.from_vocab(token_bytes, eos_ids=...)"
        )
    return out


def _check_against_decode(info: TokenizerInfo, tokenizer: Any, scheme: str) -> None:
    """Compare the table with ``tokenizer.decode`` on a fixed sample of token sequences.

    Only tokens that are valid UTF-8 on their own take part, so that replacement characters
    (which decoders place differently) cannot blur the comparison; a leading space that the
    decoder strips (sentencepiece) is tolerated.
    """
    candidates = [
        i for i, b in enumerate(info.token_bytes) if b and i not in info.special_ids and _is_utf8(b)
    ]
    if not candidates:
        return
    rng = np.random.default_rng(0)
    picks = rng.choice(len(candidates), size=min(256, len(candidates)), replace=False)
    sample = [candidates[k] for k in picks.tolist()]
    for start in range(0, len(sample), 16):
        ids = sample[start : start + 16]
        expected = info.decode(ids).decode("utf-8")
        got = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        if got == expected or (expected.startswith(" ") and got == expected[1:]):
            continue
        raise TokenizerError(
            f"token bytes read as {scheme!r} disagree with {type(tokenizer).__name__}.decode "
            f"on ids {ids}: expected {expected!r}, decode gave {got!r}; "
            "build the table yourself with TokenizerInfo.from_vocab(token_bytes, eos_ids=...)"
        )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
