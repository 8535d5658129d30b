"""``weights new KIND NAME``: thin over ``validator.gate.scaffold`` (registered by importing this from
``validator.cli.app``); the kinds offered are the registered ones.

Exit 0 when the files are written, 2 when they cannot be (unknown kind, bad name, a file that exists, a
contract that does not parse): nothing is written in that case.
"""
from __future__ import annotations

import click

from validator.cli.app import EXIT_OK, EnvironmentProblem, _root, cli
from validator.kinds import KINDS


@cli.command("new", epilog="\b\nKinds:\n" + "\n".join(f"  {name}: {kind.summary}" for name, kind in KINDS.items()))
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("name")
@click.option("--contract", default=None, metavar="CONTRACT",
              help="The app contract the model belongs to (config/contracts/CONTRACT.yaml). An existing one is "
                   "not edited: the lines to add are printed. Default: a new contract named like the model.")
@click.option("--owner", default=None, help="The team that owns the model's numbers (default: your-team).")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The weights repository (default: the one holding the current folder).")
def new_command(kind: str, name: str, contract: str | None, owner: str | None, root: str | None) -> int:
    """Scaffold weights/NAME.yaml (a valid starting KIND model with its schema line) and its golden cases.

    The model reads only inputs the contract declares, with values inside their declared ranges, and the
    golden cases pass against it, so `weights validate` and `weights test` pass as soon as the contract
    lists the model. Never overwrites a file.
    """
    from validator.gate.scaffold import ScaffoldError, plan, write
    from validator.gate.settings import SettingsError

    repo = _root(root)
    try:
        scaffold = plan(repo, kind, name, contract, owner)
        write(repo, scaffold)
    except (ScaffoldError, SettingsError) as exc:
        raise EnvironmentProblem(str(exc)) from None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write the scaffold: {exc.strerror or exc}") from None
    for rel in scaffold.files:
        click.echo(f"wrote {rel}")
    instructions = scaffold.contract_instructions
    if instructions:
        click.echo("")
        click.echo(instructions)
    click.echo("")
    click.echo("Next:")
    for step in scaffold.next_steps:
        click.echo(f"  - {step}")
    return EXIT_OK
