"""A handler's declared inputs and output (R90–R94), compiled once when its module loads.

`compile_signature` reads the parameters after `(req, res)` and the return
annotation, picks where each input comes from (path, query, header, cookie,
body) and compiles its converter (nextapi.convert). Per request, `bind`
only looks values up and runs the compiled converters; every problem is
collected into one 422.
"""
from __future__ import annotations

import functools
import inspect
import logging
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .body import JSON_TYPES, parse_json
from .convert import INVALID, Converter, Errors, Unsupported, compile_type
from .errors import HTTPError
from .params import NO_OPERATION, Cookie, Field, Header, Operation, Query
from .request import _UNSET, Request
from .response import Response

logger = logging.getLogger("nextapi")

SOURCES = ("path", "query", "header", "cookie", "body")
_MISSING: Any = object()


@dataclass(frozen=True)
class Input:
    """One declared input: what OpenAPI documents and what `bind` fills."""

    name: str  # the Python parameter name
    source: str  # "path", "query", "header", "cookie" or "body"
    key: str  # the name on the wire: the query key, header name, cookie name, path parameter; "body"
    required: bool
    default: Any  # when not required
    converter: Converter
    description: str | None = None
    examples: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Signature:
    """Everything known about one handler or method function before any request."""

    fn: Callable[..., Any]
    inputs: tuple[Input, ...]
    returns: Converter | None  # the return annotation's converter, None without one
    operation: Operation
    summary: str | None  # from the docstring unless the operation says
    description: str | None
    file: str | None = None  # the handler's file, for dev's mismatch warning

    @property
    def typed(self) -> bool:
        """Does a request need more than `fn(req, res)`: inputs to bind, an output to convert, a status?"""
        return bool(self.inputs) or self.returns is not None or self.operation.status is not None

    def __post_init__(self) -> None:
        # PERF: `bind` and `output` made for this signature once; the instance's own shadow the methods
        object.__setattr__(self, "bind", _compile_bind(self))
        object.__setattr__(self, "output", _compile_output(self))

    @property
    def body(self) -> Input | None:
        return next((i for i in self.inputs if i.source == "body"), None)

    def bind(self, req: Any) -> dict[str, Any]:
        """The keyword arguments for this request, or one 422 listing every problem (R92).

        The reference for what the `bind` compiled per signature (_compile_bind) does.
        """
        errors: list[dict[str, Any]] = []
        values: dict[str, Any] = {}
        for inp in self.inputs:
            raw = _fetch(req, inp)
            if raw is _MISSING:
                if inp.required:
                    loc = [inp.source] if inp.source == "body" else [inp.source, inp.key]
                    errors.append({"loc": loc, "msg": "Field required", "type": "missing"})
                else:
                    values[inp.name] = inp.default
                continue
            loc = [inp.source] if inp.source == "body" else [inp.source, inp.key]
            conv = inp.converter
            value = conv.load(raw, loc, errors) if inp.source == "body" else conv.parse(raw, loc, errors)
            if value is not INVALID:
                values[inp.name] = value
        if errors:
            raise HTTPError(422, "Invalid request", body={"error": "Invalid request", "detail": errors})
        return values

    def output(self, value: Any, dev: bool, where: str) -> Any:
        """The returned value converted by the return annotation (R93); in dev, checked first."""
        conv = self.returns
        if conv is None:
            return value
        if dev:
            problems: list[dict[str, Any]] = []
            conv.check(value, [], problems)
            if problems:
                first = problems[0]
                logger.warning("%s%s returned a value that does not match its annotation %s: %s at %s",
                               where, f" ({self.file})" if self.file else "", conv.describe(), first["msg"],
                               first["loc"] or "the top level")
        return conv.dump(value)


def _invalid(errors: Errors) -> HTTPError:
    return HTTPError(422, "Invalid request", body={"error": "Invalid request", "detail": errors})


_BODY_LOC = ["body"]  # PERF: one list for every request; never changed: problems copy their locations


def _compile_bind(sig: Signature) -> Callable[[Any], dict[str, Any]]:
    """`sig.bind` for this signature's inputs: the one-body case (a typed POST) with no loop at all."""
    inputs = sig.inputs
    if len(inputs) == 1 and inputs[0].source == "body":  # PERF: a closure with its converter's loader bound
        inp = inputs[0]
        name, required, default, load = inp.name, inp.required, inp.default, inp.converter.loader()

        def bind_body(req: Any) -> dict[str, Any]:
            if (req.__class__ is Request and req._body is _UNSET and req.environ.get("CONTENT_TYPE") in JSON_TYPES
                    and (data := req.raw_body) is not None):
                try:  # PERF: _body's common case, written out here
                    raw = req._body = parse_json(data, req.limits.max_json_depth)
                except Exception as exc:
                    req._body = exc
                    raise
            else:
                raw = _body(req)
                if raw is _MISSING:
                    if required:
                        raise _invalid([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
                    return {name: default}
            errors: Errors = []
            value = load(raw, _BODY_LOC, errors)
            if errors:
                raise _invalid(errors)
            return {} if value is INVALID else {name: value}
        return bind_body
    if not inputs:
        return _no_inputs
    # PERF: any other inputs: the loop of Signature.bind written out for them, each input's lookup inline
    ns: dict[str, Any] = {"_MISSING": _MISSING, "INVALID": INVALID, "_body": _body, "_invalid": _invalid,
                          "isinstance": isinstance, "list": list}
    lines = ["def bind(req):", "    errors = []", "    values = {}"]
    for i, inp in enumerate(inputs):
        conv, key, name = inp.converter, repr(inp.key), repr(inp.name)
        fetch = {"body": "_body(req)", "query": f"req.query.get({key}, _MISSING)", "path": f"req.params.get({key}, "
                 "_MISSING)", "header": f"req.headers.get({key}, _MISSING)",
                 "cookie": f"req.cookies.get({key}, _MISSING)"}[inp.source]
        loc = [inp.source] if inp.source == "body" else [inp.source, inp.key]
        ns[f"_c{i}"] = conv.loader() if inp.source == "body" else conv.parse
        ns[f"_l{i}"] = loc  # never changed: problems copy their locations
        ns[f"_d{i}"] = inp.default
        lines.append(f"    raw = {fetch}")
        if inp.source == "query" and not conv.many:  # a repeated key for one value: the last
            lines += ["    if isinstance(raw, list):", "        raw = raw[-1]"]
        lines.append("    if raw is _MISSING:")
        if inp.required:
            lines.append(f"        errors.append({{'loc': {loc!r}, 'msg': 'Field required', 'type': 'missing'}})")
        else:
            lines.append(f"        values[{name}] = _d{i}")
        lines += ["    else:", f"        value = _c{i}(raw, _l{i}, errors)", "        if value is not INVALID:",
                  f"            values[{name}] = value"]
    lines += ["    if errors:", "        raise _invalid(errors)", "    return values"]
    exec(compile("\n".join(lines) + "\n", f"<nextapi bind {_qualname(sig.fn)}>", "exec"), ns)  # noqa: S102 - our own source
    bind: Callable[[Any], dict[str, Any]] = ns["bind"]
    return bind


def _qualname(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))


def _no_inputs(req: Any) -> dict[str, Any]:
    return {}


def _compile_output(sig: Signature) -> Callable[[Any, bool, str], Any]:
    """`sig.output` for this signature: outside dev mode, the return converter's dump and nothing else."""
    conv = sig.returns
    if conv is None:
        return functools.partial(Signature.output, sig)
    dump, checked = conv.dumper(), functools.partial(Signature.output, sig)  # PERF: found once
    own = conv.output(checked)  # PERF: a record's: the dump and this in one frame
    if own is not None:
        return own

    def output(value: Any, dev: bool, where: str) -> Any:
        return checked(value, dev, where) if dev else dump(value)
    return output


def _fetch(req: Any, inp: Input) -> Any:
    source = inp.source
    if source == "query":
        value = req.query.get(inp.key, _MISSING)
        if isinstance(value, list) and not inp.converter.many:
            return value[-1]  # a repeated key for one value: the last, as most frameworks do
        return value
    if source == "path":
        return req.params.get(inp.key, _MISSING)
    if source == "header":
        return req.headers.get(inp.key, _MISSING)
    if source == "cookie":
        return req.cookies.get(inp.key, _MISSING)
    return _body(req)


def _body(req: Any) -> Any:
    """The JSON body for a typed `body` (R92): no body is missing; a non-JSON type is a 415."""
    ctype = req.environ.get("CONTENT_TYPE") or ""
    raw = req.raw_body
    if raw is None:
        return _MISSING
    if ctype in JSON_TYPES and req.__class__ is Request and req._body is _UNSET:
        # PERF: what nearly every client sends: parsed here as req.body would (and kept for it)
        try:
            req._body = parse_json(raw, req.limits.max_json_depth)
        except Exception as exc:
            req._body = exc  # raised again on every read of req.body, as it does
            raise
        return req._body
    media = ctype.split(";", 1)[0].strip().lower()
    if not media:
        return parse_json(raw, req.limits.max_json_depth)
    if media not in ("application/json", "application/ld+json") and not (media.endswith("+json") and "/" in media):
        raise HTTPError(415, f"Unsupported Media Type: send the body as application/json, not {media}")
    return req.body


def compile_signature(fn: Callable[..., Any], *, path_params: dict[str, bool], where: str) -> Signature:
    """Read `fn`'s declared inputs and return annotation; an annotation nextapi cannot use is an
    `Unsupported` naming the function and the annotation (the loader adds the file, R94).

    `path_params` maps the route's parameter names to whether each is a catch-all (a list).
    """
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return Signature(fn, (), None, _operation(fn), *_doc(fn), file=where)
    try:
        hints = typing.get_type_hints(inspect.unwrap(fn), include_extras=True)  # a decorator's own globals hold no hint
    except Exception as exc:  # noqa: BLE001 - a name the annotation uses does not exist
        raise Unsupported(f"{name}(): cannot resolve its annotations: {type(exc).__name__}: {exc}") from None
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    extra = params[2:] if len(positional) >= 2 else []
    inputs = []
    for p in extra:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:  # inputs are passed by name: every call would be a TypeError
            raise Unsupported(f"{name}(): parameter {p.name!r} is positional-only (before '/'); "
                              "declared inputs are passed by name")
        inputs.append(_input(p, hints.get(p.name, Any), path_params, name))
    returns = None
    ret = hints.get("return", sig.return_annotation)
    if ret is not inspect.Signature.empty and ret is not None and ret is not type(None) and not _sends_itself(ret):
        try:
            returns = compile_type(ret, text=False)
        except Unsupported as exc:
            raise Unsupported(f"{name}() -> {_show(ret)}: {exc}") from None
    if sum(i.source == "body" for i in inputs) > 1:
        raise Unsupported(f"{name}(): more than one parameter takes the body")
    return Signature(fn, tuple(inputs), returns, _operation(fn), *_doc(fn), file=where)


def _sends_itself(annotation: Any) -> bool:
    """`-> Response` (or `Response | None`): the handler answers through `res` (it returns
    `res.json(...)`, say), so there is nothing to convert; such a (req, res) handler is unchanged (R90)."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else (
        annotation,)
    return any(m is not type(None) for m in members) and all(
        m is type(None) or (isinstance(m, type) and issubclass(m, Response)) for m in members)


def _input(p: inspect.Parameter, hint: Any, path_params: dict[str, bool], fname: str) -> Input:
    if p.default is None and typing.get_origin(hint) in (typing.Union, types.UnionType):
        # Python 3.10's get_type_hints makes `x: Annotated[T, Header()] = None` into
        # Optional[Annotated[T, Header()]], hiding the marker: read it as 3.11+ does
        annotated = [a for a in typing.get_args(hint) if typing.get_origin(a) is typing.Annotated]
        if len(annotated) == 1 and set(typing.get_args(hint)) == {annotated[0], type(None)}:
            hint = annotated[0]
    base: Any = hint
    metadata: tuple[Any, ...] = ()
    if typing.get_origin(hint) is typing.Annotated:
        base, metadata = hint.__origin__, hint.__metadata__
    marker: Query | Header | Cookie | None = next((m for m in metadata if isinstance(m, (Query, Header, Cookie))), None)
    field: Field | None = next((m for m in metadata if isinstance(m, Field)), None)
    if isinstance(marker, Header):
        source, key = "header", marker.name or p.name.replace("_", "-")
    elif isinstance(marker, Cookie):
        source, key = "cookie", marker.name or p.name
    elif isinstance(marker, Query):
        source, key = "query", marker.name or p.name
    elif p.name in path_params:
        source, key = "path", p.name
    elif p.name == "body":
        source, key = "body", "body"
    else:
        source, key = "query", p.name
    annotated = hint if field is not None else base
    try:
        conv = compile_type(annotated, text=source != "body")
    except Unsupported as exc:
        raise Unsupported(f"{fname}(): parameter {p.name!r} ({source}) annotated {_show(hint)}: {exc}") from None
    description = (marker.description if marker is not None else None) or (field.description if field else None)
    examples = tuple(field.examples) if field is not None and field.examples is not None else None
    required = p.default is inspect.Parameter.empty
    return Input(p.name, source, key, required, None if required else p.default, conv, description, examples)


def _operation(fn: Callable[..., Any]) -> Operation:
    op = getattr(fn, "__nextapi_operation__", NO_OPERATION)
    return op if isinstance(op, Operation) else NO_OPERATION


def _doc(fn: Callable[..., Any]) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    summary, _, rest = doc.partition("\n")
    return summary.strip() or None, rest.strip() or None


def _show(annotation: Any) -> str:
    # not list[int] as a class: Python 3.10 has isinstance(list[int], type), and its __name__ "list"
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return repr(annotation)
