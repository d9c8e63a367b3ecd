"""R91, R93, R94: nextapi.convert's compile_type, unit by unit.

The converters compiled from annotations: `load` (a JSON value), `parse` (a
text value), `dump` (a returned value), `check` (dev's mismatch check),
`schema` (JSON Schema 2020-12), and the `Unsupported` error for an
annotation that cannot be used. tests/test_signature.py drives the same
through requests.
"""
import collections
import dataclasses
import datetime as dt
import enum
import re
import sys
import types
import typing
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType, Optional, TypedDict, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    from typing import NotRequired, Required
except ImportError:  # Python 3.10: how a project spells them there
    from typing_extensions import NotRequired, Required

from nextapi import Field
from nextapi.convert import INVALID, Converter, Schemas, Unsupported, compile_type
from tests.strategies import FEW


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass
class Box:
    corner: Point
    tags: list[str] = dataclasses.field(default_factory=list)
    label: Annotated[str, Field(max_length=3)] = "box"


@dataclasses.dataclass
class Node:
    """A tree."""

    name: str
    children: "list[Node]" = dataclasses.field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Draft(TypedDict, total=False):
    id: Required[int]
    note: str


UserId = NewType("UserId", int)


def load(annotation: Any, value: Any) -> tuple[Any, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    result = compile_type(annotation, text=False).load(value, ["body"], errors)
    assert (result is INVALID) == bool(errors)
    return result, errors


def parse(annotation: Any, text: Any) -> tuple[Any, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    result = compile_type(annotation, text=True).parse(text, ["query", "v"], errors)
    assert (result is INVALID) == bool(errors)
    return result, errors


def ok(annotation: Any, value: Any, *, text: bool = False) -> Any:
    result, errors = (parse if text else load)(annotation, value)
    assert not errors, errors
    return result


def kinds(annotation: Any, value: Any, *, text: bool = False) -> list[tuple[list[Any], str]]:
    _, errors = (parse if text else load)(annotation, value)
    return [(e["loc"], e["type"]) for e in errors]


def check(annotation: Any, value: Any) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    compile_type(annotation, text=False).check(value, [], problems)
    return problems


def dump(annotation: Any, value: Any) -> Any:
    return compile_type(annotation, text=False).dump(value)


# --- R91: scalars ---------------------------------------------------------------------------

def test_str() -> None:
    assert ok(str, "a") == "a"
    assert ok(str, "a", text=True) == "a"
    assert kinds(str, 1) == [(["body"], "string_type")]
    assert kinds(str, None) == [(["body"], "string_type")]


def test_int() -> None:
    assert ok(int, 5) == 5
    assert ok(int, " 42 ", text=True) == 42
    assert ok(int, "-0", text=True) == 0
    assert kinds(int, True) == [(["body"], "int_type")]
    assert kinds(int, 5.0) == [(["body"], "int_type")]
    assert kinds(int, "5") == [(["body"], "int_type")]
    for text in ("4.0", "1e3", "0x10", "", "١٢", "1_000", "--1"):
        assert kinds(int, text, text=True) == [(["query", "v"], "int_parsing")], text
    assert kinds(int, "1" * 5000, text=True) == [(["query", "v"], "int_parsing")]  # never int()'s ValueError


def test_float() -> None:
    assert ok(float, 1) == 1.0 and type(ok(float, 1)) is float
    assert ok(float, 2.5) == 2.5
    assert ok(float, ".5", text=True) == 0.5
    assert ok(float, "3", text=True) == 3.0
    assert kinds(float, True) == [(["body"], "float_type")]
    assert kinds(float, "1.5") == [(["body"], "float_type")]
    for text in ("nan", "inf", "-Infinity", "1e400", "x", "", "1,5"):
        assert kinds(float, text, text=True) == [(["query", "v"], "float_parsing")], text


def test_float_from_a_json_integer_too_large_for_a_float() -> None:
    # JSON integers have no size limit (Python reads up to 4300 digits): never an OverflowError
    assert kinds(float, 10**400) == [(["body"], "finite_number")]
    assert kinds(float | None, -(10**400)) == [(["body"], "finite_number")]
    assert ok(float, 10**300) == 1e300


@pytest.mark.parametrize("word", ["true", "TRUE", "tRuE", "1", "yes", "YES", "on", "ON", " true "])
def test_bool_true_words(word: str) -> None:
    assert ok(bool, word, text=True) is True


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "NO", "off", "Off"])
def test_bool_false_words(word: str) -> None:
    assert ok(bool, word, text=True) is False


def test_bool_rejects() -> None:
    for word in ("", "2", "y", "t", "nope"):
        assert kinds(bool, word, text=True) == [(["query", "v"], "bool_parsing")], word
    assert ok(bool, False) is False
    for value in (1, 0, "true", None):
        assert kinds(bool, value) == [(["body"], "bool_type")], value


def test_none() -> None:
    assert ok(None, None) is None
    assert ok(type(None), None) is None
    assert kinds(None, 0) == [(["body"], "none_required")]
    assert kinds(None, "") == [(["body"], "none_required")]
    assert ok(None, "", text=True) is None
    assert ok(None, "null", text=True) is None


def test_any() -> None:
    for value in ({"a": [1]}, None, "x", 1.5):
        assert ok(Any, value) == value
    assert ok(object, [1]) == [1]
    T = typing.TypeVar("T")
    assert ok(T, 3) == 3


def test_scalar_subclasses_and_newtype() -> None:
    assert ok(UserId, "7", text=True) == 7
    assert kinds(UserId, "x") == [(["body"], "int_type")]

    class Name(str):
        pass

    assert ok(Name, "n") == "n"


# --- R91: unions, Literal, Enum -------------------------------------------------------------

def test_optional() -> None:
    for ann in (Optional[int], int | None, Union[None, int]):  # noqa: UP007, UP045 - every spelling
        assert ok(ann, None) is None
        assert ok(ann, 3) == 3
        assert ok(ann, "3", text=True) == 3
        assert kinds(ann, "x") == [(["body"], "int_type")]


def test_optional_from_an_empty_text() -> None:
    # an empty text for a scalar is None (an HTML form's `?page=`), unless T takes "" itself
    assert ok(int | None, "", text=True) is None
    assert ok(Optional[float], "", text=True) is None  # noqa: UP045
    assert ok(bool | None, ["1", ""], text=True) is None  # the last of a repeated key
    assert ok(Color | None, "", text=True) is None
    assert ok(dt.date | None, "", text=True) is None
    assert ok(str | None, "", text=True) == ""
    assert ok(int | str | None, "", text=True) == ""
    assert ok(Annotated[int | None, Field(ge=1)], "", text=True) is None
    assert kinds(int | None, " x", text=True) == [(["query", "v"], "int_parsing")]
    # a list is not a scalar: `?ids=` is one empty item
    assert kinds(list[int] | None, [""], text=True) == [(["query", "v", 0], "int_parsing")]


def test_union_first_member_that_takes_it() -> None:
    assert ok(int | str, "42", text=True) == 42
    assert ok(str | int, "42", text=True) == "42"
    assert ok(int | str, "x", text=True) == "x"
    assert ok(int | str, 5) == 5
    assert ok(int | str, "5") == "5"
    assert ok(float | int, 1) == 1.0
    assert ok(int | float, 1.5) == 1.5
    assert ok(Point | int, {"x": 1}) == Point(1)


def test_union_reports_the_closest_member() -> None:
    # int gives one problem, Point gives two (x missing, y not an int): int's problem is kept
    assert kinds(int | Point, {"y": "a"}) == [(["body"], "int_type")]
    assert kinds(Point | list[int], {"x": "a"}) == [(["body", "x"], "int_type")]
    assert kinds(int | bool, "x") == [(["body"], "int_type")]


def test_literal() -> None:
    assert ok(Literal["a", "b"], "b") == "b"
    assert ok(Literal[1, 2], 2) == 2
    assert ok(Literal[1, 2], "2", text=True) == 2
    assert ok(Literal[True], "TRUE", text=True) is True
    assert ok(Literal[None], None) is None  # noqa: PYI061
    assert kinds(Literal[1], True) == [(["body"], "literal_error")]
    assert kinds(Literal[1], "1") == [(["body"], "literal_error")]
    assert kinds(Literal[True], 1) == [(["body"], "literal_error")]
    _, errors = load(Literal["a", "b"], "c")
    assert errors == [{"loc": ["body"], "msg": "Input should be 'a' or 'b'", "type": "literal_error",
                       "input": "c", "ctx": {"expected": "'a' or 'b'"}}]


def test_literal_of_enum_members() -> None:
    # an Enum member in a Literal is sent as its value (as the schema documents it)
    ann = Literal[Color.RED, Level.HIGH]
    assert ok(ann, "red") is Color.RED
    assert ok(ann, 2) is Level.HIGH
    assert ok(ann, "red", text=True) is Color.RED
    assert ok(ann, "2", text=True) is Level.HIGH
    assert ok(ann, Color.RED) is Color.RED
    assert kinds(ann, "green") == [(["body"], "literal_error")]
    assert kinds(ann, "RED", text=True) == [(["query", "v"], "literal_error")]
    assert kinds(ann, True) == [(["body"], "literal_error")]
    _, errors = load(ann, "x")
    assert errors[0]["msg"] == "Input should be 'red' or 2"
    assert check(ann, Level.HIGH) == []
    assert dump(ann, Level.HIGH) == 2
    assert compile_type(ann, text=False).schema(Schemas()) == {"enum": ["red", 2]}


def test_enum() -> None:
    assert ok(Color, "red") is Color.RED
    assert ok(Color, "green", text=True) is Color.GREEN
    assert ok(Color, Color.RED) is Color.RED
    assert ok(Level, 2) is Level.HIGH
    assert ok(Level, "2", text=True) is Level.HIGH
    assert kinds(Color, "RED") == [(["body"], "enum")]
    assert kinds(Level, "2") == [(["body"], "enum")]
    assert kinds(Level, True) == [(["body"], "enum")]
    assert kinds(Level, 2.0) == [(["body"], "enum")]
    _, errors = load(Color, "blue")
    assert errors == [{"loc": ["body"], "msg": "Input should be 'red', 'green'", "type": "enum", "input": "blue",
                       "ctx": {"expected": "'red', 'green'"}}]


# --- R91: containers ------------------------------------------------------------------------

def test_list() -> None:
    assert ok(list[int], [1, 2]) == [1, 2]
    assert ok(list[int], ["1", "2"], text=True) == [1, 2]
    assert ok(list[int], "3", text=True) == [3]
    assert ok(list, [1, "a"]) == [1, "a"]
    assert ok(typing.List[int], [1]) == [1]  # noqa: UP006
    assert kinds(list[int], "1") == [(["body"], "list_type")]
    assert kinds(list[int], {"a": 1}) == [(["body"], "list_type")]
    assert kinds(list[int], [1, "2", 3, None]) == [(["body", 1], "int_type"), (["body", 3], "int_type")]
    assert kinds(list[int], ["1", "x", "y"], text=True) == [(["query", "v", 1], "int_parsing"),
                                                            (["query", "v", 2], "int_parsing")]
    assert compile_type(list[int], text=True).many
    assert not compile_type(int, text=True).many


def test_tuple_and_set() -> None:
    assert ok(tuple[int, ...], [1, 2]) == (1, 2)
    assert ok(tuple[str, ...], ["a"], text=True) == ("a",)
    assert ok(set[int], [1, 2, 1]) == {1, 2}
    assert ok(frozenset[str], ["a", "b"], text=True) == frozenset({"a", "b"})
    assert kinds(tuple[int, ...], "ab") == [(["body"], "tuple_type")]
    assert kinds(set[int], "ab") == [(["body"], "set_type")]
    assert kinds(set[Any], [[1], [2]]) == [(["body"], "set_type")]  # unhashable items


def test_dict() -> None:
    assert ok(dict[str, int], {"a": 1}) == {"a": 1}
    assert ok(dict, {"a": [1]}) == {"a": [1]}
    assert ok(typing.Dict[str, Any], {}) == {}  # noqa: UP006
    assert ok(typing.Mapping[str, int], {"k": 2}) == {"k": 2}
    assert kinds(dict[str, int], [("a", 1)]) == [(["body"], "dict_type")]
    assert kinds(dict[str, int], {"a": "1", "b": 2, "c": None}) == [(["body", "a"], "int_type"),
                                                                    (["body", "c"], "int_type")]


def test_nested_to_depth() -> None:
    ann = dict[str, list[dict[str, tuple[Point | None, ...]]]]
    assert ok(ann, {"a": [{"b": [{"x": 1}, None]}]}) == {"a": [{"b": (Point(1), None)}]}
    assert kinds(ann, {"a": [{"b": [None]}, {"c": [{"x": 1}, {"x": "no"}]}]}) == [
        (["body", "a", 1, "c", 1, "x"], "int_type")]


# --- R91: dataclasses and TypedDict ---------------------------------------------------------

def test_dataclass() -> None:
    assert ok(Point, {"x": 1}) == Point(1, 0)
    assert ok(Point, {"x": 1, "y": 2, "z": 3}) == Point(1, 2)  # keys it does not name are ignored
    box = ok(Box, {"corner": {"x": 1}})
    assert box == Box(Point(1), [], "box")
    other = ok(Box, {"corner": {"x": 2}})
    assert other.tags is not box.tags  # default_factory runs per value
    assert kinds(Point, []) == [(["body"], "dataclass_type")]
    assert kinds(Point, None) == [(["body"], "dataclass_type")]
    assert kinds(Box, {"corner": {"y": "a"}, "tags": [1], "label": "long"}) == [
        (["body", "corner", "x"], "missing"), (["body", "corner", "y"], "int_type"),
        (["body", "tags", 0], "string_type"), (["body", "label"], "string_too_long")]


def test_dataclass_post_init_refusal_is_a_value_error() -> None:
    @dataclasses.dataclass
    class Span:
        lo: int
        hi: int

        def __post_init__(self) -> None:
            if self.lo > self.hi:
                raise ValueError("lo must not exceed hi")

    assert ok(Span, {"lo": 1, "hi": 2}) == Span(1, 2)
    _, errors = load(Span, {"lo": 3, "hi": 2})
    assert errors == [{"loc": ["body"], "msg": "Value error, lo must not exceed hi", "type": "value_error"}]


def test_recursive_dataclass() -> None:
    tree = ok(Node, {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]})
    assert tree == Node("a", [Node("b", [Node("c")])])
    assert kinds(Node, {"name": "a", "children": [{"name": "b", "children": [{}]}]}) == [
        (["body", "children", 0, "children", 0, "name"], "missing")]
    assert dump(Node, Node("a", [Node("b")])) == {"name": "a", "children": [{"name": "b", "children": []}]}


def test_typeddict() -> None:
    assert ok(Movie, {"title": "t", "extra": 1}) == {"title": "t"}
    assert ok(Movie, {"title": "t", "year": 1}) == {"title": "t", "year": 1}
    assert kinds(Movie, {"year": "1"}) == [(["body", "title"], "missing"), (["body", "year"], "int_type")]
    assert kinds(Movie, "t") == [(["body"], "dict_type")]
    assert ok(Draft, {"id": 1}) == {"id": 1}
    assert kinds(Draft, {"note": "n"}) == [(["body", "id"], "missing")]


def test_typeddict_total_false_and_field_constraints() -> None:
    class Opts(TypedDict, total=False):
        page: Annotated[int, Field(ge=1)]
        size: Required[Annotated[int, Field(le=100)]]

    assert ok(Opts, {"size": 1}) == {"size": 1}
    assert kinds(Opts, {"page": 0, "size": 101}) == [(["body", "page"], "greater_than_equal"),
                                                     (["body", "size"], "less_than_equal")]
    assert kinds(Opts, {}) == [(["body", "size"], "missing")]


def test_typeddict_wrappers_from_typing_extensions() -> None:
    # Python 3.10 has no typing.Required: a project writes typing_extensions' (nextapi never imports it)
    te = pytest.importorskip("typing_extensions", reason="typing_extensions is not installed")

    class Draft(TypedDict, total=False):
        id: te.Required[int]
        size: Annotated[te.Required[int], Field(ge=1)]
        note: str

    class Movie(TypedDict):
        title: str
        year: te.NotRequired[int]

    assert ok(Draft, {"id": 1, "size": 1}) == {"id": 1, "size": 1}
    assert kinds(Draft, {"size": 0}) == [(["body", "id"], "missing"), (["body", "size"], "greater_than_equal")]
    assert ok(Movie, {"title": "t"}) == {"title": "t"}
    assert kinds(Movie, {"year": "x"}) == [(["body", "title"], "missing"), (["body", "year"], "int_type")]


# --- R91: dates, times, UUID, Decimal -------------------------------------------------------

def test_datetime() -> None:
    utc = dt.timezone.utc
    assert ok(dt.datetime, "2024-05-06T07:08:09Z") == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=utc)
    assert ok(dt.datetime, "2024-05-06T07:08:09z") == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=utc)
    assert ok(dt.datetime, "2024-05-06T07:08:09.250+01:00").utcoffset() == dt.timedelta(hours=1)
    assert ok(dt.datetime, "2024-05-06 07:08", text=True) == dt.datetime(2024, 5, 6, 7, 8)
    assert ok(dt.datetime, "2024-05-06") == dt.datetime(2024, 5, 6)
    for value in ("", "Z", "tomorrow", "2024-02-30T00:00:00", 1714979289, None):
        assert kinds(dt.datetime, value) == [(["body"], "datetime_parsing")], value


def test_fractions_of_a_second_of_any_length() -> None:
    # as JavaScript (3), Go (1-9, trailing zeros cut) and databases send them; Python 3.10's
    # fromisoformat alone takes only 3 or 6 digits
    utc = dt.timezone.utc
    assert ok(dt.datetime, "2024-05-06T07:08:09.5Z") == dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=utc)
    assert ok(dt.datetime, "2024-05-06T07:08:09.12Z") == dt.datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=utc)
    assert ok(dt.datetime, "2024-05-06T07:08:09.123456789+01:00").microsecond == 123456
    assert ok(dt.datetime, "2024-05-06T07:08:09.1234", text=True) == dt.datetime(2024, 5, 6, 7, 8, 9, 123400)
    assert ok(dt.time, "07:08:09.5") == dt.time(7, 8, 9, 500000)
    assert ok(dt.time, "07:08:09.1234567Z") == dt.time(7, 8, 9, 123456, tzinfo=utc)
    assert kinds(dt.datetime, "2024-05-06T07:08:09.") == [(["body"], "datetime_parsing")]


def test_date_and_time() -> None:
    assert ok(dt.date, "2024-05-06") == dt.date(2024, 5, 6)
    for value in ("2024-05-06T00:00:00", "20240506", "2024-5-6", 20240506):
        assert kinds(dt.date, value) == [(["body"], "date_parsing")], value
    assert ok(dt.time, "07:08:09") == dt.time(7, 8, 9)
    assert ok(dt.time, "07:08") == dt.time(7, 8)
    assert ok(dt.time, "07:08:09Z") == dt.time(7, 8, 9, tzinfo=dt.timezone.utc)
    assert kinds(dt.time, "24:00:00") == [(["body"], "time_parsing")]


def test_uuid() -> None:
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert ok(uuid.UUID, str(u)) == u
    assert ok(uuid.UUID, str(u).upper(), text=True) == u
    assert ok(uuid.UUID, u.hex) == u
    for value in ("", "1234", str(u) + "0", 5):
        assert kinds(uuid.UUID, value) == [(["body"], "uuid_parsing")], value


def test_decimal() -> None:
    assert ok(Decimal, "1.10") == Decimal("1.10")
    assert ok(Decimal, "-2e3", text=True) == Decimal("-2E+3")
    assert ok(Decimal, 3) == Decimal(3)
    assert ok(Decimal, 0.1) == Decimal("0.1")  # the float as written, not its binary expansion
    for value in ("NaN", "Infinity", "-inf", "x", "", True, None, [1]):
        assert kinds(Decimal, value) == [(["body"], "decimal_parsing")], value


# --- R91: Field constraints -----------------------------------------------------------------

@pytest.mark.parametrize(("field", "good", "bad", "kind"), [
    (Field(ge=1), [1, 2], [0, -1], "greater_than_equal"),
    (Field(gt=1), [2], [1, 0], "greater_than"),
    (Field(le=1), [1, 0], [2], "less_than_equal"),
    (Field(lt=1), [0], [1, 2], "less_than"),
    (Field(multiple_of=5), [0, 5, -10, 10**20, 10**400], [1, 7, 10**20 + 1, 10**17 + 1, 10**400 + 1], "multiple_of"),
])
def test_int_constraints(field: Field, good: list[int], bad: list[int], kind: str) -> None:
    for value in good:
        assert ok(Annotated[int, field], value) == value
    for value in bad:
        assert kinds(Annotated[int, field], value) == [(["body"], kind)], value


def test_float_constraints() -> None:
    ann = Annotated[float, Field(ge=0.5, lt=2.5, multiple_of=0.5)]
    for value in (0.5, 1, 1.5, 2.0):
        assert ok(ann, value) == value
    assert kinds(ann, 0.4) == [(["body"], "greater_than_equal")]
    assert kinds(ann, 2.5) == [(["body"], "less_than")]
    assert kinds(ann, 1.25) == [(["body"], "multiple_of")]
    assert ok(Annotated[float, Field(multiple_of=0.1)], 0.3) == 0.3
    assert ok(Annotated[float, Field(multiple_of=0.01)], 19.99) == 19.99


def test_multiple_of_is_exact_for_ints() -> None:
    # a float quotient loses the last digits: 10**17 + 1 is odd, 10**17 is not a multiple of 3
    assert kinds(Annotated[int, Field(multiple_of=2)], 10**17 + 1) == [(["body"], "multiple_of")]
    assert kinds(Annotated[int, Field(multiple_of=3)], 10**17) == [(["body"], "multiple_of")]
    assert ok(Annotated[int, Field(multiple_of=3)], 3 * 10**17) == 3 * 10**17
    # a step that is not an integer, as written: every int is a multiple of 0.5, of 0.1 too
    assert ok(Annotated[int, Field(multiple_of=0.5)], 10**400 + 1) == 10**400 + 1
    assert ok(Annotated[int, Field(multiple_of=0.1)], 7) == 7
    assert kinds(Annotated[int, Field(multiple_of=1.5)], 4) == [(["body"], "multiple_of")]


def test_numeric_constraints_never_overflow() -> None:
    huge = 10**400
    assert kinds(Annotated[int, Field(multiple_of=3)], huge) == [(["body"], "multiple_of")]
    assert kinds(Annotated[int, Field(le=1.5)], huge) == [(["body"], "less_than_equal")]
    assert kinds(Annotated[float, Field(multiple_of=0.5)], 1.7e308) == []  # 1.7e308 / 0.5 is inf
    assert ok(Annotated[float, Field(multiple_of=1e-300)], 1.7e308) == 1.7e308
    assert ok(Annotated[Decimal, Field(multiple_of=2)], "1e50") == Decimal("1e50")
    assert kinds(Annotated[Decimal, Field(multiple_of=3)], "1e50") == [(["body"], "multiple_of")]
    assert kinds(Annotated[Decimal, Field(multiple_of=3)], "1e999999") == [(["body"], "multiple_of")]
    assert ok(Annotated[Decimal, Field(ge=1)], "1e999999") == Decimal("1e999999")


def test_float_multiple_of_within_pydantics_tolerance() -> None:
    ann = Annotated[float, Field(multiple_of=0.1)]
    for value in (0.3, 0.7, 19.9, 123456789.3, -0.3, 0.0):
        assert ok(ann, value) == value
    for value in (0.35, 1e-12, 19.95):
        assert kinds(ann, value) == [(["body"], "multiple_of")], value


def test_decimal_bounds_as_written() -> None:
    # Decimal("0.3") > 0.3 as a float (0.29999...): the bound is compared as written
    assert ok(Annotated[Decimal, Field(le=0.3)], "0.3") == Decimal("0.3")
    assert ok(Annotated[Decimal, Field(ge=0.1)], "0.1") == Decimal("0.1")
    assert ok(Annotated[Decimal, Field(lt=0.3, gt=0.1)], "0.2") == Decimal("0.2")
    assert kinds(Annotated[Decimal, Field(lt=0.3)], "0.3") == [(["body"], "less_than")]
    assert kinds(Annotated[Decimal, Field(gt=0.1)], "0.1") == [(["body"], "greater_than")]
    assert ok(Annotated[Decimal, Field(multiple_of=0.1)], "0.3") == Decimal("0.3")


def test_decimal_constraints() -> None:
    ann = Annotated[Decimal, Field(gt=0, multiple_of=0.01)]
    assert ok(ann, "19.99") == Decimal("19.99")
    assert kinds(ann, "0") == [(["body"], "greater_than")]
    assert kinds(ann, "1.001") == [(["body"], "multiple_of")]


def test_length_constraints() -> None:
    s = Annotated[str, Field(min_length=2, max_length=3)]
    assert ok(s, "ab") == "ab" and ok(s, "abc") == "abc"
    assert kinds(s, "a") == [(["body"], "string_too_short")]
    assert kinds(s, "abcd") == [(["body"], "string_too_long")]
    seq = Annotated[list[int], Field(min_length=1, max_length=2)]
    assert kinds(seq, []) == [(["body"], "too_short")]
    assert kinds(seq, [1, 2, 3]) == [(["body"], "too_long")]
    assert kinds(seq, ["1", "2", "3"], text=True) == [(["query", "v"], "too_long")]
    assert compile_type(seq, text=True).many
    d = Annotated[dict[str, int], Field(max_length=1)]
    assert kinds(d, {"a": 1, "b": 2}) == [(["body"], "too_long")]
    _, errors = load(s, "a")
    assert errors == [{"loc": ["body"], "msg": "Value should have at least 2 characters", "type": "string_too_short",
                       "input": "a", "ctx": {"min_length": 2}}]
    _, errors = load(seq, [])
    assert errors[0]["msg"] == "Value should have at least 1 items"


def test_pattern_is_searched() -> None:
    assert ok(Annotated[str, Field(pattern="b")], "abc") == "abc"
    assert ok(Annotated[str, Field(pattern=r"\d+")], "x1y", text=True) == "x1y"
    assert kinds(Annotated[str, Field(pattern="^b")], "abc") == [(["body"], "string_pattern_mismatch")]
    assert kinds(Annotated[str, Field(pattern="^[a-z]+$")], "abc1") == [(["body"], "string_pattern_mismatch")]
    _, errors = load(Annotated[str, Field(pattern="^b$")], "bb")
    assert errors == [{"loc": ["body"], "msg": "String should match pattern '^b$'", "type": "string_pattern_mismatch",
                       "input": "bb", "ctx": {"pattern": "^b$"}}]


def test_constraints_run_after_the_type() -> None:
    ann = Annotated[int, Field(ge=1)]
    assert kinds(ann, "x") == [(["body"], "int_type")]  # one problem: the type, not also the bound
    assert ok(Annotated[int | None, Field(ge=1)], None) is None
    assert ok(Optional[Annotated[int, Field(ge=1)]], None) is None  # noqa: UP045
    assert kinds(Annotated[int | None, Field(ge=1)], 0) == [(["body"], "greater_than_equal")]


def test_constraints_on_item_types() -> None:
    ann = list[Annotated[str, Field(min_length=1)]]
    assert kinds(ann, ["a", "", "b", ""]) == [(["body", 1], "string_too_short"), (["body", 3], "string_too_short")]


def test_description_and_examples_do_not_validate() -> None:
    ann = Annotated[str, Field(description="the name", examples=["ann", "bob"])]
    assert ok(ann, "zed") == "zed"
    assert compile_type(ann, text=False).schema(Schemas()) == {"type": "string", "description": "the name",
                                                               "examples": ["ann", "bob"]}


def test_field_refuses_bad_arguments_when_made() -> None:
    with pytest.raises(re.error):
        Field(pattern="(")
    with pytest.raises(ValueError):
        Field(multiple_of=0)


# --- R93: dump and check --------------------------------------------------------------------

def test_dump() -> None:
    assert dump(Point, Point(1, 2)) == {"x": 1, "y": 2}
    assert dump(Box, Box(Point(1), ["t"])) == {"corner": {"x": 1, "y": 0}, "tags": ["t"], "label": "box"}
    assert dump(list[Point], [Point(1), Point(2)]) == [{"x": 1, "y": 0}, {"x": 2, "y": 0}]
    assert dump(Color, Color.RED) == "red"
    assert dump(dict[str, Color], {"a": Color.GREEN}) == {"a": "green"}
    assert dump(Literal[Color.RED], Color.RED) == "red"
    assert dump(dt.datetime, dt.datetime(2024, 1, 2, 3, 4)) == "2024-01-02T03:04:00"
    assert dump(dt.date, dt.date(2024, 1, 2)) == "2024-01-02"
    assert dump(uuid.UUID, uuid.UUID(int=0)) == "00000000-0000-0000-0000-000000000000"
    assert dump(Decimal, Decimal("1.10")) == "1.10"
    assert dump(tuple[Color, ...], (Color.RED,)) == ["red"]
    assert dump(set[int], {1}) == [1]
    assert dump(Point | None, None) is None
    assert dump(int | Point, Point(3)) == {"x": 3, "y": 0}
    assert dump(Any, {"x": Color.RED}) == {"x": Color.RED}  # left to res.json (R31)


def test_dataclass_fields_without_init_are_sent_never_read() -> None:
    @dataclasses.dataclass
    class Priced:
        net: int
        gross: int = dataclasses.field(init=False)
        lock: typing.Callable[[], None] = dataclasses.field(init=False, default=print, repr=False)
        note: str = dataclasses.field(init=False)  # never set: left out

        def __post_init__(self) -> None:
            self.gross = self.net * 2

    item = ok(Priced, {"net": 5, "gross": 1, "note": "n"})  # gross and note are not read
    assert (item.net, item.gross, hasattr(item, "note")) == (5, 10, False)
    out = dump(Priced, item)
    assert out == {"net": 5, "gross": 10, "lock": print}  # as R31's res.json would have them
    assert check(Priced, item) == []
    assert [p["loc"] for p in check(Priced, {"net": 1, "gross": "x"})] == [["gross"]]
    ctx = Schemas()
    compile_type(Priced, text=False).schema(ctx)
    assert ctx.components["Priced"]["required"] == ["net"]
    assert ctx.components["Priced"]["properties"]["gross"] == {"type": "integer", "readOnly": True}


def test_dump_keeps_only_declared_keys() -> None:
    assert dump(Movie, {"title": "t", "secret": "s"}) == {"title": "t"}
    assert dump(Point, {"x": 1, "y": 2, "password": "p"}) == {"x": 1, "y": 2}

    @dataclasses.dataclass
    class Child(Point):
        secret: str = "s"

    assert dump(Point, Child(1, 2)) == {"x": 1, "y": 2}
    assert dump(list[Movie], [{"title": "a", "n": 1}]) == [{"title": "a"}]


def test_check() -> None:
    assert check(Point, Point(1)) == []
    assert check(Point, {"x": 1}) == []
    assert [p["loc"] for p in check(Point, Point("a"))] == [["x"]]  # type: ignore[arg-type]
    assert [p["loc"] for p in check(list[Point], [Point(1), {"y": 1}])] == [[1, "x"]]
    assert [p["type"] for p in check(int, "x")] == ["int_type"]
    assert check(dt.datetime, dt.datetime.now()) == []
    assert check(uuid.UUID, uuid.uuid4()) == []
    assert check(Decimal, Decimal(1)) == []
    assert check(Color, Color.RED) == []
    assert check(tuple[int, ...], (1, 2)) == []
    assert check(set[int], {1}) == []
    assert check(int | None, None) == []
    assert check(Movie, {"title": "t"}) == []
    assert [p["loc"] for p in check(Movie, {"year": 1})] == [["title"]]
    assert check(dict[str, int], {"a": 1}) == []
    assert [p["loc"] for p in check(dict[str, int], {"a": "b"})] == [["a"]]
    assert check(Annotated[int, Field(ge=1)], 1) == []
    assert [p["type"] for p in check(Annotated[int, Field(ge=1)], 0)] == ["greater_than_equal"]


def test_check_a_typeddict_never_raises() -> None:
    # isinstance(x, SomeTypedDict) is a TypeError: dev mode's check must not turn it into a 500
    assert [p["type"] for p in check(Movie, Point(1))] == ["dict_type"]
    assert [p["type"] for p in check(Movie, ["t"])] == ["dict_type"]
    assert [p["type"] for p in check(list[Movie], [{"title": "t"}, Point(1)])] == ["dict_type"]
    assert check(Point | Movie, {"title": "t"}) == []
    assert len(check(Movie | Point, Box(Point(1)))) == 1


# --- schema ---------------------------------------------------------------------------------

def test_schema() -> None:
    ctx = Schemas()
    assert compile_type(int | None, text=False).schema(ctx) == {"type": ["integer", "null"]}
    assert compile_type(Literal["a"], text=False).schema(ctx) == {"const": "a"}
    assert compile_type(set[str], text=False).schema(ctx) == {"type": "array", "items": {"type": "string"},
                                                              "uniqueItems": True}
    assert compile_type(Annotated[list[int], Field(max_length=3)], text=False).schema(ctx) == {
        "type": "array", "items": {"type": "integer"}, "maxItems": 3}
    assert compile_type(Node, text=False).schema(ctx) == {"$ref": "#/components/schemas/Node"}
    assert ctx.components["Node"] == {
        "title": "Node", "type": "object", "description": "A tree.", "required": ["name"],
        "properties": {"name": {"type": "string"},
                       "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
    assert compile_type(Color, text=False).schema(ctx) == {"$ref": "#/components/schemas/Color"}
    assert ctx.components["Color"] == {"title": "Color", "enum": ["red", "green"]}


# --- R94: what cannot be used ---------------------------------------------------------------

class Opaque:
    pass


@pytest.mark.parametrize(("annotation", "text", "words"), [
    (dict[int, str], False, "keys must be str"),
    (tuple[int, str], False, "fixed-length"),
    (Opaque, False, "Opaque"),
    (dict, True, "JSON body"),
    (dict[str, int], True, "JSON body"),
    (Point, True, "JSON body"),
    (Movie, True, "JSON body"),
    (list[Point], True, "JSON body"),
    (Point | None, True, "JSON body"),
    (Literal[1.5], False, "Literal"),
    (complex, False, "complex"),
    ("Point", False, "forward reference"),
    (typing.Callable[[], int], False, "cannot validate"),
    ([int], True, "not a type"),  # unhashable: never a bare TypeError
    ({"a": int}, False, "not a type"),
    (list[[int]], False, "not a type"),  # type: ignore[misc]
])
def test_unsupported(annotation: Any, text: bool, words: str) -> None:
    with pytest.raises(Unsupported, match=words):
        compile_type(annotation, text=text)


def test_unsupported_names_the_dataclass_field() -> None:
    @dataclasses.dataclass
    class Bad:
        ok: int
        when: complex

    with pytest.raises(Unsupported, match=r"Bad\.when"):
        compile_type(Bad, text=False)


def test_compiled_converters_are_reusable() -> None:
    conv = compile_type(list[Point], text=False)
    assert isinstance(conv, Converter)
    for n in range(3):
        errors: list[dict[str, Any]] = []
        assert conv.load([{"x": n}], [], errors) == [Point(n)]
        assert errors == []


def test_typeddict_required_and_not_required_with_postponed_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    # With `from __future__ import annotations` (common in handler files) TypedDict sees only
    # strings, so its __required_keys__ follow `total` alone; Required/NotRequired must still count.
    module = types.ModuleType("postponed_typeddicts")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    exec(  # noqa: S102 - a module of its own, to have the __future__ import
        "from __future__ import annotations\n"
        "from typing import Annotated, TypedDict\n"
        "try:\n"
        "    from typing import NotRequired, Required\n"
        "except ImportError:\n"
        "    from typing_extensions import NotRequired, Required\n"
        "from nextapi import Field\n"
        "class Movie(TypedDict):\n"
        "    title: str\n"
        "    year: NotRequired[int]\n"
        "class Draft(TypedDict, total=False):\n"
        "    id: Required[int]\n"
        "    note: str\n"
        "    size: Annotated[Required[int], Field(ge=1)]\n"
        "class Sequel(Draft):\n"
        "    part: int\n"
        "    subtitle: NotRequired[str]\n",
        namespace)
    movie, draft, sequel = namespace["Movie"], namespace["Draft"], namespace["Sequel"]
    assert ok(movie, {"title": "t"}) == {"title": "t"}
    assert kinds(movie, {}) == [(["body", "title"], "missing")]
    assert ok(draft, {"id": 1, "size": 2}) == {"id": 1, "size": 2}
    assert kinds(draft, {"note": "n"}) == [(["body", "id"], "missing"), (["body", "size"], "missing")]
    assert kinds(draft, {"id": 1, "size": 0}) == [(["body", "size"], "greater_than_equal")]
    assert kinds(sequel, {}) == [(["body", "id"], "missing"), (["body", "size"], "missing"),
                                 (["body", "part"], "missing")]
    assert check(movie, {"title": "t"}) == []


# --- R94: the code compiled per record type gives exactly what the generic walk gives ------------
@dataclasses.dataclass
class Everything:
    name: Annotated[str, Field(min_length=1, max_length=5)]
    code: Annotated[str, Field(pattern="^[a-z]+$")]
    price: Annotated[float, Field(ge=0, lt=100, multiple_of=0.5)]
    qty: Annotated[int, Field(gt=0, le=10, multiple_of=2)]
    flag: bool
    anything: Any
    nothing: None
    maybe: Annotated[int, Field(ge=1)] | None
    mode: Literal["a", "b", 3]
    color: Color
    point: Point
    points: list[Point]
    when: dt.date
    level: Annotated[Annotated[int, Field(ge=0)], Field(le=5)]
    ratio: Annotated[float, Field(gt=-1.5)] = 0.0
    sized: Annotated[list[int], Field(max_length=2)] = dataclasses.field(default_factory=list)
    on: Annotated[bool, Field(ge=1)] = False  # a bound that never applies to a bool
    note: str = "n"
    tags: list[str] = dataclasses.field(default_factory=list)
    hidden: int = dataclasses.field(default=0, init=False)


class Loose(TypedDict, total=False):
    a: Required[Annotated[int, Field(ge=0)]]
    b: Literal["x", "y"]
    c: Movie | None
    d: str | None


GOOD = {"name": "abc", "code": "xyz", "price": 2.5, "qty": 4, "flag": True, "anything": [1], "nothing": None,
        "maybe": 3, "mode": 3, "color": "red", "point": {"x": 1}, "points": [{"x": 2, "y": 3}],
        "when": "2024-02-03", "level": 5}
GOODS: dict[Any, dict[str, Any]] = {
    Everything: GOOD, Loose: {"a": 1, "b": "x", "c": {"title": "t"}, "d": None}, Movie: {"title": "t", "year": 2},
    Point: {"x": 1, "y": 2}, Box: {"corner": {"x": 1}, "tags": ["a"], "label": "abc"}}
# Values some key takes, and values none does, and anything
FITTING = st.sampled_from([0, 1, 2, 3, 4, 5, 10, 0.5, 2.0, 99.5, -1.0, True, False, None, "a", "b", "x", "y", "ab",
                           "abcde", "red", "green", "2024-02-03", [], [1, 2], ["t"], [{"x": 1}], {"x": 1},
                           {"x": 1, "y": 2}, {"title": "t"}, {"title": "t", "year": 1}])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.floats(-3, 120), st.just(float("nan")),
    st.sampled_from([11, 1.0, 100.0, -0.0, -1.5, 10**30, "", "abcdef", "ABC", "a1", "blue", "2024-2-3", "3"]),
    st.text(max_size=7))
VALUES = st.one_of(FITTING, st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["x", "y", "title", "year"]), inner, max_size=3)),
    max_leaves=6))
KEYS = st.sampled_from(sorted({k for good in GOODS.values() for k in good}
                              | {"ratio", "sized", "on", "note", "tags", "hidden", "extra"}))


def same_load(annotation: Any, value: Any) -> None:
    conv = compile_type(annotation, text=False)
    compiled: list[dict[str, Any]] = []
    walked: list[dict[str, Any]] = []
    got = conv.load(value, ["body", 0], compiled)
    want = conv.load_any(value, ["body", 0], walked)  # type: ignore[attr-defined]
    assert compiled == walked
    assert (got is INVALID) == (want is INVALID) == bool(walked)
    if got is not INVALID:
        assert type(got) is type(want) and got == want
        assert conv.dump(got) == conv.dump_any(got)  # type: ignore[attr-defined]


@FEW
@given(st.dictionaries(KEYS, VALUES, max_size=4), st.booleans())
def test_r94_compiled_record_load_is_the_generic_walk(changes: dict[str, Any], start_good: bool) -> None:
    for annotation, good in GOODS.items():
        same_load(annotation, {**good, **changes} if start_good else changes)


@pytest.mark.parametrize("value", [
    GOOD, {**GOOD, "qty": 3}, {**GOOD, "price": 1}, {**GOOD, "price": 10**400}, {**GOOD, "name": None},
    {**GOOD, "maybe": None}, {**GOOD, "maybe": 0}, {**GOOD, "mode": True}, {**GOOD, "mode": "c"},
    {**GOOD, "on": True, "ratio": -1.5, "sized": [1, 2, 3]}, {k: v for k, v in GOOD.items() if k != "name"}, {},
    [], "x", None, types.MappingProxyType(GOOD), collections.OrderedDict(GOOD),
])
def test_r94_compiled_record_load_examples(value: Any) -> None:
    same_load(Everything, value)


def test_r94_compiled_record_load_post_init_and_dump() -> None:
    @dataclasses.dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("n must not be negative")

    assert kinds(Positive, {"n": -1}) == [(["body"], "value_error")]
    assert load(Positive, {"n": -1})[1][0]["msg"] == "Value error, n must not be negative"
    same_load(Positive, {"n": -1})
    conv = compile_type(Everything, text=False)
    item = ok(Everything, GOOD)
    assert conv.dump(item)["hidden"] == 0
    del item.name  # a field gone from the instance is left out, as the generic walk leaves it
    assert "name" not in conv.dump(item)
    assert conv.dump(item) == conv.dump_any(item)  # type: ignore[attr-defined]
    assert conv.dump({"name": "n", "extra": 1}) == {"name": "n"}  # a dict: its known keys


def test_r94_a_record_is_compiled_once_into_its_own_code() -> None:
    conv = compile_type(Everything, text=False)
    load_fn = conv.loader()
    assert load_fn is not conv.load and "def load(value, loc, errors)" in load_fn.__nextapi_source__  # type: ignore[attr-defined]
    assert "'name'" in conv.dumper().__nextapi_source__  # type: ignore[attr-defined]


def test_r94_compiled_record_calls_the_class_as_the_walk_does() -> None:
    @dataclasses.dataclass
    class Mixed:
        a: int
        b: str = "b"
        c: int = dataclasses.field(default=0, kw_only=True)

    @dataclasses.dataclass(init=False)
    class Reordered:  # its own __init__, parameters in another order
        a: int
        b: str

        def __init__(self, b: str, a: int) -> None:
            self.a, self.b = a, b + "!"

    @dataclasses.dataclass(init=False)
    class PositionalOnly:  # cls(**fields) is a TypeError: the walk's 422
        a: int

        def __init__(self, a: int, /) -> None:
            self.a = a

    @dataclasses.dataclass
    class Counted:  # a __new__ of its own sees the arguments as the walk passes them
        a: int
        b: int = 1

        def __new__(cls, *args: Any, **kwargs: Any) -> "Counted":  # noqa: PYI034
            assert not args and set(kwargs) <= {"a", "b"}
            return super().__new__(cls)

    assert ok(Mixed, {"a": 1, "c": 2}) == Mixed(1, "b", c=2)
    assert ok(Reordered, {"a": 1, "b": "x"}).__dict__ == {"a": 1, "b": "x!"}
    assert kinds(PositionalOnly, {"a": 1}) == [(["body"], "value_error")]
    assert ok(Counted, {"a": 1}) == Counted(a=1)
    for cls, value in ((Mixed, {"a": 1, "c": 2}), (Reordered, {"a": 1, "b": "x"}), (PositionalOnly, {"a": 1}),
                       (Counted, {"a": 1, "b": 2})):
        same_load(cls, value)


QUICK = (Annotated[int, Field(ge=1, le=6, multiple_of=2)], Annotated[str, Field(min_length=2, pattern="^[a-c]+$")],
         Annotated[float, Field(gt=0, multiple_of=0.5)], Annotated[bool, Field(ge=1)], Annotated[Any, Field(ge=1)],
         Annotated[int | None, Field(ge=1)], Annotated[Literal["a", "b"], Field(max_length=1)],
         list[int], list[Annotated[int, Field(ge=0)]], list[str | None], list[Any], list[Point], set[int])


def _slow(conv: Any) -> Any:
    """`conv` without its quick tests (and so are the converters inside it)."""
    import copy
    slow = copy.copy(conv)
    for name in ("passes", "all_pass"):
        if hasattr(slow, name):
            object.__setattr__(slow, name, None)
    for name in ("inner", "item"):
        if hasattr(slow, name):
            object.__setattr__(slow, name, _slow(getattr(slow, name)))
    return slow


@FEW
@given(VALUES)
def test_r94_quick_tests_give_what_the_converters_give(value: Any) -> None:
    for annotation in QUICK:
        for text in (False, True):
            try:
                conv = compile_type(annotation, text=text)
            except Unsupported:
                continue
            slow = _slow(conv)
            for method, given_value in (("load", value), ("parse", value if isinstance(value, str) else str(value))):
                fast_errors: list[dict[str, Any]] = []
                slow_errors: list[dict[str, Any]] = []
                got = getattr(conv, method)(given_value, ["q"], fast_errors)
                want = getattr(slow, method)(given_value, ["q"], slow_errors)
                assert fast_errors == slow_errors, (annotation, method, given_value)
                assert (got is INVALID) == (want is INVALID)
                if got is not INVALID:
                    assert type(got) is type(want) and got == want
