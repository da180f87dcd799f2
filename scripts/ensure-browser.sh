#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium (never a browser download): installs the
# `chromium` package when it is missing and apt-get can (as root), or says how to.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[deps] installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi
echo "[deps] Chromium is missing: install it (sudo apt-get install chromium) or set CHROMIUM_PATH" >&2
exit 1
