#!/usr/bin/env bash
# Set up everything Switchboard needs, on a fresh Debian 12 / Ubuntu machine too:
#   1. Debian packages (APT_PACKAGES below, plus python3.X-venv when the venv needs it),
#      installed with apt-get only when `dpkg` says one is really missing;
#   2. a virtualenv in .venv (or $SWITCHBOARD_VENV) made with Python >= 3.11;
#   3. `pip install -e '.[test]'` when the venv is new or setup.cfg/pyproject.toml
#      changed since the last install (a hash stamp lives inside the venv).
# Idempotent, and silent when there is nothing to do. Run it from any directory.
# Environment: SWITCHBOARD_VENV (venv path), SWITCHBOARD_PYTHON (interpreter to
# create the venv with, instead of searching python3.13/3.12/3.11/python3).
set -euo pipefail

# Debian packages the project needs at run or test time. Later issues add theirs
# here (e.g. libportaudio2 for the softphone, asterisk sound files for the demo).
APT_PACKAGES=(
    asterisk-core-sounds-en-wav   # pbxsim: real prompt durations (en)
    asterisk-core-sounds-ru-wav   # pbxsim: real prompt durations (ru)
    asterisk-moh-opsound-wav      # pbxsim: music on hold class "default"
    libportaudio2                 # softphone: headset audio through sounddevice (PortAudio)
    openssl                       # tests: a self-signed certificate for the gateway over TLS
)

MIN_PYTHON="3.11"
PYTHON_CANDIDATES=(python3.13 python3.12 python3.11 python3)

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# Resolve the venv path against the caller's directory before leaving it.
VENV="${SWITCHBOARD_VENV:-}"
if [[ -n "$VENV" && "$VENV" != /* ]]; then
    VENV="$PWD/$VENV"
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
STAMP="$VENV/.switchboard-install.sha256"

# --- helpers ---------------------------------------------------------------

# True when the interpreter runs and is new enough.
python_ok() {
    "$1" -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))" >/dev/null 2>&1
}

find_python() {
    local cand path
    if [[ -n "${SWITCHBOARD_PYTHON:-}" ]]; then
        python_ok "$SWITCHBOARD_PYTHON" \
            || die "SWITCHBOARD_PYTHON=$SWITCHBOARD_PYTHON does not run or is older than Python $MIN_PYTHON"
        command -v "$SWITCHBOARD_PYTHON"
        return
    fi
    for cand in "${PYTHON_CANDIDATES[@]}"; do
        # pyenv installs shims for versions it has not activated: run each one.
        path="$(command -v "$cand" 2>/dev/null)" || continue
        if python_ok "$path"; then
            printf '%s\n' "$path"
            return
        fi
    done
    die "Switchboard needs Python >= $MIN_PYTHON, but none of ${PYTHON_CANDIDATES[*]} is one.
  On Debian 12 / Ubuntu >= 23.04: apt-get install python3 python3-venv
  On Ubuntu 22.04: apt-get install python3.11 python3.11-venv
  Or point SWITCHBOARD_PYTHON at a Python >= $MIN_PYTHON."
}

# True when the Debian package is installed (not merely known or half-removed).
deb_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# Debian package that makes `venv` work (ensurepip) for a Debian-packaged Python,
# e.g. python3.11-venv; nothing for a Python that dpkg does not own (pyenv, /usr/local).
venv_deb_for() {
    local real ver
    command -v dpkg >/dev/null 2>&1 || return 0
    real="$(readlink -f "$1")"
    dpkg -S "$real" >/dev/null 2>&1 || return 0
    ver="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    printf 'python%s-venv\n' "$ver"
}

apt_install() {
    local -a sudo=()
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
        die "not a Debian/Ubuntu system (no apt-get): install these packages yourself: $*"
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 \
            || die "need root or sudo to install Debian packages: $*"
        # Without a terminal there is nobody to type a password: fail instead of hanging.
        if [[ -t 0 ]]; then
            sudo=(sudo)
        else
            sudo=(sudo -n)
            sudo -n true 2>/dev/null || die "need to install Debian packages: $*
  sudo wants a password and there is no terminal to type it. Run once:
  sudo apt-get install $*"
        fi
    fi
    say "installing Debian packages: $*"
    # apt's chatter is shown only when it fails.
    if ! out="$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "apt-get update failed"
    fi
    if ! out="$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "apt-get install failed for: $*"
    fi
}

# A venv we can keep: its Python runs, is new enough, and has pip.
venv_ok() {
    [[ -x "$VENV/bin/python" ]] \
        && "$VENV/bin/python" -c "import sys, pip; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))" \
            >/dev/null 2>&1
}

install_hash() {
    # What the installed state depends on: the packaging files, the extras, and
    # which checkout the editable install points to.
    { printf '%s\n' "$ROOT" "[test]"; cat setup.cfg pyproject.toml; } | sha256sum | cut -d' ' -f1
}

# --- serialize concurrent runs sharing one venv -------------------------------
if command -v flock >/dev/null 2>&1; then
    lock="${TMPDIR:-/tmp}/switchboard-bootstrap-$(printf '%s' "$VENV" | sha256sum | cut -c1-16).lock"
    exec 9>"$lock"
    flock 9
fi

# --- 1. Debian packages -----------------------------------------------------
missing=()
need_venv=0
venv_ok || need_venv=1
PYTHON=""
if (( need_venv )); then
    PYTHON="$(find_python)"
    venv_deb="$(venv_deb_for "$PYTHON")"
    if [[ -n "$venv_deb" ]] && ! deb_installed "$venv_deb"; then
        missing+=("$venv_deb")
    fi
fi
if (( ${#APT_PACKAGES[@]} )); then
    if command -v dpkg-query >/dev/null 2>&1; then
        for pkg in "${APT_PACKAGES[@]}"; do
            deb_installed "$pkg" || missing+=("$pkg")
        done
    else
        say "warning: not a Debian system; make sure these are installed: ${APT_PACKAGES[*]}"
    fi
fi
if (( ${#missing[@]} )); then
    apt_install "${missing[@]}"
fi

# --- 2. the virtualenv --------------------------------------------------------
if (( need_venv )); then
    if [[ -e "$VENV" && ! -f "$VENV/pyvenv.cfg" ]]; then
        die "$VENV exists but is not a virtualenv; move it away or set SWITCHBOARD_VENV"
    fi
    "$PYTHON" -m venv --help >/dev/null 2>&1 \
        || die "$PYTHON has no working venv module (Debian/Ubuntu: apt-get install python3-venv)"
    pyver="$("$PYTHON" -c 'import platform; print(platform.python_version())')"
    if [[ -e "$VENV" ]]; then
        say "recreating broken virtualenv $VENV with $PYTHON ($pyver)"
    else
        say "creating virtualenv $VENV with $PYTHON ($pyver)"
    fi
    if ! out="$("$PYTHON" -m venv --clear "$VENV" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "could not create $VENV with $PYTHON (Debian/Ubuntu: apt-get install python${pyver%.*}-venv)"
    fi
    venv_ok || die "$VENV was created but its Python has no pip"
    rm -f "$STAMP"
fi

# --- 3. the package and its test dependencies ---------------------------------
want="$(install_hash)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" || ! -x "$VENV/bin/switchboard" ]]; then
    say "installing switchboard[test] into $VENV"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install --quiet --editable ".[test]" \
        || die "pip install -e '.[test]' failed"
    printf '%s\n' "$want" >"$STAMP"
fi
