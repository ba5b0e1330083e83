import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { openSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { installAmcheck, runAmcheck } from '../../../../src/engines/postgres/amcheck.js'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { UserError } from '../../../../src/util/errors.js'
import { startNewerCluster } from '../../../support/newer-cluster.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// amcheck on real clean rooms: PostgreSQL 13 (B-tree indexes only) and 18 (tables too, through
// verify_heapam). Corruption is made by the servers' superusers, the way a failing disk or a
// broken index build would leave it: index entries that never got written, and overwritten pages.

const SEED = `
CREATE TABLE public.items (id int PRIMARY KEY, sku text NOT NULL UNIQUE, note text);
CREATE INDEX items_note_idx ON public.items (note);
CREATE TABLE "Mixed Case"."Stock" (id int PRIMARY KEY, qty int);
CREATE MATERIALIZED VIEW public.item_count AS SELECT count(*) AS n FROM public.items;
CREATE UNIQUE INDEX item_count_idx ON public.item_count (n);
INSERT INTO public.items SELECT i, 'sku-' || i, repeat('note ', i % 20) FROM generate_series(1, 2000) i;
INSERT INTO "Mixed Case"."Stock" SELECT i, i FROM generate_series(1, 100) i;
REFRESH MATERIALIZED VIEW public.item_count;
`

let cleanroom: Cluster
let newer: Cluster | undefined
const sessions: DatabaseSession[] = []

before(async () => {
  cleanroom = await cleanroomCluster()
})

after(async () => {
  for (const session of sessions) await session.close()
  await newer?.stop()
})

async function open(cluster: Cluster, database: string, count = 2): Promise<DatabaseSession[]> {
  const opened: DatabaseSession[] = []
  for (let i = 0; i < count; i++) {
    const session = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cluster.url(database)), 'cleanroom')
    sessions.push(session)
    await session.pinSettings()
    opened.push(session)
  }
  return opened
}

async function seeded(cluster: Cluster): Promise<string> {
  const name = uniqueName('amcheck')
  await cluster.createDatabase(name, `CREATE SCHEMA "Mixed Case";\n${SEED}`)
  return name
}

async function check(cluster: Cluster, database: string) {
  const sessions = await open(cluster, database)
  const schema = await installAmcheck(sessions[0])
  return runAmcheck(sessions, schema, Number((await sessions[0].serverFacts()).major))
}

test('a healthy copy on PostgreSQL 13 passes: every B-tree index is checked, tables need 14+', async () => {
  const database = await seeded(cleanroom)
  const result = await check(cleanroom, database)
  assert.deepEqual(result.findings, [])
  // items: pkey, sku key, note; Stock: pkey; item_count: its index; and items' toast index.
  assert.equal(result.indexes, 6)
  assert.equal(result.heapChecked, false)
  assert.equal(result.tables, 0)
  // A second run finds the extension where the first put it.
  assert.deepEqual((await check(cleanroom, database)).findings, [])
})

test('index entries that were never written are caught by heapallindexed, naming the index', async () => {
  const database = await seeded(cleanroom)
  // As superuser: the index stops taking inserts, rows go in, and it is declared whole again.
  await cleanroom.query(
    `UPDATE pg_catalog.pg_index SET indisready = false WHERE indexrelid = 'public.items_note_idx'::regclass;
     INSERT INTO public.items SELECT i, 'late-' || i, 'unindexed ' || i FROM generate_series(5001, 5010) i;
     UPDATE pg_catalog.pg_index SET indisready = true WHERE indexrelid = 'public.items_note_idx'::regclass;`,
    database
  )
  const result = await check(cleanroom, database)
  assert.equal(result.findings.length, 1, JSON.stringify(result.findings))
  const [finding] = result.findings
  assert.equal(finding.kind, 'index')
  assert.equal(finding.name, 'public.items_note_idx')
  assert.match(finding.message, /lacks matching index tuple within index "items_note_idx"/)
})

test('a clean room without the extension, or without the right to create it, is one clear error', async () => {
  const database = await seeded(cleanroom)
  const role = uniqueName('plain')
  await cleanroom.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`)
  await cleanroom.query(`GRANT CREATE ON DATABASE ${database} TO ${role}`)
  const plain = await DatabaseSession.open(
    parseConnectionUrl('cleanroom-url', cleanroom.url(database, { user: role, password: 'pw' })),
    'cleanroom'
  )
  sessions.push(plain)
  await assert.rejects(
    installAmcheck(plain),
    (error: unknown) =>
      error instanceof UserError &&
      /amcheck needs a superuser on the clean room/.test(error.message) &&
      !error.message.includes('\n')
  )
  // A server whose contrib modules are missing: pg_available_extensions is what Lazarus asks.
  const missing = { query: async (sql: string) => (/pg_available_extensions/.test(sql) ? [] : [{}]) }
  await assert.rejects(
    installAmcheck(missing as never),
    (error: unknown) => error instanceof UserError && /The clean room does not have the amcheck extension/.test(error.message)
  )
})

/** Overwrites bytes in one block of a relation's file, after flushing it and evicting it from shared buffers. */
async function overwriteBlock(
  cluster: Cluster,
  database: string,
  relation: string,
  block: number,
  offset: number
): Promise<void> {
  const evict = `SELECT pg_buffercache_evict(bufferid) FROM pg_buffercache
    WHERE relfilenode = pg_relation_filenode('${relation}')
      AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`
  await cluster.query(`CREATE EXTENSION IF NOT EXISTS pg_buffercache; CHECKPOINT; ${evict}`, database)
  const [{ file }] = await cluster.query<{ file: string }>(`SELECT pg_relation_filepath('${relation}') AS file`, database)
  const descriptor = openSync(path.join(cluster.dataDir, file), 'r+')
  try {
    writeSync(descriptor, Buffer.alloc(64, 0x5a), 0, 64, block * 8192 + offset)
  } finally {
    closeSync(descriptor)
  }
  await cluster.query(evict, database)
}

test('on PostgreSQL 18, overwritten index and table pages are caught, naming each relation', async () => {
  newer = await startNewerCluster('amcheck18')
  const healthy = await seeded(newer)
  const clean = await check(newer, healthy)
  assert.deepEqual(clean.findings, [])
  assert.equal(clean.heapChecked, true)
  // items, Stock, item_count: tables and materialized views.
  assert.equal(clean.tables, 3)

  const database = await seeded(newer)
  // Block 1 is the index's first leaf page (block 0 its metapage); the table's tuples sit at a page's end.
  await overwriteBlock(newer, database, 'public.items_note_idx', 1, 7000)
  await overwriteBlock(newer, database, '"Mixed Case"."Stock"', 0, 8000)
  const result = await check(newer, database)
  const named = result.findings.map(finding => `${finding.kind} ${finding.name}`)
  assert.ok(named.includes('index public.items_note_idx'), JSON.stringify(result.findings))
  assert.ok(named.includes('table "Mixed Case"."Stock"'), JSON.stringify(result.findings))
  for (const finding of result.findings) assert.ok(finding.message.length > 0)
})
