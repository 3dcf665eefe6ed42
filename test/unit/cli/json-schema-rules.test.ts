/**
 * The conversion rules of scripts/gen-json-schemas.ts on small types: what JSON.stringify writes, no more.
 */
import { describe, expect, it } from 'vitest'
import { schemaFromSource } from '../../../scripts/gen-json-schemas.js'

const of = (text: string) => schemaFromSource(text, 'T')

describe('TypeScript type → JSON Schema', { timeout: 60_000 }, () => {
  it('objects: required and optional properties, undefined as optional, functions left out, no other properties', () => {
    expect(
      of('export interface T { a: string; b?: number; c: boolean | undefined; d: null; f(): void; g: () => void }'),
    ).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'number' }, c: { type: 'boolean' }, d: { type: 'null' } },
      required: ['a', 'd'],
      additionalProperties: false,
    })
  })

  it('literal unions are enums (sorted), a single literal is const, nullable primitives are a type list', () => {
    expect(
      of(
        "export type T = { s: 'b' | 'a'; n: 3 | 1; one: 'x'; t: true; maybe: string | null; mixed: 'a' | 'b' | null }",
      ),
    ).toMatchObject({
      properties: {
        s: { type: 'string', enum: ['a', 'b'] },
        n: { type: 'number', enum: [1, 3] },
        one: { type: 'string', const: 'x' },
        t: { type: 'boolean', const: true },
        maybe: { type: ['null', 'string'] },
        mixed: { anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'null' }] },
      },
    })
  })

  it('arrays, tuples, records, Date, unknown, toJSON', () => {
    expect(
      of(
        'export type T = { a: string[]; r: readonly number[]; tu: [string, number]; rec: Record<string, number>; d: Date; u: unknown; j: { toJSON(): string }; sparse: (string | undefined)[] }',
      ),
    ).toMatchObject({
      properties: {
        a: { type: 'array', items: { type: 'string' } },
        r: { type: 'array', items: { type: 'number' } },
        tu: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false, minItems: 2 },
        rec: { type: 'object', additionalProperties: { type: 'number' } },
        d: { type: 'string', format: 'date-time' },
        u: {},
        j: { type: 'string' },
        sparse: { type: 'array', items: { type: ['null', 'string'] } },
      },
    })
  })

  it('discriminated unions are anyOf; a top-level undefined (nothing printed) is dropped', () => {
    const s = of("export type T = { kind: 'a'; x: number } | { kind: 'b' } | undefined")
    expect(s.anyOf).toHaveLength(2)
  })

  it('recursive types go to $defs', () => {
    const s = of('export interface Node { name: string; children: Node[] }\nexport type T = { root: Node }')
    expect(s).toMatchObject({
      properties: { root: { $ref: '#/$defs/Node' } },
      $defs: { Node: { properties: { children: { items: { $ref: '#/$defs/Node' } } } } },
    })
  })

  it.each(['bigint', 'Map<string, number>', 'Set<string>', 'symbol'])('refuses %s, which JSON cannot carry', (t) => {
    expect(() => of(`export type T = { x: ${t} }`)).toThrow(/JSON cannot carry/)
  })
})
