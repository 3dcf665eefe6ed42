import type { DifyProfile } from './profile.js'
import { compareVersions } from './releases.js'
import { GENERATED_SECRET_KEY_PATH, PRIVKEYS_PREFIX } from './keys.js'

/**
 * THE storage reference set: where Dify keeps objects in its file storage and which database rows own or point at
 * them, defined once here and shared by `storage usage` and `storage orphans` (docs/storage.md lists every fact with
 * its upstream path and the tags checked: 1.0.0, 1.11.0, 1.15.0).
 *
 * Rules that follow from Dify's code:
 * - Only objects under a **user-file area** can be orphans: those are written by Dify together with a row of a file
 *   table (`upload_files.key`, `tool_files.file_key`), and the row is what makes the object reachable. An object of a
 *   user-file area with no such row is an orphan candidate.
 * - Every other area (private keys, the generated SECRET_KEY, keyword indexes, caches, exports, workflow pause states)
 *   and every object under a prefix not listed here is **kept**: dify-ops never calls it an orphan.
 * - A candidate whose file name (without extension) appears in any reference site (message and workflow
 *   inputs/outputs, segment content, signed preview URLs, icons, avatars, …) is kept too: a free-text reference is
 *   enough to keep a file.
 */

/** what an area holds; only 'user-file' objects can be orphans */
export type AreaRole = 'user-file' | 'key' | 'index' | 'state' | 'cache' | 'export' | 'ops'

export interface StorageArea {
  /** path prefix (with the trailing '/'), or the exact object path when `exact` */
  prefix: string
  exact?: boolean
  /** short name used by `storage usage --by kind` */
  kind: string
  role: AreaRole
  /** the second path segment is the tenant id (`<prefix><tenant_id>/…`) */
  tenantSegment: boolean
  /** the first release that writes it (the window starts at 1.0.0) */
  from: string
  /** upstream writers, api/… at the tags */
  writers: readonly string[]
}

export const STORAGE_AREAS: readonly StorageArea[] = [
  {
    prefix: 'upload_files/',
    kind: 'upload',
    role: 'user-file',
    tenantSegment: true,
    from: '1.0.0',
    writers: ['services/file_service.py (upload_file, upload_text) → upload_files row'],
  },
  {
    prefix: 'image_files/',
    kind: 'extracted-image',
    role: 'user-file',
    tenantSegment: true,
    from: '1.0.0',
    writers: [
      'core/rag/extractor/word_extractor.py → upload_files row',
      'core/rag/extractor/pdf_extractor.py (1.15.0) → upload_files row',
      'core/rag/extractor/excel_extractor.py (1.15.0) → upload_files row',
    ],
  },
  {
    prefix: 'tools/',
    kind: 'tool-file',
    role: 'user-file',
    tenantSegment: true,
    from: '1.0.0',
    writers: [
      'core/tools/tool_file_manager.py → tool_files row',
      'core/datasource/datasource_file_manager.py create_file_by_url (1.11.0+) → tool_files row',
    ],
  },
  {
    prefix: 'datasources/',
    kind: 'datasource-file',
    role: 'user-file',
    tenantSegment: true,
    from: '1.11.0',
    writers: ['core/datasource/datasource_file_manager.py create_file_by_raw → upload_files row'],
  },
  {
    prefix: PRIVKEYS_PREFIX,
    kind: 'private-key',
    role: 'key',
    tenantSegment: true,
    from: '1.0.0',
    writers: ['libs/rsa.py generate_key_pair: privkeys/<tenant_id>/private.pem'],
  },
  {
    prefix: GENERATED_SECRET_KEY_PATH,
    exact: true,
    kind: 'secret-key',
    role: 'key',
    tenantSegment: false,
    from: '1.14.1',
    writers: ['configs/secret_key.py: the SECRET_KEY Dify generated'],
  },
  {
    prefix: 'keyword_files/',
    kind: 'keyword-index',
    role: 'index',
    tenantSegment: true,
    from: '1.0.0',
    writers: ['core/rag/datasource/keyword/jieba/jieba.py: keyword_files/<tenant_id>/<dataset_id>.txt'],
  },
  {
    prefix: 'workflow-state-',
    kind: 'workflow-pause-state',
    role: 'state',
    tenantSegment: false,
    from: '1.11.0',
    writers: [
      'repositories/sqlalchemy_api_workflow_run_repository.py: workflow-state-<uuid>.json (workflow_pauses.state_object_key)',
    ],
  },
  {
    prefix: 'ops_trace/',
    kind: 'trace',
    role: 'cache',
    tenantSegment: false,
    from: '1.0.0',
    writers: ['core/ops/ops_trace_manager.py, tasks/ops_trace_task.py (1.15.0): ops_trace/<app_id>/<file_id>.json'],
  },
  {
    prefix: 'triggers/',
    kind: 'trigger-request',
    role: 'cache',
    tenantSegment: false,
    from: '1.11.0',
    writers: ['services/trigger/trigger_request_service.py: triggers/<request_id>.raw|.payload'],
  },
  {
    prefix: 'telemetry/',
    kind: 'telemetry',
    role: 'cache',
    tenantSegment: true,
    from: '1.15.0',
    writers: ['core/telemetry/gateway.py: telemetry/<tenant_id>/<event_id>.json'],
  },
  {
    prefix: 'website_files/',
    kind: 'website-crawl',
    role: 'cache',
    tenantSegment: false,
    from: '1.0.0',
    writers: ['core/rag/extractor/firecrawl/firecrawl_app.py: website_files/<job_id>.txt'],
  },
  {
    prefix: 'free_plan_tenant_expired_logs/',
    kind: 'expired-logs-export',
    role: 'export',
    tenantSegment: true,
    from: '1.11.0',
    writers: ['services/clear_free_plan_tenant_expired_logs.py'],
  },
  {
    prefix: 'dify_ops_quarantine/',
    kind: 'quarantine',
    role: 'ops',
    tenantSegment: false,
    from: '1.0.0',
    writers: ['dify-ops storage quarantine'],
  },
]

/** kind of an object under no known area (kept) */
export const UNKNOWN_KIND = 'unknown'

export interface FileTable {
  table: 'upload_files' | 'tool_files'
  keyColumn: string
  /** columns read when present (tool_files.size exists from 1.x; created_at not at all) */
  sizeColumn: string
  createdColumn: string
}
/** the file tables: a row owns the object at its key (models/model.py UploadFile, models/tools.py ToolFile) */
export const FILE_TABLES: readonly FileTable[] = [
  { table: 'upload_files', keyColumn: 'key', sizeColumn: 'size', createdColumn: 'created_at' },
  { table: 'tool_files', keyColumn: 'file_key', sizeColumn: 'size', createdColumn: 'created_at' },
]

/**
 * Reference sites: the columns where Dify keeps a file id, a storage key or a URL naming a file
 * (docs/storage.md "Reference sites"). `form`: 'id' = the column holds a file id; 'text' = free text or JSON in
 * which file ids appear (markdown links, signed URLs, File mappings with `related_id`/`upload_file_id`/`tool_file_id`).
 * A site whose table or column does not exist in the connected schema is skipped (introspected).
 */
export interface ReferenceSite {
  table: string
  column: string
  form: 'id' | 'text'
  what: string
  /**
   * A JSON field of a text site that holds exactly one file id (documents.data_source_info `upload_file_id`,
   * services/dataset_service.py at 1.0.0, 1.11.0, 1.15.0). With the 'id' sites, these are the references that must
   * name an existing file row: one that does not is reported as a dangling reference (never deleted).
   */
  idField?: string
}
export const REFERENCE_SITES: readonly ReferenceSite[] = [
  {
    table: 'message_files',
    column: 'upload_file_id',
    form: 'id',
    what: 'files attached to messages (upload_files.id or tool_files.id)',
  },
  { table: 'message_files', column: 'url', form: 'text', what: 'remote or tool file URL of a message file' },
  { table: 'messages', column: 'inputs', form: 'text', what: 'message inputs (File mappings)' },
  { table: 'messages', column: 'answer', form: 'text', what: 'answers (markdown links, /files/tools/<id>.<ext>)' },
  { table: 'messages', column: 'message', form: 'text', what: 'prompt messages (image/file contents)' },
  { table: 'message_agent_thoughts', column: 'message_files', form: 'text', what: 'agent thought files' },
  { table: 'message_agent_thoughts', column: 'observation', form: 'text', what: 'agent tool observations' },
  { table: 'conversations', column: 'inputs', form: 'text', what: 'conversation inputs' },
  { table: 'conversations', column: 'introduction', form: 'text', what: 'conversation opening statement' },
  { table: 'conversations', column: 'system_instruction', form: 'text', what: 'conversation system instruction' },
  { table: 'app_model_configs', column: 'opening_statement', form: 'text', what: 'app opening statement' },
  { table: 'workflow_runs', column: 'inputs', form: 'text', what: 'workflow run inputs' },
  { table: 'workflow_runs', column: 'outputs', form: 'text', what: 'workflow run outputs' },
  { table: 'workflow_node_executions', column: 'inputs', form: 'text', what: 'node inputs' },
  { table: 'workflow_node_executions', column: 'process_data', form: 'text', what: 'node process data' },
  { table: 'workflow_node_executions', column: 'outputs', form: 'text', what: 'node outputs' },
  {
    table: 'workflow_node_execution_offload',
    column: 'file_id',
    form: 'id',
    what: 'offloaded node inputs/outputs (upload_files.id)',
  },
  {
    table: 'workflow_draft_variable_files',
    column: 'upload_file_id',
    form: 'id',
    what: 'large draft variables (upload_files.id)',
  },
  { table: 'workflow_draft_variables', column: 'value', form: 'text', what: 'draft variable values' },
  {
    table: 'human_input_form_upload_files',
    column: 'upload_file_id',
    form: 'id',
    what: 'files uploaded to a human-input form (1.15.0, models/human_input.py)',
  },
  {
    table: 'agent_drive_files',
    column: 'file_id',
    form: 'id',
    what: 'agent drive entries → upload_files.id / tool_files.id (1.15.0, models/agent.py)',
  },
  { table: 'workflows', column: 'graph', form: 'text', what: 'workflow and pipeline graphs (default files)' },
  { table: 'workflows', column: 'features', form: 'text', what: 'workflow features (opening statement, file upload)' },
  {
    table: 'documents',
    column: 'data_source_info',
    form: 'text',
    what: 'document source (upload_file_id)',
    idField: 'upload_file_id',
  },
  { table: 'documents', column: 'file_id', form: 'id', what: 'document file id' },
  {
    table: 'document_segments',
    column: 'content',
    form: 'text',
    what: 'segment content (image-preview / file-preview links)',
  },
  { table: 'document_segments', column: 'answer', form: 'text', what: 'QA answers' },
  { table: 'child_chunks', column: 'content', form: 'text', what: 'child chunk content' },
  {
    table: 'segment_attachment_bindings',
    column: 'attachment_id',
    form: 'id',
    what: 'multimodal segment images (upload_files.id)',
  },
  { table: 'accounts', column: 'avatar', form: 'text', what: 'account avatar (upload_files.id or URL)' },
  { table: 'apps', column: 'icon', form: 'text', what: 'app icon (upload_files.id when icon_type = image)' },
  { table: 'sites', column: 'icon', form: 'text', what: 'web app icon' },
  { table: 'datasets', column: 'icon_info', form: 'text', what: 'knowledge base icon' },
  { table: 'pipeline_customized_templates', column: 'icon', form: 'text', what: 'pipeline template icon' },
  { table: 'tool_api_providers', column: 'icon', form: 'text', what: 'custom tool icon' },
  { table: 'tool_workflow_providers', column: 'icon', form: 'text', what: 'workflow-as-tool icon' },
  { table: 'tool_mcp_providers', column: 'icon', form: 'text', what: 'MCP tool icon' },
]

/**
 * How Dify writes file links into text (api/core/file/helpers.py ≤ 1.11 / core/tools/signature.py,
 * models/dataset.py DocumentSegment.get_sign_content at 1.15.0): `/files/<upload_file_id>/file-preview`,
 * `/files/<upload_file_id>/image-preview` (then `?timestamp=…&nonce=…&sign=…`), `/files/tools/<tool_file_id>.<ext>`.
 * Every id-shaped token is collected, so these links and plain File mappings are covered alike.
 */
export const FILE_URL_PATTERNS = {
  filePreview: /\/files\/([a-f0-9-]+)\/file-preview/g,
  imagePreview: /\/files\/([a-f0-9-]+)\/image-preview/g,
  toolFile: /\/files\/tools\/([a-f0-9-]+)\.([a-zA-Z0-9]+)/g,
} as const
/** a UUID (dashed) or the 32-hex form Dify uses for tool file names (uuid4().hex) */
export const ID_TOKEN = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/gi

/** An id token in its canonical form (lower case, no dashes), so `abc…` and `a-b-c…` compare equal. */
export const canonicalId = (token: string) => token.toLowerCase().replace(/-/g, '')

/** The areas the connected release writes (objects of areas of later releases are still classified, never orphans). */
export function storageAreas(profile: Pick<DifyProfile, 'version' | 'newerThanKnown'>): readonly StorageArea[] {
  const v = profile.version
  return STORAGE_AREAS.filter(
    (a) => !v || profile.newerThanKnown || compareVersions(v, a.from) >= 0 || a.role !== 'user-file',
  )
}

export interface Classified {
  area: StorageArea | null
  kind: string
  /** the area prefix, else the first path segment with '/', else '(root)' */
  prefix: string
  tenantId: string | null
}

const UUID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Which area an object path belongs to, its tenant where the path tells. */
export function classifyPath(path: string, areas: readonly StorageArea[] = STORAGE_AREAS): Classified {
  for (const a of areas) {
    if (a.exact ? path === a.prefix : path.startsWith(a.prefix)) {
      let tenantId: string | null = null
      if (a.tenantSegment) {
        const seg = path.slice(a.prefix.length).split('/')[0] ?? ''
        if (UUID_SEGMENT.test(seg)) tenantId = seg.toLowerCase()
      }
      return { area: a, kind: a.kind, prefix: a.prefix, tenantId }
    }
  }
  const slash = path.indexOf('/')
  return { area: null, kind: UNKNOWN_KIND, prefix: slash > 0 ? path.slice(0, slash + 1) : '(root)', tenantId: null }
}

/** The id token a user file's name carries (`<uuid>.<ext>`, `<hex32><ext>`), canonical; null when none. */
export function fileNameId(path: string): string | null {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const m = /^([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})/i.exec(name)
  return m ? canonicalId(m[1]!) : null
}
