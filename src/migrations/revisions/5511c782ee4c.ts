import type { Revision } from '../types.js'
import { alterType } from './_lib.js'

export const revision: Revision = {
  revision: '5511c782ee4c',
  downRevision: '4413929e1ec2',
  release: '1.0.1',
  description: 'extend provider column',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          alterType(dialect, 'tool_api_providers', 'name', 'varchar(255)'),
          alterType(dialect, 'tool_model_invokes', 'provider', 'varchar(255)'),
          alterType(dialect, 'tool_workflow_providers', 'name', 'varchar(255)'),
        ],
}
