#!/usr/bin/env bash
# ensure-helm.sh: make sure the pinned helm is built into .cache/bin and print
# its path, for the chart tests (helm lint, helm template). Helm is built from
# its Go module, so nothing but the Go module proxy is needed. Idempotent;
# never reads stdin. Messages go to stderr; stdout is the path.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

VERSION=v3.22.0
CACHE=$ROOT/.cache
BIN=$CACHE/bin/helm-$VERSION

say() { echo "ensure-helm: $*" >&2; }

if [ -x "$BIN" ]; then
	say "using cached $BIN"
else
	say "building helm $VERSION into $CACHE/bin (a few minutes the first time)"
	mkdir -p "$CACHE/bin"
	tmp=$(mktemp -d "$CACHE/helm-build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	GOBIN=$tmp GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$VERSION" </dev/null >&2
	mv "$tmp/helm" "$BIN"
fi
echo "$BIN"
