/** The real services the integration tests use (started by .ci/run, or already running on the machine). */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' }
export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' }
export const REDIS = { host: '127.0.0.1', port: 6379 }
/** Debian's Python with python3-celery, python3-pycryptodome (never the pyenv python3 on PATH) */
export const PYTHON = '/usr/bin/python3'
