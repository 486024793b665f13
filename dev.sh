#!/usr/bin/env bash
# MLOps Desk developer entry point.
#
#   ./dev.sh app [ARGS...]      install what is missing, then start mlops-desk (ARGS passed on)
#   ./dev.sh test [ARGS...]     install what is missing, then ruff, import-linter and pytest
#                               (ARGS go to pytest)
#   ./dev.sh package [ARGS...]  install what is missing, then packaging/build.py (ARGS go to it)
#
# Works on a fresh Debian/Ubuntu with only Python 3.11+: installs the system libraries of the
# Qt platform plugin that will be used (as root) or says which apt command to run, creates
# .venv, and installs the project into it. Re-runs skip the pip step while pyproject.toml is
# unchanged.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

VENV=.venv
STAMP="$VENV/.mlops-desk-install"
# Shared library -> Debian package, per Qt platform plugin: what `ldd` lists for PySide6's
# plugins/platforms/libq{offscreen,xcb,wayland}.so and the plugins they load, beyond the
# C/C++ runtime. tests/test_packaging_system_libs.py checks these lists against ldd.
OFFSCREEN_LIBS=(
    "libX11.so.6:libx11-6"
    "libEGL.so.1:libegl1"
    "libGL.so.1:libgl1"
    "libfontconfig.so.1:libfontconfig1"
    "libxkbcommon.so.0:libxkbcommon0"
    "libdbus-1.so.3:libdbus-1-3"
    "libglib-2.0.so.0:libglib2.0-0"
)
# A real X display (DISPLAY set): the xcb plugin and its GL integrations.
XCB_LIBS=(
    "libX11-xcb.so.1:libx11-xcb1"
    "libxcb.so.1:libxcb1"
    "libxcb-cursor.so.0:libxcb-cursor0"
    "libxcb-glx.so.0:libxcb-glx0"
    "libxcb-icccm.so.4:libxcb-icccm4"
    "libxcb-image.so.0:libxcb-image0"
    "libxcb-keysyms.so.1:libxcb-keysyms1"
    "libxcb-randr.so.0:libxcb-randr0"
    "libxcb-render.so.0:libxcb-render0"
    "libxcb-render-util.so.0:libxcb-render-util0"
    "libxcb-shape.so.0:libxcb-shape0"
    "libxcb-shm.so.0:libxcb-shm0"
    "libxcb-sync.so.1:libxcb-sync1"
    "libxcb-util.so.1:libxcb-util1"
    "libxcb-xfixes.so.0:libxcb-xfixes0"
    "libxcb-xkb.so.1:libxcb-xkb1"
    "libxkbcommon-x11.so.0:libxkbcommon-x11-0"
)
# A Wayland session (WAYLAND_DISPLAY set): the wayland plugin and its EGL integration.
WAYLAND_LIBS=(
    "libwayland-client.so.0:libwayland-client0"
    "libwayland-cursor.so.0:libwayland-cursor0"
    "libwayland-egl.so.1:libwayland-egl1"
)

say() { printf 'dev.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
    cat >&2 <<'EOF'
usage: ./dev.sh app [ARGS...]      install, then start MLOps Desk (ARGS go to mlops-desk)
       ./dev.sh test [ARGS...]     install, then ruff + import-linter + pytest (ARGS go to pytest)
       ./dev.sh package [ARGS...]  install, then packaging/build.py (ARGS go to it)
EOF
    exit 2
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11 to choose one)"
}

have_library() {  # $1 = soname, $2 = Debian package
    local ldconfig
    ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
    if [[ -x "$ldconfig" ]] && "$ldconfig" -p 2>/dev/null | grep -q "[[:space:]]$1 "; then
        return 0
    fi
    command -v dpkg >/dev/null 2>&1 && dpkg -s "$2" >/dev/null 2>&1
}

# The Qt platform plugins a command will load: tests run offscreen; the app uses the one
# Qt picks for this session (QT_QPA_PLATFORM, else Wayland and/or X11); packaging bundles all.
platforms_for() {
    case "$1" in
        test) echo offscreen ;;
        package) echo offscreen xcb wayland ;;
        app)
            case "${QT_QPA_PLATFORM:-}" in
                offscreen* | minimal*) echo offscreen ;;
                xcb*) echo offscreen xcb ;;
                wayland*) echo offscreen wayland ;;
                *)
                    local found=offscreen
                    [[ -n "${WAYLAND_DISPLAY:-}" ]] && found+=" wayland"
                    [[ -n "${DISPLAY:-}" ]] && found+=" xcb"
                    echo "$found"
                    ;;
            esac
            ;;
    esac
}

ensure_system_packages() {
    [[ "$(uname -s)" == Linux ]] || return 0  # macOS and Windows wheels bring their own
    local missing=() entry platform libs=() platforms
    platforms=$(platforms_for "$cmd")
    for platform in $platforms; do
        case "$platform" in
            offscreen) libs+=("${OFFSCREEN_LIBS[@]}") ;;
            xcb) libs+=("${XCB_LIBS[@]}") ;;
            wayland) libs+=("${WAYLAND_LIBS[@]}") ;;
        esac
    done
    for entry in "${libs[@]}"; do
        have_library "${entry%%:*}" "${entry##*:}" || missing+=("${entry##*:}")
    done
    # Debian splits venv/ensurepip out of python3 (package python3-venv).
    if [[ ! -e "$VENV" ]] && ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=("python3-venv")
    fi
    ((${#missing[@]})) || return 0

    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing system libraries for Qt ($platforms): ${missing[*]} (install them with your package manager)"
    fi
    if [[ "$(id -u)" != 0 ]]; then
        say "missing system packages (for Qt platforms: $platforms): ${missing[*]}"
        say "run this, then ./dev.sh again:"
        say "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing system packages (for Qt platforms: $platforms): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
    if [[ ! -e "$VENV" ]]; then
        say "creating $VENV with $("$PY" --version)"
        "$PY" -m venv "$VENV"
    elif ! "$VENV/bin/python" -c '' 2>/dev/null; then
        # Never delete it for the user: it may be someone else's, or just unreadable to us.
        die "$VENV exists but its python does not run; remove it (rm -rf $VENV) and retry"
    fi
    local want
    want=$("$VENV/bin/python" -c 'import hashlib, sys
print(sys.version.split()[0], hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/mlops-desk" ]]; then
        return
    fi
    say "installing mlops-desk and its test tools into $VENV (takes a minute the first time)"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
    echo "$want" >"$STAMP"
}

run_tests() {
    local failed=0
    say "ruff check ."
    "$VENV/bin/ruff" check . || failed=1
    say "lint-imports"
    "$VENV/bin/lint-imports" --no-cache || failed=1
    say "pytest $*"
    QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest "$@" || failed=1
    if ((failed)); then
        say "FAILED (see above)"
        exit 1
    fi
    say "all checks passed"
}

(($#)) || usage
cmd=$1
shift
case "$cmd" in
    app | test | package) ;;
    -h | --help | help) usage ;;
    *) say "unknown command: $cmd"; usage ;;
esac

PY=$(find_python)
ensure_system_packages
ensure_venv

case "$cmd" in
    app) exec "$VENV/bin/mlops-desk" "$@" ;;
    package) exec "$VENV/bin/python" packaging/build.py "$@" ;;
    *) run_tests "$@" ;;
esac
