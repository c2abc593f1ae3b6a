#!/usr/bin/env bash
# Installs the Debian 12 packages that building and running KV Desk need, when any is missing;
# with --test, also what only the tests and the package need (a PostgreSQL server, lintian, ...);
# with --bench, also what only the benchmark needs (Qt HTTP Server for its ceiling).
set -euo pipefail

packages=(
  g++ make cmake ninja-build pkg-config
  qt6-base-dev libqt6sql6-sqlite libgl-dev libqt6svg6
  libssl-dev libsqlite3-dev qtkeychain-qt6-dev libjemalloc-dev
  qt6-tools-dev qt6-l10n-tools qt6-translations-l10n
  libqt6sql6-psql
  dbus-bin gnome-keyring librsvg2-bin
)
if [ "${1:-}" = "--test" ]; then
  packages+=(dpkg-dev lintian desktop-file-utils appstream man-db postgresql)
fi
if [ "${1:-}" = "--bench" ]; then
  # find_package(Qt6 COMPONENTS HttpServer) also needs the WebSockets headers.
  packages+=(qt6-httpserver-dev qt6-websockets-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Run as root, or install sudo, to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
