import type { Config } from '../config/schema.js'
import { ConfigError } from '../core/errors.js'
import type { OpenOptions, VectorStore } from './store.js'
export type { OpenOptions } from './store.js'

export type { VectorStore, VectorTarget, VectorRecord, SearchHit, CollectionLayout, StoreDescription } from './store.js'

/** The release-dependent store options of a connected Dify (from its profile). */
export function storeOptionsFor(profile: {
  weaviateIdScheme: 'uuid5-text' | 'doc-id'
  weaviateSummaryProperties: boolean
  weaviateClassLayout: 'v3' | 'v4'
}): OpenOptions {
  return {
    weaviateIdScheme: profile.weaviateIdScheme,
    weaviateSummaryProperties: profile.weaviateSummaryProperties,
    weaviateClassLayout: profile.weaviateClassLayout,
  }
}

type Opener = (config: Config, opts: OpenOptions) => Promise<VectorStore>

/**
 * Dify's VECTOR_STORE value → the module implementing it, loaded with a dynamic import so the client libraries
 * stay out of the CLI's start-up path.
 */
const MODULES: Record<string, () => Promise<{ open: Opener }>> = {
  pgvector: () => import('./stores/pgvector.js'),
  chroma: () => import('./stores/chroma.js'),
  qdrant: () => import('./stores/qdrant.js'),
  weaviate: () => import('./stores/weaviate.js'),
  elasticsearch: () => import('./stores/elasticsearch.js'),
  opensearch: () => import('./stores/opensearch.js'),
  milvus: () => import('./stores/milvus.js'),
}

export function supportedStores(): string[] {
  return Object.keys(MODULES)
}

export function isSupportedStore(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(MODULES, type)
}

/** A store type dify-ops cannot open is a configuration error (exit 4), wherever it comes from. */
export function requireSupportedStore(type: string, what = 'Vector store'): void {
  if (!isSupportedStore(type.trim().toLowerCase())) {
    throw new ConfigError(`${what} "${type}" is not supported by dify-ops.`, {
      hint: `Supported VECTOR_STORE values: ${supportedStores().join(', ')}.`,
      details: { vectorStore: type },
    })
  }
}

/** Open the store `type` (default: the configured VECTOR_STORE) with Dify's variables for it. */
export async function openVectorStore(
  config: Config,
  opts: OpenOptions & { type?: string } = {},
): Promise<VectorStore> {
  const type = (opts.type ?? config.vectorStore).trim().toLowerCase()
  requireSupportedStore(type)
  const mod = await MODULES[type]!()
  return mod.open(config, opts)
}
