import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chooseRogueRowTarget, parseCopyHeader, rogueRowRewriter, type ColumnInfo, type TableShape } from '../../src/sabotage.js'

const int4 = (name: string): ColumnInfo => ({ name, type: 'int4', typtype: 'b', typmod: -1, generated: false })
const text = (name: string): ColumnInfo => ({ name, type: 'text', typtype: 'b', typmod: -1, generated: false })

function shape(partial: Partial<TableShape> & { name: string }): TableShape {
  return { schema: 'public', rows: 10, columns: [int4('id'), text('body')], uniqueIndexes: [], constraints: [], ...partial }
}

test('parses COPY headers with quoted, mixed-case and spaced identifiers', () => {
  assert.deepEqual(parseCopyHeader('COPY public.orders (id, "Total", "odd ""name""") FROM stdin;'), {
    schema: 'public',
    name: 'orders',
    columns: ['id', 'Total', 'odd "name"']
  })
  assert.deepEqual(parseCopyHeader('COPY "Inventory"."Stock Levels" ("ItemId") FROM stdin;'), {
    schema: 'Inventory',
    name: 'Stock Levels',
    columns: ['ItemId']
  })
  assert.deepEqual(parseCopyHeader('COPY public.empty  FROM stdin;'), { schema: 'public', name: 'empty', columns: [] })
  assert.equal(parseCopyHeader('CREATE TABLE public.x ();'), undefined)
})

test('prefers a table with a primary key and gives its key a fresh value', () => {
  const target = chooseRogueRowTarget([
    shape({ name: 'log' }),
    shape({ name: 'orders', uniqueIndexes: [{ primary: true, expression: false, columns: ['id'] }] })
  ])
  assert.deepEqual(target, { schema: 'public', name: 'orders', freshColumns: [{ name: 'id', kind: 'integer', maxLength: undefined }] })
})

test('skips tables where a fresh key could break the restore', () => {
  const pk = [{ primary: true, expression: false, columns: ['id'] }]
  assert.equal(chooseRogueRowTarget([shape({ name: 'a', uniqueIndexes: pk, constraints: [{ type: 'f', columns: ['id'] }], columns: [int4('id')] })]), undefined)
  assert.equal(chooseRogueRowTarget([shape({ name: 'b', uniqueIndexes: [{ primary: false, expression: true, columns: [] }] })]), undefined)
  assert.equal(chooseRogueRowTarget([shape({ name: 'c', uniqueIndexes: pk, constraints: [{ type: 'x', columns: ['body'] }] })]), undefined)
  assert.equal(chooseRogueRowTarget([shape({ name: 'd', uniqueIndexes: pk, rows: 0 })]), undefined)
  const date: ColumnInfo = { name: 'id', type: 'date', typtype: 'b', typmod: -1, generated: false }
  assert.equal(chooseRogueRowTarget([shape({ name: 'e', uniqueIndexes: pk, columns: [date] })]), undefined)
})

test('a keyless table gets one unconstrained column changed', () => {
  const target = chooseRogueRowTarget([shape({ name: 'log', constraints: [{ type: 'c', columns: ['id'] }] })])
  assert.deepEqual(target?.freshColumns.map(column => column.name), ['body'])
})

test('injects one new row at the end of the target COPY block only', () => {
  const rewriter = rogueRowRewriter({ schema: 'public', name: 'orders', freshColumns: [{ name: 'id', kind: 'integer' }] })
  const dump = [
    'COPY public.other (id, note) FROM stdin;',
    '1\tx',
    '\\.',
    'COPY public.orders (note, id) FROM stdin;',
    'first\t7',
    'second\t41',
    'third\t\\N',
    '\\.',
    'SELECT 1;'
  ]
  const out = dump.flatMap(line => rewriter.push(line))
  assert.deepEqual(out, [...dump.slice(0, 7), 'first\t42', '\\.', 'SELECT 1;'])
  assert.deepEqual(rewriter.result(), { evidence: '(id)=(42)' })
})

test('reports nothing when the target has no data in the dump', () => {
  const rewriter = rogueRowRewriter({ schema: 'public', name: 'orders', freshColumns: [{ name: 'id', kind: 'integer' }] })
  const dump = ['COPY public.orders (id) FROM stdin;', '\\.']
  assert.deepEqual(dump.flatMap(line => rewriter.push(line)), dump)
  assert.equal(rewriter.result(), undefined)
})

test('text and uuid keys get fresh values that fit the column', () => {
  const rewriter = rogueRowRewriter({
    schema: 's',
    name: 't',
    freshColumns: [
      { name: 'code', kind: 'text', maxLength: 12 },
      { name: 'uid', kind: 'uuid' }
    ]
  })
  const out = ['COPY s.t (code, uid) FROM stdin;', 'abc\t00000000-0000-0000-0000-000000000001', '\\.'].flatMap(line => rewriter.push(line))
  const [code, uid] = out[2].split('\t')
  assert.ok(code.length <= 12 && code !== 'abc', code)
  assert.match(uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})
