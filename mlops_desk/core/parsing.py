"""Output parsers: turn a model's reply text into the prediction that gets scored.

A version stores one parser spec:

- ``text``          the whole reply, stripped.
- ``label``         a class label. The reply is cleaned (whitespace, quotes, markdown emphasis,
                    trailing punctuation). With ``labels`` it is mapped case-insensitively to the
                    canonical label, or, failing that, to the one label the reply mentions as a
                    whole word ("The sentiment is Positive." -> "positive"). A reply that matches
                    no label, or mentions several, is *not* a parse error: the prediction is the
                    cleaned reply, so it scores as wrong and shows up in the confusion matrix's
                    "(other)" column. Parse errors are kept for replies we could not read at all.
- ``regex:PATTERN`` the first match of PATTERN (``re.search``); group 1 if the pattern has
                    groups, else the whole match.
- ``json:FIELD``    a field of the JSON in the reply (bare, inside a fenced block, or embedded in
                    prose). FIELD is a dotted path, list indices as numbers: ``a.b.0``. Strings
                    come back as-is; other values as compact JSON (``3``, ``true``, ``null``).
- ``json``          the whole JSON value, re-serialised compactly (for the ``json`` scorer).

``parse_output`` never raises for a bad reply: it returns ``(None, "one-line reason")``.
A bad *spec* is a configuration error and raises ``BadInput`` (via ``validate_parser_spec``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlops_desk.core.errors import BadInput

PARSERS = ("label", "text", "regex", "json")

# Characters a model wraps around a one-word answer: quotes, backticks, markdown emphasis.
_WRAPPERS = "\"'`*_“”‘’«» \t\r\n"
_TRAILING_PUNCT = ".,;:!?。"
_FENCE_RE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)```", re.DOTALL)
# Bound the embedded-JSON scan so a long reply full of braces stays cheap.
_MAX_JSON_STARTS = 50


def validate_parser_spec(spec: str) -> str:
    """Return the normalised spec, or raise ``BadInput`` saying what is wrong."""
    kind, arg = _split_spec(spec)
    if kind in ("label", "text"):
        if arg is not None:
            raise BadInput(f"parser {kind!r} takes no argument (got {spec!r})")
        return kind
    if kind == "regex":
        if not arg:
            raise BadInput("parser 'regex:PATTERN' needs a pattern")
        try:
            re.compile(arg)
        except re.error as err:
            raise BadInput(f"parser regex {arg!r} does not compile: {err}") from None
        return f"regex:{arg}"
    if kind == "json":
        if arg is None:
            return "json"
        return f"json:{validate_field_path(arg)}"
    raise BadInput(f"unknown parser {spec!r}: use label, text, regex:PATTERN or json:FIELD")


def validate_field_path(path: str) -> str:
    """Check a dotted JSON path such as ``a.b.0``; return it stripped."""
    path = path.strip()
    if not path or any(not part.strip() for part in path.split(".")):
        raise BadInput(f"bad JSON field path {path!r}: use dotted names like a.b.0")
    return ".".join(part.strip() for part in path.split("."))


def parse_output(
    spec: str, text: str | None, labels: list[str] | None = None
) -> tuple[str | None, str | None]:
    """Return ``(prediction, parse_error)``; exactly one of them is None."""
    spec = validate_parser_spec(spec)
    if text is None or not text.strip():
        return None, "empty reply"
    kind, arg = _split_spec(spec)
    if kind == "text":
        return text.strip(), None
    if kind == "label":
        label = _parse_label(text, labels)
        return (label, None) if label else (None, "reply holds no label")
    if kind == "regex":
        return _parse_regex(arg or "", text)
    return _parse_json(arg, text)


def clean_label(text: str) -> str:
    """Strip what models wrap around a one-word answer: whitespace, quotes, final period."""
    previous = None
    while previous != text:
        previous = text
        text = text.strip(_WRAPPERS).rstrip(_TRAILING_PUNCT)
    return " ".join(text.split())


def extract_json(text: str) -> Any:
    """Find the JSON value in a reply; raise ``ValueError`` when there is none.

    Tried in order: a fenced block (```json ... ```), the whole reply, then the first
    ``{``/``[`` from which a complete value decodes (models like to add a preamble).
    """
    for block in _FENCE_RE.findall(text):
        try:
            return json.loads(block)
        except ValueError:
            continue
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    starts = [m.start() for m in re.finditer(r"[{\[]", text)][:_MAX_JSON_STARTS]
    for start in starts:
        try:
            return decoder.raw_decode(text, start)[0]
        except ValueError:
            continue
    raise ValueError("no JSON found in reply")


def lookup_field(value: Any, path: str) -> Any:
    """Follow a dotted path through dicts and lists; raise ``KeyError`` when it leads nowhere."""
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _is_index(part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(path)
    return value


def json_to_text(value: Any) -> str:
    """A JSON value as prediction text: strings verbatim, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _split_spec(spec: str) -> tuple[str, str | None]:
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput("empty parser spec: use label, text, regex:PATTERN or json:FIELD")
    kind, sep, arg = spec.strip().partition(":")
    return kind.strip().lower(), (arg if sep else None)


def _is_index(part: str) -> bool:
    return part.removeprefix("-").isdecimal()


def _parse_label(text: str, labels: list[str] | None) -> str:
    cleaned = clean_label(text)
    if not labels:
        return cleaned
    by_fold = {}
    for label in labels:
        by_fold.setdefault(label.casefold(), label)
    if cleaned.casefold() in by_fold:
        return by_fold[cleaned.casefold()]
    mentioned = _labels_mentioned(text, list(by_fold.values()))
    # Several labels mentioned ("positive or negative?") is no answer: keep the text.
    return mentioned[0] if len(mentioned) == 1 else cleaned


def _labels_mentioned(text: str, labels: list[str]) -> list[str]:
    """Labels that occur as whole words; longer labels win overlaps ("not positive")."""
    taken: list[tuple[int, int]] = []
    found: list[str] = []
    for label in sorted(labels, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(label)}(?!\w)", re.IGNORECASE)
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            if label not in found:
                found.append(label)
    return found


def _parse_regex(pattern: str, text: str) -> tuple[str | None, str | None]:
    compiled = re.compile(pattern)
    match = compiled.search(text)
    if match is None:
        return None, "regex did not match the reply"
    value = match.group(1) if compiled.groups else match.group(0)
    if value is None:
        return None, "regex group 1 did not take part in the match"
    return value.strip(), None


def _parse_json(field: str | None, text: str) -> tuple[str | None, str | None]:
    try:
        value = extract_json(text)
    except ValueError:
        return None, "no JSON found in reply"
    if field is None:
        return json_to_text(value), None
    try:
        return json_to_text(lookup_field(value, field)), None
    except KeyError:
        return None, f"field {field!r} not found in the reply's JSON"
