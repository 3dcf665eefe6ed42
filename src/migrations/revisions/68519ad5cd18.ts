import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '68519ad5cd18',
  downRevision: 'cf7c38a32b2d',
  release: '1.9.0',
  description: 'knowledge_pipeline_migrate',
  mysql: false,
  statements: (dialect) => {
    if (dialect === 'mysql') return []
    return [
      ...createFromBaseline(dialect, 'datasource_oauth_params'),
      ...createFromBaseline(dialect, 'datasource_oauth_tenant_params'),
      // provider was VARCHAR(255) until 09cfdda155d1
      ...createFromBaseline(dialect, 'datasource_providers', { override: { provider: { type: 'varchar(255)' } } }),
      ...createFromBaseline(dialect, 'document_pipeline_execution_logs'),
      // created_by / updated_by were dropped by ae662b25d9bc
      ...createFromBaseline(dialect, 'pipeline_built_in_templates', {
        append: [
          { name: 'created_by', type: 'uuid', notNull: true },
          { name: 'updated_by', type: 'uuid' },
        ],
      }),
      ...createFromBaseline(dialect, 'pipeline_customized_templates'),
      ...createFromBaseline(dialect, 'pipeline_recommended_plugins'),
      ...createFromBaseline(dialect, 'pipelines'),
      ...createFromBaseline(dialect, 'workflow_draft_variable_files'),
      ...createFromBaseline(dialect, 'workflow_node_execution_offload'),
      ...renderAddColumn(dialect, 'datasets', { name: 'keyword_number', type: 'int', default: '10' }),
      ...renderAddColumn(dialect, 'datasets', { name: 'icon_info', type: 'jsonb' }),
      ...renderAddColumn(dialect, 'datasets', {
        name: 'runtime_mode',
        type: 'varchar(255)',
        default: "'general'::character varying",
      }),
      ...renderAddColumn(dialect, 'datasets', { name: 'pipeline_id', type: 'uuid' }),
      ...renderAddColumn(dialect, 'datasets', { name: 'chunk_structure', type: 'varchar(255)' }),
      ...renderAddColumn(dialect, 'datasets', { name: 'enable_api', type: 'boolean', notNull: true, default: 'true' }),
      ...renderAddColumn(dialect, 'workflow_draft_variables', {
        name: 'file_id',
        type: 'uuid',
        comment: 'Reference to WorkflowDraftVariableFile if variable is offloaded to external storage',
      }),
      ...renderAddColumn(dialect, 'workflow_draft_variables', {
        name: 'is_default_value',
        type: 'boolean',
        notNull: true,
        default: 'false',
        comment:
          'Indicates whether the current value is the default for a conversation variable. Always `FALSE` for other types of variables.',
      }),
      ...renderIndex(dialect, 'workflow_draft_variables', {
        name: 'workflow_draft_variable_file_id_idx',
        columns: ['file_id'],
      }),
      ...renderAddColumn(dialect, 'workflows', {
        name: 'rag_pipeline_variables',
        type: 'longtext',
        notNull: true,
        default: "'{}'::text",
      }),
    ]
  },
}
