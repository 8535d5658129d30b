"""``weights score MODEL``: batch scoring of a Parquet/CSV file into a file and/or Redis (validator.data.batch).

Thin: parse, load the model (``validator.data.model_source``), call ``validator.data.batch.score_model``,
print one summary line. Exit 2 for what the user must fix (input, output folder, column, Redis target, bundle),
1 when the repository's weights fail the gate, 0 when every row was scored and the output is in place.
"""
from __future__ import annotations

from pathlib import Path

import click

from validator.cli.app import EXIT_FAILED, EXIT_OK, EnvironmentProblem, _root, _root_option, cli


@cli.command()
@click.argument("model")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="The rows to score: a .parquet or .csv file with the columns the model reads.")
@click.option("--output", "output_path", default=None, type=click.Path(dir_okay=False),
              help="Where the results go: .parquet or .csv (written whole or not at all).")
@click.option("--keep", multiple=True, metavar="COL",
              help="An input column to copy to the output (a key to join on); repeatable.")
@click.option("--batch-rows", default=None, type=click.IntRange(min=1),
              help="Rows per record batch, what bounds memory (default: the replay's, 65536).")
@click.option("--group", default=None, metavar="COL",
              help="Ranking: the query id column (rows with equal ids ranked together; default replay.query).")
@click.option("--seed", default=0, show_default=True, type=int, help="Bandit: the seed of the draws.")
@click.option("--rev", default=None, help="Score with the weights of a git revision (e.g. main) instead of "
                                          "the work tree.")
@click.option("--url", default=None, help="Score with the bundle published at this URL (a TUF repository), "
                                          "verified as WeightsClient verifies it.")
@click.option("--trusted-root", default=None, type=click.Path(dir_okay=False, exists=True),
              help="With --url: the trusted TUF root metadata (root.json) the app ships.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="With --url: where verified metadata is kept (default: a fresh temporary folder).")
@click.option("--channel", default="production", show_default=True, help="With --url: the channel to read.")
@click.option("--to", "redis_url", default=None, metavar="redis://HOST:PORT/DB",
              help="Also write one hash per key into Redis (the user-profile pattern); needs --key and --ttl.")
@click.option("--key", default=None, metavar="COL", help="With --to: the column that names each hash.")
@click.option("--ttl", default=None, type=int, metavar="SECONDS", help="With --to: each hash's time to live.")
@click.option("--prefix", default=None, help="With --to: hash names are PREFIX:KEY (default: the model's name).")
@_root_option
def score(model: str, input_path: str, output_path: str | None, keep: tuple[str, ...], batch_rows: int | None,
          group: str | None, seed: int, rev: str | None, url: str | None, trusted_root: str | None,
          cache_dir: str | None, channel: str, redis_url: str | None, key: str | None, ttl: int | None,
          prefix: str | None, root: str | None) -> int:
    """Score every row of a Parquet/CSV file with MODEL, in record batches, into --output and/or Redis.

    The output holds the --keep columns, the model's results (score, decision, reasons; segment, variant;
    rank...; refused) and the version of the weights that made them.
    """
    import tempfile

    from validator.data.batch import BatchError, score_model
    from validator.data.datasets import DEFAULT_BATCH_ROWS
    from validator.data.model_source import ModelSourceError, from_bundle, from_repository
    from validator.data.redis_sink import RedisSinkError, RedisTarget

    if output_path is None and redis_url is None:
        raise click.UsageError("name an --output file, a --to redis://... target, or both")
    if redis_url is None and (key is not None or ttl is not None or prefix is not None):
        raise click.UsageError("--key, --ttl and --prefix go with --to redis://...")
    if redis_url is not None and (key is None or ttl is None):
        raise click.UsageError("--to needs --key COL (the column naming each hash) and --ttl SECONDS")
    if url is not None and (trusted_root is None or rev is not None):
        raise click.UsageError("--url needs --trusted-root ROOT.json, and does not go with --rev")
    try:
        target = None
        if redis_url is not None:
            assert key is not None and ttl is not None
            target = RedisTarget(redis_url, key, ttl, prefix or "")
        if url is not None:
            assert trusted_root is not None
            with tempfile.TemporaryDirectory(prefix="weights-score-") as scratch:
                loaded = from_bundle(url, Path(trusted_root), Path(cache_dir or scratch), model, channel=channel)
        else:
            loaded = from_repository(_root(root), model, rev)
        result = score_model(loaded, input_path, output_path, batch_rows=batch_rows or DEFAULT_BATCH_ROWS, keep=keep, group=group,
                             seed=seed, redis=target)
    except ModelSourceError as exc:
        if exc.exit_code == EXIT_FAILED:
            click.echo(f"weights score: {exc}", err=True)
            return EXIT_FAILED
        raise EnvironmentProblem(str(exc)) from None
    except (BatchError, RedisSinkError) as exc:
        raise EnvironmentProblem(str(exc)) from None
    where = [str(result.output)] if result.output is not None else []
    if result.redis is not None:
        where.append(f"{result.redis.keys} Redis hashes at {redis_url}"
                     + (f" ({result.redis.skipped} rows without a key skipped)" if result.redis.skipped else ""))
    batches = f"{result.batches} batch{'es' if result.batches != 1 else ''}"
    click.echo(f"scored {result.rows} rows with {model} ({result.version}) in {batches} of at most "
               f"{result.largest_batch} rows -> {' and '.join(where)}")
    return EXIT_OK
