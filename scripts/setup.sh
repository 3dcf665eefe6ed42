#!/usr/bin/env bash
# One command for a fresh machine: installs every package and service the CLI and its tests need (idempotently,
# starting only what is not running), builds the CLI, and runs it once against the embedded default database.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm dependencies, exactly as package-lock.json says (see scripts/lock-opendal-placeholders.mjs for the opendal
# placeholders that keep `npm ci` working)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# services: the core three, then every capability's own script (pgvector, chroma, celery, …)
for s in scripts/services/*.sh; do
  echo "== $s"
  bash "$s"
done

npm run build --silent

# first run: the embedded PGlite database, so every database command can be tried at once. DB_TYPE=pglite is set
# explicitly: any other DB_* variable in the environment or in ./.env (DB_DATABASE, DB_PORT, …) would otherwise make
# the CLI choose PostgreSQL on localhost, and this would migrate a real database.
if [ -z "${CI:-}" ]; then
  node bin/run.js --version
  if node bin/run.js db upgrade --help >/dev/null 2>&1; then
    DB_TYPE=pglite node bin/run.js upgrade-db --no-wait || true
    DB_TYPE=pglite node bin/run.js db status || true
  fi
fi
echo "setup done: run the tests with  npm test"
