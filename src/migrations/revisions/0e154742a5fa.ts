import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { createFromBaseline, dropColumn } from './_lib.js'
import { credentialEffects, moveToCredentials } from './_credentials.js'

export const revision: Revision = {
  revision: '0e154742a5fa',
  downRevision: 'e8446f481c1e',
  release: '1.8.0',
  description: 'Add provider model multi credential support',
  mysql: false,
  dataEffects: credentialEffects('provider_models', 'provider_model_credentials'),
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...createFromBaseline(dialect, 'provider_model_credentials'),
          ...renderAddColumn(dialect, 'provider_models', { name: 'credential_id', type: 'uuid' }),
          ...renderAddColumn(dialect, 'load_balancing_model_configs', {
            name: 'credential_source_type',
            type: 'varchar(40)',
          }),
          moveToCredentials('provider_models', 'provider_model_credentials', [
            'provider_name',
            'model_name',
            'model_type',
          ]),
          dropColumn(dialect, 'provider_models', 'encrypted_config'),
        ],
}
