"""The rule reference: every finding id with its severity, why it exists, and a bad and a good example.

Semantic rules document themselves through their docstrings; the loader's and the schema's findings are
listed here. The README's rule reference is this module's output, and a test keeps the two in sync.
"""
from __future__ import annotations

from validator.gate.rule_registry import ALL_RULES
from validator.kinds import KINDS

# (id, summary, bad, good) for findings raised by the YAML loader and the schema check.
BUILTIN: tuple[tuple[str, str, str, str], ...] = (
    ("yaml.syntax", "The file is not valid YAML; the position is where the parser gave up.",
     "bands: [{decision: approve, below: 0.3}", "bands: [{decision: approve, below: 0.3}]"),
    ("yaml.duplicate-key", "A key appears twice in one mapping. YAML keeps only the last one, silently.",
     "weight: 0.8\nweight: 1.2", "weight: 1.2"),
    ("yaml.tag", "YAML tags (`!!python/object`, `!!str`, `!custom`, merge keys `<<`) are refused: values are plain data.",
     "weight: !!float 1", "weight: 1.0"),
    ("yaml.alias", "Anchors and aliases are refused: they hide values from reviewers and enable alias bombs.",
     "bounds: &b {min: 0, max: 3}\nother_bounds: *b", "bounds: {min: 0, max: 3}\nother_bounds: {min: 0, max: 3}"),
    ("yaml.non-finite", "NaN and infinity are not weights or thresholds.", "below: .inf", "below: 1000000.0"),
    ("yaml.yaml11-number", "YAML 1.1 reads `1e-3` as text, `012` as 10 (octal), `1:30` as 90 and `1_000` as 1000.",
     "min_contribution: 1e-3", "min_contribution: 0.001"),
    ("yaml.yaml11-bool", "YAML 1.1 reads `yes`, `no`, `on`, `off` as booleans.", "levels: {no_card: no}", "levels: {no_card: 'no'}"),
    ("yaml.key-not-string", "Keys are text; YAML 1.1 reads the key `NO` (Norway) as false and `3` as a number.",
     "levels: {NO: 0.4}", "levels: {'NO': 0.4}"),
    ("yaml.encoding", "The file is not UTF-8.", "(a file saved as Latin-1)", "(the same file saved as UTF-8)"),
    ("yaml.empty", "The file holds no document (only comments or nothing).", "# TODO", "kind: scorecard\nname: fraud_risk\n..."),
    ("yaml.multi-document", "One model per file: a second `---` document is refused.",
     "kind: scorecard\n---\nkind: ranking", "kind: scorecard"),
    ("yaml.too-large", "The file is over `limits.max_file_bytes` (config/weights.yaml; default 1 MiB).", "(a 5 MB file)", "(one model, a few KB)"),
    ("yaml.too-deep", "The document nests deeper than `limits.max_depth` (default 64).", "a: [[[[[[...]]]]]]", "a: [1, 2]"),
    ("yaml.number-too-large", "A number beyond 2^53 (9,007,199,254,740,992) either way: an integer of hundreds of "
     "digits is valid YAML but no float, and 1.0e+300 is a float whose square is not. No weight, threshold, range "
     "or count comes near the limit; within it the checks' arithmetic cannot overflow.",
     "weight: 1.0e+300", "weight: 1.0"),
    ("id.confusable", "An id (a key, or a one-word value: model, input, term, level, decision, reason, arm, segment "
     "or case name) that imitates another: letters of several scripts (Unicode TR39 mixed-script), every letter a "
     "look-alike of a Latin one, an invisible character or a compatibility form. The message shows it escaped "
     "with each character's Unicode name.",
     "levels: {prem\u0456um: 0.4}   # U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
     "levels: {premium: 0.4}"),
    ("schema.unknown-key", "A key the kind's schema does not know, usually a typo; the hint suggests the closest known key.",
     "wieght: 0.8", "weight: 0.8"),
    ("schema.missing-key", "A required key is missing; the hint says what it means.", "- {name: velocity, input: orders_last_24h, type: numeric}",
     "- {name: velocity, input: orders_last_24h, type: numeric, weight: 0.3}"),
    ("schema.type", "A value has the wrong type.", "weight: '0.8'", "weight: 0.8"),
    ("schema.enum", "A value is not one of the allowed words.", "link: logit", "link: logistic"),
    ("schema.*", "Any other schema keyword (minimum, pattern, minItems, ...): the message names the limit.",
     "name: Fraud-Risk", "name: fraud_risk"),
    ("model.kind", f"`kind:` is missing or names no known kind ({', '.join(KINDS)}).",
     "kind: score_card", "kind: scorecard"),
    ("model.unique-names", "Two model files declare the same `name:`.", "name: fraud_risk   # in two files", "name: refund_risk"),
    ("model.compile", "The model passed every check but still cannot be evaluated; the message says why.", "", ""),
)


def _block(text: str) -> str:
    return "```yaml\n" + text.rstrip() + "\n```"


def markdown_reference() -> str:
    lines = ["| id | severity | what it catches |", "|---|---|---|"]
    for rid, summary, _, _ in BUILTIN:
        lines.append(f"| `{rid}` | error | {summary} |")
    for r in ALL_RULES:
        lines.append(f"| `{r.id}` | {r.severity.value} | {r.summary} |")
    lines.append("")
    for rid, summary, bad, good in BUILTIN:
        if not bad:
            continue
        lines += [f"#### `{rid}`", "", summary, "", "Bad:", "", _block(bad), "", "Good:", "", _block(good), ""]
    for r in ALL_RULES:
        examples = r.examples()
        lines += [f"#### `{r.id}` ({r.severity.value})", "", r.summary, ""]
        if "bad" in examples:
            lines += ["Bad:", "", _block(examples["bad"]), ""]
        if "good" in examples:
            lines += ["Good:", "", _block(examples["good"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def text_reference() -> str:
    rows = [(rid, "error", summary) for rid, summary, _, _ in BUILTIN]
    rows += [(r.id, r.severity.value, r.summary) for r in ALL_RULES]
    width = max(len(r[0]) for r in rows)
    return "".join(f"{rid:<{width}}  {sev:<7}  {summary}\n" for rid, sev, summary in rows)


START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def with_reference(readme: str) -> str:
    """The README text with the block between the rules markers replaced by the current reference."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise ValueError(f"the README has no {START} marker")
    return f"{head}{START}\n{markdown_reference()}{END}{tail}"
