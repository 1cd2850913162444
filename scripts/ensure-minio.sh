#!/usr/bin/env bash
# ensure-minio.sh: make sure a MinIO server (S3 + STS) answers on
# 127.0.0.1:9000 with the test credentials, for the storage tests.
# Idempotent; never reads stdin; never stops or kills a process it did not
# start.
#
#   1. MinIO already answers on 127.0.0.1:9000 and accepts the test
#      credentials                                    -> use it
#   2. something else answers there                   -> fail (say what)
#   3. otherwise build the pinned MinIO into .cache/bin (reused when present),
#      start it with a data directory under .cache/minio, wait until live
#
# With --binary it only makes sure the pinned MinIO is built, prints its
# path and exits (the compose quick-start test starts a MinIO of its own).
#
# The test credentials come from BINGSAN_TEST_S3_ACCESS_KEY and
# BINGSAN_TEST_S3_SECRET_KEY (defaults below, the same as the tests').
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
HOST=127.0.0.1
PORT=${BINGSAN_TEST_MINIO_PORT:-9000}
CONSOLE_PORT=${BINGSAN_TEST_MINIO_CONSOLE_PORT:-9001}
ACCESS_KEY=${BINGSAN_TEST_S3_ACCESS_KEY:-bingsan-test}
SECRET_KEY=${BINGSAN_TEST_S3_SECRET_KEY:-bingsan-test-secret}
CACHE=$ROOT/.cache
BIN=$CACHE/bin/minio
DIR=$CACHE/minio
DATA=$DIR/data
LOG=$DIR/minio.log
PIDFILE=$DIR/minio.pid
URL=http://$HOST:$PORT

say() { echo "ensure-minio: $*"; }

build() {
	if [ -x "$BIN" ]; then
		say "using cached $BIN"
	else
		say "building MinIO $MINIO_VERSION into $CACHE/bin (a few minutes the first time)"
		mkdir -p "$CACHE/bin"
		GOBIN=$CACHE/bin GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" </dev/null
	fi
}

if [ "${1:-}" = --binary ]; then
	build >&2
	echo "$BIN"
	exit 0
fi

live() { curl -fsS -m 2 -o /dev/null "$URL/minio/health/live" 2>/dev/null; }

# A signed ListBuckets with the test credentials: 200 only when they are the
# server's root credentials.
creds_ok() {
	curl -fsS -m 5 -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$ACCESS_KEY:$SECRET_KEY" "$URL/" 2>/dev/null
}

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if live; then
	if creds_ok; then
		say "MinIO already answers on $URL with the test credentials; using it"
		exit 0
	fi
	say "a server answers on $URL but refuses the test credentials (BINGSAN_TEST_S3_ACCESS_KEY/SECRET_KEY)"
	exit 1
fi
if listening; then
	say "something that is not MinIO listens on $HOST:$PORT; free the port or set BINGSAN_TEST_MINIO_PORT"
	exit 1
fi

build

mkdir -p "$DATA"
say "starting MinIO on $URL (data in $DATA, log in $LOG)"
# setsid: the server outlives this script and make's process group.
MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY \
	MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=1 \
	setsid "$BIN" server "$DATA" --quiet \
	--address "$HOST:$PORT" --console-address "$HOST:$CONSOLE_PORT" \
	</dev/null >"$LOG" 2>&1 &
echo $! >"$PIDFILE"

for _ in $(seq 1 120); do
	if live && creds_ok; then
		say "ready on $URL (pid $(cat "$PIDFILE"); stop it with: kill \$(cat $PIDFILE))"
		exit 0
	fi
	if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		say "MinIO exited; last lines of $LOG:"
		tail -n 20 "$LOG" >&2 || true
		exit 1
	fi
	sleep 0.5
done
say "MinIO did not become ready on $URL within 60s; see $LOG"
exit 1
