import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { createFromBaseline, dropColumn } from './_lib.js'
import { credentialEffects, moveToCredentials } from './_credentials.js'

export const revision: Revision = {
  revision: 'e8446f481c1e',
  downRevision: 'fa8b0fa6f407',
  release: '1.8.0',
  description: 'Add provider credential pool support',
  mysql: false,
  dataEffects: credentialEffects('providers', 'provider_credentials'),
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...createFromBaseline(dialect, 'provider_credentials'),
          ...renderAddColumn(dialect, 'providers', { name: 'credential_id', type: 'uuid' }),
          ...renderAddColumn(dialect, 'load_balancing_model_configs', { name: 'credential_id', type: 'uuid' }),
          moveToCredentials('providers', 'provider_credentials', ['provider_name']),
          dropColumn(dialect, 'providers', 'encrypted_config'),
        ],
}
