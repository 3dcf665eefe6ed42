#!/usr/bin/env bash
# One command for a fresh machine: installs every package and service the CLI and its tests need (idempotently,
# starting only what is not running), builds the CLI, and runs it once against the embedded default database.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm dependencies, following package-lock.json. `npm install`, not `npm ci`: opendal 0.49.2 (pinned for glibc 2.36)
# names platform packages that were never published (darwin, win32), which npm ci rejects as missing from the lock.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

# services: the core three, then every capability's own script (pgvector, chroma, celery, …)
for s in scripts/services/*.sh; do
  echo "== $s"
  bash "$s"
done

npm run build --silent

# first run: the embedded PGlite default (no DB_* variable), so every database command can be tried at once
if [ -z "${CI:-}" ]; then
  env -u DB_TYPE -u DB_HOST node bin/run.js --version
  if node bin/run.js db upgrade --help >/dev/null 2>&1; then
    env -u DB_TYPE -u DB_HOST node bin/run.js upgrade-db --no-wait || true
    env -u DB_TYPE -u DB_HOST node bin/run.js db status || true
  fi
fi
echo "setup done: run the tests with  npm test"
