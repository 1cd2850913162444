#!/usr/bin/env bash
# check-test-prerequisites.sh: before `make test` starts or builds anything,
# check that what the run will need is here or can be had, and say what is
# missing, so that a machine that cannot run the tests fails in seconds with
# the reason instead of after minutes of set-up. It starts nothing, installs
# nothing and never reads stdin.
#
# Usage: scripts/check-test-prerequisites.sh SPEC_FILE SPEC_URL
set -uo pipefail

SPEC_FILE=${1:?spec file name}
SPEC_URL=${2:?spec URL}
missing=()
say() { echo "check-test-prerequisites: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Go, at least the version go.mod names.
need=$(awk '/^go /{print $2; exit}' go.mod)
if ! have go; then
	missing+=("Go $need or later (https://go.dev/dl/)")
else
	have_v=$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*$//')
	if [ "$(printf '%s\n%s\n' "$need" "$have_v" | sort -V | head -n1)" != "$need" ]; then
		missing+=("Go $need or later (this is $have_v)")
	fi
fi

# The pinned REST spec: already fetched, the shared copy, or the network.
if [ ! -f "openapi/spec/$SPEC_FILE" ] && [ ! -f "../shared/openapi/$SPEC_FILE" ]; then
	if ! have curl; then
		missing+=("curl, to download the pinned spec $SPEC_URL")
	elif ! curl -fsSI -m 10 -o /dev/null "$SPEC_URL" 2>/dev/null; then
		missing+=("the pinned spec: no copy at ../shared/openapi/$SPEC_FILE and $SPEC_URL is not reachable")
	fi
fi
have curl || missing+=("curl (the service scripts probe with it)")

# PostgreSQL: one that answers, or binaries, or a way to install them.
if ! listening "${BINGSAN_TEST_PG_PORT:-5432}"; then
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		if ! have apt-get || [ "$(id -u)" != 0 ]; then
			missing+=("PostgreSQL: nothing answers on 127.0.0.1:${BINGSAN_TEST_PG_PORT:-5432}, no binaries under /usr/lib/postgresql, and no root apt-get to install the postgresql package")
		fi
	fi
fi

# Azurite comes from npm unless one answers already.
if ! listening 10000 && [ ! -x .cache/azurite/node_modules/.bin/azurite-blob ] && ! have npm; then
	missing+=("npm (Node.js), to install Azurite for the Azure tests")
fi

if [ ${#missing[@]} -gt 0 ]; then
	say "make test cannot run on this machine yet; missing:"
	for m in "${missing[@]}"; do
		echo "  - $m"
	done
	exit 1
fi
say "ok"
