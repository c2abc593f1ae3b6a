#!/bin/sh
# Runs a test in a private D-Bus session with an unlocked gnome-keyring as its Secret Service
# (../shared/DESIGN.md): a throw-away HOME, and no display, so that nothing ever prompts.
set -eu
HOME="$(mktemp -d)"
export HOME
unset DISPLAY WAYLAND_DISPLAY
XDG_RUNTIME_DIR="$HOME/run"
export XDG_RUNTIME_DIR
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
trap 'rm -rf "$HOME"' EXIT
dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "$@"' sh "$@"
