"""Tokenizer layer: exact token bytes (:class:`TokenizerInfo`) and the flat byte trie."""

from formcast.tokens.trie import TokenTrie
from formcast.tokens.vocab import TokenizerInfo

__all__ = ["TokenTrie", "TokenizerInfo"]
