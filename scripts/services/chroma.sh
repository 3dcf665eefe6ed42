#!/usr/bin/env bash
# A local Chroma server for the tests (reference: test-services.md §7): the Rust server inside the npm package
# chromadb-js-bindings-linux-x64-gnu@1.0.5 (the newest that loads on glibc 2.36; pinned in devDependencies +
# overrides). Idempotent: does nothing when 127.0.0.1:$CHROMA_TEST_PORT already answers the heartbeat.
set -euo pipefail

HOST=127.0.0.1
PORT=${CHROMA_TEST_PORT:-8011}
DATA=${CHROMA_TEST_DATA:-/tmp/dify-ops-chroma}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIND_DIR="$ROOT/node_modules/chromadb-js-bindings-linux-x64-gnu"

ready() { curl -fsS "http://$HOST:$PORT/api/v2/heartbeat" >/dev/null 2>&1; }

if ready; then
  echo "chroma: already running on $HOST:$PORT"
  exit 0
fi

if [ ! -f "$BIND_DIR/package.json" ] || [ ! -f "$ROOT/node_modules/chromadb/dist/cli.mjs" ]; then
  (cd "$ROOT" && npm install --no-audit --no-fund >/dev/null)
fi

# The 1.0.5 binary ships with debug info (417 MB); stripping it leaves 53 MB and works the same.
for f in "$BIND_DIR"/*.node; do
  if [ "$(stat -c %s "$f")" -gt 200000000 ] && command -v strip >/dev/null; then
    # write a new file instead of editing in place: node_modules may be hard-linked to other trees
    strip --strip-debug -o "$f.stripped" "$f" && mv "$f.stripped" "$f"
  fi
done

mkdir -p "$DATA"
cd "$DATA"
nohup node "$ROOT/node_modules/chromadb/dist/cli.mjs" run --path "$DATA/data" --host "$HOST" --port "$PORT" \
  >"$DATA/server.log" 2>&1 &
echo $! >"$DATA/server.pid"

for _ in $(seq 1 100); do
  if ready; then
    echo "chroma: started on $HOST:$PORT (pid $(cat "$DATA/server.pid"), data $DATA/data)"
    exit 0
  fi
  sleep 0.2
done
echo "chroma: not ready after 20 s; see $DATA/server.log" >&2
exit 1
