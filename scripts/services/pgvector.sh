#!/usr/bin/env bash
# Native pgvector for the local PostgreSQL 15 (reference: test-services.md §2). Idempotent:
# - nothing to do when pg_available_extensions already lists `vector`;
# - otherwise build Debian's pgvector source package (trixie) against postgresql-server-dev-15 and install it.
# Needs root (apt-get, make install). Safe to run repeatedly; CI runs every script in scripts/services/.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config

available() {
  [ "$(psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -tAc "select 1 from pg_available_extensions where name='vector'" 2>/dev/null)" = "1" ]
}

if available; then
  echo "pgvector: already available on $PGHOST:$PGPORT"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SRC_LIST=/etc/apt/sources.list.d/trixie-src.sources
has_trixie_src() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qs '^Types:.*deb-src' "$f" && grep -qs '^Suites:.*trixie' "$f" && return 0
  done
  grep -Eqs '^deb-src .* trixie ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}
if ! has_trixie_src; then
  # same mirror as the main Debian entry
  MIRROR=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  cat > "$SRC_LIST" <<SRC
Types: deb-src
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  echo "pgvector: added $SRC_LIST"
fi

# other jobs on the machine may hold the dpkg/apt locks: wait for them
APT=(apt-get -o DPkg::Lock::Timeout=600)
"${APT[@]}" update -qq
if [ ! -d "/usr/include/postgresql/${PG_MAJOR}/server" ]; then
  "${APT[@]}" install -y -qq --no-install-recommends "postgresql-server-dev-${PG_MAJOR}" make gcc >/dev/null
fi

WORK=$(mktemp -d /tmp/pgvector-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # apt-get source downloads as _apt
cd "$WORK"
apt-get source --download-only pgvector >/dev/null
ORIG=$(ls pgvector_*.orig.tar.* | head -1)
mkdir src
tar xf "$ORIG" -C src --strip-components=1
cd src
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

if available; then
  echo "pgvector: installed $(basename "$ORIG" .orig.tar.gz | sed 's/pgvector_//') for PostgreSQL ${PG_MAJOR}"
else
  echo "pgvector: build finished but the extension is still not available" >&2
  exit 1
fi
