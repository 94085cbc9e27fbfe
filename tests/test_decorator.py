"""``@structured``: decoration checks, prompt formatting, and validated results for many types.

A randomly initialised tiny Llama with the SmolLM2 vocabulary is the generator: its choices are
arbitrary, so only the grammar keeps the output valid, and every result must validate.
"""

from __future__ import annotations

import dataclasses
import enum
import subprocess
import sys
from typing import Annotated, Literal

import pytest

pydantic = pytest.importorskip("pydantic")

from formcast.integrations.decorator import StructuredFunction, structured  # noqa: E402


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Person(pydantic.BaseModel):
    name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=8)]
    age: Annotated[int, pydantic.Field(ge=0, le=120)]
    employed: bool


@dataclasses.dataclass
class Point:
    x: Annotated[int, pydantic.Field(ge=-99, le=99)]
    y: Annotated[int, pydantic.Field(ge=-99, le=99)]
    label: Literal["a", "b"]


# -- decoration-time errors --------------------------------------------------------------------


def _no_return(text: str):
    """Summarise {text}"""


def _none_return(text: str) -> None:
    """Summarise {text}"""


def _no_doc(text: str) -> int: ...


def _blank_doc(text: str) -> int:
    """ """


def _unknown_placeholder(text: str) -> int:
    """Count the words in {txt}"""


def _positional_placeholder(text: str) -> int:
    """Count the words in {}"""


def _numbered_placeholder(text: str) -> int:
    """Count the words in {0}"""


def _bad_template(text: str) -> int:
    """Count the words in {text"""


@pytest.mark.parametrize(
    ("func", "words"),
    [
        (_no_return, "no return annotation"),
        (_none_return, "return annotation is None"),
        (_no_doc, "no docstring"),
        (_blank_doc, "no docstring"),
        (_unknown_placeholder, "{txt} names no parameter"),
        (_positional_placeholder, "positional placeholder"),
        (_numbered_placeholder, "positional placeholder"),
        (_bad_template, "not a valid str.format template"),
    ],
)
def test_decoration_errors_name_the_function(func, words):
    with pytest.raises(TypeError) as info:
        structured(func)
    message = str(info.value)
    assert f"{func.__name__}()" in message
    assert words in message
    # The keyword form checks at decoration too.
    with pytest.raises(TypeError):
        structured(max_tokens=4)(func)


def test_model_without_tokenizer_is_refused():
    def f(text: str) -> int:
        """{text}"""

    with pytest.raises(TypeError, match=r"f\(\).*both model= and tokenizer="):
        structured(model=object())(f)
    with pytest.raises(TypeError, match="both model= and tokenizer="):
        structured(tokenizer=object())(f)


@pytest.mark.parametrize("options", [{"max_tokens": 0}, {"temperature": -1.0}])
def test_bad_options_are_refused(options):
    def f(text: str) -> int:
        """{text}"""

    with pytest.raises(ValueError, match=r"f\(\)"):
        structured(**options)(f)


def test_decoration_loads_nothing(monkeypatch):
    import formcast.models

    def boom():
        raise AssertionError("default_model() must not run at decoration time")

    monkeypatch.setattr(formcast.models, "default_model", boom)

    @structured
    def f(text: str) -> list[int]:
        """Numbers in {text}"""

    assert f.prompt("a 1") == "Numbers in a 1"


def test_import_stays_light():
    code = (
        "import sys, formcast.integrations.decorator; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- prompt formatting and wrapping --------------------------------------------------------------


@structured(max_tokens=8)
def describe(name: str, count: int = 3, *, style: str = "plain") -> list[str]:
    """Give {count} {style} facts about {name}. Answer as a JSON list {{like this}}.

    Be brief about {name}.
    """
    raise AssertionError("the body is never run")


def test_prompt_binds_arguments_and_defaults():
    assert describe.prompt("Paris") == (
        "Give 3 plain facts about Paris. Answer as a JSON list {like this}.\n\n"
        "Be brief about Paris."
    )
    assert describe.prompt(name="Rome", count=2, style="odd").startswith(
        "Give 2 odd facts about Rome"
    )
    assert describe.placeholders == ["count", "style", "name"]


def test_prompt_rejects_arguments_that_do_not_fit():
    with pytest.raises(TypeError, match="describe"):
        describe.prompt()
    with pytest.raises(TypeError, match="describe"):
        describe.prompt("Paris", colour="red")
    with pytest.raises(TypeError, match="describe"):
        describe("Paris", 1, 2)


def test_prompt_attribute_and_index_placeholders_and_var_keyword():
    @structured
    def f(person: Person, tags: list[str], **extra: str) -> bool:
        """Is {person.name} ({tags[0]}) {mood}?"""

    p = Person(name="Ann", age=3, employed=False)
    assert f.prompt(p, ["kid"], mood="happy") == "Is Ann (kid) happy?"
    with pytest.raises(TypeError, match="'mood'"):
        f.prompt(p, ["kid"])


def test_wraps_the_function():
    assert isinstance(describe, StructuredFunction)
    assert describe.__name__ == "describe"
    assert describe.__qualname__ == "describe"
    assert describe.__module__ == __name__
    assert describe.__doc__ is not None and describe.__doc__.startswith("Give {count}")
    assert describe.__wrapped__.__name__ == "describe"
    assert "describe" in repr(describe)
    assert describe.return_type == list[str]


def test_postponed_annotation_resolves_later():
    # Under ``from __future__ import annotations`` the return type is a string; a name
    # defined after decoration resolves on first use.
    @structured
    def f(text: str) -> LaterDefined:  # noqa: F821
        """{text}"""

    assert f.prompt("x") == "x"
    with pytest.raises(NameError, match="LaterDefined"):
        _ = f.return_type


def test_json_schema_comes_from_pydantic():
    @structured
    def f(text: str) -> Person:
        """{text}"""

    assert f.json_schema() == Person.model_json_schema()


# -- generation with a random tiny model --------------------------------------------------------

torch_needed = pytest.mark.realvocab


SmallInt = Annotated[int, pydantic.Field(ge=0, le=999)]
ShortStr = Annotated[str, pydantic.StringConstraints(max_length=6)]

# (return type, the class every result must be an instance of)
RETURN_TYPES = [
    pytest.param(bool, bool, id="bool"),
    pytest.param(Literal["yes", "no", "maybe"], str, id="literal"),
    pytest.param(Color, Color, id="enum"),
    pytest.param(SmallInt, int, id="bounded-int"),
    pytest.param(ShortStr, str, id="short-str"),
    pytest.param(Person, Person, id="pydantic-model"),
    pytest.param(Point, Point, id="dataclass"),
    pytest.param(
        Annotated[list[Literal[1, 2, 3]], pydantic.Field(max_length=4)],
        list,
        id="list-of-literal",
    ),
    pytest.param(tuple[bool, SmallInt], tuple, id="tuple"),
    pytest.param(Literal["a", "b"] | None, (str, type(None)), id="optional"),
]


def _decorate(return_type, model, tokenizer, **options):
    def extract(text: str):
        """Extract it from: {text}"""

    extract.__annotations__["return"] = return_type
    return structured(model=model, tokenizer=tokenizer, max_tokens=96, **options)(extract)


@torch_needed
@pytest.mark.parametrize(("return_type", "cls"), RETURN_TYPES)
def test_random_model_output_always_validates(return_type, cls, tiny_model, hf_tokenizer):
    adapter = pydantic.TypeAdapter(return_type)
    greedy = _decorate(return_type, tiny_model, hf_tokenizer)
    values = [greedy("Ann is 31 and works.")]
    for seed in range(3):
        sampled = _decorate(return_type, tiny_model, hf_tokenizer, temperature=1.0, seed=seed)
        values.append(sampled(f"input number {seed}"))
    for value in values:
        # A validated instance: revalidating its own JSON gives it back.
        assert isinstance(value, cls)
        assert adapter.validate_json(adapter.dump_json(value)) == value


@torch_needed
def test_grammar_is_compiled_once_and_cached(tiny_model, hf_tokenizer, monkeypatch):
    import formcast as fc

    calls = []
    original = fc.compile

    def counting(grammar, tokenizer, *args, **kwargs):
        calls.append(grammar)
        return original(grammar, tokenizer, *args, **kwargs)

    monkeypatch.setattr(fc, "compile", counting)
    f = _decorate(Literal["x", "y"], tiny_model, hf_tokenizer)
    assert not calls  # lazy
    first = f("one")
    second = f("two")
    assert first in ("x", "y") and second in ("x", "y")
    assert len(calls) == 1
    assert f.compiled() is f.compiled()


@torch_needed
def test_decorated_method_binds_self(tiny_model, hf_tokenizer):
    class Classifier:
        topic = "colours"

        @structured(model=tiny_model, tokenizer=hf_tokenizer, max_tokens=16)
        def pick(self, text: str) -> Color:
            """Pick one of the {self.topic} in: {text}"""

    c = Classifier()
    assert c.pick.prompt("a red car") == "Pick one of the colours in: a red car"
    assert isinstance(c.pick("a red car"), Color)


@torch_needed
def test_incomplete_output_is_reported(tiny_model, hf_tokenizer):
    from formcast.errors import IncompleteOutputError

    f = structured(model=tiny_model, tokenizer=hf_tokenizer, max_tokens=1)(_person)
    with pytest.raises(IncompleteOutputError):
        f("Ann, 31")


def _person(text: str) -> Person:
    """Extract the person described in: {text}"""


# -- the real default model ----------------------------------------------------------------------


class Named(pydantic.BaseModel):
    name: Annotated[str, pydantic.StringConstraints(max_length=30)]
    age: Annotated[int, pydantic.Field(ge=0, le=150)]


@pytest.mark.model
def test_default_model_extracts_a_person():
    # A 135M model is weak at judgement but copies facts well: check a copy task.
    @structured(max_tokens=32)
    def extract(text: str) -> Named:
        """{text}

        Return the person's name and age as JSON."""

    person = extract("Maria Lopez is a 34-year-old architect from Madrid.")
    assert isinstance(person, Named)
    assert person.age == 34
    assert "Maria" in person.name
