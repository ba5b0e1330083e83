import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { readPrimaryKeys } from '../../../../src/engines/postgres/row-diff-queries.js'
import { readSchemaFingerprint } from '../../../../src/engines/postgres/schema-fingerprint.js'
import { asSeamSession } from '../../../../src/engines/postgres/seam-session.js'
import { findSequencesBehindData, readSequenceValues } from '../../../../src/engines/postgres/sequence-queries.js'
import { tableKey } from '../../../../src/util/table-name.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// PostgreSQL's session as the run over the engine seam reads one: the answers PostgreSQL's own
// run reads through this folder's modules, and what the seam's run needs beside them (which
// server it is, which tables a snapshot cannot isolate, the database's defaults).

let production: Cluster
let cleanroom: Cluster
const database = uniqueName('seam_session')
const opened: DatabaseSession[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  await production.createDatabase(
    database,
    `CREATE SCHEMA sales;
     CREATE TABLE sales.orders (id serial PRIMARY KEY, note text NOT NULL);
     CREATE TABLE public.tags (name text NOT NULL, UNIQUE (name));
     INSERT INTO sales.orders (note) SELECT 'n' || g FROM generate_series(1, 5) g;
     INSERT INTO public.tags VALUES ('a'), ('b');
     -- A sequence behind its column's data: the next nextval() would collide.
     SELECT setval('sales.orders_id_seq', 2);`
  )
})

after(async () => {
  for (const session of opened) await session.close().catch(() => undefined)
})

async function open(cluster: Cluster, name: string, role: 'production' | 'cleanroom'): Promise<DatabaseSession> {
  const session = await DatabaseSession.open(parseConnectionUrl(`${role}-url`, cluster.url(name)), role)
  opened.push(session)
  return session
}

test("the seam's reads answer what PostgreSQL's own run reads: schema, sequences, those behind their data, keys", async () => {
  const session = await open(production, database, 'production')
  const seam = asSeamSession(session)
  assert.deepEqual(await seam.readSchema(), await readSchemaFingerprint(session))
  const counters = await seam.readCounters()
  assert.deepEqual(counters, await readSequenceValues(session))
  assert.ok(counters.length === 1, JSON.stringify(counters))
  const behind = await seam.countersBehindData()
  assert.deepEqual(behind, await findSequencesBehindData(session))
  assert.equal(behind.length, 1, 'the sequence set behind its data is found')
  const keys = await seam.primaryKeys()
  assert.deepEqual(keys, await readPrimaryKeys(session))
  assert.deepEqual(
    new Map(keys),
    new Map([
      [tableKey({ schema: 'sales', name: 'orders' }), ['id']],
      [tableKey({ schema: 'public', name: 'tags' }), ['name']]
    ]),
    'the primary key, or a unique index over NOT NULL columns'
  )
})

test('the snapshot: sessions that join it read the same figures; no table stays outside it and no lock is held', async () => {
  const [first, second] = await Promise.all([open(production, database, 'production'), open(production, database, 'production')])
  const [a, b] = [asSeamSession(first), asSeamSession(second)]
  await a.pinSettings()
  await b.pinSettings()
  const id = await a.beginSnapshot()
  await b.joinSnapshot(id)
  const tables = await a.listTables()
  assert.deepEqual(tables.map(table => `${table.schema}.${table.name}`).sort(), ['public.tags', 'sales.orders'])
  await production.query(`INSERT INTO public.tags VALUES ('later')`, database)
  const [fromA, fromB] = await Promise.all([a.tablesFigures(tables, true, true), b.tablesFigures(tables, true, true)])
  assert.deepEqual(fromA, fromB)
  assert.deepEqual(
    fromA.map(figures => figures.rows),
    tables.map(table => (table.name === 'orders' ? 5 : 2)),
    'a write after the snapshot is not seen'
  )
  assert.deepEqual(a.outsideSnapshot(tables), [])
  await a.releaseSnapshotLock()
  await a.ping()
})

test("which server a session is on: the same values on one server, another instance on another; production's defaults", async () => {
  const [one, two, other] = await Promise.all([
    open(production, database, 'production'),
    open(production, 'postgres', 'production'),
    open(cleanroom, 'postgres', 'cleanroom')
  ])
  const [factsOne, factsTwo, factsOther] = await Promise.all([one, two, other].map(session => asSeamSession(session).facts()))
  assert.equal(factsOne.product, 'PostgreSQL')
  assert.equal(factsOne.major, 13)
  assert.match(factsOne.version, /^13\.\d+$/)
  assert.deepEqual(factsOne.instance, factsTwo.instance, 'two sessions on one server read the same instance')
  assert.notDeepEqual(factsOne.instance, factsOther.instance, 'another server is told apart')
  const seam = asSeamSession(one)
  assert.deepEqual(await seam.databaseDefaults(), { characterSet: 'UTF8', collation: 'C' })
  assert.ok((await seam.collations()).includes('C'))
})
