#!/usr/bin/env bash
# ensure-postgres.sh: make sure a PostgreSQL server answers on 127.0.0.1:5432
# for the tests (user postgres, trust auth). Idempotent; never reads stdin;
# never stops or kills a process it did not start.
#
#   1. something already answers on 127.0.0.1:5432  -> use it
#   2. our throwaway cluster exists under /tmp       -> start it
#   3. a Debian cluster exists                       -> start it (pg_ctlcluster)
#   4. otherwise (installing PostgreSQL from Debian's packages if its binaries
#      are missing) create a throwaway trust-auth cluster under /tmp, start it
#
# The throwaway cluster runs as the postgres user when invoked as root.
set -euo pipefail

HOST=127.0.0.1
PORT=${BINGSAN_TEST_PG_PORT:-5432}
TMP_ROOT=${BINGSAN_TEST_PG_TMP:-/tmp/bingsan-postgres}
DATA=$TMP_ROOT/data
LOG=$TMP_ROOT/postgres.log

say() { echo "ensure-postgres: $*"; }

ready() { pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

wait_ready() {
	for _ in $(seq 1 60); do
		if ready; then
			return 0
		fi
		sleep 0.5
	done
	say "PostgreSQL did not become ready on $HOST:$PORT within 30s"
	return 1
}

# Run as the postgres user when we are root (initdb and postgres refuse root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_bindir() {
	# Newest installed major version.
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_tmp_cluster() {
	local bin=$1
	say "starting throwaway cluster in $DATA"
	as_pg "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 \
		-o "-c listen_addresses=$HOST -p $PORT -k $TMP_ROOT" start >/dev/null
	wait_ready
}

if command -v pg_isready >/dev/null 2>&1 && ready; then
	say "PostgreSQL already answers on $HOST:$PORT; using it"
	exit 0
fi

bin=$(pg_bindir || true)

if [ -n "$bin" ] && [ -f "$DATA/PG_VERSION" ]; then
	start_tmp_cluster "$bin"
	say "ready on $HOST:$PORT (throwaway cluster in $DATA)"
	exit 0
fi

if command -v pg_lsclusters >/dev/null 2>&1; then
	cluster=$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main" { print $1; exit }')
	if [ -n "${cluster:-}" ]; then
		say "starting Debian cluster $cluster/main"
		pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
		wait_ready
		say "ready on $HOST:$PORT (Debian cluster $cluster/main)"
		exit 0
	fi
fi

if [ -z "$bin" ]; then
	if [ "$(id -u)" != 0 ]; then
		say "PostgreSQL is not installed and installing it needs root"
		exit 1
	fi
	say "installing PostgreSQL from Debian's packages"
	# No Debian cluster: the throwaway one below is the only server, so
	# nothing else ends up on port 5432 with other authentication.
	mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/bingsan.conf
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql </dev/null
	bin=$(pg_bindir)
fi

say "creating throwaway cluster in $DATA (trust auth)"
mkdir -p "$TMP_ROOT"
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$TMP_ROOT"
fi
as_pg "$bin/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
start_tmp_cluster "$bin"
say "ready on $HOST:$PORT (throwaway cluster in $DATA)"
