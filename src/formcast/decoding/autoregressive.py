"""A small constrained decoding loop for Hugging Face causal language models.

:func:`generate` runs the model itself (one forward pass per sampled token, with a KV cache)
and drives a :class:`~formcast.Matcher` directly, which lets it do what a logits processor
cannot: tokens the grammar forces (exactly one allowed) are appended without sampling and fed
to the model together in the next forward pass. :func:`generate_stream` yields the text as it
is produced. :func:`generate` also takes a list of prompts and decodes them as one left-padded
batch, one matcher per row.

torch is imported on first use.
"""

from __future__ import annotations

import codecs
import contextlib
import inspect
import json
import os
import weakref
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from formcast.errors import IncompleteOutputError, MatcherError
from formcast.kernels.apply import apply_token_bitmask_inplace
from formcast.kernels.bitmask import allocate_token_bitmask

if TYPE_CHECKING:
    from formcast.automata.compiled import CompiledGrammar
    from formcast.grammar.ir import Grammar
    from formcast.tokens.vocab import TokenizerInfo

__all__ = ["GenerationResult", "IncompleteOutputError", "generate", "generate_stream"]

Prompt = str | Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate` returns.

    Attributes
    ----------
    text:
        The generated text (without the end-of-sequence token).
    value:
        ``json.loads(text)`` for a JSON Schema, an instance of ``type_`` for a type, ``text``
        otherwise.
    tokens:
        Generated token ids (forced ones included, the final EOS excluded).
    error:
        Only in a batch (a list of prompts): the :class:`IncompleteOutputError` of a row that
        ran out of ``max_tokens`` before its output was complete (``value`` is then None and
        ``text`` the partial output, a valid prefix); None for a complete row. A single
        prompt raises that error instead.
    """

    text: str
    value: Any
    tokens: list[int] = field(default_factory=list)
    error: IncompleteOutputError | None = None


@overload
def generate(
    model: Any,
    tokenizer: Any,
    prompt: str | Sequence[Mapping[str, str]],
    *,
    schema: Mapping[str, Any] | bool | str | None = ...,
    grammar: Grammar | CompiledGrammar | str | None = ...,
    regex: str | None = ...,
    type_: Any = ...,
    max_tokens: int = ...,
    temperature: float = ...,
    seed: int | None = ...,
    chat: bool = ...,
    tokenizer_info: TokenizerInfo | None = ...,
) -> GenerationResult: ...


@overload
def generate(
    model: Any,
    tokenizer: Any,
    prompt: list[str | Sequence[Mapping[str, str]]] | list[str] | list[list[dict[str, str]]],
    *,
    schema: Mapping[str, Any] | bool | str | None = ...,
    grammar: Grammar | CompiledGrammar | str | None = ...,
    regex: str | None = ...,
    type_: Any = ...,
    max_tokens: int = ...,
    temperature: float = ...,
    seed: int | None = ...,
    chat: bool = ...,
    tokenizer_info: TokenizerInfo | None = ...,
) -> list[GenerationResult]: ...


def generate(
    model: Any,
    tokenizer: Any,
    prompt: Prompt | Sequence[Prompt],
    *,
    schema: Mapping[str, Any] | bool | str | None = None,
    grammar: Grammar | CompiledGrammar | str | None = None,
    regex: str | None = None,
    type_: Any = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = None,
    chat: bool = True,
    tokenizer_info: TokenizerInfo | None = None,
) -> GenerationResult | list[GenerationResult]:
    """Generate text that fits a JSON Schema, grammar, regex or type.

    Parameters
    ----------
    model:
        A Hugging Face causal LM (``model(input_ids, past_key_values=...)`` gives ``.logits``).
    tokenizer:
        Its Hugging Face tokenizer.
    prompt:
        The user message (or a list of chat messages ``{"role": ..., "content": ...}``), or
        a list of such prompts: a batch, decoded together (left padding, one matcher per row)
        and returned as a list of results in the same order.
    schema, grammar, regex, type_:
        The constraint; at most one. ``schema``: a JSON Schema (dict, bool or JSON text);
        ``grammar``: a :class:`~formcast.Grammar`, a compiled grammar or Lark text;
        ``regex``: a regular expression the whole output must match; ``type_``: a pydantic
        model class or any type pydantic can describe (``list[int]``...). None: unconstrained.
    max_tokens:
        Most tokens to generate (forced tokens count).
    temperature:
        0 for greedy decoding, otherwise the sampling temperature.
    seed:
        Seed for sampling; same seed, same output.
    chat:
        Apply the tokenizer's chat template (when it has one) to the prompt.
    tokenizer_info:
        A prebuilt :class:`~formcast.TokenizerInfo`; built from ``tokenizer`` (and cached
        per tokenizer) when None.

    Returns
    -------
    GenerationResult or list of GenerationResult
        One result for one prompt; a list, one per prompt, for a batch. In a batch a row that
        runs out of ``max_tokens`` does not raise: its result carries the error in ``error``.

    Raises
    ------
    IncompleteOutputError
        (single prompt only) If ``max_tokens`` is reached before the output is complete.
        Output that could end there (``matcher.can_terminate()``) counts as complete;
        unconstrained output always does.
    ValueError
        If more than one constraint is given, an option is out of range, or the prompt list
        is empty.
    MatcherError
        If the model produced a token the grammar rejects (a bug; should not happen).
    """
    if _is_batch(prompt):
        return _generate_batch(
            model,
            tokenizer,
            list(prompt),  # type: ignore[arg-type]
            schema=schema,
            grammar=grammar,
            regex=regex,
            type_=type_,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            chat=chat,
            tokenizer_info=tokenizer_info,
        )
    stream = generate_stream(
        model,
        tokenizer,
        prompt,  # type: ignore[arg-type]
        schema=schema,
        grammar=grammar,
        regex=regex,
        type_=type_,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        chat=chat,
        tokenizer_info=tokenizer_info,
    )
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            result: GenerationResult = stop.value
            return result


def generate_stream(
    model: Any,
    tokenizer: Any,
    prompt: Prompt,
    *,
    schema: Mapping[str, Any] | bool | str | None = None,
    grammar: Grammar | CompiledGrammar | str | None = None,
    regex: str | None = None,
    type_: Any = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = None,
    chat: bool = True,
    tokenizer_info: TokenizerInfo | None = None,
) -> Generator[str, None, GenerationResult]:
    """Like :func:`generate`, but yield text chunks as they are produced.

    The chunks concatenate to the final text; a multi-byte character split across tokens is
    yielded once complete. The generator's return value (``StopIteration.value``, or the
    result of ``yield from``) is the :class:`GenerationResult`.

    Raises
    ------
    IncompleteOutputError
        After the last chunk, if ``max_tokens`` ran out first.
    ValueError
        As :func:`generate`, and for a list of prompts (stream one prompt at a time).
    """
    # Set-up runs now, so bad arguments raise here rather than at the first next().
    if _is_batch(prompt):
        raise ValueError(
            "generate_stream takes one prompt, got a list of prompts; use generate() for a batch"
        )
    _check_options(max_tokens, temperature)
    tok = tokenizer_info if tokenizer_info is not None else _tokenizer_info(tokenizer)
    compiled, parse = _constraint(tok, schema=schema, grammar=grammar, regex=regex, type_=type_)
    prompt_ids = _prompt_ids(tokenizer, prompt, chat=chat)
    return _decode(model, tok, compiled, parse, prompt_ids, max_tokens, temperature, seed)


def _check_options(max_tokens: int, temperature: float) -> None:
    if max_tokens < 1:
        raise ValueError(f"expected max_tokens >= 1, got {max_tokens}")
    if temperature < 0:
        raise ValueError(f"expected temperature >= 0 (0 = greedy), got {temperature}")


def _is_batch(prompt: Any) -> bool:
    """A list of prompts (strings or message lists), not one prompt or one message list."""
    if isinstance(prompt, str | Mapping) or not isinstance(prompt, Sequence):
        return False
    if not prompt:
        raise ValueError("expected a prompt (a string, chat messages or a list of prompts), got []")
    first = prompt[0]
    return isinstance(first, str) or (
        isinstance(first, Sequence) and not isinstance(first, Mapping)
    )


# -- constraint ------------------------------------------------------------------------------


def _constraint(
    tok: TokenizerInfo, *, schema: Any, grammar: Any, regex: Any, type_: Any
) -> tuple[CompiledGrammar | None, Any]:
    """The compiled grammar (None: unconstrained) and the function that parses the text."""
    import formcast as fc

    given = [
        name
        for name, v in (
            ("schema", schema),
            ("grammar", grammar),
            ("regex", regex),
            ("type_", type_),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"expected at most one of schema/grammar/regex/type_, got {given}")
    parse: Any = _identity
    g: Any
    if schema is not None:
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except json.JSONDecodeError as e:
                raise ValueError(f"schema is a string but not JSON text: {e}") from e
        g = fc.Grammar.from_json_schema(schema)
        parse = json.loads
    elif type_ is not None:
        g, parse = _type_grammar(type_)
    elif regex is not None:
        g = fc.Grammar.from_regex(regex)
    elif grammar is not None:
        if isinstance(grammar, fc.CompiledGrammar):
            return grammar, parse
        g = fc.Grammar.from_lark(grammar) if isinstance(grammar, str) else grammar
    else:
        return None, parse
    return fc.compile(g, tok), parse


def _type_grammar(type_: Any) -> tuple[Grammar, Any]:
    import pydantic

    import formcast as fc

    if isinstance(type_, type) and issubclass(type_, pydantic.BaseModel):
        return fc.Grammar.from_pydantic(type_), type_.model_validate_json
    adapter = pydantic.TypeAdapter(type_)
    return fc.Grammar.from_json_schema(adapter.json_schema()), adapter.validate_json


def _identity(text: str) -> str:
    return text


# -- tokenizer -------------------------------------------------------------------------------

_INFO_CACHE: weakref.WeakKeyDictionary[Any, TokenizerInfo] = weakref.WeakKeyDictionary()


def _tokenizer_info(tokenizer: Any) -> TokenizerInfo:
    from formcast.tokens.vocab import TokenizerInfo

    try:
        return _INFO_CACHE[tokenizer]
    except (KeyError, TypeError):
        pass
    info = TokenizerInfo.from_huggingface(tokenizer)
    with contextlib.suppress(TypeError):  # not weak-referenceable: built each time
        _INFO_CACHE[tokenizer] = info
    return info


def _prompt_ids(tokenizer: Any, prompt: Prompt, *, chat: bool) -> list[int]:
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    elif isinstance(prompt, str):
        ids = tokenizer(prompt)["input_ids"]
    else:
        raise ValueError(
            "prompt is a list of chat messages but the tokenizer has no chat template "
            "(or chat=False); pass the prompt as a string"
        )
    if not ids:
        raise ValueError("the prompt tokenizes to no tokens; give a non-empty prompt")
    return [int(t) for t in ids]


# -- decoding loop ---------------------------------------------------------------------------


def _decode(
    model: Any,
    tok: TokenizerInfo,
    compiled: CompiledGrammar | None,
    parse: Any,
    prompt_ids: list[int],
    max_tokens: int,
    temperature: float,
    seed: int | None,
) -> Generator[str, None, GenerationResult]:
    import torch

    from formcast.matcher import Matcher

    device = _model_device(model)
    matcher = Matcher(compiled) if compiled is not None else None
    bitmask = allocate_token_bitmask(1, tok.vocab_size)
    eos = {int(e) for e in tok.eos_ids}
    token_bytes = tok.token_bytes
    generator = None
    if temperature > 0 and seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: list[str] = []
    tokens: list[int] = []
    pending = list(prompt_ids)  # not yet seen by the model
    past: Any = None
    finished = False

    def emit(token: int) -> str:
        tokens.append(token)
        pending.append(token)
        chunk = decoder.decode(token_bytes[token])
        chunks.append(chunk)
        return chunk

    while len(tokens) < max_tokens:
        if matcher is not None:
            matcher.fill_next_token_bitmask(bitmask, 0)
            forced = _single_allowed(bitmask[0])
            if forced is not None:
                # No choice: skip sampling; the model sees the token in the next forward pass
                # (and needs none at all when the grammar can only end here).
                if not matcher.accept_token(forced):
                    raise MatcherError(f"mask allowed token {forced} that the matcher rejected")
                if forced in eos:
                    finished = True
                    break
                if chunk := emit(forced):
                    yield chunk
                continue
        # Masking stays inside inference mode: in-place ops on inference tensors fail outside.
        with torch.inference_mode():
            logits, past = _forward(model, pending, past, device)
            if matcher is not None:
                apply_token_bitmask_inplace(logits, bitmask)
            token = _sample(logits, temperature, generator)
        pending.clear()
        if token in eos and (matcher is None or matcher.accept_token(token)):
            finished = True
            break
        if matcher is not None and not matcher.accept_token(token):
            raise MatcherError(
                f"the model produced token {token} ({token_bytes[token]!r}), which the grammar "
                "does not allow; this is a formcast bug, please report it"
            )
        if chunk := emit(token):
            yield chunk
    if tail := decoder.decode(b"", final=True):
        chunks.append(tail)
        yield tail
    text = "".join(chunks)
    if not finished and matcher is not None and not matcher.can_terminate():
        raise IncompleteOutputError(text, max_tokens=max_tokens, tokens=tokens)
    return GenerationResult(text=text, value=parse(text), tokens=tokens)


# -- batch decoding -------------------------------------------------------------------------


def _generate_batch(
    model: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    *,
    schema: Any,
    grammar: Any,
    regex: Any,
    type_: Any,
    max_tokens: int,
    temperature: float,
    seed: int | None,
    chat: bool,
    tokenizer_info: TokenizerInfo | None,
) -> list[GenerationResult]:
    _check_options(max_tokens, temperature)
    tok = tokenizer_info if tokenizer_info is not None else _tokenizer_info(tokenizer)
    compiled, parse = _constraint(tok, schema=schema, grammar=grammar, regex=regex, type_=type_)
    prompt_ids = [_prompt_ids(tokenizer, p, chat=chat) for p in prompts]
    return _decode_batch(
        model, tokenizer, tok, compiled, parse, prompt_ids, max_tokens, temperature, seed
    )


def _decode_batch(
    model: Any,
    tokenizer: Any,
    tok: TokenizerInfo,
    compiled: CompiledGrammar | None,
    parse: Any,
    prompt_ids: list[list[int]],
    max_tokens: int,
    temperature: float,
    seed: int | None,
) -> list[GenerationResult]:
    """Decode all rows together; every live row gets one token per step.

    The prompts are left-padded (attention mask 0, positions counted from each row's first
    real token). A step whose every live row has exactly one allowed token runs no forward
    pass: those tokens wait as one more pending column, like forced tokens in :func:`_decode`.
    Finished rows receive the pad token, masked out, until the whole batch is done.
    """
    import torch

    from formcast.matcher import BatchMatcher, Matcher

    device = _model_device(model)
    n = len(prompt_ids)
    matchers = [Matcher(compiled) for _ in range(n)] if compiled is not None else None
    threads = min(n, os.cpu_count() or 1)
    pool = BatchMatcher(max_threads=threads) if matchers is not None and threads > 1 else None
    bitmask = allocate_token_bitmask(n, tok.vocab_size)
    eos = {int(e) for e in tok.eos_ids}
    pad = _pad_id(tokenizer, tok)
    generator = None
    if temperature > 0 and seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)

    # Per row: tokens the model has not seen yet, their attention-mask bits and positions.
    width = max(len(ids) for ids in prompt_ids)
    pending = [[pad] * (width - len(ids)) + ids for ids in prompt_ids]
    pending_mask = [[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids]
    positions = [[0] * (width - len(ids)) + list(range(len(ids))) for ids in prompt_ids]
    next_pos = [len(ids) for ids in prompt_ids]
    attention: list[list[int]] = [[] for _ in range(n)]  # the mask of everything fed so far
    tokens: list[list[int]] = [[] for _ in range(n)]
    finished = [False] * n
    live = list(range(n))
    past: Any = None

    for _ in range(max_tokens):
        if matchers is not None:
            if pool is not None and len(live) > 1:
                pool.fill_next_token_bitmask([matchers[r] for r in live], bitmask, live)
            else:
                for r in live:
                    matchers[r].fill_next_token_bitmask(bitmask, r)
            if not bitmask[live].any(axis=1).all():
                raise MatcherError("no token is allowed next (empty mask); this is a formcast bug")
            forced = [_single_allowed(bitmask[r]) for r in live]
        if matchers is not None and all(f is not None for f in forced):
            chosen = [int(f) for f in forced if f is not None]
        else:
            with torch.inference_mode():
                for r in range(n):
                    attention[r].extend(pending_mask[r])
                logits, past = _forward_batch(model, pending, attention, positions, past, device)
                if matchers is not None:
                    apply_token_bitmask_inplace(logits, bitmask, live)
                chosen = _sample_rows(logits[live], temperature, generator)
            pending = [[] for _ in range(n)]
            pending_mask = [[] for _ in range(n)]
            positions = [[] for _ in range(n)]
        for r, token in zip(live, chosen, strict=True):
            m = matchers[r] if matchers is not None else None
            if token in eos and (m is None or m.accept_token(token)):
                finished[r] = True
            elif m is not None and not m.accept_token(token):
                raise MatcherError(
                    f"row {r}: the model produced token {token} ({tok.token_bytes[token]!r}), "
                    "which the grammar does not allow; this is a formcast bug, please report it"
                )
            else:
                tokens[r].append(token)
        live = [r for r in live if not finished[r]]
        if not live:
            break
        for r in range(n):
            if finished[r]:
                pending[r].append(pad)
                pending_mask[r].append(0)
                positions[r].append(max(0, next_pos[r] - 1))
            else:
                pending[r].append(tokens[r][-1])
                pending_mask[r].append(1)
                positions[r].append(next_pos[r])
                next_pos[r] += 1

    results = []
    for r in range(n):
        text = b"".join(tok.token_bytes[t] for t in tokens[r]).decode("utf-8", errors="replace")
        m = matchers[r] if matchers is not None else None
        if finished[r] or m is None or m.can_terminate():
            results.append(GenerationResult(text=text, value=parse(text), tokens=tokens[r]))
        else:
            error = IncompleteOutputError(text, max_tokens=max_tokens, tokens=tokens[r])
            results.append(GenerationResult(text=text, value=None, tokens=tokens[r], error=error))
    return results


def _pad_id(tokenizer: Any, tok: TokenizerInfo) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    if isinstance(pad, int):
        return pad
    return min((int(e) for e in tok.eos_ids), default=0)


def _forward_batch(
    model: Any,
    pending: list[list[int]],
    attention: list[list[int]],
    positions: list[list[int]],
    past: Any,
    device: Any,
) -> tuple[Any, Any]:
    """Run the model on each row's unseen tokens (all rows the same count); last logits."""
    import torch

    params = _forward_params(type(model))
    cache_arg = "cache" if "cache" in params else "past_key_values"
    kwargs: dict[str, Any] = {cache_arg: past, "use_cache": True}
    kwargs["attention_mask"] = torch.tensor(attention, dtype=torch.long, device=device)
    if "position_ids" in params:
        kwargs["position_ids"] = torch.tensor(positions, dtype=torch.long, device=device)
    if "logits_to_keep" in params:
        kwargs["logits_to_keep"] = 1
    input_ids = torch.tensor(pending, dtype=torch.long, device=device)
    out = model(input_ids=input_ids, **kwargs)
    cache = getattr(out, "cache", None)
    if cache is None:
        cache = getattr(out, "past_key_values", None)
    return out.logits[:, -1].float().contiguous(), cache


def _sample_rows(logits: Any, temperature: float, generator: Any) -> list[int]:
    """One token per row (empty masks were refused before the forward pass)."""
    import torch

    if temperature == 0:
        return [int(t) for t in torch.argmax(logits, dim=-1).tolist()]
    probs = torch.softmax(logits / temperature, dim=-1)
    return [int(t) for t in torch.multinomial(probs, 1, generator=generator)[:, 0].tolist()]


def _model_device(model: Any) -> Any:
    device = getattr(model, "device", None)
    if device is not None:
        return device
    return next(model.parameters()).device


def _forward(model: Any, pending: list[int], past: Any, device: Any) -> tuple[Any, Any]:
    """Run the model on the tokens it has not seen; the last position's logits (float32)."""
    import torch

    cache_arg, keep_arg = _forward_args(type(model))
    kwargs: dict[str, Any] = {cache_arg: past, "use_cache": True}
    if keep_arg:
        kwargs["logits_to_keep"] = 1  # the prompt's other positions' logits are not needed
    input_ids = torch.tensor([pending], dtype=torch.long, device=device)
    out = model(input_ids=input_ids, **kwargs)
    cache = getattr(out, "cache", None)
    if cache is None:
        cache = getattr(out, "past_key_values", None)
    return out.logits[0, -1].float(), cache


_FORWARD_ARGS: dict[Any, tuple[str, bool]] = {}
_FORWARD_PARAMS: dict[Any, frozenset[str]] = {}


def _forward_args(model_type: Any) -> tuple[str, bool]:
    """Name of the KV-cache argument (``cache`` from transformers 5.2x, ``past_key_values``
    before) and whether ``logits_to_keep`` is accepted; per model class."""
    found = _FORWARD_ARGS.get(model_type)
    if found is None:
        params = _forward_params(model_type)
        cache = "cache" if "cache" in params else "past_key_values"
        found = _FORWARD_ARGS[model_type] = (cache, "logits_to_keep" in params)
    return found


def _forward_params(model_type: Any) -> frozenset[str]:
    """Names of the parameters of ``model_type.forward`` (empty when not inspectable)."""
    found = _FORWARD_PARAMS.get(model_type)
    if found is None:
        try:
            found = frozenset(inspect.signature(model_type.forward).parameters)
        except (TypeError, ValueError):
            found = frozenset()
        _FORWARD_PARAMS[model_type] = found
    return found


def _sample(logits: Any, temperature: float, generator: Any) -> int:
    import torch

    if not bool(torch.isfinite(logits).any()):
        raise MatcherError("no token is allowed next (empty mask); this is a formcast bug")
    if temperature == 0:
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator).item())


def _single_allowed(row: np.ndarray) -> int | None:
    """The only allowed token of a bitmask row, or None when zero or several are allowed."""
    nonzero = np.flatnonzero(row)
    if nonzero.size != 1:
        return None
    w = int(nonzero[0])
    word = int(row[w]) & 0xFFFFFFFF
    if word & (word - 1):
        return None
    return w * 32 + word.bit_length() - 1
