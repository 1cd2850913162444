#!/usr/bin/env bash
# ensure-chromium.sh: make sure Debian's chromium is installed, for the web
# console's browser tests (console/, driven with chromedp).
# Idempotent; never reads stdin; installs with apt-get without prompts.
#
# The tests find the browser through BINGSAN_TEST_CHROMIUM (default
# /usr/bin/chromium).
set -euo pipefail

BIN=${BINGSAN_TEST_CHROMIUM:-/usr/bin/chromium}
say() { echo "ensure-chromium: $*"; }

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  say "using $("$BIN" --version)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "$BIN is missing and installing it needs root: apt-get install chromium" >&2
  exit 1
fi
say "installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
"$BIN" --version
