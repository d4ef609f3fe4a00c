# Sourced by the set-up scripts (scripts/demo, scripts/test): they install Debian packages and
# run Asterisk in a chroot, so they run as root. As root they go on as they are (a fresh Debian
# root has no sudo); as another user they start again through sudo, keeping CI and the
# CALLBACK_DIALER_* settings; without sudo they stop with a message saying what to do.
#
# Usage, first thing in a script:  . "$(dirname "$0")/lib/root.bash"; as_root "$0" "$@"
as_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    if ! command -v sudo >/dev/null 2>&1; then
        echo "$(basename "$1"): needs root (it installs Debian packages and runs Asterisk" \
            "in a chroot): run it as root, or as a user who may use sudo" >&2
        exit 1
    fi
    local keep
    keep=$(compgen -e | grep -E '^(CI|CALLBACK_DIALER_[A-Z0-9_]+)$' | paste -sd, - || true)
    if [ -n "$keep" ]; then
        exec sudo --preserve-env="$keep" -- "$@"
    fi
    exec sudo -- "$@"
}
