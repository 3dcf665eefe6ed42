import type { Revision, SqlDialect, Statement } from '../types.js'
import { lit } from '../compile.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { pyDumps, pyLoads } from '../pyjson.js'

const SNAPSHOTS = 'agent_config_snapshots'

/**
 * Dify's data step (online only; its offline SQL has none): every agent_config_snapshots row whose
 * `config_snapshot` JSON object has a top-level "skills_files" key loses that key and is written back as
 * `json.dumps(…, separators=(",", ":"), sort_keys=True)`; other rows are untouched. We do the same row by row
 * (pyjson.ts writes JSON byte for byte as Python does). A row that is not valid JSON makes Dify's migration fail;
 * ours fails too, naming the row.
 */
function stripSkillsFiles(dialect: SqlDialect): Statement {
  return {
    sql: `-- data step: remove the top-level skills_files key from ${SNAPSHOTS}.config_snapshot (JSON), row by row (not in offline SQL, as in Dify's)`,
    table: SNAPSHOTS,
    lock: dialect === 'postgres' ? 'ROW EXCLUSIVE' : 'row locks',
    run: async (q) => {
      const rows = await q(`SELECT id, config_snapshot FROM ${SNAPSHOTS}`)
      for (const r of rows) {
        if (r.config_snapshot == null) continue
        let v
        try {
          v = pyLoads(String(r.config_snapshot))
        } catch (e) {
          throw new Error(
            `${SNAPSHOTS} row ${String(r.id)}: config_snapshot is not valid JSON (${(e as Error).message})`,
          )
        }
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !('skills_files' in v)) continue
        delete (v as Record<string, unknown>).skills_files
        await q(
          `UPDATE ${SNAPSHOTS} SET config_snapshot = ${lit(dialect, pyDumps(v))} WHERE id = ${lit(dialect, String(r.id))}`,
        )
      }
    },
  }
}

export const revision: Revision = {
  revision: 'b2515f9d4c2a',
  downRevision: '4f7b2c8d9a10',
  release: '1.15.0',
  description: 'agent drive skill metadata refactor',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'agent_drive_files', {
      name: 'is_skill',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
    ...renderAddColumn(dialect, 'agent_drive_files', { name: 'skill_metadata', type: 'longtext' }),
    ...renderIndex(dialect, 'agent_drive_files', {
      name: 'agent_drive_files_tenant_agent_is_skill_key_idx',
      columns: ['tenant_id', 'agent_id', 'is_skill', 'key'],
    }),
    stripSkillsFiles(dialect),
  ],
}
