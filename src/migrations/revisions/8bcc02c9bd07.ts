import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '8bcc02c9bd07',
  downRevision: '375fe79ead14',
  release: '1.7.0',
  description: 'add_tenant_plugin_autoupgrade_table',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : // the plugin lists were VARCHAR(255)[] until 09cfdda155d1 turned them into JSON
        createFromBaseline(dialect, 'tenant_plugin_auto_upgrade_strategies', {
          override: { exclude_plugins: { type: 'varchar(255)[]' }, include_plugins: { type: 'varchar(255)[]' } },
        }),
}
