#!/usr/bin/env bash
# Dev-only: build Dify's MySQL schema at a revision with Dify's OWN migration files (MySQL dialect), the way Dify's
# CI checks offline mode (`flask db upgrade --sql` with DB_TYPE=mysql), and load it into a MariaDB/MySQL database.
# Used to review test/fixtures/mysql-schema-*.json and to feed scripts/gen-baseline.mjs --mysql (docs/migrations.md).
#
#   scripts/dev/dify-mysql-oracle.sh GIT_DIR DATABASE [REVISION]
#     GIT_DIR   a clone of langgenius/dify (or its mirror) with release tags, e.g. the search tool's fetch result
#     DATABASE  MariaDB database to (re)create on 127.0.0.1:3306 as root
#     REVISION  default 788d3099ae3a
#
# Needs python3 with venv and pip access to sqlalchemy + alembic. Dify's application package is not imported: a
# small stand-in for `models.types` (StringUUID→CHAR(36), LongText→LONGTEXT, BinaryData→LONGBLOB,
# AdjustedJSON→JSON, EnumText→VARCHAR(n)) and Dify's metadata naming convention are written here.
# The migration files are those of tag 1.12.1, except 7df29de0f6be and f9f6d18a37f9, taken from 1.13.0, where
# upstream fixed their MySQL path (1.12.x gave `id` a uuid_generate_v4() default that MySQL rejects).
set -euo pipefail
GIT_DIR=${1:?git dir}; DB=${2:?database}; REV=${3:-788d3099ae3a}
W=$(mktemp -d /tmp/dify-mysql-oracle.XXXXXX)
trap 'rm -rf "$W"' EXIT
git --git-dir="$GIT_DIR" archive 1.12.1 api/migrations/versions | tar -x -C "$W"
for f in 2025_12_25_1039-7df29de0f6be_add_credit_pool.py 2026_01_17_1110-f9f6d18a37f9_add_table_explore_banner_and_trial.py; do
  git --git-dir="$GIT_DIR" show "1.13.0:api/migrations/versions/$f" > "$W/api/migrations/versions/$f"
done
python3 -m venv "$W/venv"
"$W/venv/bin/pip" install -q sqlalchemy alembic
mkdir -p "$W/stub/models" "$W/stub/libs"
cat > "$W/stub/models/__init__.py" <<'PY'
from . import types
PY
cat > "$W/stub/models/types.py" <<'PY'
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql


class _ByDialect(sa.types.TypeDecorator):
    impl = sa.Text
    cache_ok = True
    pg = sa.Text()
    my = sa.Text()
    other = sa.Text()

    def load_dialect_impl(self, dialect):
        t = self.pg if dialect.name == "postgresql" else self.my if dialect.name == "mysql" else self.other
        return dialect.type_descriptor(t)


class StringUUID(_ByDialect):
    impl = sa.CHAR
    pg, my, other = postgresql.UUID(), sa.CHAR(36), sa.CHAR(36)


class LongText(_ByDialect):
    pg, my, other = sa.Text(), mysql.LONGTEXT(), sa.Text()


class BinaryData(_ByDialect):
    impl = sa.LargeBinary
    pg, my, other = postgresql.BYTEA(), mysql.LONGBLOB(), sa.LargeBinary()


class AdjustedJSON(_ByDialect):
    impl = sa.JSON
    pg, my, other = postgresql.JSONB(), sa.JSON(), sa.JSON()

    def __init__(self, astext_type=None):
        super().__init__()


class EnumText(sa.types.TypeDecorator):
    impl = sa.VARCHAR
    cache_ok = True

    def __init__(self, enum_class, length=None):
        self.n = length if length is not None else max(20, *(len(e.value) for e in enum_class))
        super().__init__()

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.VARCHAR(self.n))
PY
cat > "$W/stub/models/enums.py" <<'PY'
import enum


class AppTriggerStatus(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"


class AppTriggerType(enum.StrEnum):
    TRIGGER_WEBHOOK = "trigger-webhook"
    TRIGGER_SCHEDULE = "trigger-schedule"
    TRIGGER_PLUGIN = "trigger-plugin"
    UNKNOWN = "unknown"
PY
touch "$W/stub/libs/__init__.py"
printf 'import uuid\n\n\ndef uuidv7():\n    return uuid.uuid4()\n' > "$W/stub/libs/uuid_utils.py"
printf 'UUID_NIL = "00000000-0000-0000-0000-000000000000"\n' > "$W/stub/constants.py"
cat > "$W/api/migrations/env.py" <<'PY'
import os
from alembic import context
from sqlalchemy import MetaData

# Dify's metadata naming convention (api/models/engine.py) names the otherwise unnamed constraints
naming = {"ix": "%(column_0_label)s_idx", "uq": "%(table_name)s_%(column_0_name)s_key",
          "ck": "%(table_name)s_%(constraint_name)s_check", "fk": "%(table_name)s_%(column_0_name)s_fkey",
          "pk": "%(table_name)s_pkey"}
context.configure(url=os.environ["ORACLE_URL"], target_metadata=MetaData(naming_convention=naming), literal_binds=True)
with context.begin_transaction():
    context.run_migrations()
PY
printf '[alembic]\nscript_location = migrations\n' > "$W/api/alembic.ini"
(cd "$W/api" && PYTHONPATH="$W/stub" ORACLE_URL=mysql:// "$W/venv/bin/alembic" -c alembic.ini upgrade "base:$REV" --sql > "$W/mysql.sql" 2> "$W/alembic.log")
mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS \`$DB\`; CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
mysql -h 127.0.0.1 -u root "$DB" < "$W/mysql.sql"
echo "Dify's MySQL schema at $REV loaded into $DB"
