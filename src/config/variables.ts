/**
 * Every environment variable dify-ops reads: the same names and defaults as the dify-api
 * container (api/configs/** upstream; see docs/configuration.md), plus DIFY_OPS_* of our own.
 * `secret` values are never printed.
 */
export interface VariableSpec {
  name: string
  group: 'database' | 'redis' | 'celery' | 'storage' | 'vector' | 'deploy' | 'dify-ops'
  default?: string
  secret?: boolean
  description: string
}

const v = (
  group: VariableSpec['group'],
  name: string,
  def: string | undefined,
  description: string,
  secret = false,
): VariableSpec => ({ name, group, default: def, description, secret })

export const VARIABLES: VariableSpec[] = [
  v(
    'database',
    'DB_TYPE',
    'postgresql',
    'postgresql | mysql | oceanbase (MySQL protocol) | pglite (embedded, dify-ops only)',
  ),
  v('database', 'DB_HOST', 'localhost', 'metadata database host'),
  v('database', 'DB_PORT', '5432', 'metadata database port'),
  v('database', 'DB_USERNAME', 'postgres', 'metadata database user'),
  v('database', 'DB_PASSWORD', '', 'metadata database password', true),
  v('database', 'DB_DATABASE', 'dify', 'metadata database name'),
  v('database', 'DB_CHARSET', '', 'appended to DB_EXTRAS as client_encoding=<value>'),
  v('database', 'DB_EXTRAS', '', 'raw query string, e.g. options=-c search_path=myschema'),
  v(
    'database',
    'PGLITE_DATA_DIR',
    undefined,
    'data directory of the embedded PGlite database (default .dify-ops/pglite)',
  ),

  v('redis', 'REDIS_HOST', 'localhost', 'Redis host (app cache)'),
  v('redis', 'REDIS_PORT', '6379', 'Redis port'),
  v('redis', 'REDIS_USERNAME', undefined, 'Redis ACL user'),
  v('redis', 'REDIS_PASSWORD', undefined, 'Redis password', true),
  v('redis', 'REDIS_DB', '0', 'Redis database index of the app cache'),
  v('redis', 'REDIS_USE_SSL', 'false', 'TLS to Redis (standalone only, as in Dify)'),
  v('redis', 'REDIS_SSL_CERT_REQS', 'CERT_NONE', 'CERT_NONE | CERT_OPTIONAL | CERT_REQUIRED'),
  v('redis', 'REDIS_SSL_CA_CERTS', undefined, 'CA bundle path'),
  v('redis', 'REDIS_SSL_CERTFILE', undefined, 'client certificate path'),
  v('redis', 'REDIS_SSL_KEYFILE', undefined, 'client key path'),
  v('redis', 'REDIS_USE_SENTINEL', 'false', 'connect through Redis Sentinel'),
  v('redis', 'REDIS_SENTINELS', undefined, 'comma list host:port'),
  v('redis', 'REDIS_SENTINEL_SERVICE_NAME', undefined, 'Sentinel master name'),
  v('redis', 'REDIS_SENTINEL_USERNAME', undefined, 'Sentinel user'),
  v('redis', 'REDIS_SENTINEL_PASSWORD', undefined, 'Sentinel password', true),
  v('redis', 'REDIS_SENTINEL_SOCKET_TIMEOUT', '0.1', 'Sentinel socket timeout, seconds'),
  v('redis', 'REDIS_USE_CLUSTERS', 'false', 'connect to a Redis Cluster'),
  v('redis', 'REDIS_CLUSTERS', undefined, 'comma list host:port of cluster nodes'),
  v('redis', 'REDIS_CLUSTERS_PASSWORD', undefined, 'Redis Cluster password', true),
  v('redis', 'REDIS_KEY_PREFIX', '', 'prefix "<p>:" on every app-cache and Celery key (Dify 1.14.0+)'),

  v('celery', 'CELERY_BROKER_URL', undefined, 'redis://, rediss:// or sentinel:// URL of the Celery broker', true),
  v('celery', 'CELERY_BACKEND', 'redis', 'result backend kind'),
  v('celery', 'CELERY_USE_SENTINEL', 'false', 'broker through Sentinel'),
  v('celery', 'CELERY_SENTINEL_MASTER_NAME', undefined, 'Sentinel master name of the broker'),
  v('celery', 'CELERY_SENTINEL_PASSWORD', undefined, 'Sentinel password of the broker', true),
  v('celery', 'CELERY_SENTINEL_SOCKET_TIMEOUT', '0.1', 'seconds'),
  v('celery', 'CELERY_QUEUES', undefined, 'comma list overriding the worker queue list (as the dify-api entrypoint)'),
  v(
    'celery',
    'CELERY_WORKER_QUEUES',
    undefined,
    'comma list overriding CELERY_QUEUES (the dify-api entrypoint from Dify 1.10.0)',
  ),

  v('storage', 'STORAGE_TYPE', 'opendal', 'opendal | local | s3 | azure-blob (others unsupported by dify-ops)'),
  v('storage', 'OPENDAL_SCHEME', 'fs', 'OpenDAL scheme; options come from OPENDAL_<SCHEME>_<KEY>'),
  v('storage', 'STORAGE_LOCAL_PATH', 'storage', 'root for STORAGE_TYPE=local'),
  v('storage', 'S3_ENDPOINT', undefined, 'S3 endpoint URL'),
  v('storage', 'S3_REGION', undefined, 'S3 region'),
  v('storage', 'S3_BUCKET_NAME', undefined, 'S3 bucket'),
  v('storage', 'S3_ACCESS_KEY', undefined, 'S3 access key id', true),
  v('storage', 'S3_SECRET_KEY', undefined, 'S3 secret key', true),
  v('storage', 'S3_ADDRESS_STYLE', 'auto', 'auto | virtual | path'),
  v('storage', 'S3_USE_AWS_MANAGED_IAM', 'false', 'use the instance role instead of keys'),
  v('storage', 'AZURE_BLOB_ACCOUNT_NAME', undefined, 'Azure storage account'),
  v('storage', 'AZURE_BLOB_ACCOUNT_KEY', undefined, 'Azure account key', true),
  v('storage', 'AZURE_BLOB_CONTAINER_NAME', undefined, 'Azure container'),
  v('storage', 'AZURE_BLOB_ACCOUNT_URL', undefined, 'Azure blob endpoint'),

  v('vector', 'VECTOR_STORE', 'weaviate', 'vector store type'),
  v('vector', 'VECTOR_INDEX_NAME_PREFIX', 'Vector_index', 'collection name prefix'),
  v('vector', 'PGVECTOR_HOST', 'localhost', ''),
  v('vector', 'PGVECTOR_PORT', '5433', ''),
  v('vector', 'PGVECTOR_USER', 'postgres', ''),
  v('vector', 'PGVECTOR_PASSWORD', undefined, '', true),
  v('vector', 'PGVECTOR_DATABASE', 'dify', ''),
  v('vector', 'CHROMA_HOST', '127.0.0.1', ''),
  v('vector', 'CHROMA_PORT', '8000', ''),
  v('vector', 'CHROMA_TENANT', 'default_tenant', ''),
  v('vector', 'CHROMA_DATABASE', 'default_database', ''),
  v('vector', 'CHROMA_AUTH_PROVIDER', undefined, ''),
  v('vector', 'CHROMA_AUTH_CREDENTIALS', undefined, '', true),
  v('vector', 'QDRANT_URL', undefined, ''),
  v('vector', 'QDRANT_API_KEY', undefined, '', true),
  v('vector', 'WEAVIATE_ENDPOINT', undefined, ''),
  v('vector', 'WEAVIATE_API_KEY', undefined, '', true),
  v('vector', 'MILVUS_URI', undefined, ''),
  v('vector', 'MILVUS_USER', undefined, ''),
  v('vector', 'MILVUS_PASSWORD', undefined, '', true),
  v('vector', 'MILVUS_TOKEN', undefined, '', true),
  v('vector', 'ELASTICSEARCH_HOST', undefined, ''),
  v('vector', 'ELASTICSEARCH_PORT', '9200', ''),
  v('vector', 'ELASTICSEARCH_USERNAME', undefined, ''),
  v('vector', 'ELASTICSEARCH_PASSWORD', undefined, '', true),
  v('vector', 'OPENSEARCH_HOST', undefined, ''),
  v('vector', 'OPENSEARCH_PORT', '9200', ''),
  v('vector', 'OPENSEARCH_USER', undefined, ''),
  v('vector', 'OPENSEARCH_PASSWORD', undefined, '', true),

  v('deploy', 'EDITION', 'SELF_HOSTED', 'SELF_HOSTED | CLOUD'),
  v('deploy', 'DEPLOY_ENV', 'PRODUCTION', ''),
  v(
    'deploy',
    'SECRET_KEY',
    '',
    'signs JWTs and sessions; empty from Dify 1.14.1: Dify keeps a generated one in storage as .dify_secret_key',
    true,
  ),
  v('deploy', 'ACCESS_TOKEN_EXPIRE_MINUTES', '60', ''),
  v('deploy', 'REFRESH_TOKEN_EXPIRE_DAYS', '30', ''),
  v('deploy', 'LOGIN_LOCKOUT_DURATION', '86400', 'seconds'),

  v('dify-ops', 'DIFY_OPS_AUDIT_LOG', undefined, 'append one JSON line per writing command to this file'),
  v(
    'dify-ops',
    'DIFY_OPS_DIFY_ROOT',
    undefined,
    'Dify code whose migrations tell a revision newer than this CLI knows (as --dify-root; default /app/api/migrations/versions)',
  ),
  v('dify-ops', 'DIFY_OPS_CONNECT_TIMEOUT', '3', 'seconds to wait for any service connection'),
  v(
    'dify-ops',
    'DIFY_OPS_COMMAND_TIMEOUT',
    '10',
    'seconds one Redis command, or one database round trip beyond the statement timeout, may go unanswered (0 = no deadline)',
  ),
]

export const VARIABLE_BY_NAME = new Map(VARIABLES.map((s) => [s.name, s]))
