import { DifyCommand, Flags } from '../../src/cli/command.js'
import { boundedIntFlag } from '../../src/cli/flags.js'
import { table } from '../../src/core/table.js'
import { formatBytes, storageUsage, type UsageBy, type UsageResult } from '../../src/storage/usage.js'
import { storageDeps } from '../../src/storage/deps.js'

export default class StorageUsage extends DifyCommand {
  static override summary = 'Bytes and object counts of the file storage per prefix, tenant or kind (read-only).'
  static override description =
    'Streams one listing of the whole storage (OpenDAL) and sums the size of every object per prefix (upload_files/, tools/, privkeys/, …), per tenant (the tenant id in the path; "-" when the path names none) or per kind (docs/storage.md "Areas"). Nothing is written; the database is not needed.'
  static override examples = [
    '<%= config.bin %> storage usage',
    '<%= config.bin %> storage usage --by tenant --top 10',
    '<%= config.bin %> storage usage --by kind --json',
  ]
  static override flags = {
    by: Flags.string({
      summary: 'Group by prefix, tenant or kind.',
      options: ['prefix', 'tenant', 'kind'],
      default: 'prefix',
    }),
    top: boundedIntFlag({ min: 1, max: 1_000_000, summary: 'Only the N largest groups.' }),
  }

  async run(): Promise<UsageResult> {
    const { flags } = await this.parse(StorageUsage)
    const { storage } = await storageDeps(this.runtime())
    const progress = this.out.progress(`Listing ${storage.location}…`)
    try {
      const r = await storageUsage(storage, {
        by: flags.by as UsageBy,
        top: flags.top,
        signal: this.abort.signal,
        onProgress: (n, b) => progress.update(`Listing ${storage.location}: ${n} objects, ${formatBytes(b)}`),
      })
      progress.stop()
      this.out.log(`Storage ${r.location}: ${r.total.objects} objects, ${formatBytes(r.total.bytes)}`)
      if (r.groups.length) {
        this.out.log()
        const rows = r.groups.map((g) => ({
          key: g.key,
          objects: String(g.objects),
          bytes: String(g.bytes),
          size: formatBytes(g.bytes),
        }))
        this.out.log(
          table(rows, [
            { key: 'key', header: r.by.toUpperCase() },
            { key: 'objects', header: 'OBJECTS' },
            { key: 'bytes', header: 'BYTES' },
            { key: 'size', header: 'SIZE' },
          ]),
        )
      }
      if (r.otherGroups) this.out.log(`… and ${r.otherGroups} smaller groups (--top)`)
      return r
    } finally {
      progress.stop()
    }
  }
}
