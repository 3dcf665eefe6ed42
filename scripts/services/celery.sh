#!/usr/bin/env bash
# Celery 5.2.6 / kombu 5.2.4 / redis-py 4.3.4 from Debian, for the `dify queue` tests (a real worker).
# Idempotent: installs only when Debian's python cannot import celery. The tests start and stop the worker
# themselves, so there is nothing to keep running here. Always use /usr/bin/python3 (not a pyenv python3).
set -euo pipefail
PY=/usr/bin/python3
if "$PY" -c 'import celery, kombu, redis' 2>/dev/null; then
  echo "celery: $("$PY" -c 'import celery, kombu, redis; print("celery", celery.__version__, "kombu", kombu.__version__, "redis", redis.__version__)') already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show python3-celery >/dev/null 2>&1; then $SUDO apt-get update -q; fi
$SUDO apt-get install -y -q --no-install-recommends python3-celery python3-redis python3-kombu || {
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends python3-celery python3-redis python3-kombu
}
"$PY" -c 'import celery, kombu, redis; print("celery", celery.__version__, "kombu", kombu.__version__, "redis", redis.__version__)'
