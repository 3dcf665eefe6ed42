#!/usr/bin/env bash
# Build a self-contained tarball of the CLI (compiled code + production node_modules), installable without npm —
# the dify-api images carry Debian's nodejs but no npm. Output: build/dify-ops-<version>-linux-x64.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
out="build/dify-ops-${version}-linux-x64.tar.gz"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# build when there is no build, or when any source is newer than it (a stale dist/ would ship old code)
if [ ! -f dist/src/version.js ] || [ ! -f oclif.manifest.json ] ||
  [ -n "$(find src commands bin scripts/build.mjs package.json package-lock.json -newer dist/src/version.js -type f -print -quit)" ]; then
  npm run build --silent
fi
mkdir -p "$stage/dify-ops"
cp -r bin dist oclif.manifest.json package.json package-lock.json README.md "$stage/dify-ops/"
rm -f "$stage/dify-ops/bin/dev.js"
# only the compiled CLI: no tests, benches or scripts in the package
rm -rf "$stage/dify-ops/dist/test" "$stage/dify-ops/dist/bench"
# production dependencies exactly as the lock file says (no install scripts: nothing here needs them)
( cd "$stage/dify-ops" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null )
# the Chroma server bindings (hundreds of MB, a newer glibc) are an optional dependency of the chromadb client that
# only its `chroma` CLI loads; the HTTP client dify-ops uses does not need them
rm -rf "$stage"/dify-ops/node_modules/chromadb-js-bindings-*
rm -f "$stage/dify-ops/package-lock.json"
mkdir -p build
tar -C "$stage" -czf "$out" dify-ops
echo "$out"
