/** Human rendering of `dify config show`. */
import { table } from '../core/table.js'
import type { ShownConfig } from './show.js'

/** `secretKey`: where SECRET_KEY comes from, as src/dify/secret-key.ts words it (never the key). */
export function renderConfig(shown: ShownConfig, secretKey: string): string[] {
  return [
    'Effective connections',
    ...Object.entries(shown.effective).map(([k, v]) => `  ${k.padEnd(12)} ${v ?? '(not set)'}`),
    `  ${'secret key'.padEnd(12)} ${secretKey}`,
    '',
    table(
      shown.variables.filter((v) => v.source !== 'unset').map((v) => ({ ...v, value: v.value ?? '' })),
      [
        { key: 'name', header: 'VARIABLE' },
        { key: 'value', header: 'VALUE' },
        { key: 'source', header: 'SOURCE' },
      ],
    ),
  ]
}
