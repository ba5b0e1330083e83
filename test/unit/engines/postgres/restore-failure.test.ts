import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchSmallTables } from '../../../../src/run/pipeline.js'
import {
  describeFailurePlace,
  parseTocComment,
  psqlErrorLine,
  tocEntryAt,
  type TocEntry
} from '../../../../src/engines/postgres/restore-failure.js'

test("pg_dump's TOC comments name the object, its type and its schema", () => {
  assert.deepEqual(parseTocComment('-- Name: orders; Type: TABLE; Schema: public; Owner: -'), {
    type: 'TABLE',
    name: 'orders',
    schema: 'public'
  })
  assert.deepEqual(parseTocComment('-- Data for Name: Order Lines; Type: TABLE DATA; Schema: Sales; Owner: app'), {
    type: 'TABLE DATA',
    name: 'Order Lines',
    schema: 'Sales'
  })
  assert.deepEqual(parseTocComment('-- Name: orders orders_customer_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -'), {
    type: 'FK CONSTRAINT',
    name: 'orders orders_customer_fkey',
    schema: 'public'
  })
  assert.deepEqual(parseTocComment('-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -'), {
    type: 'EXTENSION',
    name: 'pgcrypto'
  })
  assert.equal(parseTocComment('-- PostgreSQL database dump'), undefined)
  assert.equal(parseTocComment('--'), undefined)
})

test("psql's error names the line of its input", () => {
  assert.equal(psqlErrorLine('psql:<stdin>:1234: ERROR:  relation "x" does not exist'), 1234)
  assert.equal(psqlErrorLine('psql:/tmp/work/sabotage-truncate.sql:77: ERROR:  syntax error at end of input'), 77)
  assert.equal(psqlErrorLine('psql: error: connection to server failed'), undefined)
})

test('the failing object is the last TOC entry at or before the failing line', () => {
  const numbered = [
    '20:-- Name: orders; Type: TABLE; Schema: public; Owner: -',
    '41:-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: -',
    '5000:-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -'
  ]
  const at = (line: number) => tocEntryAt(numbered, line)
  assert.equal(at(10), undefined)
  assert.equal(at(20)?.type, 'TABLE')
  assert.equal(at(4999)?.type, 'TABLE DATA')
  assert.equal(at(5003)?.type, 'CONSTRAINT')
  const entry: TocEntry = { type: 'TABLE DATA', name: 'orders', schema: 'public' }
  assert.equal(describeFailurePlace(entry, 4999), 'while restoring TABLE DATA public.orders')
  assert.equal(describeFailurePlace(undefined, 12), "in the dump's opening settings, before its first object")
  assert.equal(describeFailurePlace(entry, undefined), undefined)
})

test('many small tables are read in batches, large ones alone, and a few small ones spread over the sessions', () => {
  const tables = (count: number, bytes: number) => Array.from({ length: count }, (_, i) => ({ name: `t${i}`, bytes }))
  const many = batchSmallTables(tables(10_000, 8192), 4)
  assert.equal(many.length, 100)
  assert.ok(many.every(batch => batch.length === 100))
  assert.deepEqual(
    many.flat().map(table => table.name),
    tables(10_000, 8192).map(table => table.name),
    'order kept'
  )
  const mixed = batchSmallTables([...tables(2, 50 * 1024 * 1024), ...tables(8, 8192)], 4)
  assert.deepEqual(
    mixed.map(batch => batch.length),
    [1, 1, 2, 2, 2, 2]
  )
  // No batch holds more than 8 MiB of tables.
  const heavy = batchSmallTables(tables(40, 1024 * 1024), 1)
  assert.ok(heavy.every(batch => batch.length <= 8))
})
