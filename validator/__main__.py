"""``python -m validator``: the ``weights`` console script's entry point (in the base install too, where it names
the extra to install instead of failing on a missing import)."""
from validator.cli import main

main()
