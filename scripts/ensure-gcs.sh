#!/usr/bin/env bash
# ensure-gcs.sh: make sure a fake-gcs-server (the GCS JSON API, no auth)
# answers on 127.0.0.1:4443, for the GCS storage tests.
# Idempotent; never reads stdin; never stops or kills a process it did not
# start.
#
#   1. fake-gcs-server already answers on 127.0.0.1:4443       -> use it
#   2. something else listens there                            -> fail (say what)
#   3. otherwise build the pinned fake-gcs-server into .cache/bin (reused
#      when present), start it with in-memory storage, wait until it answers
#
# The tests find it through BINGSAN_TEST_GCS_ENDPOINT (default
# http://127.0.0.1:4443); BINGSAN_TEST_GCS_PORT moves the port.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

VERSION=v1.56.1
HOST=127.0.0.1
PORT=${BINGSAN_TEST_GCS_PORT:-4443}
CACHE=$ROOT/.cache
BIN=$CACHE/bin/fake-gcs-server
DIR=$CACHE/fake-gcs
LOG=$DIR/fake-gcs-server.log
PIDFILE=$DIR/fake-gcs-server.pid
URL=http://$HOST:$PORT

say() { echo "ensure-gcs: $*"; }

# The bucket list of the JSON API: only a GCS server answers it with a
# storage#buckets document.
answers() { curl -fsS -m 2 "$URL/storage/v1/b?project=test" 2>/dev/null | grep -q 'storage#buckets'; }

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if answers; then
	say "a GCS server already answers on $URL; using it"
	exit 0
fi
if listening; then
	say "something that is not a GCS server listens on $HOST:$PORT; free the port or set BINGSAN_TEST_GCS_PORT"
	exit 1
fi

if [ -x "$BIN" ]; then
	say "using cached $BIN"
else
	say "building fake-gcs-server $VERSION into $CACHE/bin (about a minute the first time)"
	mkdir -p "$CACHE/bin"
	GOBIN=$CACHE/bin GOFLAGS=-buildvcs=false go install "github.com/fsouza/fake-gcs-server@$VERSION"
fi

mkdir -p "$DIR"
say "starting fake-gcs-server on $URL (in-memory, log in $LOG)"
# setsid: the server outlives this script and make's process group.
setsid "$BIN" -scheme http -host "$HOST" -port "$PORT" -backend memory \
	-public-host "$HOST:$PORT" -external-url "$URL" -log-level warn \
	</dev/null >"$LOG" 2>&1 &
echo $! >"$PIDFILE"

for _ in $(seq 1 120); do
	if answers; then
		say "ready on $URL (pid $(cat "$PIDFILE"); stop it with: kill \$(cat $PIDFILE))"
		exit 0
	fi
	if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		say "fake-gcs-server exited; last lines of $LOG:"
		tail -n 20 "$LOG" >&2 || true
		exit 1
	fi
	sleep 0.5
done
say "fake-gcs-server did not become ready on $URL within 60s; see $LOG"
exit 1
