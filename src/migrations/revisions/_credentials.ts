/**
 * The data step shared by e8446f481c1e (providers → provider_credentials) and 0e154742a5fa (provider_models →
 * provider_model_credentials), as Dify's migrate_existing_providers_data / migrate_existing_provider_models_data
 * (api/migrations/versions/2025_08_09_1553-e8446f481c1e_….py and 2025_08_13_1605-0e154742a5fa_….py, tags 1.8.0 and
 * 1.15.0): every row whose encrypted_config is not NULL and not blank after Python's strip() gets one credential row
 * (a new uuidv7 id, credential_name 'API_KEY1', the same tenant, provider[, model], encrypted_config, created_at and
 * updated_at), and the row's credential_id points to it. Rows with a NULL or blank encrypted_config get nothing.
 * One statement (PostgreSQL only: both revisions predate Dify's MySQL support).
 */
import { sql } from 'kysely'
import { ddl, stmt } from '../compile.js'
import type { DataEffect, Statement } from '../types.js'

/** Python's str.strip() whitespace for ASCII text (encrypted configs are JSON / base64). */
const NOT_BLANK = sql<boolean>`encrypted_config is not null and btrim(encrypted_config, E' \\t\\n\\r\\f\\v') <> ''`

export function moveToCredentials(source: string, target: string, keyColumns: string[]): Statement {
  const k = ddl('postgres')
  const q = k
    .with('src', (db) =>
      db
        .selectFrom(source)
        .where(NOT_BLANK)
        .select([
          sql`id`.as('source_id'),
          sql`uuidv7()`.as('cid'),
          'tenant_id',
          ...keyColumns,
          'encrypted_config',
          'created_at',
          'updated_at',
        ] as never),
    )
    .with('ins', (db) =>
      db
        .insertInto(target)
        .columns([
          'id',
          'tenant_id',
          ...keyColumns,
          'credential_name',
          'encrypted_config',
          'created_at',
          'updated_at',
        ] as never)
        .expression(
          db
            .selectFrom('src')
            .select([
              sql`cid`,
              'tenant_id',
              ...keyColumns,
              sql.lit('API_KEY1').as('credential_name'),
              'encrypted_config',
              'created_at',
              'updated_at',
            ] as never),
        ),
    )
    .updateTable(source)
    .from('src')
    .set({ credential_id: sql`src.cid` } as never)
    .where(sql<boolean>`${sql.ref(source + '.id')} = src.source_id`)
  return stmt('postgres', q, { table: source })
}

export function credentialEffects(source: string, target: string): DataEffect[] {
  return [
    {
      table: source,
      description: `moves each non-blank ${source}.encrypted_config into a new ${target} row (credential_name 'API_KEY1') and drops the column`,
      countSql: () =>
        `SELECT count(*) AS n FROM ${source} WHERE encrypted_config IS NOT NULL AND btrim(encrypted_config, E' \\t\\n\\r\\f\\v') <> ''`,
    },
    {
      table: source,
      description: `drops ${source}.encrypted_config values that are blank (only whitespace), as Dify does; nothing is lost`,
      countSql: () =>
        `SELECT count(*) AS n FROM ${source} WHERE encrypted_config IS NOT NULL AND btrim(encrypted_config, E' \\t\\n\\r\\f\\v') = ''`,
    },
  ]
}
