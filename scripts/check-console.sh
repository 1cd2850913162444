#!/usr/bin/env bash
# check-console.sh: type-check the web console's TypeScript, rebuild
# console/dist from console/web with the versions pinned in
# package-lock.json, and fail when the result differs from what is
# committed (esbuild's output is deterministic). Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/../console/web"

# node_modules is reused while it was installed from this very lock file.
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.bingsan-lock 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error </dev/null
  echo "$want" > node_modules/.bingsan-lock
fi
npx --no-install tsc --noEmit
node build.mjs
cd ../..
if [ -n "$(git status --porcelain -- console/dist)" ]; then
  echo "console/dist is out of date with console/web; run make console and commit:" >&2
  git status --porcelain -- console/dist >&2
  exit 1
fi
echo "check-console: console/dist is current"
