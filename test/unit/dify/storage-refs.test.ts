import { describe, expect, it } from 'vitest'
import {
  FILE_URL_PATTERNS,
  ID_TOKEN,
  STORAGE_AREAS,
  canonicalId,
  classifyPath,
  fileNameId,
  storageAreas,
} from '../../../src/dify/storage-refs.js'
import { profileFor } from '../../../src/dify/profile.js'

const T = '3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11'

describe('the storage reference set', () => {
  it('classifies every area with its tenant; unknown prefixes and root files are kept as unknown', () => {
    expect(classifyPath(`upload_files/${T}/a.png`)).toMatchObject({
      kind: 'upload',
      prefix: 'upload_files/',
      tenantId: T,
    })
    expect(classifyPath(`tools/${T.toUpperCase()}/abc.png`).tenantId).toBe(T)
    expect(classifyPath(`privkeys/${T}/private.pem`)).toMatchObject({ kind: 'private-key', tenantId: T })
    expect(classifyPath(`privkeys/${T}/private.pem`).area?.role).toBe('key')
    expect(classifyPath('.dify_secret_key')).toMatchObject({
      kind: 'secret-key',
      prefix: '.dify_secret_key',
      tenantId: null,
    })
    expect(classifyPath('.dify_secret_key.bak').kind).toBe('unknown')
    expect(classifyPath('workflow-state-1.json').area?.role).toBe('state')
    expect(classifyPath('backups/x.tar')).toMatchObject({ kind: 'unknown', prefix: 'backups/', area: null })
    expect(classifyPath('export.jsonl.gz')).toMatchObject({ kind: 'unknown', prefix: '(root)' })
    expect(classifyPath('upload_files//a.txt').tenantId).toBeNull() // Dify writes "" when no tenant
    expect(classifyPath('ops_trace/x/y.json').tenantId).toBeNull() // app id, not a tenant
  })

  it('only user-file areas can hold orphans; the quarantine area never', () => {
    const user = STORAGE_AREAS.filter((a) => a.role === 'user-file').map((a) => a.prefix)
    expect(user).toEqual(['upload_files/', 'image_files/', 'tools/', 'datasources/'])
    expect(classifyPath('dify_ops_quarantine/r/objects/upload_files/x').area?.role).toBe('ops')
  })

  it('the file-name id of uploads (dashed uuid) and tool files (uuid4 hex), canonical', () => {
    expect(fileNameId(`upload_files/${T}/${T.toUpperCase()}.png`)).toBe(canonicalId(T))
    expect(fileNameId(`tools/${T}/3f2a9c1e0b7d4c559a1e2f6b8d0c4e11.bin`)).toBe(canonicalId(T))
    expect(fileNameId(`image_files/${T}/src/abcd_r1_c2_ff.png`)).toBeNull()
  })

  it('the URL forms Dify writes are matched, and every id token is found', () => {
    const text = `![a](/files/${T}/image-preview?timestamp=1&nonce=2&sign=3) [b](http://x/files/${T}/file-preview) ![c](/files/tools/${T}.png?sign=x)`
    expect([...text.matchAll(FILE_URL_PATTERNS.imagePreview)].map((m) => m[1])).toEqual([T])
    expect([...text.matchAll(FILE_URL_PATTERNS.filePreview)].map((m) => m[1])).toEqual([T])
    expect([...text.matchAll(FILE_URL_PATTERNS.toolFile)].map((m) => m[2])).toEqual(['png'])
    expect([...text.matchAll(ID_TOKEN)]).toHaveLength(3)
  })

  it('datasources/ is a user-file area from 1.11.0 only', () => {
    const heads: Record<string, string> = { '1.0.0': '08ec4f75af5e', '1.11.0': 'd57accd375ae' } // releases' Alembic heads
    const rev = (v: string) => heads[v]!
    const at = (v: string) => storageAreas(profileFor(rev(v))).map((a) => a.prefix)
    expect(at('1.0.0')).not.toContain('datasources/')
    expect(at('1.11.0')).toContain('datasources/')
  })
})
