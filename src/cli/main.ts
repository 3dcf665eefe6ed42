/** The oclif entry for bin/run.js, bundled with the commands (one copy of @oclif/core per process). */
export { execute } from '@oclif/core'
