#!/usr/bin/env bash
# PyCryptodome for the encryption interop tests (an independent implementation of Dify's tenant crypto).
# Debian installs it under the `Cryptodome` namespace; the tests run it with /usr/bin/python3. Idempotent.
set -euo pipefail
if /usr/bin/python3 -c 'import Cryptodome' 2>/dev/null; then
  echo "pycryptodome: already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends python3-pycryptodome >/dev/null 2>&1 || {
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y --no-install-recommends python3-pycryptodome >/dev/null
}
/usr/bin/python3 -c 'import Cryptodome; print("pycryptodome", Cryptodome.__version__)'
