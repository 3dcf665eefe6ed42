import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  annotationTarget,
  datasetTarget,
  classPrefixForStore,
  datasetCollectionName,
  genCollectionNameById,
  indexStructJson,
  parseIndexStruct,
  pgvectorHnswIndexName,
  pgvectorPhysicalTable,
} from '../../../src/dify/collections.js'
import { decodeVectorSend, vectorLiteral } from '../../../src/vector/stores/pgvector.js'

const ID = '3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8'

describe('Dify collection naming', () => {
  it('gen_collection_name_by_id', () => {
    expect(genCollectionNameById(ID)).toBe('Vector_index_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_Node')
    expect(genCollectionNameById(ID)).toHaveLength(54)
    expect(genCollectionNameById(ID, 'Kb')).toBe('Kb_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_Node')
  })

  it('class_prefix per target store, as vdb-migrate writes it', () => {
    expect(classPrefixForStore('pgvector', ID)).toBe('Vector_index_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_Node')
    expect(classPrefixForStore('weaviate', ID)).toBe('Vector_index_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_Node')
    expect(classPrefixForStore('chroma', ID)).toBe('vector_index_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_node')
    expect(classPrefixForStore('qdrant', ID, { bindingCollectionName: 'Vector_index_bind_Node' })).toBe(
      'Vector_index_bind_Node',
    )
    expect(classPrefixForStore('qdrant', ID)).toBe(genCollectionNameById(ID))
    expect(classPrefixForStore('lindorm', ID)).toBeNull()
  })

  it("index_struct JSON with Python's default separators", () => {
    const s = indexStructJson('qdrant', 'Vector_index_x_Node')
    expect(s).toBe('{"type": "qdrant", "vector_store": {"class_prefix": "Vector_index_x_Node"}}')
    expect(parseIndexStruct(s)).toEqual({ type: 'qdrant', vector_store: { class_prefix: 'Vector_index_x_Node' } })
    expect(parseIndexStruct(null)).toBeNull()
    expect(parseIndexStruct('{"type": "x"}')).toBeNull()
  })

  it('the collection a store module uses for a dataset', () => {
    const withStruct = { id: ID, indexStruct: indexStructJson('pgvector', 'Vector_index_old_Node') }
    expect(datasetCollectionName('pgvector', withStruct)).toBe('Vector_index_old_Node')
    expect(datasetCollectionName('chroma', { id: ID })).toBe(genCollectionNameById(ID).toLowerCase())
    expect(datasetCollectionName('qdrant', { ...withStruct, bindingCollectionName: 'B' })).toBe('B')
  })

  it('targets of datasets and annotation apps (Qdrant: shared binding collection + group_id)', () => {
    expect(datasetTarget('qdrant', { id: ID, bindingCollectionName: 'Vector_index_b_Node' })).toEqual({
      collection: 'Vector_index_b_Node',
      groupId: ID,
    })
    expect(datasetTarget('pgvector', { id: ID })).toEqual({ collection: genCollectionNameById(ID) })
    expect(annotationTarget('qdrant', ID, { bindingCollectionName: 'Vector_index_a_Node' })).toEqual({
      collection: 'Vector_index_a_Node',
      groupId: ID,
    })
    expect(annotationTarget('chroma', ID)).toEqual({ collection: genCollectionNameById(ID).toLowerCase() })
    expect(annotationTarget('weaviate', ID)).toEqual({ collection: genCollectionNameById(ID) })
  })

  it('pgvector table: folded to lower case and truncated to 63 bytes (…_nod); index name from the unfolded name', () => {
    const c = genCollectionNameById(ID)
    expect(pgvectorPhysicalTable(c)).toBe('embedding_vector_index_3f2a1b4c_5d6e_4f70_8192_a3b4c5d6e7f8_nod')
    expect(pgvectorPhysicalTable(c)).toHaveLength(63)
    const h = createHash('md5').update(`embedding_${c}`).digest('hex').slice(0, 8)
    expect(pgvectorHnswIndexName(c)).toBe(`embedding_cosine_v1_idx_${h}`)
  })

  it('pgvector vector text and binary formats', () => {
    expect(vectorLiteral([0.5, -1, 1e-7])).toBe('[0.5,-1,1e-7]')
    const b = Buffer.alloc(4 + 8)
    b.writeUInt16BE(2, 0)
    b.writeFloatBE(0.25, 4)
    b.writeFloatBE(-3, 8)
    expect(decodeVectorSend(b)).toEqual([0.25, -3])
  })
})

describe('physical collection names shown by vdb show / vdb check', () => {
  it('Weaviate: the class the adapter reads and writes, first letter upper-cased, also for a lower-case class_prefix', async () => {
    const { physicalCollectionName } = await import('../../../src/dify/live-set.js')
    const { WeaviateStore } = await import('../../../src/vector/stores/weaviate.js')
    const store = new WeaviateStore({ endpoint: 'http://127.0.0.1:1' })
    for (const collection of ['Vector_index_x_Node', 'vector_index_x_Node', 'kb_x_Node']) {
      expect(physicalCollectionName('weaviate', collection)).toBe(store.physicalName({ collection }))
    }
    expect(physicalCollectionName('weaviate', 'vector_index_x_Node')).toBe('Vector_index_x_Node')
  })
})
