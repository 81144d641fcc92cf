#!/usr/bin/env bash
# Run Switchboard: set up what is missing (Debian packages, .venv, the package),
# then `switchboard ARGS...`. With no arguments, runs the demo (`switchboard demo`):
# pbxsim, the server and simulated callers on the sample config data/switchboard.yaml,
# and the operator console logged in as a demo operator.
# $SWITCHBOARD_CONFIG defaults to that sample config, so commands work from any directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SWITCHBOARD_VENV:-$ROOT/.venv}"
[[ "$VENV" == /* ]] || VENV="$PWD/$VENV"
export SWITCHBOARD_VENV="$VENV"

bash "$ROOT/scripts/bootstrap.sh"

export SWITCHBOARD_CONFIG="${SWITCHBOARD_CONFIG:-$ROOT/data/switchboard.yaml}"
if (( $# == 0 )); then
    set -- demo
fi
exec "$VENV/bin/switchboard" "$@"
