#!/usr/bin/env bash
# Run the test suite: set up what is missing (Debian packages, .venv, the package
# with its test extras), then pytest from the repo root with ARGS passed through,
# e.g. `scripts/test.sh tests/test_cli_docs.py -k readme`. Exits with pytest's code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SWITCHBOARD_VENV:-$ROOT/.venv}"
[[ "$VENV" == /* ]] || VENV="$PWD/$VENV"
export SWITCHBOARD_VENV="$VENV"

bash "$ROOT/scripts/bootstrap.sh"

# pytest's configuration ([tool:pytest] in setup.cfg) is found from the repo root.
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
