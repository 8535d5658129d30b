"""``weights new table NAME``: a header keyed by one input of the contract (a category's words, else a small
integer range), one number column ``value`` with a default row of 1.0, the CSV beside it with one row per key,
and a case for a key with a row.
"""
from __future__ import annotations

from validator.gate.scaffold import Draft, ScaffoldError, common, flow, golden_header, header, numeric_inputs, of_type
from validator.kinds.contract import Contract
from validator.kinds.table.schema import KIND_NAME

# Placeholder inputs of a new contract: what a typical app reading a table sends (YAML flow mappings).
CONTRACT_INPUTS: tuple[str, ...] = (
    "country: {type: category, values: [DE, AT, CH], description: The shopper's country}",
)
# An integer key is scaffolded with one row per id only when the contract's range is this small.
MAX_SCAFFOLD_ROWS = 1000


def _keys(contract: Contract) -> tuple[str, str, list[str]]:
    """(input, key type, the key values of the starting rows) from the contract's inputs."""
    for decl in of_type(contract, "category"):
        return decl.name, "category", list(decl.values or ())
    for num in numeric_inputs(contract):
        if num.integer and float(num.high) - float(num.low) < MAX_SCAFFOLD_ROWS:
            return num.decl.name, "integer", [str(i) for i in range(int(num.low), int(num.high) + 1)]
    raise ScaffoldError(f"contract {contract.name!r} declares no input to key a table by: a category with values, "
                        f"or an integer with a range of fewer than {MAX_SCAFFOLD_ROWS} ids; add it first")


def draft(name: str, contract: Contract, owner: str, schemas_rel: str, model_path: str) -> Draft:
    key, typ, values = _keys(contract)
    data_path = model_path.rsplit(".", 1)[0] + ".csv"
    lines = header(KIND_NAME, name, schemas_rel)
    lines += common(contract.name, owner, "Which value the app looks up for each key, and what it does with it.")
    lines += ["", f"# The rows are in {data_path.rsplit('/', 1)[-1]} beside this file: one line per key, the first "
              "line names the columns.",
              "keys:", f"  - {flow({'column': key, 'input': key, 'type': typ})}",
              "values:", f"  - {flow({'column': 'value', 'type': 'number', 'min': 0.0, 'max': 10.0})}",
              "missing_key:", "  action: default", f"  default: {flow({'value': 1.0})}"]
    if typ == "integer":
        lines += ["inputs:", f"  {key}: {flow({'out_of_range': 'reject'})}"]
    lines += ["", "# What `weights check` replays to show a change's impact (see tests/data/):",
              "# replay:", "#   dataset: tests/data/<recent requests>.parquet"]
    first = int(values[0]) if typ == "integer" else values[0]
    golden = golden_header(name, model_path, owner)
    golden += [f"  - name: key {first} has its own row", f"    inputs: {flow({key: first})}",
               f"    expect: {{found: true, values: {flow({'value': 1.0})}}}"]
    rows = [f"{key},value"] + [f"{v},1.0" for v in values]
    return Draft(lines, golden, {}, (key,), files={data_path: "\n".join(rows) + "\n"})


__all__ = ["CONTRACT_INPUTS", "draft"]
