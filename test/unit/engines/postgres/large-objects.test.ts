import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UNREADABLE_MAPPING_OPTIONS, describeMappingOptions } from '../../../../src/engines/postgres/catalog-kinds.js'
import { checksumSql, countSql, type TableRef } from '../../../../src/engines/postgres/figure-queries.js'
import { planDrill } from '../../../../src/engines/postgres/drill-plan.js'
import { largeObjectRewriter } from '../../../../src/engines/postgres/drill-large-object.js'
import { diffSchema } from '../../../../src/engines/postgres/schema-fingerprint.js'

const DUMP = [
  "SELECT pg_catalog.lo_create('424201');",
  'BEGIN;',
  "SELECT pg_catalog.lo_open('424201', 131072);",
  "SELECT pg_catalog.lowrite(0, '\\x6669727374');",
  'SELECT pg_catalog.lo_close(0);',
  "SELECT pg_catalog.lo_open('424202', 131072);",
  "SELECT pg_catalog.lowrite(0, '\\x0123456789abcdef');",
  "SELECT pg_catalog.lowrite(0, '\\x0f');",
  'SELECT pg_catalog.lo_close(0);',
  'COMMIT;'
]

const rewrite = (oid: string) => {
  const rewriter = largeObjectRewriter(oid)
  return { lines: DUMP.flatMap(line => rewriter.push(line)), result: rewriter.result() }
}

test('mutate-large-object changes one hex digit of its object only, once', () => {
  const { lines, result } = rewrite('424202')
  assert.deepEqual(
    lines.filter((line, i) => line !== DUMP[i]),
    ["SELECT pg_catalog.lowrite(0, '\\x0123456789abcdee');"]
  )
  assert.match(result!.evidence, /^large object 424202: a byte of its data changed/)
  const first = rewrite('424201')
  assert.equal(first.lines[3], "SELECT pg_catalog.lowrite(0, '\\x6669727375');")
  assert.equal(first.lines.filter((line, i) => line !== DUMP[i]).length, 1)
})

test('mutate-large-object reports nothing when its object has no data in the dump', () => {
  const { lines, result } = rewrite('424203')
  assert.deepEqual(lines, DUMP)
  assert.equal(result, undefined)
})

test('mutate-large-object is planned on the catalog large object, and only when there is one', () => {
  const catalog = { tables: [], indexes: [], constraints: [], sequences: [] }
  assert.equal(planDrill('mutate-large-object', catalog), undefined)
  const plan = planDrill('mutate-large-object', { ...catalog, largeObject: '424202' })!
  assert.equal(plan.target, 'large object 424202')
  assert.deepEqual(plan.targetObject, { kind: 'large object', schema: '', name: '424202' })
  assert.deepEqual(plan.caughtBy, ['schema'])
})

test('user mapping options: names only, a digest of the values, whatever their order', () => {
  const described = describeMappingOptions({ options: ['user=app', 'password=hunter2'], readable: true })
  assert.match(described, /^OPTIONS \(password, user\) digest [0-9a-f]{16}$/)
  assert.ok(!described.includes('hunter2'))
  assert.equal(describeMappingOptions({ options: ['password=hunter2', 'user=app'], readable: true }), described)
  assert.notEqual(describeMappingOptions({ options: ['user=app', 'password=hunter3'], readable: true }), described)
  assert.equal(describeMappingOptions({ options: null, readable: true }), 'no options')
  assert.equal(describeMappingOptions({ options: null, readable: false }), UNREADABLE_MAPPING_OPTIONS)
})

test('unreadable user mapping options compare by existence; every other definition by text', () => {
  const mapping = (definition: string) => ({ kind: 'user mapping' as const, name: 'FOR app SERVER s', definition })
  const digest = describeMappingOptions({ options: ['password=x'], readable: true })
  assert.deepEqual(diffSchema([mapping(UNREADABLE_MAPPING_OPTIONS)], [mapping(digest)]), [])
  assert.deepEqual(diffSchema([mapping(digest)], [mapping(UNREADABLE_MAPPING_OPTIONS)]), [])
  assert.equal(diffSchema([mapping(UNREADABLE_MAPPING_OPTIONS)], []).length, 1)
  assert.equal(diffSchema([mapping(digest)], [mapping('no options')]).length, 1)
})

test("an extension configuration table is counted and checksummed on its extension's condition", () => {
  const table: TableRef = {
    schema: 'ext',
    name: 'settings',
    kind: 'r',
    populated: true,
    columns: [{ name: 'name', hashing: 'text' }],
    bytes: 0,
    filter: 'WHERE NOT standard'
  }
  assert.match(countSql(table), /FROM ONLY "ext"\."settings" AS t WHERE NOT standard$/)
  assert.match(checksumSql(table), /FROM ONLY "ext"\."settings" AS t WHERE NOT standard$/)
  assert.match(countSql({ ...table, filter: null }), /AS t $/)
})
