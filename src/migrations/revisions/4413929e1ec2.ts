import type { Revision } from '../types.js'
import { alterType } from './_lib.js'

export const revision: Revision = {
  revision: '4413929e1ec2',
  downRevision: '08ec4f75af5e',
  release: '1.0.1',
  description: 'extend_provider_name_column',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql' ? [] : [alterType(dialect, 'dataset_collection_bindings', 'provider_name', 'varchar(255)')],
}
