"""What both exports share: the refusals, the feature -> input mapping, walking a fitted scikit-learn pipeline,
and writing a model file only after the gate accepted it.

Why a walk over the pipeline instead of asking scikit-learn for its output: the kinds evaluate a written formula
(``z = (log1p(x) - center) / scale``, ``bin value``, ``level value``), so every step must become a piece of that
formula, exactly. :func:`trace` follows each input column through the fitted steps and records what happened to
it (a transform, a centring, one-hot levels, bins). A step it does not know, or a known step used in a way the
formula cannot say (a scaler applied twice, ``np.exp``, ``PCA`` mixing columns), is refused with the step and
the column named: an export that silently approximates would ship numbers nobody fitted.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from validator.atomic import write_atomic
from validator.data import roundtrip
from validator.gate.findings import Finding
from validator.gate.settings import find_root
from validator.gate.sources import WorkTree
from validator.gate.validate import settings_from, validate
from validator.gate.yamlload import load_bytes
from validator.kinds.contract import Contract

# ------------------------------------------------------------------------------------------------ errors


class ExportError(Exception):
    """The export cannot be done as asked; the message says what and how to fix it. Nothing was written."""


class CannotExpress(ExportError):
    """The fitted estimator does something the kind cannot write down exactly (named: step, estimator, feature)."""


class InputMappingError(ExportError):
    """The ``inputs`` mapping (estimator feature -> contract input) is incomplete or names an unknown input."""


class ExportValidationFailed(ExportError):
    """The exported model does not pass ``weights validate``; ``findings`` are the gate's, for the new text."""

    def __init__(self, path: str, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        shown = "\n".join(f"  {f.render()}" for f in self.findings[:20])
        super().__init__(f"the exported {path} would not pass weights validate, so it was not written:\n{shown}")


# ------------------------------------------------------------------------------------------------ result


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote (or, with ``dry_run``, would write)."""

    path: Path
    old_text: str | None            # None: the file is new
    new_text: str
    written: bool
    notes: tuple[str, ...] = ()     # decisions the export took that a reviewer should see (cluster -> segment ...)

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        """A unified diff of the file, old -> new (what ``git diff`` will show)."""
        old = (self.old_text or "").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, self.new_text.splitlines(keepends=True),
                                            f"a/{self.path.name}", f"b/{self.path.name}"))


# ------------------------------------------------------------------------------------------ the walk


def sklearn(module: str) -> Any:
    """A scikit-learn (or scipy) module, imported when an export runs: the extra is optional, and an app that
    imports ``validator`` never pays for it. Missing, it is a usage error that says which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError("validator.export needs scikit-learn and pandas: pip install 'weights[sklearn]'") from None


@dataclass(frozen=True)
class Group:
    """How one input column became several estimator columns (one-hot levels or bins): the term is the group."""

    kind: str                                   # "levels" (OneHotEncoder) or "bins" (one-hot or ordinal bins)
    step: str                                   # where it happened, for messages
    categories: tuple[Any, ...] = ()            # levels: every category the encoder knows
    dropped: Any = None                         # levels: the category encoded as all zeros (drop=)
    unknown: str = "error"                      # levels: handle_unknown ('error' or 'ignore')
    edges: tuple[float, ...] = ()               # bins: the inner edges; bin k is [edges[k-1], edges[k])
    ordinal: bool = False                       # bins: one column holding the bin index 0..n-1


@dataclass(frozen=True)
class Column:
    """One column of what the final estimator sees, as a formula of one input column of the fitted frame."""

    source: str                                 # the input column of the frame the pipeline was fitted on
    transform: str = "identity"                 # identity, log1p, sqrt (applied first)
    center: float = 0.0
    scale: float = 1.0
    scaled: bool = False                        # a StandardScaler has been applied
    group: Group | None = None
    level: Any = None                           # levels: the category this column is 1 for
    bin: int | None = None                      # bins (one-hot): the bin this column is 1 for
    steps: tuple[str, ...] = ()                 # the steps it went through, for messages

    def via(self, step: str) -> "Column":
        return replace(self, steps=(*self.steps, step))

    def describe(self) -> str:
        path = " -> ".join(self.steps) if self.steps else "passed through"
        return f"feature {self.source!r} ({path})"


# FunctionTransformer functions the kinds can write, by the transform name both kinds use.
def _known_functions() -> dict[Any, str]:
    return {np.log1p: "log1p", np.sqrt: "sqrt"}


def _name_of(obj: Any) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__


def _resolve_columns(spec: Any, names: Sequence[str], where: str) -> list[int]:
    """A ColumnTransformer's column selection as positions into ``names``."""
    if isinstance(spec, slice):
        return list(range(len(names)))[spec]
    if isinstance(spec, (str, int, np.integer)):
        spec = [spec]
    try:
        items = list(spec)
    except TypeError:
        raise CannotExpress(f"{where}: columns given as {spec!r}; give them by name or position") from None
    if items and all(isinstance(i, (bool, np.bool_)) for i in items):
        return [k for k, flag in enumerate(items) if flag]
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise CannotExpress(f"{where}: column {item!r} is not among the columns it receives ({', '.join(names)})")
            out.append(list(names).index(item))
        elif isinstance(item, (int, np.integer)):
            out.append(int(item))
        else:
            raise CannotExpress(f"{where}: column {item!r} is neither a name nor a position")
    return out


def trace(step: Any, columns: list[Column], where: str, *, for_kind: str) -> list[Column]:
    """The columns after fitted ``step`` (a transformer), each still a formula of one input column."""
    ColumnTransformer = sklearn("sklearn.compose").ColumnTransformer  # noqa: N806 - the class's own name
    Pipeline = sklearn("sklearn.pipeline").Pipeline  # noqa: N806
    pre = sklearn("sklearn.preprocessing")
    FunctionTransformer, KBinsDiscretizer = pre.FunctionTransformer, pre.KBinsDiscretizer  # noqa: N806
    OneHotEncoder, StandardScaler = pre.OneHotEncoder, pre.StandardScaler  # noqa: N806

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return columns
    if isinstance(step, str) and step == "drop":
        return []
    if isinstance(step, Pipeline):
        for name, sub in step.steps:
            columns = trace(sub, columns, f"{where}/{name}", for_kind=for_kind)
        return columns
    if isinstance(step, ColumnTransformer):
        # Columns by name need the names the ColumnTransformer was fitted with (a DataFrame's); by position, none.
        names = [str(n) for n in getattr(step, "feature_names_in_", [c.source for c in columns])]
        if len(names) != len(columns):
            raise CannotExpress(f"{where}: the ColumnTransformer was fitted on {len(names)} columns, "
                                f"but receives {len(columns)}")
        out: list[Column] = []
        for name, sub, spec in step.transformers_:
            picked = [columns[k] for k in _resolve_columns(spec, names, f"{where}/{name}")]
            if not picked:
                continue
            out += trace(sub, picked, f"{where}/{name}", for_kind=for_kind)
        return out
    label = f"{where} ({type(step).__name__})"
    if isinstance(step, FunctionTransformer):
        func = step.func
        if func is None:
            return [c.via(label) for c in columns]
        transform = _known_functions().get(func)
        if transform is None:
            raise CannotExpress(f"{label}: func={_name_of(func)} is not a transform the {for_kind} kind has "
                                "(it has log1p and sqrt: use np.log1p or np.sqrt)")
        if step.kw_args:
            raise CannotExpress(f"{label}: kw_args {step.kw_args!r} change the function; the kind's "
                                f"{transform} takes none")
        for c in columns:
            if c.transform != "identity" or c.scaled or c.group is not None:
                raise CannotExpress(f"{label}: {transform} is applied to {c.describe()}, which is already "
                                    "transformed; the kind applies one transform to the raw input, first")
        return [replace(c, transform=transform).via(label) for c in columns]
    if isinstance(step, StandardScaler):
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None
        out = []
        for k, c in enumerate(columns):
            if c.scaled or c.group is not None:
                raise CannotExpress(f"{label}: it scales {c.describe()}, which is already scaled or encoded; "
                                    "the kind centres and scales each input once")
            out.append(replace(c, center=float(mean[k]) if mean is not None else 0.0,
                               scale=float(scale[k]) if scale is not None else 1.0, scaled=True).via(label))
        return out
    if isinstance(step, OneHotEncoder):
        return _one_hot(step, columns, label)
    if isinstance(step, KBinsDiscretizer):
        return _kbins(step, columns, label)
    raise CannotExpress(f"{label}: the {for_kind} kind cannot express a {type(step).__name__}; "
                        f"{ALLOWED[for_kind]}")


# What each kind's export reads, worded for a refusal; each kind's ``export`` room adds its line on import, so
# this module names no kind.
ALLOWED: dict[str, str] = {}


def _one_hot(step: Any, columns: list[Column], label: str) -> list[Column]:
    infrequent = getattr(step, "infrequent_categories_", None)
    if infrequent is not None and any(x is not None for x in infrequent):
        raise CannotExpress(f"{label}: infrequent categories (min_frequency/max_categories) share one column; "
                            "the kind gives each level its own value: fit without them")
    unknown = step.handle_unknown
    if unknown not in ("error", "ignore", "infrequent_if_exist"):
        raise CannotExpress(f"{label}: handle_unknown={unknown!r} is not 'error' or 'ignore'")
    unknown = "error" if unknown == "error" else "ignore"
    drop_idx = step.drop_idx_ if step.drop_idx_ is not None else [None] * len(columns)
    out = []
    for k, c in enumerate(columns):
        if c.transform != "identity" or c.scaled or (c.group is not None and c.group.kind != "bins"):
            raise CannotExpress(f"{label}: one-hot encodes {c.describe()}, which is already transformed")
        cats = [x.item() if isinstance(x, np.generic) else x for x in step.categories_[k]]
        drop = drop_idx[k]
        dropped = cats[int(drop)] if drop is not None else None
        if c.group is not None:  # one-hot over bin indices the user computed (bins=): bins with values per bin
            group = replace(c.group, ordinal=False, step=label, unknown=unknown,
                            categories=tuple(cats), dropped=dropped)
            for cat in cats:
                if cat == dropped:
                    continue
                out.append(replace(c, group=group, bin=_bin_index(cat, group, label, c)).via(label))
            continue
        for cat in cats:
            if not isinstance(cat, str):
                raise CannotExpress(f"{label}: {c.describe()} has category {cat!r}; categorical inputs are text "
                                    "(a category input in the contract)")
        group = Group("levels", label, tuple(cats), dropped, unknown)
        out += [replace(c, group=group, level=cat).via(label) for cat in cats if cat != dropped]
    return out


def _bin_index(cat: Any, group: Group, label: str, c: Column) -> int:
    n = len(group.edges) + 1
    if (isinstance(cat, bool) or not isinstance(cat, (int, float)) or not float(cat).is_integer()
            or not 0 <= int(cat) < n):
        raise CannotExpress(f"{label}: {c.describe()} holds bin indices 0..{n - 1} (bins=), but the encoder has "
                            f"category {cat!r}")
    return int(cat)


def _kbins(step: Any, columns: list[Column], label: str) -> list[Column]:
    if step.dtype not in (None, np.float64):
        raise CannotExpress(f"{label}: dtype={step.dtype!r} bins a rounded copy of the input; use the default")
    out = []
    for k, c in enumerate(columns):
        if c.transform != "identity" or c.scaled or c.group is not None:
            raise CannotExpress(f"{label}: bins {c.describe()}, which is already transformed; the kind bins the "
                                "raw input (bin edges are in the input's unit)")
        edges = tuple(float(e) for e in step.bin_edges_[k][1:-1])
        ordinal = step.encode == "ordinal"
        group = Group("bins", label, edges=edges, ordinal=ordinal)
        if ordinal:
            out.append(replace(c, group=group).via(label))
        else:
            out += [replace(c, group=group, bin=b).via(label) for b in range(len(edges) + 1)]
    return out


def split_estimator(estimator: Any, final_types: tuple[type, ...], final_label: str) -> tuple[list[Any], Any]:
    """The transformers before the final estimator, and the final estimator (of ``final_types``)."""
    Pipeline = sklearn("sklearn.pipeline").Pipeline  # noqa: N806 - the class's own name

    if isinstance(estimator, final_types):
        return [], estimator
    if isinstance(estimator, Pipeline):
        steps = list(estimator.steps)
        final = steps[-1][1]
        if not isinstance(final, final_types):
            raise CannotExpress(f"the pipeline's last step {steps[-1][0]!r} is a {type(final).__name__}; "
                                f"this export writes a {final_label}")
        return [(name, step) for name, step in steps[:-1]], final
    raise CannotExpress(f"got a {type(estimator).__name__}; pass the fitted Pipeline that ends in a {final_label} "
                        f"(or the fitted {final_label} itself)")


def first_columns(estimator: Any, bins: Mapping[str, Sequence[float]] | None = None) -> list[Column]:
    """The columns the pipeline was fitted on, by name: a pipeline fitted on a numpy array has none to map."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise ExportError("the estimator was fitted on an array without column names: fit it on a pandas DataFrame "
                          "so each feature can be mapped to a contract input")
    columns = [Column(str(n)) for n in names]
    for col, edges in (bins or {}).items():
        if col not in [c.source for c in columns]:
            raise ExportError(f"bins= names {col!r}, which is not a column the estimator was fitted on "
                              f"({', '.join(c.source for c in columns)})")
        e = tuple(float(x) for x in edges)
        if not e or any(not np.isfinite(x) for x in e) or any(a >= b for a, b in zip(e, e[1:], strict=False)):
            raise ExportError(f"bins= for {col!r} must be finite edges in strictly rising order, got {list(edges)!r}")
    return [replace(c, group=Group("bins", "bins=", edges=tuple(float(x) for x in bins[c.source]), ordinal=True))
            if bins and c.source in bins else c for c in columns]


def run_steps(steps: Sequence[tuple[str, Any]], columns: list[Column], for_kind: str) -> list[Column]:
    for name, step in steps:
        columns = trace(step, columns, name, for_kind=for_kind)
    return columns


# ------------------------------------------------------------------------------------------ inputs


def map_inputs(sources: Sequence[str], inputs: Mapping[str, str], contract: Contract,
               types: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Each estimator feature's contract input, checked: all features mapped, no stray keys, inputs declared.

    ``types`` says, per feature, which contract types fit how the estimator uses it.
    """
    if not isinstance(inputs, Mapping):
        raise InputMappingError("inputs= must be a dict of estimator feature -> contract input")
    missing = [s for s in sources if s not in inputs]
    if missing:
        raise InputMappingError(f"inputs= does not say which contract input feeds {', '.join(map(repr, missing))}: "
                                "map every feature the estimator reads, e.g. inputs={" + f"{missing[0]!r}: '...'" + "}")
    stray = [k for k in inputs if k not in sources]
    if stray:
        raise InputMappingError(f"inputs= maps {', '.join(map(repr, stray))}, which the estimator does not read "
                                f"(it reads {', '.join(sources)})")
    out: dict[str, str] = {}
    for s in sources:
        name = inputs[s]
        decl = contract.inputs.get(name)
        if decl is None:
            close = difflib.get_close_matches(str(name), list(contract.inputs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputMappingError(f"inputs= maps feature {s!r} to {name!r}, which contract {contract.name!r} does "
                                    f"not declare{hint}")
        if decl.type not in types[s]:
            raise InputMappingError(f"feature {s!r} is used as {' or '.join(types[s])} but contract input {name!r} "
                                    f"is a {decl.type}")
        out[s] = name
    used: dict[str, str] = {}
    for s, name in out.items():
        if name in used:
            raise InputMappingError(f"inputs= maps both {used[name]!r} and {s!r} to {name!r}: each input once")
        used[name] = s
    return out


# ------------------------------------------------------------------------------------------ the file


@dataclass
class Target:
    """Where the export goes: the repository, the file's path in it, its text if it exists, its contract."""

    root: Path
    relpath: str
    path: Path
    old_text: str | None
    data: dict[str, Any] | None
    contract: Contract
    notes: list[str] = field(default_factory=list)


def _load_contract(source: WorkTree, contracts_dir: str, name: str) -> Contract:
    rel = f"{contracts_dir}/{name}.yaml"
    raw = source.read(rel)
    if raw is None:
        raise ExportError(f"contract {name!r} ({rel}) does not exist: the export maps features to the inputs it "
                          "declares; write it first (weights new writes one)")
    document, problems = load_bytes(raw, rel)
    if document is None or problems or not isinstance(document.data, Mapping):
        raise ExportError(f"{rel} does not load: run weights validate {rel}")
    try:
        return Contract.from_dict(name, document.data)
    except (KeyError, TypeError, AttributeError):
        raise ExportError(f"{rel} is not a valid contract: run weights validate {rel}") from None


def locate(path: Path | str, kind: str, root: Path | str | None, contract: str | None) -> Target:
    """The model file ``path`` in its repository; an existing one must be a model of ``kind``."""
    path = Path(path).absolute()
    found = Path(root).absolute() if root is not None else find_root(path.parent)
    if found is None:
        raise ExportError(f"{path} is not inside a weights repository (a folder with config/weights.yaml); "
                          "pass root=")
    try:
        relpath = PurePosixPath(path.relative_to(found)).as_posix()
    except ValueError:
        raise ExportError(f"{path} is not inside the repository {found}") from None
    source = WorkTree(found)
    settings = settings_from(source)
    if str(PurePosixPath(relpath).parent) != settings.weights_dir or path.suffix not in (".yaml", ".yml"):
        raise ExportError(f"{relpath}: model files are {settings.weights_dir}/<name>.yaml")
    old_text: str | None = None
    data: dict[str, Any] | None = None
    if path.exists():
        raw = path.read_bytes()
        document, problems = load_bytes(raw, relpath)
        if document is None or problems or not isinstance(document.data, Mapping):
            raise ExportError(f"{relpath} does not load; fix it first (weights validate {relpath})")
        data = dict(document.data)
        if data.get("kind") != kind:
            raise ExportError(f"{relpath} is a {data.get('kind')!r} model; this export writes {kind} models")
        if contract is not None and contract != data.get("contract"):
            raise ExportError(f"{relpath} belongs to contract {data.get('contract')!r}, not {contract!r}")
        contract = str(data.get("contract"))
        old_text = raw.decode("utf-8")
    elif contract is None:
        raise ExportError(f"{relpath} does not exist yet: pass contract= (the app contract the new model belongs to)")
    return Target(found, relpath, path, old_text, data, _load_contract(source, settings.contracts_dir, contract))


def new_text(target: Target, kind: str, owner: str | None) -> str:
    """The ``weights new`` template for the new model: schema line, header, contract, owner (numbers replaced later)."""
    from validator.gate import scaffold

    name = PurePosixPath(target.relpath).stem
    try:
        plan = scaffold.plan(target.root, kind, name, target.contract.name, owner)
    except scaffold.ScaffoldError as error:
        raise ExportError(str(error)) from None
    return plan.files[target.relpath]


class _Overlay:
    """The work tree with one file replaced by the export's text: what the gate sees once it is written."""

    def __init__(self, base: WorkTree, relpath: str, data: bytes) -> None:
        self.base, self.relpath, self.data = base, relpath, data
        self.label = base.label

    def list(self, folder: str) -> list[str]:
        items = self.base.list(folder)
        if str(PurePosixPath(self.relpath).parent) == folder and self.relpath not in items:
            items = sorted([*items, self.relpath])
        return items

    def read(self, relpath: str) -> bytes | None:
        return self.data if relpath == self.relpath else self.base.read(relpath)


def edit(base_text: str, mutate: Callable[[Any], None]) -> str:
    """Apply ``mutate`` round-trip (comments, order, layout kept) to ``base_text``."""
    return roundtrip.edit_text(base_text, mutate).new_text


def spaced(text: str, keys: Sequence[str]) -> str:
    """A new file's top-level ``keys`` each after a blank line, as the template has them.

    Replacing a list in the template drops the blank line that ruamel keeps with its last item; only for text
    the export wrote itself (an analyst's file is never reformatted).
    """
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if any(line.startswith(f"{key}:") for key in keys) and out and out[-1].strip():
            out.append("")
        out.append(line)
    return "\n".join(out)


def finish(target: Target, text: str, dry_run: bool) -> ExportResult:
    """Validate ``text`` as the model file with the whole repository around it, then write it atomically."""
    data = text.encode("utf-8")
    result = validate(_Overlay(WorkTree(target.root), target.relpath, data), only=[target.relpath])
    errors = [f for f in result.findings if f.severity.value == "error"]
    if errors:
        raise ExportValidationFailed(target.relpath, errors)
    written = False
    if not dry_run and text != target.old_text:
        current = target.path.read_bytes().decode("utf-8") if target.path.exists() else None
        if current != target.old_text:
            raise ExportError(f"{target.relpath} changed on disk while exporting; run the export again")
        write_atomic(target.path, data)
        written = True
    return ExportResult(target.path, target.old_text, text, written, tuple(target.notes))


def set_num(mapping: Any, key: str, value: float) -> None:
    roundtrip.set_number(mapping, key, float(value))


def flow_map(items: Mapping[str, Any]) -> Any:
    """A new ``{a: 1, b: 2}`` mapping for the file, numbers written exactly (YAML 1.1 safe)."""
    m = roundtrip.CommentedMap()
    m.fa.set_flow_style()
    for k, v in items.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            roundtrip.set_number(m, k, v)
        else:
            m[k] = v
    return m


__all__ = [
    "CannotExpress", "Column", "ExportError", "ExportResult", "ExportValidationFailed", "Group", "InputMappingError",
    "edit", "finish", "first_columns", "flow_map", "locate", "map_inputs", "run_steps", "set_num", "sklearn", "spaced",
    "split_estimator", "trace",
]
