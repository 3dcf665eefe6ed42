/**
 * What belongs to a workflow run, a message and a conversation: the dependency map of `dify retention`, defined
 * once. Dify declares no foreign keys between these tables, so this map is the only thing that keeps children
 * from being orphaned when their parent goes. Every table carries the first release that has it (checked in the
 * schema fixtures of every release and in api/models/*.py at the tags; docs/retention.md lists the upstream paths).
 */
import { compareVersions } from './releases.js'
import type { DifyProfile } from './profile.js'

export type RetentionGroup = 'workflow' | 'messages' | 'conversations'
export const RETENTION_GROUPS: readonly RetentionGroup[] = ['workflow', 'messages', 'conversations']

/** One table of the map: a root (selected by age) or a child (selected by its link to its parent). */
export interface RetentionTable {
  table: string
  /** primary-key columns (Dify's own; workflow_conversation_variables has two) */
  pk: readonly string[]
  /** the first Dify release whose schema has this table (and the link column) */
  from: string
  /** child: the column holding the parent's id; root: null */
  link: { column: string; parent: string; parentColumn: 'id' } | null
  /** the Dify model that declares the table (api/models/…) */
  upstream: string
  /** the index a batch delete uses: its columns lead with these; the name Dify gives it where Dify has one */
  index: { columns: readonly string[]; difyName: string | null }
  /** a column holding an upload_files id (an object in storage): listed when its row is deleted */
  fileColumn?: string
  children: RetentionTable[]
}

/** A root: the table selected by age, with what keeps a row out of reach. */
export interface RetentionRoot extends RetentionTable {
  group: RetentionGroup
  /** the age column the cut-off applies to (and the keyset order: created_at, id) */
  createdAt: 'created_at'
  /** how --tenant filters it: its own tenant_id, or through apps.tenant_id */
  tenantColumn: 'tenant_id' | null
  appColumn: 'app_id'
}

/** A reference to one of the map's rows that `retention` deliberately leaves in place, and why. */
export interface RetentionKept {
  table: string
  column: string
  parent: string
  reason: string
}

/**
 * Workflow-run statuses that are over: the only runs `clean` deletes. Dify's own cleanup selects the same set
 * (WorkflowExecutionStatus.ended_values(): succeeded, failed, partial-succeeded, stopped — api/core/workflow/enums.py
 * 1.10.1–1.12.0, graphon at 1.15.0; 1.0.0 WorkflowRunStatus in api/models/workflow.py has the same four ended
 * values). Never touched: running, paused, scheduled (and any value not listed here).
 */
export const WORKFLOW_RUN_ENDED_STATUSES = ['succeeded', 'failed', 'partial-succeeded', 'stopped'] as const

const child = (
  table: string,
  column: string,
  parent: string,
  from: string,
  upstream: string,
  difyIndex: string | null,
  children: RetentionTable[] = [],
  pk: readonly string[] = ['id'],
  fileColumn?: string,
): RetentionTable => ({
  table,
  pk,
  from,
  link: { column, parent, parentColumn: 'id' },
  upstream,
  index: { columns: [column], difyName: difyIndex },
  ...(fileColumn ? { fileColumn } : {}),
  children,
})

const WF = 'api/models/workflow.py'
const HI = 'api/models/human_input.py'
const MODEL = 'api/models/model.py'

/** Every table of the map at the newest release; retentionMapFor() keeps those of the connected release. */
export const RETENTION_ROOTS: readonly RetentionRoot[] = [
  {
    group: 'workflow',
    table: 'workflow_runs',
    pk: ['id'],
    from: '1.0.0',
    link: null,
    upstream: `${WF} WorkflowRun`,
    index: { columns: ['created_at', 'id'], difyName: 'workflow_run_created_at_id_idx' },
    createdAt: 'created_at',
    tenantColumn: 'tenant_id',
    appColumn: 'app_id',
    children: [
      child(
        'workflow_node_executions',
        'workflow_run_id',
        'workflow_runs',
        '1.0.0',
        `${WF} WorkflowNodeExecutionModel`,
        'workflow_node_execution_workflow_run_id_idx',
        [
          child(
            'workflow_node_execution_offload',
            'node_execution_id',
            'workflow_node_executions',
            '1.9.0',
            `${WF} WorkflowNodeExecutionOffload`,
            'workflow_node_execution_offload_node_execution_id_key',
            [],
            ['id'],
            'file_id',
          ),
        ],
      ),
      child(
        'workflow_app_logs',
        'workflow_run_id',
        'workflow_runs',
        '1.0.0',
        `${WF} WorkflowAppLog`,
        'workflow_app_log_workflow_run_id_idx',
      ),
      child(
        'workflow_pauses',
        'workflow_run_id',
        'workflow_runs',
        '1.10.0',
        `${WF} WorkflowPause`,
        'workflow_pauses_workflow_run_id_key',
        [
          child(
            'workflow_pause_reasons',
            'pause_id',
            'workflow_pauses',
            '1.11.0',
            `${WF} WorkflowPauseReason`,
            'workflow_pause_reasons_pause_id_idx',
          ),
        ],
      ),
      child(
        'workflow_trigger_logs',
        'workflow_run_id',
        'workflow_runs',
        '1.10.0',
        'api/models/trigger.py WorkflowTriggerLog',
        'workflow_trigger_log_workflow_run_idx',
      ),
      child(
        'human_input_forms',
        'workflow_run_id',
        'workflow_runs',
        '1.13.0',
        `${HI} HumanInputForm`,
        'human_input_forms_workflow_run_id_node_id_idx',
        [
          child(
            'human_input_form_deliveries',
            'form_id',
            'human_input_forms',
            '1.13.0',
            `${HI} HumanInputDelivery`,
            'human_input_form_deliveries_form_id_idx',
          ),
          child(
            'human_input_form_recipients',
            'form_id',
            'human_input_forms',
            '1.13.0',
            `${HI} HumanInputFormRecipient`,
            'human_input_form_recipients_form_id_idx',
          ),
          child(
            'human_input_form_upload_tokens',
            'form_id',
            'human_input_forms',
            '1.15.0',
            `${HI} HumanInputFormUploadToken`,
            'human_input_form_upload_tokens_form_id_idx',
          ),
          child(
            'human_input_form_upload_files',
            'form_id',
            'human_input_forms',
            '1.15.0',
            `${HI} HumanInputFormUploadFile`,
            'human_input_form_upload_files_form_id_idx',
            [],
            ['id'],
            'upload_file_id',
          ),
        ],
      ),
      child(
        'execution_extra_contents',
        'workflow_run_id',
        'workflow_runs',
        '1.13.0',
        'api/models/execution_extra_content.py ExecutionExtraContent',
        'execution_extra_contents_workflow_run_id_idx',
      ),
    ],
  },
  {
    group: 'messages',
    table: 'messages',
    pk: ['id'],
    from: '1.0.0',
    link: null,
    upstream: `${MODEL} Message`,
    index: { columns: ['created_at'], difyName: 'message_created_at_id_idx' },
    createdAt: 'created_at',
    tenantColumn: null,
    appColumn: 'app_id',
    children: [
      child(
        'message_files',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} MessageFile`,
        'message_file_message_idx',
        [],
        ['id'],
        'upload_file_id',
      ),
      child(
        'message_feedbacks',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} MessageFeedback`,
        'message_feedback_message_idx',
      ),
      child(
        'message_chains',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} MessageChain`,
        'message_chain_message_id_idx',
      ),
      child(
        'message_agent_thoughts',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} MessageAgentThought`,
        'message_agent_thought_message_id_idx',
      ),
      child(
        'saved_messages',
        'message_id',
        'messages',
        '1.0.0',
        'api/models/web.py SavedMessage',
        'saved_message_message_id_idx',
      ),
      child(
        'app_annotation_hit_histories',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} AppAnnotationHitHistory`,
        'app_annotation_hit_histories_message_idx',
      ),
      child(
        'dataset_retriever_resources',
        'message_id',
        'messages',
        '1.0.0',
        `${MODEL} DatasetRetrieverResource`,
        'dataset_retriever_resource_message_id_idx',
      ),
      child(
        'execution_extra_contents',
        'message_id',
        'messages',
        '1.13.0',
        'api/models/execution_extra_content.py ExecutionExtraContent',
        'execution_extra_contents_message_id_idx',
      ),
    ],
  },
  {
    group: 'conversations',
    table: 'conversations',
    pk: ['id'],
    from: '1.0.0',
    link: null,
    upstream: `${MODEL} Conversation`,
    index: { columns: ['created_at'], difyName: null },
    createdAt: 'created_at',
    tenantColumn: null,
    appColumn: 'app_id',
    children: [
      child(
        'pinned_conversations',
        'conversation_id',
        'conversations',
        '1.0.0',
        'api/models/web.py PinnedConversation',
        null,
      ),
      child(
        'workflow_conversation_variables',
        'conversation_id',
        'conversations',
        '1.0.0',
        `${WF} ConversationVariable`,
        'workflow_conversation_variables_conversation_id_idx',
        [],
        ['id', 'conversation_id'],
      ),
      child(
        'tool_conversation_variables',
        'conversation_id',
        'conversations',
        '1.0.0',
        'api/models/tools.py ToolConversationVariables',
        'conversation_id_idx',
      ),
    ],
  },
]

/**
 * References into the map's tables that `retention` never follows, and why (docs/retention.md). Dify's own
 * clean-messages deletes message_annotations too; we keep them: an annotation is content a person wrote, and its
 * vector lives in the vector store (deleting the row would orphan it).
 */
export const RETENTION_KEPT: readonly RetentionKept[] = [
  {
    table: 'message_annotations',
    column: 'message_id',
    parent: 'messages',
    reason: 'annotations are user content with a vector in the vector store; kept',
  },
  {
    table: 'message_annotations',
    column: 'conversation_id',
    parent: 'conversations',
    reason: 'annotations are user content; kept',
  },
  {
    table: 'tool_files',
    column: 'conversation_id',
    parent: 'conversations',
    reason: 'a tool file owns a storage object; left to `dify storage orphans`',
  },
  {
    table: 'messages',
    column: 'workflow_run_id',
    parent: 'workflow_runs',
    reason: 'a message outlives its run unless messages are cleaned too (as in Dify)',
  },
  {
    table: 'workflow_archive_logs',
    column: 'workflow_run_id',
    parent: 'workflow_runs',
    reason: "Dify's own archive record of a deleted run; kept",
  },
]

/** A conversation is deleted only when it has no message left (checked in the same statement). */
export const CONVERSATION_GUARD = { table: 'messages', column: 'conversation_id' } as const

/** The map of a release: tables that release does not have are dropped (with their subtrees). */
export function retentionMapFor(version: string | null): RetentionRoot[] {
  const has = (t: RetentionTable) => !version || compareVersions(version, t.from) >= 0
  const prune = (t: RetentionTable): RetentionTable => ({ ...t, children: t.children.filter(has).map(prune) })
  return RETENTION_ROOTS.filter(has).map((r) => ({ ...(prune(r) as RetentionRoot), group: r.group }))
}

/** The map of the connected database (a newer database: the window head's). */
export function retentionMapOf(profile: Pick<DifyProfile, 'version'>): RetentionRoot[] {
  return retentionMapFor(profile.version)
}

/** Every table of a subtree, parents before children (restore order); reverse it for deletion. */
export function walk(t: RetentionTable, depth = 0, out: Array<{ t: RetentionTable; depth: number }> = []) {
  out.push({ t, depth })
  for (const c of t.children) walk(c, depth + 1, out)
  return out
}
