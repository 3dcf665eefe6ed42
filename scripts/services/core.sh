#!/usr/bin/env bash
# PostgreSQL 15, MariaDB 10.11 and Redis 7 on their standard ports (127.0.0.1): install what is missing, start what
# is not running, wait until ready. Idempotent. (reference: test-services.md §0)
set -euo pipefail
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

wait_for() { for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "not ready: $*" >&2; return 1; }

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! mariadb-admin --no-defaults -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi
wait_for pg_isready -h 127.0.0.1 -p 5432
wait_for redis-cli -h 127.0.0.1 -p 6379 ping
wait_for mariadb-admin --no-defaults -h127.0.0.1 -P3306 -uroot ping
# the tests connect over TCP as postgres/root without passwords (trust / normal auth on this machine kind)
psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null
echo "core services ready: postgresql, mariadb, redis"
