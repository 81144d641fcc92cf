"""``python -m ari_app.cli``: the same as the ``switchboard`` command."""

from ari_app.cli import main

if __name__ == "__main__":
    main(prog_name="switchboard")
