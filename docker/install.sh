#!/bin/sh
# Install a dify-ops tarball (scripts/pack.sh) without npm: unpack to PREFIX and link the `dify` command into BINDIR.
# Used by docker/Dockerfile and by the packaging test. Usage: install.sh TARBALL [PREFIX] [BINDIR]
set -eu
tarball="$1"
prefix="${2:-/opt/dify-ops}"
bindir="${3:-/usr/local/bin}"
command -v node >/dev/null 2>&1 || { echo "install.sh: node is not on PATH" >&2; exit 4; }
rm -rf "$prefix"
mkdir -p "$prefix" "$bindir"
tar -xzf "$tarball" -C "$prefix" --strip-components=1
chmod -R a+rX "$prefix"
ln -sf "$prefix/bin/run.js" "$bindir/dify"
"$bindir/dify" --version
