#!/usr/bin/env bash
# ensure-pgbench.sh: make sure pgbench is available for the load harness
# (make bench) and print its path. Debian ships it with the server package
# (postgresql-contrib pulls that in). Like ensure-postgres.sh, it never
# creates a Debian cluster. Messages go to stderr; stdout is the path.
set -euo pipefail

say() { echo "ensure-pgbench: $*" >&2; }

find_pgbench() {
	if command -v pgbench >/dev/null 2>&1; then
		command -v pgbench
		return 0
	fi
	# The server package has it even when its bin directory is not on PATH.
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$bin" ] && [ -x "$bin/pgbench" ]; then
		echo "$bin/pgbench"
		return 0
	fi
	return 1
}

if find_pgbench; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	say "pgbench is not installed and installing it needs root (apt-get install postgresql-contrib)"
	exit 1
fi
say "installing postgresql-contrib (pgbench)"
mkdir -p /etc/postgresql-common/createcluster.d
if [ ! -f /etc/postgresql-common/createcluster.d/bingsan.conf ]; then
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/bingsan.conf
fi
apt-get update >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-contrib </dev/null >&2
find_pgbench
