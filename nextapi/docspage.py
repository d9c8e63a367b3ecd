"""The docs page (R97) and the two docs answers the app serves (R96).

`render(document)` turns an OpenAPI document (nextapi.openapi) into one
self-contained HTML page: the operations grouped by tag with their
parameters, request body and responses, and the named schemas, all rendered
here on the server, so the page reads without JavaScript. Its inline script
(in nextapi/docs/docs.html) adds a form per operation that sends the request
to the app and shows the status, headers and body. The page names no other
file or host: its style and script are inline, its links are `#anchors`, and
its Content-Security-Policy lets it load nothing else.

The template is read from beside this file, so a vendored copy of the
`nextapi/` folder finds it as an installed one does.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import App
    from .request import Request
    from .response import Response

__all__ = ["DOCS_PATH", "OPENAPI_PATH", "PATHS", "content_security_policy", "example", "render", "respond"]

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
PATHS = (OPENAPI_PATH, DOCS_PATH)
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "docs", "docs.html")
_METHODS_ORDER = ("get", "post", "put", "patch", "delete", "options", "head")
_OTHER = "other"  # the group of operations without a tag

_template: str | None = None
_csp: str | None = None


def _load_template() -> str:
    global _template, _csp
    if _template is None:
        with open(TEMPLATE, encoding="utf-8") as f:
            text = f.read()
        _csp = _policy(text)
        _template = text
    return _template


def _policy(template: str) -> str:
    """A CSP that allows exactly the template's inline style and script (by hash) and
    requests to this origin: the page can load nothing from anywhere else."""
    def hashes(tag: str) -> str:
        found = re.findall(rf"<{tag}>(.*?)</{tag}>", template, re.DOTALL)  # the bare tags: not the JSON data block
        return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                        for s in found)
    return (f"default-src 'none'; style-src {hashes('style')}; script-src {hashes('script')}; "
            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def content_security_policy() -> str:
    _load_template()
    assert _csp is not None
    return _csp


# -- serving (R96) -----------------------------------------------------------------------------
def respond(app: App, req: Request, res: Response) -> Any:
    """GET or HEAD `/api/openapi.json` (the document) or `/api/docs` (the page); OPTIONS: 204."""
    from .errors import HTTPError
    from .openapi import document

    if req.method not in ("GET", "HEAD"):
        if req.method == "OPTIONS":
            res.status(204).set_header("Allow", "GET, HEAD, OPTIONS").end()
            return None
        raise HTTPError(405, "Method Not Allowed", headers={"Allow": "GET, HEAD, OPTIONS"})
    cache: dict[str, Any] = app._docs_cache
    key = req.path
    body = None if app.dev else cache.get(key)  # dev: handlers change, so build it each time
    if body is None:
        doc = document(app)
        if key == OPENAPI_PATH:
            body = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
        else:
            body = render(doc).encode("utf-8")
        if not app.dev:
            cache[key] = body
    res.set_header("Cache-Control", "no-cache")
    res.set_header("X-Content-Type-Options", "nosniff")
    if key == OPENAPI_PATH:
        res.set_header("Content-Type", "application/json; charset=utf-8")
    else:
        res.set_header("Content-Type", "text/html; charset=utf-8")
        res.set_header("Content-Security-Policy", content_security_policy())
        res.set_header("Referrer-Policy", "no-referrer")
    res.send(body)
    return None


# -- the page ----------------------------------------------------------------------------------
def render(doc: Mapping[str, Any]) -> str:
    """The docs page for an OpenAPI document, as one HTML string."""
    page = _Page(doc)
    body = page.body()
    data = _script_json(page.operations)
    info = doc.get("info", {})
    return (_load_template()
            .replace("{{title}}", _e(str(info.get("title", "API"))))
            .replace("{{data}}", data)
            .replace("{{body}}", body))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>`, no `<!--`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


def _inline(text: Any) -> str:
    """Escaped text with `code` spans."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", _e(text))


def _prose(text: str | None) -> str:
    """A docstring as paragraphs, `code` spans kept."""
    if not text:
        return ""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        out.append(f"<p>{_inline(para)}</p>")
    return '<div class="desc">' + "".join(out) + "</div>"


class _Page:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        components = doc.get("components", {}) or {}
        self.schemas: Mapping[str, Any] = components.get("schemas", {}) or {}
        self.schemes: Mapping[str, Any] = components.get("securitySchemes", {}) or {}
        self.operations: list[dict[str, Any]] = []  # what the script needs, per operation

    # -- structure --
    def groups(self) -> list[tuple[str, list[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]]]:
        """[(tag, [(path, method, operation, path item)])]: the document's tags first, then the rest."""
        by_tag: dict[str, list[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]] = {}
        for tag in self.doc.get("tags", []) or []:
            by_tag.setdefault(str(tag.get("name")), [])
        for path, item in (self.doc.get("paths", {}) or {}).items():
            for method in _METHODS_ORDER:
                op = item.get(method)
                if isinstance(op, Mapping):
                    tags = op.get("tags") or [_OTHER]
                    by_tag.setdefault(str(tags[0]), []).append((path, method, op, item))
        if _OTHER in by_tag:
            by_tag[_OTHER] = by_tag.pop(_OTHER)  # last
        return [(tag, ops) for tag, ops in by_tag.items() if ops]

    def body(self) -> str:
        info = self.doc.get("info", {})
        groups = self.groups()
        nav = ['<nav aria-label="Operations">']
        for tag, ops in groups:
            nav.append(f'<h2><a href="#tag-{_anchor(tag)}">{_e(tag)}</a></h2><ul>')
            for path, method, op, _ in ops:
                nav.append(f'<li><a href="#op-{_anchor(str(op.get("operationId")))}"><span class="method {method}">'
                           f'{method.upper()}</span> <span class="path">{_e(path)}</span></a></li>')
            nav.append("</ul>")
        if self.schemas:
            nav.append('<h2><a href="#schemas">Schemas</a></h2><ul>')
            nav.extend(f'<li><a href="#schema-{_anchor(name)}">{_e(name)}</a></li>' for name in self.schemas)
            nav.append("</ul>")
        nav.append("</nav>")
        main = ["<main>", "<header>",
                f'<h1>{_e(info.get("title", "API"))}<span class="version">{_e(info.get("version", ""))}</span></h1>',
                (f"<p>OpenAPI {_e(self.doc.get('openapi', ''))} · the document is at <code>/api/openapi.json</code>"
                 " · with JavaScript on, each operation has a form to try it.</p>")]
        if info.get("description"):
            main.append(_prose(str(info["description"])))
        main.append("</header>")
        if not groups:
            main.append('<p class="muted">No API routes yet: add a file under pages/api/.</p>')
        for tag, ops in groups:
            main.append(f'<section id="tag-{_anchor(tag)}"><h2 class="tag">{_e(tag)}</h2>')
            for path, method, op, item in ops:
                main.append(self.operation(path, method, op, item))
            main.append("</section>")
        if self.schemas:
            main.append('<section id="schemas"><h2 class="tag">Schemas</h2>')
            for name, schema in self.schemas.items():
                main.append(f'<div class="schema" id="schema-{_anchor(name)}"><h3>{_e(name)}</h3>')
                main.append(self.schema_block(schema, follow=False))
                main.append("</div>")
            main.append("</section>")
        main.append("</main>")
        return "\n".join(nav + main)

    def operation(self, path: str, method: str, op: Mapping[str, Any], item: Mapping[str, Any]) -> str:
        op_id = str(op.get("operationId") or f"{method}-{path}")
        classes = "op deprecated" if op.get("deprecated") else "op"
        out = [(f'<article class="{classes}" id="op-{_anchor(op_id)}" data-method="{method.upper()}" '
                f'data-path="{_e(path)}">'),
               f'<h3><span class="method {method}">{method.upper()}</span> <code class="path">{_e(path)}</code>']
        if op.get("summary"):
            out.append(f' <span class="summary">{_e(op["summary"])}</span>')
        if op.get("x-nextapi-any-method"):
            out.append(' <span class="badge" title="a handler() without methods = [...]: it answers every '
                       'method">any method</span>')
        if op.get("deprecated"):
            out.append(' <span class="badge">deprecated</span>')
        out.append("</h3>")
        if op.get("description"):
            out.append(_prose(str(op["description"])))
        elif item.get("description"):
            out.append(f'<div class="path-desc">{_prose(str(item["description"]))}</div>')
        security = self.security(op)
        if security:
            names = ", ".join(f"<code>{_e(s['label'])}</code>" for s in security)
            out.append(f"<h4>Authentication</h4><p>{names}</p>")
        params = op.get("parameters") or []
        if params:
            out.append("<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th>"
                       "<th>Description</th></tr></thead><tbody>")
            for p in params:
                schema = p.get("schema", {}) or {}
                req = '<span class="req">required</span>' if p.get("required") else ""
                notes = [_inline(p["description"])] if p.get("description") else []
                notes.extend(self.constraints(schema))
                out.append(f'<tr><td class="name"><code>{_e(p.get("name"))}</code>{req}</td>'
                           f'<td class="in">{_e(p.get("in"))}</td><td class="type">{self.type(schema)}</td>'
                           f'<td>{"; ".join(notes)}</td></tr>')
            out.append("</tbody></table>")
        body = op.get("requestBody")
        body_example = None
        if isinstance(body, Mapping):
            content: Mapping[str, Any] = body.get("content", {}) or {}
            media, spec = next(iter(content.items()), ("application/json", None))
            body_schema: Mapping[str, Any] = (spec.get("schema") if isinstance(spec, Mapping) else None) or {}
            req = "required" if body.get("required") else "optional"
            out.append(f"<h4>Request body</h4><p><code>{_e(media)}</code>, {req}: "
                       f'<span class="type">{self.type(body_schema)}</span></p>')
            if body.get("description"):
                out.append(_prose(str(body["description"])))
            out.append(self.schema_block(body_schema, follow=True))
            body_example = json.dumps(example(body_schema, self.schemas), indent=2, ensure_ascii=False)
        responses = op.get("responses") or {}
        if responses:
            out.append("<h4>Responses</h4><table><thead><tr><th>Status</th><th>Description</th><th>Body</th>"
                       "</tr></thead><tbody>")
            for status, resp in responses.items():
                content = (resp or {}).get("content") or {}
                cells = []
                for media, spec in content.items():
                    schema = (spec or {}).get("schema")
                    cells.append(f"<code>{_e(media)}</code> " + (
                        f'<span class="type">{self.type(schema)}</span>' if schema is not None else ""))
                headers = (resp or {}).get("headers") or {}
                extra = "".join(f"<br><span class='muted'>header <code>{_e(h)}</code></span>" for h in headers)
                out.append(f"<tr><td><code>{_e(status)}</code></td><td>{_e((resp or {}).get('description', ''))}"
                           f"{extra}</td><td>{'<br>'.join(cells) or '<span class=muted>none</span>'}</td></tr>")
            out.append("</tbody></table>")
        out.append("</article>")
        self.operations.append({
            "id": _anchor(op_id), "method": method.upper(), "path": path,
            "anyMethod": bool(op.get("x-nextapi-any-method")),
            "params": [self.param_data(p) for p in params],
            "body": body_example, "security": security,
            # No declared body, but a method that may take one: an empty box, the handler reads what it reads.
            "freeBody": body_example is None and (method in ("post", "put", "patch")
                                                  or bool(op.get("x-nextapi-any-method"))),
        })
        return "".join(out)

    def param_data(self, p: Mapping[str, Any]) -> dict[str, Any]:
        schema = p.get("schema", {}) or {}
        value: Any = None
        for key in ("default",):
            if key in schema:
                value = schema[key]
        if value is None and schema.get("examples"):
            value = schema["examples"][0]
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif value is not None:
            value = str(value)
        return {"name": p.get("name"), "in": p.get("in"), "required": bool(p.get("required")),
                "type": self.type_text(schema), "value": value, "placeholder": self.type_text(schema),
                "many": schema.get("type") == "array", "catchAll": bool(p.get("x-nextapi-catch-all"))}

    def security(self, op: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = []
        for requirement in op.get("security", self.doc.get("security", [])) or []:
            for name in requirement:
                scheme = self.schemes.get(name, {}) or {}
                kind = scheme.get("scheme") if scheme.get("type") == "http" else scheme.get("type")
                label = {"bearer": "Bearer token", "basic": "HTTP Basic"}.get(str(kind), "")
                if scheme.get("type") == "apiKey":
                    label = f"API key in {scheme.get('in', 'header')} {scheme.get('name', '')}".strip()
                out.append({"name": name, "kind": kind, "header": scheme.get("name"), "label": label or name})
            break  # the first way in is the one the form offers
        return out

    # -- schemas --
    def _ref_name(self, schema: Mapping[str, Any]) -> str | None:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return ref.rsplit("/", 1)[1]
        return None

    def type(self, schema: Any, depth: int = 0) -> str:
        """An inline, linked type expression: `array of <a>Comment</a>`, `string | null`."""
        if not isinstance(schema, Mapping) or depth > 6:
            return "any"
        name = self._ref_name(schema)
        if name is not None:
            return f'<a href="#schema-{_anchor(name)}">{_e(name)}</a>'
        if "const" in schema:
            return f"<code>{_e(json.dumps(schema['const']))}</code>"
        if "enum" in schema:
            return " | ".join(f"<code>{_e(json.dumps(v))}</code>" for v in schema["enum"])
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return " | ".join(self.type(s, depth + 1) for s in schema[key])
        if isinstance(schema.get("allOf"), list):
            return " &amp; ".join(self.type(s, depth + 1) for s in schema["allOf"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.type({**schema, "type": k}, depth + 1) for k in kind)
        if kind == "array":
            word = "set" if schema.get("uniqueItems") else "array"
            return f"{word} of {self.type(schema.get('items', {}), depth + 1)}"
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and not schema.get("properties"):
                return f"object of {self.type(extra, depth + 1)}"
            return "object"
        if kind == "string" and schema.get("format"):
            return f"string ({_e(schema['format'])})"
        return _e(kind) if kind else "any"

    def type_text(self, schema: Any) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", self.type(schema)))

    def constraints(self, schema: Mapping[str, Any]) -> list[str]:
        out = []
        for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"),
                          ("multipleOf", "a multiple of")):
            if key in schema:
                out.append(f"{word} {_e(schema[key])}")
        if schema.get("minLength") == 1 and schema.get("type") == "string":
            out.append("not empty")
            schema = {k: v for k, v in schema.items() if k != "minLength"}
        for key, word in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                          ("minItems", "at least {} items"), ("maxItems", "at most {} items")):
            if key in schema:
                out.append(word.format(_e(schema[key])))
        if "pattern" in schema:
            out.append(f"matches <code>{_e(schema['pattern'])}</code>")
        if "default" in schema:
            out.append(f"default <code>{_e(json.dumps(schema['default']))}</code>")
        if schema.get("examples"):
            out.append("e.g. " + ", ".join(f"<code>{_e(json.dumps(v))}</code>" for v in schema["examples"][:3]))
        if schema.get("description") and not self._ref_name(schema):
            out.insert(0, _inline(schema["description"]))
        if schema.get("x-nextapi-catch-all"):
            out.append("catch-all")
        return out

    def schema_block(self, schema: Any, *, follow: bool) -> str:
        """An object's fields as a table; with `follow`, a reference is looked up first."""
        if not isinstance(schema, Mapping):
            return ""
        name = self._ref_name(schema)
        if name is not None:
            if not follow:
                return ""
            target = self.schemas.get(name)
            return self.schema_block(target, follow=False) if isinstance(target, Mapping) else ""
        out = []
        if schema.get("description"):
            out.append(_prose(str(schema["description"])))
        props = schema.get("properties")
        if isinstance(props, Mapping) and props:
            required = set(schema.get("required", []) or [])
            out.append("<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>")
            for key, sub in props.items():
                sub = sub if isinstance(sub, Mapping) else {}
                req = '<span class="req">required</span>' if key in required else ""
                out.append(f'<tr><td class="name"><code>{_e(key)}</code>{req}</td>'
                           f'<td class="type">{self.type(sub)}</td><td>{"; ".join(self.constraints(sub))}</td></tr>')
            out.append("</tbody></table>")
        elif not name and not follow:
            notes = self.constraints(schema)
            out.append(f'<p><span class="type">{self.type(schema)}</span>'
                       f'{(" — " + "; ".join(notes)) if notes else ""}</p>')
        return "".join(out)


# -- examples ----------------------------------------------------------------------------------
_FORMATS = {"date-time": "2024-01-01T12:00:00Z", "date": "2024-01-01", "time": "12:00:00",
            "uuid": "00000000-0000-4000-8000-000000000000", "email": "user@example.com"}


def example(schema: Any, components: Mapping[str, Any], depth: int = 0) -> Any:
    """A value that fits `schema`, to prefill a form: its examples, default or const first,
    else one made from the type and its bounds (references followed, recursion bounded)."""
    if not isinstance(schema, Mapping) or depth > 8:
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return example(components.get(ref.rsplit("/", 1)[1]), components, depth + 1)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next((o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")), options[0])
            return example(chosen, components, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        return example(schema["allOf"][0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {}) or {}
        return {k: example(v, components, depth + 1) for k, v in props.items()}
    if kind == "array":
        item = example(schema.get("items", {}), components, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1) or 1))
    if kind == "string":
        text = _FORMATS.get(str(schema.get("format")), "string")
        low, high = int(schema.get("minLength", 0) or 0), schema.get("maxLength")
        text = text + "x" * max(0, low - len(text))
        return text[:int(high)] if high is not None else text
    if kind in ("integer", "number"):
        value: float = 0
        if "minimum" in schema:
            value = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            value = schema["exclusiveMinimum"] + 1
        elif "maximum" in schema and schema["maximum"] < 0:
            value = schema["maximum"]
        elif "exclusiveMaximum" in schema and schema["exclusiveMaximum"] <= 0:
            value = schema["exclusiveMaximum"] - 1
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    return None
