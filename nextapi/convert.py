"""Type annotations compiled into converters (R91, R93, R94): validate, convert, dump, describe.

`compile_type(T, text=...)` runs once, when a module loads, and returns a
`Converter` tree for `T`. Per request only the tree's methods run, with no
inspection of types:

- `load(value, loc, errors)`: a JSON value (a request body) into `T`; JSON
  values must already have the type, except an int for a float and ISO
  strings for dates, times, UUID and Decimal.
- `parse(text, loc, errors)`: a path, query, header or cookie string into `T`.
- `dump(value)`: a returned value into JSON-ready data by its annotation.
- `check(value, loc, errors)`: does a returned value fit (dev mode's warning)?
- `schema(ctx)`: its JSON Schema 2020-12, named types as `$ref`s into `ctx`.

Problems are appended to `errors` as `{"loc", "msg", "type"}` and the
value `INVALID` comes back, so one request collects every problem at once.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import keyword
import re
import sys
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .params import Field

INVALID: Any = object()  # a value that failed: its problems are in `errors`
Errors = list[dict[str, Any]]
Loc = list[Any]

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))


class Unsupported(TypeError):
    """An annotation nextapi cannot use; the loader names the file and function (R94)."""


def _err(errors: Errors, loc: Loc, msg: str, kind: str, value: Any = INVALID, **ctx: Any) -> Any:
    problem: dict[str, Any] = {"loc": list(loc), "msg": msg, "type": kind}
    if value is not INVALID and isinstance(value, (str, int, float, bool, type(None))):
        problem["input"] = value
    if ctx:
        problem["ctx"] = ctx
    errors.append(problem)
    return INVALID


class Schemas:
    """The named schemas (`components/schemas`) that the described types refer to."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}

    def ref(self, key: Any, name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self._names:
            unique, n = name, 2
            while unique in self.components:
                unique, n = f"{name}{n}", n + 1
            self._names[key] = unique
            self.components[unique] = {}  # a placeholder first: recursive types refer to it
            self.components[unique] = build()
        return {"$ref": f"#/components/schemas/{self._names[key]}"}


class Converter:
    """One node of a compiled type; subclasses override what differs."""

    __slots__ = ()
    many = False  # takes several query values (list, set, tuple)
    kind = "value"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        raise NotImplementedError

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        return self.load(text, loc, errors)

    def dump(self, value: Any) -> Any:
        return value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        self.load(value, loc, errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {}

    def describe(self) -> str:
        return self.kind

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        """A Python test of the name `var`, true only when `load` would give that value back
        unchanged with no problem, for the code compiled per record type (R94); None: call `load`.
        Constants it needs go into `ns` (see _const)."""
        return None

    def loader(self) -> Callable[[Any, Loc, Errors], Any]:
        """The fastest callable doing what `load` does."""
        return self.load

    def dumper(self) -> Callable[[Any], Any]:
        """The fastest callable doing what `dump` does."""
        return self.dump

    def plain_dump(self) -> bool:
        """Does `dump` give back whatever it gets?"""
        return type(self).dump is Converter.dump

    def output(self, checked: Callable[[Any, bool, str], Any]) -> Callable[[Any, bool, str], Any] | None:
        """`dump` taking a handler's `(value, dev, where)`, `checked` doing all in dev; None: none of its own."""
        return None


def _predicate(conv: Converter, template: str = "{}", arg: str = "v") -> Callable[[Any], bool] | None:
    """`conv.inline`'s test of `v` (put into `template`) made a function of `arg`; None without a test."""
    ns: dict[str, Any] = {}
    test = conv.inline("v", ns)
    if test is None:
        return None
    found: Callable[[Any], bool] = eval(f"lambda {arg}: {template.format(test or 'True')}", ns)  # our own source
    return found


def _const(ns: dict[str, Any], value: Any) -> str:
    """A name in `ns` bound to `value`, for generated code."""
    name = f"_k{len(ns)}"
    ns[name] = value
    return name


class _Any(Converter):
    __slots__ = ()
    kind = "Any"

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return "True"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        return value


class _Str(Converter):
    __slots__ = ()
    kind = "str"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if value.__class__ is str or isinstance(value, str):
            return value
        return _err(errors, loc, "Input should be a valid string", "string_type", value)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return f"{var}.__class__ is str"

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "string"}


class _Int(Converter):
    __slots__ = ()
    kind = "int"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        return _err(errors, loc, "Input should be a valid integer", "int_type", value)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return f"{var}.__class__ is int"

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        text = text.strip()
        if len(text) <= 4300 and _INT.fullmatch(text):
            return int(text)
        return _err(errors, loc, "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing", text)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "integer"}


class _Float(Converter):
    __slots__ = ()
    kind = "float"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if value.__class__ is float:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # a JSON integer of hundreds of digits
                return _err(errors, loc, "Input should be a finite number", "finite_number")
        return _err(errors, loc, "Input should be a valid number", "float_type", value)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return f"{var}.__class__ is float"  # an int is made a float: load does that

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        text = text.strip()
        if len(text) <= 400 and _FLOAT.fullmatch(text):
            number = float(text)
            if number not in (float("inf"), float("-inf")):
                return number
        return _err(errors, loc, "Input should be a valid number, unable to parse string as a number",
                    "float_parsing", text)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "number"}


class _Bool(Converter):
    __slots__ = ()
    kind = "bool"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if value is True or value is False:
            return value
        return _err(errors, loc, "Input should be a valid boolean", "bool_type", value)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return f"({var} is True or {var} is False)"

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        return _err(errors, loc, "Input should be a valid boolean, unable to interpret input", "bool_parsing", text)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "boolean"}


class _None(Converter):
    __slots__ = ()
    kind = "None"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if value is None:
            return None
        return _err(errors, loc, "Input should be None", "none_required", value)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        return f"{var} is None"

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        if text in ("", "null", "none", "None"):
            return None
        return _err(errors, loc, "Input should be None", "none_required", text)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "null"}


class _Literal(Converter):
    __slots__ = ("expected", "texts", "values", "wire")

    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values
        self.wire = tuple(_json(v) for v in values)  # as JSON has them: an Enum member is its value
        self.texts = tuple(("true" if w else "false") if isinstance(w, bool) else str(w) for w in self.wire)
        self.expected = " or ".join(repr(w) for w in self.wire)

    def describe(self) -> str:
        return f"Literal[{', '.join(map(repr, self.values))}]"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        for allowed, wire in zip(self.values, self.wire):
            if value is allowed or (value == wire and type(value) is type(wire)):
                return allowed
        return _err(errors, loc, f"Input should be {self.expected}", "literal_error", value, expected=self.expected)

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        kinds = {type(v) for v in self.values}
        if not kinds <= {str, int}:  # an Enum member, a bool or None: load gives back another object
            return None
        classes = " or ".join(f"{var}.__class__ is {k.__name__}" for k in sorted(kinds, key=str))
        return f"({classes}) and {var} in {_const(ns, frozenset(self.values))}"

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        for allowed, wire, shown in zip(self.values, self.wire, self.texts):
            if text == shown or (isinstance(wire, bool) and text.lower() == shown):
                return allowed
        return self.load(text, loc, errors)

    def dump(self, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        if len(self.values) == 1:
            return {"const": _json(self.values[0])}
        return {"enum": [_json(v) for v in self.values]}


class _Enum(Converter):
    __slots__ = ("by_text", "cls")

    def __init__(self, cls: type[enum.Enum]) -> None:
        self.cls = cls
        self.by_text = {str(m.value): m for m in cls}

    def describe(self) -> str:
        return self.cls.__name__

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(value, self.cls):
            return value
        for member in self.cls:
            if member.value == value and type(member.value) is type(value):
                return member
        return self._fail(value, loc, errors)

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(text, list):
            text = text[-1] if text else ""
        member = self.by_text.get(text)
        return member if member is not None else self._fail(text, loc, errors)

    def _fail(self, value: Any, loc: Loc, errors: Errors) -> Any:
        expected = ", ".join(repr(m.value) for m in self.cls)
        return _err(errors, loc, f"Input should be {expected}", "enum", value, expected=expected)

    def dump(self, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return ctx.ref(self.cls, self.cls.__name__,
                       lambda: {"title": self.cls.__name__, "enum": [_json(m.value) for m in self.cls]})


class _Parsed(Converter):
    """A type read from a string (ISO 8601 dates and times, UUID, Decimal)."""

    __slots__ = ("cls", "name", "numbers", "read", "spec")

    def __init__(self, cls: type, read: Callable[[str], Any], name: str, spec: dict[str, Any],
                 numbers: bool = False) -> None:
        self.cls, self.read, self.name, self.spec, self.numbers = cls, read, name, spec, numbers

    def describe(self) -> str:
        return self.cls.__name__

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if isinstance(value, self.cls) and not (self.cls is dt.date and isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str) or (self.numbers and isinstance(value, (int, float)) and not isinstance(value, bool)):
            text = value if isinstance(value, str) else repr(value)
            try:
                if len(text) <= 100:
                    return self.read(text)
            except (ValueError, TypeError, ArithmeticError):
                pass
        return _err(errors, loc, f"Input should be a valid {self.name}", f"{self.name}_parsing", value)

    def dump(self, value: Any) -> Any:
        if isinstance(value, (dt.date, dt.time)):
            return value.isoformat()
        return str(value) if isinstance(value, (uuid.UUID, Decimal)) else value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if not isinstance(value, self.cls):
            self.load(value, loc, errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return dict(self.spec)


# Python 3.10's fromisoformat takes only 3 or 6 digits of a second; ISO 8601 (and JavaScript,
# Go, databases) send any number: `.5`, `.123456789`. Padded or cut to 6 for it.
_FRACTION = re.compile(r"(?<=:[0-9]{2})[.,]([0-9]+)") if sys.version_info < (3, 11) else None


def _iso(text: str) -> str:
    if text[-1:] in "zZ" and text:
        text = text[:-1] + "+00:00"
    if _FRACTION is not None:
        text = _FRACTION.sub(lambda m: "." + m[1][:6].ljust(6, "0"), text, 1)
    return text


def _datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(_iso(text))


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(_iso(text))


def _decimal(text: str) -> Decimal:
    number = Decimal(text.strip())
    if not number.is_finite():
        raise ValueError("not finite")
    return number


def _date(text: str) -> dt.date:
    if len(text) != 10:
        raise ValueError("a date is YYYY-MM-DD")
    return dt.date.fromisoformat(text)


class _Constrained(Converter):
    """`Annotated[T, Field(...)]`: T, then the constraints, each problem named as pydantic does."""

    __slots__ = ("decimal_bounds", "field", "inner", "many", "numeric", "passes", "regex", "sized", "step",
                 "step_ratio")

    def __init__(self, inner: Converter, field: Field) -> None:
        self.inner, self.field = inner, field
        self.regex = re.compile(field.pattern) if field.pattern is not None else None
        self.many = inner.many
        # PERF: which of the checks can apply at all, decided once
        self.numeric = any(v is not None for v in (field.ge, field.gt, field.le, field.lt, field.multiple_of))
        self.sized = field.min_length is not None or field.max_length is not None
        # The bounds and the step as written (0.1 is 1/10, not the float just above it), so that
        # ints and Decimals are compared and divided exactly.
        self.decimal_bounds = tuple(None if b is None else Decimal(str(b)) for b in (field.ge, field.gt, field.le,
                                                                                    field.lt))
        self.step = Decimal(str(field.multiple_of)) if field.multiple_of is not None else Decimal(1)
        self.step_ratio = self.step.as_integer_ratio()
        self.passes = _predicate(self)  # PERF: a value that already fits, told by one test

    def describe(self) -> str:
        return self.inner.describe()

    def plain_dump(self) -> bool:
        return self.inner.plain_dump()

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        inner = self.inner.inline(var, ns)
        base = self._base()
        if inner is None or base is None:
            return None
        f, tests = self.field, [inner]
        # Which checks _limit makes is decided by the value's class, and `inner` has fixed it.
        if base is str:
            if self.sized:
                low = "" if f.min_length is None else f"{_const(ns, f.min_length)} <= "
                high = "" if f.max_length is None else f" <= {_const(ns, f.max_length)}"
                tests.append(f"{low}len({var}){high}")
            if self.regex is not None:
                tests.append(f"{_const(ns, self.regex.search)}({var}) is not None")
        elif (base is int or base is float) and self.numeric:
            for bound, op in ((f.ge, ">="), (f.gt, ">"), (f.le, "<="), (f.lt, "<")):
                if bound is not None:
                    tests.append(f"{var} {op} {_const(ns, bound)}")
            if f.multiple_of is not None:
                tests.append(f"{_const(ns, self._multiple)}({var}, {_const(ns, f.multiple_of)})")
        return " and ".join(f"({t})" for t in tests)

    def _base(self) -> type | None:
        """The one class a value that passes `inner.inline` has (str, int, float, bool, None), else None."""
        inner = self.inner
        while isinstance(inner, _Constrained):
            inner = inner.inner
        for conv, kind in ((_Str, str), (_Int, int), (_Float, float), (_Bool, bool), (_None, type(None))):
            if type(inner) is conv:
                return kind
        return None

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        passes = self.passes
        if passes is not None and passes(value):  # PERF: what inner.load and _limit would give back
            return value
        value = self.inner.load(value, loc, errors)
        return value if value is INVALID else self._limit(value, loc, errors)

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        value = self.inner.parse(text, loc, errors)
        passes = self.passes
        if value is INVALID or (passes is not None and passes(value)):  # PERF: _limit would find nothing
            return value
        return self._limit(value, loc, errors)

    def dump(self, value: Any) -> Any:
        return self.inner.dump(value)

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        before = len(errors)
        self.inner.check(value, loc, errors)
        if len(errors) == before:
            self._limit(value, loc, errors)

    def _limit(self, value: Any, loc: Loc, errors: Errors) -> Any:
        f = self.field
        if self.numeric and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            ge, gt, le, lt = self.decimal_bounds if isinstance(value, Decimal) else (f.ge, f.gt, f.le, f.lt)
            if ge is not None and not value >= ge:
                return _err(errors, loc, f"Input should be greater than or equal to {f.ge}", "greater_than_equal",
                            value, ge=f.ge)
            if gt is not None and not value > gt:
                return _err(errors, loc, f"Input should be greater than {f.gt}", "greater_than", value, gt=f.gt)
            if le is not None and not value <= le:
                return _err(errors, loc, f"Input should be less than or equal to {f.le}", "less_than_equal",
                            value, le=f.le)
            if lt is not None and not value < lt:
                return _err(errors, loc, f"Input should be less than {f.lt}", "less_than", value, lt=f.lt)
            if f.multiple_of is not None and not self._multiple(value, f.multiple_of):
                return _err(errors, loc, f"Input should be a multiple of {f.multiple_of}", "multiple_of",
                            value, multiple_of=f.multiple_of)
        if self.sized and isinstance(value, (str, list, tuple, set, frozenset, dict)):
            size = len(value)
            what = "characters" if isinstance(value, str) else "items"
            prefix = "string" if isinstance(value, str) else ""
            if f.min_length is not None and size < f.min_length:
                return _err(errors, loc, f"Value should have at least {f.min_length} {what}",
                            f"{prefix}_too_short" if prefix else "too_short", value, min_length=f.min_length)
            if f.max_length is not None and size > f.max_length:
                return _err(errors, loc, f"Value should have at most {f.max_length} {what}",
                            f"{prefix}_too_long" if prefix else "too_long", value, max_length=f.max_length)
        if self.regex is not None and isinstance(value, str) and self.regex.search(value) is None:
            return _err(errors, loc, f"String should match pattern '{f.pattern}'", "string_pattern_mismatch",
                        value, pattern=f.pattern)
        return value

    def _multiple(self, value: float | Decimal, step: float) -> bool:
        """Is `value` a multiple of `step`: exactly for ints and Decimals, within pydantic's
        tolerance (a billionth of the value) for floats; never an OverflowError."""
        if isinstance(value, float):
            rest = value % step
            slack = abs(value) / 1e9
            return rest <= slack or step - rest <= slack
        if isinstance(value, int):
            top, bottom = self.step_ratio
            return value * bottom % top == 0
        digits = value.adjusted() - self.step.adjusted() + 10  # the quotient's digits, and some
        if digits > 5000:  # a Decimal like 1e999999: too large to divide in bounded time
            return False
        with decimal.localcontext() as context:
            context.prec = max(context.prec, digits)
            try:
                return value % self.step == 0
            except ArithmeticError:
                return False

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        base = self.inner.schema(ctx)
        f = self.field
        extra: dict[str, Any] = {}
        array = isinstance(self.inner, _List) or base.get("type") in ("array", "object")
        for key, name in (("ge", "minimum"), ("gt", "exclusiveMinimum"), ("le", "maximum"),
                          ("lt", "exclusiveMaximum"), ("multiple_of", "multipleOf"), ("pattern", "pattern"),
                          ("description", "description")):
            if getattr(f, key) is not None:
                extra[name] = getattr(f, key)
        if f.min_length is not None:
            extra["minProperties" if base.get("type") == "object" else "minItems" if array else "minLength"] = f.min_length
        if f.max_length is not None:
            extra["maxProperties" if base.get("type") == "object" else "maxItems" if array else "maxLength"] = f.max_length
        if f.examples is not None:
            extra["examples"] = [_json(e) for e in f.examples]
        if "$ref" in base:
            return {"allOf": [base], **extra} if extra else base
        return {**base, **extra}


class _Optional(Converter):
    """`T | None`: None (JSON null, or an empty text for a scalar), else T."""

    __slots__ = ("inner", "many")

    def __init__(self, inner: Converter) -> None:
        self.inner = inner
        self.many = inner.many

    def describe(self) -> str:
        return f"{self.inner.describe()} | None"

    def plain_dump(self) -> bool:
        return self.inner.plain_dump()

    def inline(self, var: str, ns: dict[str, Any]) -> str | None:
        inner = self.inner.inline(var, ns)
        return f"{var} is None" if inner is None else f"({var} is None or ({inner}))"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        return None if value is None else self.inner.load(value, loc, errors)

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        if not self.many and (text == "" or (isinstance(text, list) and text and text[-1] == "")):
            trial: Errors = []  # `?page=` as an HTML form sends it: "" if T takes it (str), else None
            value = self.inner.parse(text, loc, trial)
            return None if trial else value
        return self.inner.parse(text, loc, errors)

    def dump(self, value: Any) -> Any:
        return None if value is None else self.inner.dump(value)

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if value is not None:
            self.inner.check(value, loc, errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        inner = self.inner.schema(ctx)
        if set(inner) == {"type"} and isinstance(inner["type"], str):
            return {"type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}


class _Union(Converter):
    """`A | B | ...`: the first member that takes the value; if none does, the problems of the
    member that came closest (fewest problems)."""

    __slots__ = ("many", "options")

    def __init__(self, options: tuple[Converter, ...]) -> None:
        self.options = options
        self.many = any(o.many for o in options)

    def describe(self) -> str:
        return " | ".join(o.describe() for o in self.options)

    def _try(self, method: str, value: Any, loc: Loc, errors: Errors) -> Any:
        best: Errors | None = None
        for option in self.options:
            trial: Errors = []
            result = getattr(option, method)(value, loc, trial)
            if not trial:
                return result
            if best is None or len(trial) < len(best):
                best = trial
        errors.extend(best or [])
        return INVALID

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        return self._try("load", value, loc, errors)

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        return self._try("parse", text, loc, errors)

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        self._try("check", value, loc, errors)

    def dump(self, value: Any) -> Any:
        for option in self.options:
            trial: Errors = []
            option.check(value, [], trial)
            if not trial:
                return option.dump(value)
        return value

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"anyOf": [o.schema(ctx) for o in self.options]}


class _List(Converter):
    """`list[T]`, `set[T]`, `tuple[T, ...]`: a JSON array; from a query, a repeated key."""

    __slots__ = ("all_pass", "item", "make", "name")
    many = True

    def __init__(self, item: Converter, make: type, name: str) -> None:
        self.item, self.make, self.name = item, make, name
        # PERF: a JSON array whose items all fit already is copied, with no location per item
        self.all_pass = _predicate(item, "all({} for v in items)", "items") if make is list else None

    def describe(self) -> str:
        return f"{self.name}[{self.item.describe()}]"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        all_pass = self.all_pass
        if all_pass is not None and value.__class__ is list and all_pass(value):
            return value[:]  # PERF: what _items would build
        if not isinstance(value, (list, tuple)) or (self.make is not list and isinstance(value, str)):
            if self.make is not list and isinstance(value, (set, frozenset)):
                value = list(value)
            else:
                return _err(errors, loc, "Input should be a valid array", f"{self.name}_type", value)
        return self._items(value, loc, errors, self.item.load)

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        return self._items(text if isinstance(text, list) else [text], loc, errors, self.item.parse)

    def _items(self, values: Any, loc: Loc, errors: Errors, convert: Callable[[Any, Loc, Errors], Any]) -> Any:
        before = len(errors)
        out = [convert(v, [*loc, i], errors) for i, v in enumerate(values)]
        if len(errors) != before:
            return INVALID
        if self.make is list:
            return out
        try:
            return self.make(out)
        except TypeError:
            return _err(errors, loc, "Input should contain hashable items", "set_type")

    def dump(self, value: Any) -> Any:
        dump = self.item.dump
        return [dump(v) for v in value] if isinstance(value, (list, tuple, set, frozenset)) else value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if not isinstance(value, (list, tuple, set, frozenset)):
            _err(errors, loc, "Input should be a valid array", f"{self.name}_type")
            return
        for i, v in enumerate(value):
            self.item.check(v, [*loc, i], errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema(ctx)}
        if self.make is not list and self.name == "set":
            out["uniqueItems"] = True
        return out


class _Dict(Converter):
    """`dict[str, T]`: a JSON object whose values are T."""

    __slots__ = ("value",)
    kind = "dict"

    def __init__(self, value: Converter) -> None:
        self.value = value

    def describe(self) -> str:
        return f"dict[str, {self.value.describe()}]"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, Mapping):
            return _err(errors, loc, "Input should be a valid dictionary", "dict_type", value)
        before = len(errors)
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                _err(errors, [*loc, str(key)], "Keys should be strings", "string_type")
                continue
            out[key] = self.value.load(item, [*loc, key], errors)
        return INVALID if len(errors) != before else out

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        return _err(errors, loc, "Input should be a valid dictionary", "dict_type", text)

    def dump(self, value: Any) -> Any:
        dump = self.value.dump
        return {k: dump(v) for k, v in value.items()} if isinstance(value, Mapping) else value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if not isinstance(value, Mapping):
            _err(errors, loc, "Input should be a valid dictionary", "dict_type")
            return
        for k, v in value.items():
            self.value.check(v, [*loc, k], errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.value.schema(ctx)}


@dataclasses.dataclass(frozen=True)
class _Key:
    name: str
    converter: Converter
    required: bool
    default: Any = None
    factory: Callable[[], Any] | None = None
    init: bool = True  # False: a dataclass field(init=False), sent (R31) but never read from a request


class _Record(Converter):
    """A dataclass or a TypedDict: a JSON object with named keys; keys it does not name are ignored."""

    __slots__ = ("_dump", "_load", "cls", "init_keys", "keys", "readable", "typed_dict")

    def __init__(self, cls: type, keys: tuple[_Key, ...], typed_dict: bool, init_keys: frozenset[str]) -> None:
        self.cls, self.keys, self.typed_dict, self.init_keys = cls, keys, typed_dict, init_keys
        self.readable = tuple(k for k in keys if k.init)  # PERF: the keys a request fills, found once
        self._load = _compile_load(self)  # PERF: code of its own per record type, compiled once
        self._dump = _compile_dump(self)  # PERF: likewise

    def describe(self) -> str:
        return self.cls.__name__

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        return self._load(value, loc, errors)

    def loader(self) -> Callable[[Any, Loc, Errors], Any]:
        return self._load

    def dump(self, value: Any) -> Any:
        return self._dump(value)

    def dumper(self) -> Callable[[Any], Any]:
        return self._dump

    def output(self, checked: Callable[[Any, bool, str], Any]) -> Callable[[Any, bool, str], Any] | None:
        # PERF: a handler's output and this dump in one frame
        found: Callable[[Any, bool, str], Any] = _compile_dump(self, checked)
        return found

    def plain_dump(self) -> bool:
        return False

    def load_any(self, value: Any, loc: Loc, errors: Errors) -> Any:
        """`load` for any value, by walking the keys; the compiled code falls back on it, and its
        problems are the reference that code reproduces."""
        if not isinstance(value, Mapping):
            kind = "dict_type" if self.typed_dict else "dataclass_type"
            return _err(errors, loc, f"Input should be an object ({self.cls.__name__})", kind, value)
        before = len(errors)
        out: dict[str, Any] = {}
        for key in self.readable:
            if key.name in value:
                out[key.name] = key.converter.load(value[key.name], [*loc, key.name], errors)
            elif key.required:
                errors.append({"loc": [*loc, key.name], "msg": "Field required", "type": "missing"})
            elif not self.typed_dict:
                out[key.name] = key.factory() if key.factory is not None else key.default
        if len(errors) != before:
            return INVALID
        if self.typed_dict:
            return out
        try:
            return self.cls(**out)  # only init=True fields were filled
        except (ValueError, TypeError) as exc:  # a __post_init__ that refuses the values
            return _err(errors, loc, f"Value error, {exc}", "value_error")

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        return _err(errors, loc, f"Input should be an object ({self.cls.__name__})", "dataclass_type", text)

    def dump_any(self, value: Any) -> Any:
        """`dump` for any value; the compiled code falls back on it."""
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {k.name: k.converter.dump(getattr(value, k.name)) for k in self.keys if hasattr(value, k.name)}
        if isinstance(value, Mapping):
            return {k.name: k.converter.dump(value[k.name]) for k in self.keys if k.name in value}
        return value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if self.typed_dict:  # never isinstance(): a TypedDict refuses instance checks with a TypeError
            if not isinstance(value, Mapping):
                _err(errors, loc, f"Input should be a valid dictionary ({self.cls.__name__})", "dict_type")
                return
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            if not isinstance(value, self.cls):
                _err(errors, loc, f"Input should be an instance of {self.cls.__name__}", "dataclass_type")
                return
            for key in self.keys:
                if key.init or hasattr(value, key.name):
                    key.converter.check(getattr(value, key.name), [*loc, key.name], errors)
            return
        elif not isinstance(value, Mapping):
            _err(errors, loc, f"Input should be an object ({self.cls.__name__})", "dataclass_type")
            return
        for key in self.keys:
            if key.name in value:
                key.converter.check(value[key.name], [*loc, key.name], errors)
            elif key.required:
                errors.append({"loc": [*loc, key.name], "msg": "Field required", "type": "missing"})

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            out: dict[str, Any] = {"title": self.cls.__name__, "type": "object", "properties": {
                k.name: k.converter.schema(ctx) if k.init else {**k.converter.schema(ctx), "readOnly": True}
                for k in self.keys}}
            required = [k.name for k in self.keys if k.required]
            if required:
                out["required"] = required
            doc = self.cls.__doc__
            if doc and not (dataclasses.is_dataclass(self.cls) and doc.startswith(self.cls.__name__ + "(")):
                out["description"] = doc.strip()
            return out
        return ctx.ref(self.cls, self.cls.__name__, build)


# -- code compiled per record type (R94) --------------------------------------------------------------
# What attrs and pydantic-core do: when a dataclass or TypedDict is compiled, the Python source of
# its own `load` and `dump` is written with the keys unrolled and each key's test inlined (see
# Converter.inline), then exec'd once. Per request a JSON object whose values already have the
# right types passes without a single call of a converter or a location list; any other value goes
# to the key's own converter (or to _Record.load_any), so every problem is exactly the one the
# generic walk reports.
_MISSING: Any = object()


def _attr(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _compile_load(rec: _Record) -> Callable[[Any, Loc, Errors], Any]:
    """The source of `rec.load`, for a dict:

        def load(value, loc, errors):
            if value.__class__ is not dict:
                return _any(value, loc, errors)
            try:
                v0 = value['name']                    # the required keys
                ...
            except KeyError:
                return _any(value, loc, errors)       # one missing: the walk reports it
            v1 = value.get('note', _MISSING)          # the others
            if <every inlined test>:
                v2 = _k3(v2, [*loc, 'point'], errors) # keys with no test: their converter
                ...
            else:                                     # some key needs its converter, in key order
                ...
            return _cls(v0, note=v1, ...)             # as the walk would call it
    """
    ns: dict[str, Any] = {"INVALID": INVALID, "_MISSING": _MISSING, "_err": _err, "dict": dict, "len": len,
                          "KeyError": KeyError, "ValueError": ValueError, "TypeError": TypeError, "str": str,
                          "int": int, "float": float, "_any": rec.load_any, "_cls": rec.cls}
    keys = rec.readable
    names = [repr(k.name) for k in keys]
    tests = []
    for i, key in enumerate(keys):
        test = key.converter.inline(f"v{i}", ns)
        tests.append(None if test is None else "" if test == "True" else test)
    convs = [_const(ns, k.converter.loader()) for k in keys]
    lines = ["def load(value, loc, errors):",
             "    if value.__class__ is not dict:",  # a Mapping that is not a dict: the generic walk
             "        return _any(value, loc, errors)"]
    required = [i for i, k in enumerate(keys) if k.required]
    if required:  # PERF: subscripts in one try (free in 3.11) rather than a .get() call per key
        lines.append("    try:")
        lines.extend(f"        v{i} = value[{names[i]}]" for i in required)
        lines += ["    except KeyError:", "        return _any(value, loc, errors)"]
    lines.extend(f"    v{i} = value.get({names[i]}, _MISSING)" for i, k in enumerate(keys) if not k.required)

    def check(i: int) -> str:  # the key's value passes its test ("": no test at all)
        test = tests[i] or ""
        return test if keys[i].required or not test else f"(v{i} is _MISSING or ({test}))"

    def convert(i: int, indent: str) -> list[str]:
        call = f"v{i} = {convs[i]}(v{i}, [*loc, {names[i]}], errors)"
        present = "" if keys[i].required else f"v{i} is not _MISSING"
        test = tests[i]
        cond = " and ".join(c for c in (present, "" if test is None else f"not ({test})") if c)
        return [f"{indent}if {cond}:", f"{indent}    {call}"] if cond else [f"{indent}{call}"]

    # PERF: one condition over every inlined test; only when it fails are the keys walked one by one
    inlined = [check(i) for i in range(len(keys)) if tests[i] is not None and check(i)]
    others = [i for i in range(len(keys)) if tests[i] is None]
    if inlined:
        lines.append(f"    if {' and '.join(f'({c})' for c in inlined)}:")
        if others:
            lines.append("        before = len(errors)")
            for i in others:
                lines.extend(convert(i, "        "))
            lines += ["        if len(errors) != before:", "            return INVALID"]
        else:
            lines.append("        pass")
        lines.append("    else:")
        slow = "        "
    else:
        slow = "    "
    if inlined or others:
        lines.append(f"{slow}before = len(errors)")
        for i in range(len(keys)):
            if tests[i] != "":
                lines.extend(convert(i, slow))
        lines += [f"{slow}if len(errors) != before:", f"{slow}    return INVALID"]
    if rec.typed_dict:
        prefix = 0
        while prefix < len(keys) and keys[prefix].required:
            prefix += 1
        lines.append(f"    out = {{{', '.join(f'{names[i]}: v{i}' for i in range(prefix))}}}")
        for i in range(prefix, len(keys)):
            if keys[i].required:
                lines.append(f"    out[{names[i]}] = v{i}")
            else:
                lines += [f"    if v{i} is not _MISSING:", f"        out[{names[i]}] = v{i}"]
        lines.append("    return out")
        return _exec(lines, ns, "load", rec)  # type: ignore[no-any-return]
    for i, key in enumerate(keys):
        if not key.required:
            fill = f"{_const(ns, key.factory)}()" if key.factory is not None else _const(ns, key.default)
            lines += [f"    if v{i} is _MISSING:", f"        v{i} = {fill}"]
    args = _arguments(rec.cls, [k.name for k in keys])
    lines += ["    try:",
              f"        return _cls({', '.join(args)})",  # only init=True fields are filled
              "    except (ValueError, TypeError) as exc:  # a __post_init__ that refuses the values",
              "        return _err(errors, loc, 'Value error, ' + str(exc), 'value_error')"]
    return _exec(lines, ns, "load", rec)  # type: ignore[no-any-return]


def _arguments(cls: type, names: list[str]) -> list[str]:
    """The arguments of `cls(...)` for the fields `names` (values v0, v1...): by name as the walk
    passes them, except that the parameters the class's own `__init__` takes by position in the
    very same order (a dataclass's generated one) are passed by position, which binds the same."""
    code = getattr(getattr(cls, "__init__", None), "__code__", None)
    positional: list[str] = []
    plain = cls.__new__ is object.__new__ and type(cls).__call__ is type.__call__  # type: ignore[comparison-overlap]
    if plain and code is not None and not code.co_posonlyargcount and code.co_argcount >= 1:
        params = list(code.co_varnames[1:code.co_argcount])
        if set(params) <= set(names):
            positional = params  # PERF: a positional call binds a little faster than keywords
    at = {name: i for i, name in enumerate(names)}
    args = [f"v{at[p]}" for p in positional]
    for i, name in enumerate(names):
        if name not in positional:
            args.append(f"{name}=v{i}" if _attr(name) else f"**{{{name!r}: v{i}}}")
    return args


def _compile_dump(rec: _Record, checked: Callable[[Any, bool, str], Any] | None = None) -> Callable[..., Any]:
    """`rec.dump`; with `checked`, a handler's `output(value, dev, where)` that is this dump outside
    dev mode and `checked(value, dev, where)` in it (nextapi.signature)."""
    ns: dict[str, Any] = {"_any": rec.dump_any, "_cls": rec.cls, "dict": dict, "AttributeError": AttributeError,
                          "_checked": checked}
    lines = ["def dump(value):"] if checked is None else [
        "def dump(value, dev, where):", "    if dev:", "        return _checked(value, dev, where)"]
    if not rec.typed_dict:  # PERF: an instance of the very class: its fields are its attributes, read inline
        items = []
        for key in rec.keys:
            got = f"value.{key.name}" if _attr(key.name) else f"getattr(value, {key.name!r})"
            items.append(f"{key.name!r}: " + (got if key.converter.plain_dump() else
                                              f"{_const(ns, key.converter.dumper())}({got})"))
        lines += ["    if value.__class__ is _cls:",
                  "        try:",
                  f"            return {{{', '.join(items)}}}",
                  "        except AttributeError:",  # a field deleted from the instance: as dump_any has it
                  "            pass"]
    lines += ["    if value.__class__ is dict:", "        out = {}"]
    for key in rec.keys:
        got = f"value[{key.name!r}]"
        item = got if key.converter.plain_dump() else f"{_const(ns, key.converter.dumper())}({got})"
        lines += [f"        if {key.name!r} in value:", f"            out[{key.name!r}] = {item}"]
    lines += ["        return out", "    return _any(value)"]
    dump: Callable[[Any], Any] = _exec(lines, ns, "dump", rec)
    return dump


def _exec(lines: list[str], ns: dict[str, Any], name: str, rec: _Record) -> Any:
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<nextapi {name} {rec.cls.__qualname__}>", "exec"), ns)  # noqa: S102 - our own source
    fn = ns[name]
    fn.__qualname__ = f"{rec.cls.__qualname__}.<{name}>"
    fn.__nextapi_source__ = source  # for a reader, and tests
    return fn


class _Pydantic(Converter):
    """A class with pydantic v2's `model_validate`/`model_json_schema` (pydantic is never imported)."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def describe(self) -> str:
        return self.cls.__name__

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        try:
            return self.cls.model_validate(value)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, whatever its module
            found = getattr(exc, "errors", None)
            items = found() if callable(found) else [{"loc": (), "msg": str(exc), "type": "value_error"}]
            for item in items:
                errors.append({"loc": [*loc, *item.get("loc", ())], "msg": item.get("msg", "Invalid"),
                               "type": item.get("type", "value_error")})
            return INVALID

    def parse(self, text: Any, loc: Loc, errors: Errors) -> Any:
        return _err(errors, loc, f"Input should be an object ({self.cls.__name__})", "model_type", text)

    def dump(self, value: Any) -> Any:
        dump = getattr(value, "model_dump", None)
        return dump(mode="json") if callable(dump) else value

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        if not isinstance(value, self.cls):
            self.load(value, loc, errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            found = dict(self.cls.model_json_schema(ref_template="#/components/schemas/{model}"))  # type: ignore[attr-defined]
            for name, sub in found.pop("$defs", {}).items():
                ctx.components.setdefault(name, sub)
            return found
        return ctx.ref(self.cls, self.cls.__name__, build)


_SCALARS: dict[Any, Converter] = {
    str: _Str(), int: _Int(), float: _Float(), bool: _Bool(), type(None): _None(), None: _None(), Any: _Any(),
    object: _Any(),
    dt.datetime: _Parsed(dt.datetime, _datetime, "datetime", {"type": "string", "format": "date-time"}),
    dt.date: _Parsed(dt.date, _date, "date", {"type": "string", "format": "date"}),
    dt.time: _Parsed(dt.time, _time, "time", {"type": "string", "format": "time"}),
    uuid.UUID: _Parsed(uuid.UUID, uuid.UUID, "uuid", {"type": "string", "format": "uuid"}),
    Decimal: _Parsed(Decimal, _decimal, "decimal", {"anyOf": [{"type": "number"}, {"type": "string"}]},
                     numbers=True),
}
_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
_WRAPPERS = {"Required": True, "NotRequired": False}


def _wrapper(origin: Any) -> bool | None:
    """For TypedDict's `Required[T]` (True) and `NotRequired[T]` (False), None for anything else:
    typing's (3.11+) and typing_extensions' (how Python 3.10 spells them; never imported here)."""
    name = getattr(origin, "_name", None)
    if name in _WRAPPERS and getattr(origin, "__module__", None) in ("typing", "typing_extensions"):
        return _WRAPPERS[name]
    return None


def compile_type(annotation: Any, *, text: bool, _seen: dict[Any, Converter] | None = None) -> Converter:
    """The converter for `annotation`; `text` for path/query/header/cookie values (R91).

    Raises Unsupported, naming what cannot be used and why.
    """
    seen = {} if _seen is None else _seen
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner = compile_type(args[0], text=text, _seen=seen)
        for meta in annotation.__metadata__:
            if isinstance(meta, Field):
                inner = _Constrained(inner, meta)
        return inner
    try:
        known = _SCALARS.get(annotation)
    except TypeError:  # unhashable: a list or dict written where a type goes (`[int]` for `list[int]`)
        raise Unsupported(f"{annotation!r} is not a type (a list is written list[T], a dict dict[str, T])") from None
    if known is not None:
        return known
    if isinstance(annotation, typing.TypeVar) or annotation is typing.Any:
        return _SCALARS[Any]
    if origin in _UNION_TYPES:
        members = [a for a in args if a is not type(None)]
        compiled = tuple(compile_type(a, text=text, _seen=seen) for a in members)
        one = compiled[0] if len(compiled) == 1 else _Union(compiled)
        return _Optional(one) if len(members) != len(args) else one
    if origin is typing.Literal:
        if not all(isinstance(a, (str, int, bool, enum.Enum)) or a is None for a in args):
            raise Unsupported(f"Literal values must be str, int, bool, None or Enum members, not {args!r}")
        return _Literal(tuple(args))
    if origin in (list, set, frozenset, tuple) or annotation in (list, set, frozenset, tuple):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and args:
            raise Unsupported("only tuple[T, ...] is supported, not a fixed-length tuple")
        item = compile_type(args[0], text=text, _seen=seen) if args else _SCALARS[Any]
        kind = origin or annotation
        return _List(item, kind, kind.__name__)
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        if text:
            raise Unsupported("a dict is taken from a JSON body, not from a path, query, header or cookie")
        if args and args[0] is not str:
            raise Unsupported("dict keys must be str (JSON object keys are strings)")
        return _Dict(compile_type(args[1], text=text, _seen=seen) if args else _SCALARS[Any])
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return _Enum(annotation)
        if callable(getattr(annotation, "model_validate", None)) and callable(
                getattr(annotation, "model_json_schema", None)):
            if text:
                raise Unsupported(f"{annotation.__name__} is taken from a JSON body, not from text")
            return _Pydantic(annotation)
        if dataclasses.is_dataclass(annotation) or _is_typed_dict(annotation):
            if text:
                raise Unsupported(f"{annotation.__name__} is taken from a JSON body, not from a path, query, "
                                  "header or cookie")
            return _record(annotation, seen)
        for scalar in (bool, int, float, str):  # a subclass of a scalar (a NewType-like class)
            if issubclass(annotation, scalar):
                return _SCALARS[scalar]
    if isinstance(annotation, typing.NewType):
        return compile_type(annotation.__supertype__, text=text, _seen=seen)
    if isinstance(annotation, str):
        raise Unsupported(f"the forward reference {annotation!r} could not be resolved")
    raise Unsupported(f"nextapi cannot validate {annotation!r}: use str, int, float, bool, None, unions, "
                      "Literal, Enum, list/tuple/set/dict, dataclasses, TypedDict, dates and times, UUID, "
                      "Decimal or Any")


def _is_typed_dict(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, dict) and hasattr(cls, "__required_keys__")


class _Lazy(Converter):
    """A record type met again while it is being compiled (a recursive type)."""

    __slots__ = ("target",)

    def __init__(self) -> None:
        self.target: Converter | None = None

    def describe(self) -> str:
        return self.target.describe() if self.target else "?"

    def load(self, value: Any, loc: Loc, errors: Errors) -> Any:
        assert self.target is not None
        return self.target.load(value, loc, errors)

    def dump(self, value: Any) -> Any:
        assert self.target is not None
        return self.target.dump(value)

    def check(self, value: Any, loc: Loc, errors: Errors) -> None:
        assert self.target is not None
        self.target.check(value, loc, errors)

    def schema(self, ctx: Schemas) -> dict[str, Any]:
        assert self.target is not None
        return self.target.schema(ctx)


def _record(cls: type, seen: dict[Any, Converter]) -> Converter:
    if cls in seen:
        return seen[cls]
    lazy = _Lazy()
    seen[cls] = lazy
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - an annotation names something that does not exist
        raise Unsupported(f"cannot resolve the annotations of {cls.__name__}: {type(exc).__name__}: {exc}") from None
    keys = []
    if dataclasses.is_dataclass(cls):
        init_keys = frozenset(f.name for f in dataclasses.fields(cls) if f.init)
        for f in dataclasses.fields(cls):
            try:
                conv = compile_type(hints.get(f.name, Any), text=False, _seen=seen)
            except Unsupported as exc:
                if not f.init:  # never read from a request: sent as res.json sends it (R31)
                    keys.append(_Key(f.name, _SCALARS[Any], False, init=False))
                    continue
                raise Unsupported(f"{cls.__name__}.{f.name}: {exc}") from None
            if not f.init:
                keys.append(_Key(f.name, conv, False, init=False))
                continue
            has_default = f.default is not dataclasses.MISSING
            has_factory = f.default_factory is not dataclasses.MISSING
            keys.append(_Key(f.name, conv, not (has_default or has_factory),
                             f.default if has_default else None,
                             f.default_factory if has_factory else None))  # type: ignore[arg-type]
        record: Converter = _Record(cls, tuple(keys), False, init_keys)
    else:
        required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        for name, hint in hints.items():
            origin = typing.get_origin(hint)
            wrapper = None
            if origin is typing.Annotated:
                base = typing.get_args(hint)[0]
                wrapper = _wrapper(typing.get_origin(base))
                if wrapper is not None:
                    hint = typing.Annotated[(typing.get_args(base)[0], *hint.__metadata__)]
            else:
                wrapper = _wrapper(origin)
                if wrapper is not None:
                    hint = typing.get_args(hint)[0]
            try:
                conv = compile_type(hint, text=False, _seen=seen)
            except Unsupported as exc:
                raise Unsupported(f"{cls.__name__}[{name!r}]: {exc}") from None
            # The wrapper decides when there is one: with `from __future__ import annotations`
            # TypedDict cannot see Required/NotRequired in its string annotations, so its
            # __required_keys__ then only follow `total`.
            keys.append(_Key(name, conv, wrapper if wrapper is not None else name in required))
        record = _Record(cls, tuple(keys), True, frozenset())
    lazy.target = record
    seen[cls] = record
    return record


def _json(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
