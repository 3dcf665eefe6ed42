/**
 * The Dify releases every command of this CLI supports (kept tiny: `dify --version` imports only this).
 * PostgreSQL from Dify 1.0.0; MySQL from 1.10.1, Dify's first release with a MySQL migration path.
 */
export const SUPPORTED_WINDOW = {
  from: '1.0.0',
  to: '1.15.0',
  fromHead: '08ec4f75af5e',
  toHead: 'd9e8f7a6b5c4',
  mysqlFrom: '1.10.1',
  mysqlFromHead: '09cfdda155d1',
} as const

/** @deprecated the old name of SUPPORTED_WINDOW (kept so parallel branches merge); use SUPPORTED_WINDOW */
export const FIRST_WINDOW = SUPPORTED_WINDOW
