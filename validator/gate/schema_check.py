"""Validate a loaded document against a JSON Schema and turn every error into a positioned Finding.

jsonschema's messages are written for programmers ("Additional properties are not allowed ('wieght' was
unexpected)"); analysts get the key, where it is, and a "did you mean" when a close name exists.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from validator.gate.findings import Finding, Severity
from validator.gate.rules import did_you_mean
from validator.gate.yamlload import Document
from validator.kinds.schema_parts import NAME_PATTERN

_JSON_TYPES = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number",
               type(None): "nothing (null)"}


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}
_FAST: dict[int, tuple[dict[str, Any], Callable[[Any], Any]]] = {}
DRAFT7 = "http://json-schema.org/draft-07/schema#"


def fast_validator_for(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """fastjsonschema's generated code for the schema, read as draft-07.

    Our schemas use only keywords draft-07 and 2020-12 share (a test enforces it), so both drafts give the
    same verdict; fastjsonschema decides "valid" about ten times faster than jsonschema, and most files
    are valid. jsonschema (2020-12) still produces every message when a file is not.
    """
    cached = _FAST.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, fastjsonschema.compile({**schema, "$schema": DRAFT7}))
        _FAST[id(schema)] = cached
    return cached[1]


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    """A compiled validator, cached per schema object (building one costs more than validating a file)."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        Draft202012Validator.check_schema(schema)
        cached = (schema, Draft202012Validator(schema))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def is_valid(data: Any, schema: dict[str, Any]) -> bool:
    try:
        fast_validator_for(schema)(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def check(document: Document, schema: dict[str, Any], *, name_keys: bool = False) -> list[Finding]:
    """Every schema error of ``document`` as a Finding; ``name_keys`` starts each message with the dotted key.

    Model findings are read in an editor at their position; settings findings also end up in an error message
    on the terminal (publish, check), where ``publish.expires_days.timestamp:`` says what the position does.
    """
    if is_valid(document.data, schema):
        return []
    findings: list[Finding] = []
    for error in validator_for(schema).iter_errors(document.data):
        findings.extend(_findings(document, _most_specific(error), name_keys))
    unique = {(f.line, f.col, f.rule, f.message): f for f in findings}
    return list(unique.values())


def _most_specific(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, report the branch that came closest instead of "is not valid under any schema"."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        error = best_match(error.context)
    return error


def _describe(value: Any) -> str:
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return kind
    return f"{kind} {value!r}"


def _dotted(path: tuple[Any, ...], name_keys: bool) -> str:
    """``publish.expires_days.timestamp: `` (list items as ``[2]``), or nothing at the root or when not asked."""
    if not name_keys or not path:
        return ""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{text}: "


def _findings(document: Document, error: ValidationError, name_keys: bool = False) -> Iterator[Finding]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    expected_value: Any = error.validator_value  # the keyword's value in the schema (a list for enum, ...)
    at_key = False
    hint = ""
    if kind == "additionalProperties":
        allowed = list((schema.get("properties") or {}).keys())
        extras = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        for extra in extras:
            suggestion = did_you_mean(extra, allowed)
            yield _finding(
                document, path + (extra,), True, "schema.unknown-key",
                f"{_dotted(path, name_keys)}unknown key {extra!r}",
                suggestion or (f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"),
            )
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else str(expected_value)
        sub = (schema.get("properties") or {}).get(missing, {})
        rule, message = "schema.missing-key", f"{_dotted(path, name_keys)}missing required key {missing!r}"
        hint = f"add {missing}: ({sub.get('title', '')}: {sub.get('description', '')})" if sub else f"add {missing}:"
        at_key = True
    elif kind == "enum":
        options = [str(o) for o in expected_value]
        rule = "schema.enum"
        message = f"{error.instance!r} is not one of: {', '.join(options)}"
        hint = did_you_mean(str(error.instance), options)
    elif kind == "const":
        rule, message = "schema.const", f"must be {expected_value!r}, got {error.instance!r}"
    elif kind == "type":
        expected = expected_value if isinstance(expected_value, str) else " or ".join(expected_value)
        rule, message = "schema.type", f"expected {expected}, got {_describe(error.instance)}"
        if isinstance(error.instance, str) and expected in ("number", "integer"):
            hint = "write the number without quotes"
    elif kind == "pattern":
        rule, message = "schema.pattern", f"{error.instance!r} does not match {expected_value!r}"
        if expected_value == NAME_PATTERN:  # other patterns (a channel, a file type) explain themselves
            hint = "names are lower_snake_case: start with a letter, then letters, digits and _"
    else:
        rule, message = f"schema.{kind}", error.message
    title = schema.get("title")
    if title and not hint and kind not in ("required",):
        hint = f"{title}: {schema.get('description', '')}".strip()
    if kind != "required":
        message = _dotted(path, name_keys) + message
    yield _finding(document, path, at_key, rule, message, hint)


def _finding(document: Document, path: tuple, at_key: bool, rule: str, message: str, hint: str) -> Finding:
    span = document.span(path, at_key=at_key)
    return Finding(document.path, span.line, span.col, Severity.ERROR, rule, message, hint, span.end_line, span.end_col)
