import { createHash, randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import type pg from 'pg'
import type { Db } from '../../src/core/db.js'
import { PYTHON } from './services.js'

/** sha256(text + "None") hex: Dify's generate_text_hash (index_node_hash, embeddings.hash). */
export const textHash = (t: string) =>
  createHash('sha256')
    .update(t + 'None', 'utf8')
    .digest('hex')

/** pickle.dumps(list_of_floats, protocol=5) as Debian's Python writes it (Dify's Embedding.set_embedding). */
export function pythonPickle(v: number[]): Buffer {
  return pythonPickles([v])[0]!
}

/** Many pickles in one Python run (one process per vector is too slow for hundreds). */
export function pythonPickles(vs: number[][]): Buffer[] {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      [
        'import pickle,sys,json,base64',
        'for v in json.loads(sys.stdin.read()):',
        '    sys.stdout.write(base64.b64encode(pickle.dumps([float(x) for x in v], protocol=5)).decode()+"\\n")',
      ].join('\n'),
    ],
    { input: JSON.stringify(vs), maxBuffer: 1 << 30 },
  )
  return out
    .toString()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Buffer.from(l, 'base64'))
}

/** A deterministic unit vector for a text (what a fake embedding model would return). */
export function unitVector(text: string, dim: number): number[] {
  const v: number[] = []
  let h = createHash('sha256').update(text).digest()
  while (v.length < dim) {
    for (let i = 0; i + 4 <= h.length && v.length < dim; i += 4) v.push(h.readInt32BE(i) / 2 ** 31)
    h = createHash('sha256').update(h).digest()
  }
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}

/**
 * Inserts Dify rows with every NOT NULL column filled: through a pg client (PostgreSQL with the oracle schema) or a
 * Db (PostgreSQL, MySQL/MariaDB or PGlite with createDifySchema).
 */
export class DifySeeder {
  readonly tenantId = randomUUID()
  readonly userId = randomUUID()
  private pos = 0
  constructor(private readonly c: pg.Client | Db) {}

  private async ins(table: string, row: Record<string, unknown>): Promise<void> {
    if ('kysely' in this.c) {
      await this.c.kysely
        .insertInto(table as never)
        .values(row as never)
        .execute()
      return
    }
    const cols = Object.keys(row)
    await this.c.query(
      `insert into ${table} (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(row),
    )
  }

  async binding(
    o: { provider?: string; model?: string; type?: string; collection?: string } = {},
  ): Promise<{ id: string; collection: string }> {
    const id = randomUUID()
    const collection = o.collection ?? `Vector_index_${randomUUID().replace(/-/g, '_')}_Node`
    await this.ins('dataset_collection_bindings', {
      id,
      provider_name: o.provider ?? 'langgenius/openai/openai',
      model_name: o.model ?? 'text-embedding-3-small',
      collection_name: collection,
      type: o.type ?? 'dataset',
    })
    return { id, collection }
  }

  async dataset(
    o: {
      id?: string
      indexStruct?: string | null
      multimodal?: boolean
      bindingId?: string | null
      technique?: string | null
      provider?: string
      model?: string
      modelProvider?: string
      chunkStructure?: string | null
    } = {},
  ): Promise<string> {
    const id = o.id ?? randomUUID()
    await this.ins('datasets', {
      id,
      tenant_id: this.tenantId,
      name: `ds-${id.slice(0, 8)}`,
      provider: o.provider ?? 'vendor',
      permission: 'only_me',
      created_by: this.userId,
      indexing_technique: o.technique === undefined ? 'high_quality' : o.technique,
      index_struct: o.indexStruct ?? null,
      embedding_model: o.model ?? 'text-embedding-3-small',
      embedding_model_provider: o.modelProvider ?? 'langgenius/openai/openai',
      collection_binding_id: o.bindingId ?? null,
      is_multimodal: o.multimodal ?? false,
      chunk_structure: o.chunkStructure ?? null,
    })
    return id
  }

  async document(
    datasetId: string,
    o: { docForm?: string; status?: string; enabled?: boolean; archived?: boolean } = {},
  ): Promise<string> {
    const id = randomUUID()
    await this.ins('documents', {
      id,
      tenant_id: this.tenantId,
      dataset_id: datasetId,
      position: ++this.pos,
      data_source_type: 'upload_file',
      batch: 'b1',
      name: `doc-${id.slice(0, 8)}.txt`,
      created_from: 'web',
      created_by: this.userId,
      indexing_status: o.status ?? 'completed',
      enabled: o.enabled ?? true,
      archived: o.archived ?? false,
      doc_form: o.docForm ?? 'text_model',
    })
    return id
  }

  async segment(
    datasetId: string,
    documentId: string,
    content: string,
    o: { answer?: string; status?: string; enabled?: boolean; nodeId?: string | null } = {},
  ): Promise<{ id: string; nodeId: string }> {
    const id = randomUUID()
    const nodeId = o.nodeId === undefined ? randomUUID() : o.nodeId
    await this.ins('document_segments', {
      id,
      tenant_id: this.tenantId,
      dataset_id: datasetId,
      document_id: documentId,
      position: ++this.pos,
      content,
      word_count: content.length,
      tokens: 1,
      hit_count: 0,
      enabled: o.enabled ?? true,
      status: o.status ?? 'completed',
      created_by: this.userId,
      index_node_id: nodeId,
      index_node_hash: textHash(content),
      answer: o.answer ?? null,
    })
    return { id, nodeId: nodeId! }
  }

  async child(
    datasetId: string,
    documentId: string,
    segmentId: string,
    content: string,
  ): Promise<{ id: string; nodeId: string }> {
    const id = randomUUID()
    const nodeId = randomUUID()
    await this.ins('child_chunks', {
      id,
      tenant_id: this.tenantId,
      dataset_id: datasetId,
      document_id: documentId,
      segment_id: segmentId,
      position: ++this.pos,
      content,
      word_count: content.length,
      created_by: this.userId,
      index_node_id: nodeId,
      index_node_hash: textHash(content),
    })
    return { id, nodeId }
  }

  async image(datasetId: string, documentId: string, segmentId: string, name: string): Promise<string> {
    const fileId = randomUUID()
    await this.ins('upload_files', {
      id: fileId,
      tenant_id: this.tenantId,
      storage_type: 'opendal',
      key: `upload_files/${fileId}.png`,
      name,
      size: 10,
      extension: 'png',
      created_by: this.userId,
      source_url: '',
    })
    await this.ins('segment_attachment_bindings', {
      id: randomUUID(),
      tenant_id: this.tenantId,
      dataset_id: datasetId,
      document_id: documentId,
      segment_id: segmentId,
      attachment_id: fileId,
    })
    return fileId
  }

  async summary(
    datasetId: string,
    documentId: string,
    segmentId: string,
    content: string,
    o: { status?: string; enabled?: boolean } = {},
  ): Promise<string> {
    const nodeId = randomUUID()
    await this.ins('document_segment_summaries', {
      id: randomUUID(),
      dataset_id: datasetId,
      document_id: documentId,
      chunk_id: segmentId,
      summary_content: content,
      summary_index_node_id: nodeId,
      summary_index_node_hash: textHash(content),
      status: o.status ?? 'completed',
      enabled: o.enabled ?? true,
    })
    return nodeId
  }

  async app(o: { status?: string } = {}): Promise<string> {
    const id = randomUUID()
    await this.ins('apps', {
      id,
      tenant_id: this.tenantId,
      name: `app-${id.slice(0, 8)}`,
      mode: 'chat',
      status: o.status ?? 'normal',
      enable_site: true,
      enable_api: true,
      description: '',
    })
    return id
  }

  async annotationSetting(appId: string, bindingId: string): Promise<void> {
    await this.ins('app_annotation_settings', {
      id: randomUUID(),
      app_id: appId,
      collection_binding_id: bindingId,
      created_user_id: this.userId,
      updated_user_id: this.userId,
    })
  }

  async annotation(appId: string, question: string): Promise<string> {
    const id = randomUUID()
    await this.ins('message_annotations', {
      id,
      app_id: appId,
      question,
      content: `answer to ${question}`,
      account_id: this.userId,
    })
    return id
  }

  /** embeddings cache rows (pickled by /usr/bin/python3) */
  async cache(
    rows: Array<{ text: string; vector: number[] }>,
    o: { model?: string; provider?: string } = {},
  ): Promise<void> {
    const pickles = pythonPickles(rows.map((r) => r.vector))
    for (let i = 0; i < rows.length; i++) {
      await this.ins('embeddings', {
        id: randomUUID(),
        model_name: o.model ?? 'text-embedding-3-small',
        provider_name: o.provider ?? 'langgenius/openai/openai',
        hash: textHash(rows[i]!.text),
        embedding: pickles[i],
      })
    }
  }
}
