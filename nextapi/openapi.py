"""The OpenAPI 3.1 document of an app, built from its folder (R95), and the security it declares (R103).

`document(app)` walks every route the app has, in the order paths are matched:

- the path, `[param]` written `{param}`; a catch-all `{slug}` whose parameter is
  marked `x-nextapi-catch-all: true` (its value is one or more segments, `/`
  included); an optional catch-all also documents its parent path;
- one operation per method function, or per entry of a `handler` module's
  `methods = [...]`; a `handler` module without `methods` answers every method
  and is documented as one `get` marked `x-nextapi-any-method: true`;
- summary and description from the function's docstring (or `@operation`),
  the module's docstring as the path's description, tags from the first folder
  under `api/` (a file directly in `api/` is tagged with its own name, so
  `comments.py` and `comments/[id].py` share the tag `comments`);
- parameters and the JSON request body from the declared inputs (R90), their
  JSON Schema 2020-12 from the converters (named types as `components/schemas`);
- responses: the success status with the return annotation's schema, 422 when
  inputs are declared, 405 when the methods are limited, 400 and 413 where a
  body is taken, 415 for a typed body, 401 behind an auth battery, those
  `@operation(responses=...)` adds, and `default`.

Nothing here runs per request: the app builds the document once (outside dev
mode) when `/api/openapi.json` is first asked for.
"""
from __future__ import annotations

import http
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .convert import Converter, Schemas, Unsupported, compile_type
from .errors import HTTPError, LoadError
from .loader import METHODS, Target
from .params import Operation
from .routing import CATCHALL, OPTIONAL, PARAM, STATIC, Route
from .signature import Input, Signature

if TYPE_CHECKING:
    from .app import App

__all__ = ["OPENAPI_VERSION", "document", "security_schemes"]

OPENAPI_VERSION = "3.1.0"
DEFAULT_VERSION = "0.1.0"
_BODY_METHODS = frozenset(("post", "put", "patch"))
_ERROR_KEY = ("nextapi", "Error")  # keys of nextapi's own components in the Schemas registry
_VALIDATION_KEY = ("nextapi", "ValidationError")


def document(app: App, *, title: str | None = None, version: str | None = None,
             description: str | None = None) -> dict[str, Any]:
    """The app's OpenAPI 3.1 document, a JSON-ready dict.

    `title` defaults to the project folder's name (the folder holding `pages/`);
    `version` to the `[project] version` of its pyproject.toml, else "0.1.0".
    """
    project = os.path.dirname(app.pages_dir)
    builder = _Builder(app)
    paths = builder.paths()
    info: dict[str, Any] = {"title": title or os.path.basename(project) or "API",
                            "version": version or _project_version(project) or DEFAULT_VERSION}
    if description:
        info["description"] = description
    doc: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
    if builder.tags:
        doc["tags"] = [{"name": t} for t in sorted(builder.tags)]
    doc["paths"] = paths
    components: dict[str, Any] = {"schemas": builder.ctx.components}
    if builder.schemes:
        components["securitySchemes"] = builder.schemes
    doc["components"] = components
    return doc


def security_schemes(obj: Any) -> list[dict[str, Any]]:
    """The OpenAPI `securitySchemes` entries an object carries: a battery's `security_scheme`
    (`nextapi.bearer(...)`, `basic`, `api_key`), or those of the batteries a decorated
    function was wrapped with (found through `__wrapped__` and the wrappers' closures)."""
    found: list[dict[str, Any]] = []
    seen: set[int] = set()
    _schemes_of(obj, found, seen, depth=0)
    return found


def _scheme(obj: Any) -> dict[str, Any] | None:
    try:
        value = getattr(obj, "security_scheme", None)
    except Exception:  # noqa: BLE001 - a property that is not there for this object
        return None
    return dict(value) if isinstance(value, Mapping) and value.get("type") else None


def _schemes_of(obj: Any, found: list[dict[str, Any]], seen: set[int], depth: int) -> None:
    if id(obj) in seen or depth > 8:
        return
    seen.add(id(obj))
    scheme = _scheme(obj)
    if scheme is not None:
        found.append(scheme)
        return
    if isinstance(obj, (tuple, list)):  # a wrapper's closure may hold its chain: (battery,)
        for item in obj[:16]:
            _schemes_of(item, found, seen, depth + 1)
        return
    if not callable(obj):
        return
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _scheme(value) is not None or isinstance(value, (tuple, list)) or hasattr(value, "__wrapped__"):
            _schemes_of(value, found, seen, depth + 1)
    wrapped = getattr(obj, "__wrapped__", None)
    if wrapped is not None:
        _schemes_of(wrapped, found, seen, depth + 1)


def _project_version(project: str) -> str | None:
    try:
        import tomllib  # Python 3.11+; on 3.10 the version is given or the default
    except ImportError:
        return None
    try:
        with open(os.path.join(project, "pyproject.toml"), "rb") as f:
            version = tomllib.load(f).get("project", {}).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) and version else None


# -- building -------------------------------------------------------------------------------
class _Builder:
    def __init__(self, app: App) -> None:
        self.app = app
        self.ctx = Schemas()
        self.tags: set[str] = set()
        self.schemes: dict[str, dict[str, Any]] = {}  # securitySchemes by name
        self._scheme_names: dict[str, str] = {}  # a scheme's JSON -> its name
        self._operation_ids: set[str] = set()
        self._error = self.ctx.ref(_ERROR_KEY, "Error", _error_schema)  # always used: `default`
        self._app_schemes = [s for m in app.middleware for s in security_schemes(m)]

    def paths(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for route, target, chain in _loaded(self.app):
            schemes = [*self._app_schemes, *(s for m in chain for s in security_schemes(m))]
            for path, catch_all in _templates(route):
                if path in paths:  # a static route already took an optional catch-all's parent
                    continue
                item = self._path_item(route, target, path, catch_all, schemes)
                if item:
                    paths[path] = item
        return paths

    def _path_item(self, route: Route, target: Target, path: str, catch_all: str | None,
                   schemes: list[dict[str, Any]]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        doc = _clean_doc(target.module.__doc__)
        if doc:
            item["description"] = doc
        for method, sig, any_method in _operations(target):
            item[method] = self._operation(route, target, path, catch_all, method, sig, any_method, schemes)
        return item

    def _operation(self, route: Route, target: Target, path: str, catch_all: str | None, method: str,
                   sig: Signature, any_method: bool, schemes: list[dict[str, Any]]) -> dict[str, Any]:
        op_meta = sig.operation
        op: dict[str, Any] = {}
        tags = list(op_meta.tags) if op_meta.tags else _default_tags(route)
        if tags:
            op["tags"] = tags
            self.tags.update(tags)
        summary = op_meta.summary or sig.summary
        description = op_meta.description or sig.description
        if summary:
            op["summary"] = summary
        if description:
            op["description"] = description
        op["operationId"] = self._operation_id(op_meta.operation_id or _default_id(method, path))
        parameters = self._parameters(route, sig, path)
        if parameters:
            op["parameters"] = parameters
        body = sig.body
        if body is not None:
            request: dict[str, Any] = {"required": body.required,
                                       "content": {"application/json": {"schema": self._body_schema(body)}}}
            if body.description:
                request["description"] = body.description
            op["requestBody"] = request
        own = [s for s in (*schemes, *security_schemes(sig.fn)) if s]
        if own:
            op["security"] = [{self._scheme_name(s): [] for s in own}]
        op["responses"] = self._responses(target, method, sig, bool(own))
        if op_meta.deprecated:
            op["deprecated"] = True
        if any_method:
            op["x-nextapi-any-method"] = True
        return op

    def _operation_id(self, wanted: str) -> str:
        unique, n = wanted, 2
        while unique in self._operation_ids:
            unique, n = f"{wanted}_{n}", n + 1
        self._operation_ids.add(unique)
        return unique

    def _scheme_name(self, scheme: dict[str, Any]) -> str:
        key = json.dumps(scheme, sort_keys=True, default=str)
        name = self._scheme_names.get(key)
        if name is None:
            kind = scheme.get("scheme") if scheme.get("type") == "http" else scheme.get("type")
            base = re.sub(r"\W", "", f"{kind or 'security'}Auth") or "securityAuth"
            name, n = base, 2
            while name in self.schemes:
                name, n = f"{base}{n}", n + 1
            self.schemes[name] = scheme
            self._scheme_names[key] = name
        return name

    # -- parameters and body --
    def _parameters(self, route: Route, sig: Signature, path: str) -> list[dict[str, Any]]:
        declared = {i.key: i for i in sig.inputs if i.source == "path"}
        out: list[dict[str, Any]] = []
        for seg in route.segments:
            if seg.kind == STATIC or "{" + seg.name + "}" not in path:
                continue  # an optional catch-all's parent path has no parameter
            inp = declared.get(seg.name)
            param: dict[str, Any] = {"name": seg.name, "in": "path", "required": True}
            if seg.kind == PARAM:
                schema = self._text_schema(inp) if inp is not None else {"type": "string", "minLength": 1}
                if inp is not None and inp.description:
                    param["description"] = inp.description
            else:
                schema = {"type": "string", "minLength": 1}
                param["description"] = ((inp.description + " ") if inp is not None and inp.description else "") + (
                    "One or more path segments, separated by `/`")
                param["x-nextapi-catch-all"] = True
            param["schema"] = schema
            out.append(param)
        for inp in sig.inputs:
            if inp.source in ("path", "body"):
                continue
            param = {"name": inp.key, "in": inp.source, "required": inp.required, "schema": self._text_schema(inp)}
            if inp.description:
                param["description"] = inp.description
            if inp.source == "query" and inp.converter.many:
                param["style"], param["explode"] = "form", True  # a repeated key: ?id=1&id=2
            out.append(param)
        return out

    def _text_schema(self, inp: Input) -> dict[str, Any]:
        """A path, query, header or cookie value's schema: text has no null (absence is the None)."""
        schema = _without_null(inp.converter.schema(self.ctx))
        return self._with_default(schema, inp)

    def _body_schema(self, inp: Input) -> dict[str, Any]:
        return self._with_default(inp.converter.schema(self.ctx), inp)

    def _with_default(self, schema: dict[str, Any], inp: Input) -> dict[str, Any]:
        schema = dict(schema)
        if not inp.required and inp.default is not None:
            value = _jsonable(inp.converter, inp.default)
            if value is not _NO_JSON:
                schema["default"] = value
        if inp.examples and "examples" not in schema:
            values = [_jsonable(inp.converter, e) for e in inp.examples]
            if all(v is not _NO_JSON for v in values):
                schema["examples"] = values
        return schema

    # -- responses --
    def _responses(self, target: Target, method: str, sig: Signature, secured: bool) -> dict[str, Any]:
        op_meta: Operation = sig.operation
        responses: dict[str, Any] = {}
        status = op_meta.status or 200
        success: dict[str, Any] = {"description": _phrase(status)}
        if sig.returns is not None and status not in (204, 205, 304):
            success["content"] = {"application/json": {"schema": sig.returns.schema(self.ctx)}}
        responses[str(status)] = success
        config = target.config
        takes_body = config.body_parser and (method in _BODY_METHODS or sig.body is not None)
        if takes_body:
            responses["400"] = self._error_response("Bad Request: the body is not valid JSON or cannot be decoded")
        if secured:
            responses["401"] = self._error_response("Unauthorized: credentials missing, malformed or refused",
                                                    headers={"WWW-Authenticate": "The scheme to authenticate with"})
        if _limited(target):
            responses["405"] = self._error_response(
                "Method Not Allowed", headers={"Allow": "The methods this path answers"})
        if takes_body:
            responses["413"] = self._error_response(f"Payload Too Large: body exceeded {config.size_label} limit")
        if sig.body is not None:
            responses["415"] = self._error_response("Unsupported Media Type: send the body as application/json")
        if sig.inputs:
            validation = self.ctx.ref(_VALIDATION_KEY, "ValidationError", _validation_schema)
            responses["422"] = {"description": "Invalid request: every problem with the declared inputs",
                                "content": {"application/json": {"schema": validation}}}
        for code, spec in op_meta.responses.items():
            responses[str(code)] = self._declared(code, spec)
        responses["default"] = self._error_response("Error")
        return dict(sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])))

    def _error_response(self, description: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"description": description,
                               "content": {"application/json": {"schema": dict(self._error)}}}
        if headers:
            out["headers"] = {name: {"description": text, "required": True, "schema": {"type": "string"}}
                              for name, text in headers.items()}
        return out

    def _declared(self, code: int | str, spec: str | Mapping[str, Any]) -> dict[str, Any]:
        """`@operation(responses={404: "Not found"})` or `{404: {"description": ..., "model": T}}`."""
        error = _is_error(code)
        if isinstance(spec, str):
            return self._error_response(spec) if error else {"description": spec}
        out: dict[str, Any] = {"description": str(spec.get("description") or _phrase(code))}
        if "model" in spec:
            model = spec["model"]
            try:
                conv = compile_type(model, text=False)
            except Unsupported as exc:
                raise Unsupported(f"@operation(responses={{{code}: ...}}): model {model!r}: {exc}") from None
            out["content"] = {"application/json": {"schema": conv.schema(self.ctx)}}
        elif "content" in spec:
            out["content"] = dict(spec["content"])
        elif error:
            out["content"] = {"application/json": {"schema": dict(self._error)}}
        if "headers" in spec:
            out["headers"] = dict(spec["headers"])
        return out


def _loaded(app: App) -> Iterator[tuple[Route, Target, tuple[Any, ...]]]:
    """Every route with its module and folder middleware, in the order paths are matched."""
    load: Callable[[Route], tuple[Target, tuple[Any, ...]]] = app._load
    for route in sorted(app.routes, key=lambda r: [(s.kind, s.name) for s in r.segments]):
        try:
            target, chain = load(route)
        except (LoadError, HTTPError, KeyError):  # dev: a broken or deleted file is left out
            continue
        yield route, target, chain


def _templates(route: Route) -> list[tuple[str, str | None]]:
    """The OpenAPI paths of a route, with its catch-all's name: an optional catch-all also
    answers its parent path."""
    parts, catch_all = [], None
    for seg in route.segments:
        if seg.kind == STATIC:
            parts.append(seg.name)
        else:
            parts.append("{" + seg.name + "}")
            if seg.kind in (CATCHALL, OPTIONAL):
                catch_all = seg.name
    path = "/" + "/".join(parts)
    out: list[tuple[str, str | None]] = []
    if route.segments and route.segments[-1].kind == OPTIONAL:
        out.append(("/" + "/".join(parts[:-1]), None))
    out.append((path, catch_all))
    return out


def _operations(target: Target) -> list[tuple[str, Signature, bool]]:
    """(method, signature, any method?) for each documented operation, in METHODS order."""
    if target.handler is None:
        return [(m.lower(), target.signatures[m], False) for m in METHODS
                if m in target.methods and m in target.signatures]
    sig = target.signatures.get("*")
    if sig is None:
        return []
    declared = getattr(target.module, "methods", None)
    if target.allowed is None or not isinstance(declared, (list, tuple, set, frozenset)):
        return [("get", sig, True)]
    listed = {str(m).upper() for m in declared}
    return [(m.lower(), sig, False) for m in METHODS if m in listed]


def _limited(target: Target) -> bool:
    """Does a method the module does not take answer 405 (method functions, or `methods = [...]`)?"""
    return target.handler is None or target.allowed is not None


def _default_tags(route: Route) -> list[str]:
    segs = route.segments
    if len(segs) < 2 or segs[0].name != "api":
        return []
    first = segs[1]
    return [first.name if first.kind == STATIC else str(first)]


def _default_id(method: str, path: str) -> str:
    """`get /api/comments/{id}` -> `get_comments_id`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path.removeprefix("/api")) if w]
    return "_".join([method, *words]) if words else f"{method}_index"


def _clean_doc(doc: str | None) -> str | None:
    if not doc:
        return None
    import inspect

    return inspect.cleandoc(doc) or None


def _phrase(code: int | str) -> str:
    try:
        return http.HTTPStatus(int(code)).phrase
    except ValueError:
        return "Response"


def _is_error(code: int | str) -> bool:
    text = str(code).upper()
    return text == "DEFAULT" or text[:1] in ("4", "5")


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [k for k in kind if k != "null"]
        if rest:
            return {**schema, "type": rest[0] if len(rest) == 1 else rest}
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if rest and len(rest) != len(options):
            out = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest[0], **out} if len(rest) == 1 else {**out, "anyOf": rest}
    return schema


_NO_JSON: Any = object()


def _jsonable(conv: Converter, value: Any) -> Any:
    """`value` as JSON by its converter (an Enum member as its value, a date as ISO text), or _NO_JSON."""
    try:
        dumped = conv.dump(value)
        if isinstance(dumped, (set, frozenset, tuple)):
            dumped = list(dumped)
        json.dumps(dumped, allow_nan=False)
    except (TypeError, ValueError, AttributeError):
        return _NO_JSON
    return dumped


def _error_schema() -> dict[str, Any]:
    return {
        "title": "Error",
        "description": "nextapi's error body, {\"error\": message}. An HTTPError raised with body= "
                       "sends its own JSON instead.",
        "type": "object",
        "properties": {"error": {"type": "string", "description": "What went wrong"}},
    }


def _validation_schema() -> dict[str, Any]:
    return {
        "title": "ValidationError",
        "description": "A 422: every problem found with the request's declared inputs.",
        "type": "object",
        "properties": {
            "error": {"type": "string", "const": "Invalid request"},
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]},
                                "description": "Where: path, query, header, cookie or body, then the name "
                                               "on the wire, then keys and indices"},
                        "msg": {"type": "string"},
                        "type": {"type": "string", "description": "The kind of problem: missing, int_parsing, ..."},
                    },
                    "required": ["loc", "msg", "type"],
                },
            },
        },
        "required": ["error", "detail"],
    }
