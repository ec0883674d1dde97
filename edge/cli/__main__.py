"""``python -m edge.cli``: the ``passerelle`` command, run from a checkout."""

from edge.cli import main

main()
