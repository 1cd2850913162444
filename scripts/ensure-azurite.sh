#!/usr/bin/env bash
# ensure-azurite.sh: make sure Azurite (the Azure Blob Storage emulator)
# answers over https on 127.0.0.1:10000 with OAuth enabled, for the Azure
# storage tests (shared key, service SAS, and user-delegation SAS, which
# needs OAuth and therefore https).
# Idempotent; never reads stdin; never stops or kills a process it did not
# start.
#
#   1. Azurite already answers over https on 127.0.0.1:10000     -> use it
#   2. something else listens there (or Azurite over plain http) -> fail
#   3. otherwise install the pinned Azurite with npm into .cache/azurite
#      (reused when present), make a self-signed certificate for 127.0.0.1
#      there (reused), start Azurite in memory, wait until it answers
#
# The tests find it through BINGSAN_TEST_AZURE_ENDPOINT (default
# https://127.0.0.1:10000/devstoreaccount1) and trust the certificate in
# BINGSAN_TEST_AZURE_CA (default .cache/azurite/cert.pem);
# BINGSAN_TEST_AZURE_PORT moves the port.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

VERSION=3.37.0
HOST=127.0.0.1
PORT=${BINGSAN_TEST_AZURE_PORT:-10000}
CACHE=$ROOT/.cache
DIR=$CACHE/azurite
BIN=$DIR/node_modules/.bin/azurite-blob
CERT=$DIR/cert.pem
KEY=$DIR/key.pem
LOG=$DIR/azurite.log
PIDFILE=$DIR/azurite.pid
URL=https://$HOST:$PORT

say() { echo "ensure-azurite: $*"; }

# Any request gets an answer whose Server header names Azurite.
is_azurite() { curl -sS -m 3 -o /dev/null -D - "$1/devstoreaccount1?comp=list" "${@:2}" 2>/dev/null | grep -qi '^server: azurite'; }

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if is_azurite "$URL" -k; then
	if [ -n "${BINGSAN_TEST_AZURE_CA:-}" ] || is_azurite "$URL" --cacert "$CERT"; then
		say "Azurite already answers on $URL; using it"
		exit 0
	fi
	say "Azurite answers on $URL with a certificate other than $CERT; point BINGSAN_TEST_AZURE_CA at its certificate"
	exit 1
fi
if listening; then
	if is_azurite "http://$HOST:$PORT"; then
		say "Azurite listens on $HOST:$PORT over plain http; the tests need https with --oauth basic (stop it, or set BINGSAN_TEST_AZURE_PORT)"
	else
		say "something that is not Azurite listens on $HOST:$PORT; free the port or set BINGSAN_TEST_AZURE_PORT"
	fi
	exit 1
fi

if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/azurite/package.json" 2>/dev/null; then
	say "using cached Azurite $VERSION in $DIR"
else
	command -v npm >/dev/null || { say "npm is needed to install Azurite (apt-get install nodejs npm)"; exit 1; }
	say "installing Azurite $VERSION into $DIR with npm"
	mkdir -p "$DIR"
	npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "azurite@$VERSION" </dev/null
fi

if [ -s "$CERT" ] && [ -s "$KEY" ]; then
	say "using the certificate $CERT"
else
	say "making a self-signed certificate for 127.0.0.1 in $CERT"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$KEY.tmp" -out "$CERT.tmp" 2>/dev/null
	mv "$KEY.tmp" "$KEY"
	mv "$CERT.tmp" "$CERT"
fi

say "starting Azurite on $URL (in memory, OAuth basic, log in $LOG)"
# setsid: the server outlives this script and make's process group.
setsid "$BIN" --blobHost "$HOST" --blobPort "$PORT" --inMemoryPersistence \
	--skipApiVersionCheck --disableTelemetry --oauth basic --cert "$CERT" --key "$KEY" \
	</dev/null >"$LOG" 2>&1 &
echo $! >"$PIDFILE"

for _ in $(seq 1 120); do
	if is_azurite "$URL" --cacert "$CERT"; then
		say "ready on $URL (pid $(cat "$PIDFILE"); stop it with: kill \$(cat $PIDFILE))"
		exit 0
	fi
	if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		say "Azurite exited; last lines of $LOG:"
		tail -n 20 "$LOG" >&2 || true
		exit 1
	fi
	sleep 0.5
done
say "Azurite did not become ready on $URL within 60s; see $LOG"
exit 1
