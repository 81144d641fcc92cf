"""``python -m ari_app.cli``: the same ``switchboard`` command, without the installed script."""

from ari_app.cli import main

main(prog_name="switchboard")
