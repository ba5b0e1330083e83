import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { postgres } from '../../../../src/engines/postgres/index.js'
import { readPrimaryKeys } from '../../../../src/engines/postgres/row-diff-queries.js'
import { readSchemaFingerprint } from '../../../../src/engines/postgres/schema-fingerprint.js'
import { findSequencesBehindData, readSequenceValues } from '../../../../src/engines/postgres/sequence-queries.js'
import type { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import type { SeamSession, ServerRole } from '../../../../src/engines/types.js'
import type { TableRef } from '../../../../src/engines/postgres/figure-queries.js'
import { pinDifferingRows } from '../../../../src/verification/row-diff.js'
import { UserError } from '../../../../src/util/errors.js'
import { tableKey } from '../../../../src/util/table-name.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// PostgreSQL's engine object (engines/postgres/index.ts) as a run calls it, against the shared
// servers: its sessions answer the seam's reads as PostgreSQL's own run reads them through this
// folder's modules, and each of its methods does what the seam promises (engines/types.ts).

let production: Cluster
let cleanroom: Cluster
const database = uniqueName('pg_engine')
const restoredCopy = uniqueName('pg_engine_copy')
const opened: SeamSession<TableRef>[] = []
const tempDirs: string[] = []

const TABLES = `CREATE SCHEMA sales;
  CREATE TABLE sales.orders (id serial PRIMARY KEY, note text NOT NULL);
  CREATE TABLE public.tags (name text NOT NULL, UNIQUE (name));`

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  await Promise.all([
    production.createDatabase(
      database,
      `${TABLES}
       INSERT INTO sales.orders (note) SELECT 'n' || g FROM generate_series(1, 5) g;
       INSERT INTO public.tags VALUES ('a'), ('b');
       -- A sequence behind its column's data: the next nextval() would collide.
       SELECT setval('sales.orders_id_seq', 2);`
    ),
    // A "restored copy" on the clean room that differs: one row changed, one missing, one extra.
    cleanroom.createDatabase(
      restoredCopy,
      `${TABLES}
       INSERT INTO sales.orders (note) SELECT 'n' || g FROM generate_series(1, 5) g;
       UPDATE sales.orders SET note = 'changed' WHERE id = 3;
       DELETE FROM sales.orders WHERE id = 4;
       INSERT INTO sales.orders (id, note) VALUES (9, 'n9');
       INSERT INTO public.tags VALUES ('a'), ('b');`
    )
  ])
})

after(async () => {
  for (const session of opened) await session.close().catch(() => undefined)
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function target(cluster: Cluster, name: string, role: ServerRole, url = cluster.url(name)) {
  return postgres.parseUrl(`${role}-url`, url)
}

async function open(cluster: Cluster, name: string, role: ServerRole, url?: string): Promise<SeamSession<TableRef>> {
  const session = await postgres.openRead(target(cluster, name, role, url), role)
  opened.push(session)
  return session
}

test("the engine's sessions answer what PostgreSQL's own run reads: schema, sequences, those behind their data, keys", async () => {
  const seam = await open(production, database, 'production')
  const session = seam as DatabaseSession
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
  const [a, b] = await Promise.all([open(production, database, 'production'), open(production, database, 'production')])
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
  // Reading the counters inside the snapshot leaves no lock on a sequence (production's DDL never waits on the run).
  assert.equal((await a.readCounters()).length, 1)
  const [sequenceLocks] = await (a as DatabaseSession).query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
     WHERE l.pid = pg_catalog.pg_backend_pid() AND c.relkind = 'S'`
  )
  assert.equal(sequenceLocks.n, '0')
  assert.equal(await a.releaseSnapshotLock(), undefined, 'no lock to release: writers never waited')
  await a.ping()
  await production.query(`DELETE FROM public.tags WHERE name = 'later'`, database)
})

test("which server a session is on: the same values on one server, another instance on another; production's defaults", async () => {
  const [one, two, other] = await Promise.all([
    open(production, database, 'production'),
    open(production, 'postgres', 'production'),
    open(cleanroom, 'postgres', 'cleanroom')
  ])
  const [factsOne, factsTwo, factsOther] = await Promise.all([one, two, other].map(session => session.facts()))
  assert.equal(factsOne.product, 'PostgreSQL')
  assert.equal(factsOne.major, 13)
  assert.match(factsOne.version, /^13\.\d+$/)
  assert.deepEqual(factsOne.instance, factsTwo.instance, 'two sessions on one server read the same instance')
  assert.notDeepEqual(factsOne.instance, factsOther.instance, 'another server is told apart')
  assert.deepEqual(await one.databaseDefaults(), { characterSet: 'UTF8', collation: 'C', characterType: 'C' })
  assert.ok((await one.collations()).includes('C'))
})

test('a URL: parsed and vetted, described without its password, every form of the password a secret, another database', async () => {
  const url = production.url(database, { password: 'pa ss/word' })
  const parsed = postgres.parseUrl('production-url', url)
  assert.equal(parsed.database, database)
  assert.doesNotMatch(postgres.describe(parsed), /pa ss|word/)
  assert.ok(postgres.secretsOf(parsed).includes('pa ss/word'), JSON.stringify(postgres.secretsOf(parsed)))
  assert.ok(postgres.secretsOf(parsed).includes(encodeURIComponent('pa ss/word')))
  assert.throws(
    () => postgres.parseUrl('cleanroom-url', 'postgres://u@h/db?sslmode=sometimes'),
    (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.match(error.message, /^Input 'cleanroom-url' /)
      return true
    }
  )
  // withDatabase: the same server and credentials, another database, which a session then reads.
  const other = postgres.withDatabase(target(production, database, 'production'), 'postgres')
  assert.equal(other.database, 'postgres')
  const session = (await postgres.openRead(other, 'production')) as DatabaseSession
  opened.push(session)
  assert.deepEqual(await session.query('SELECT pg_catalog.current_database() AS name'), [{ name: 'postgres' }])
})

test("setLimits: every session opened afterwards waits on a lock at most the run's lock timeout", async () => {
  postgres.setLimits({ lockTimeoutSeconds: 7, serverTimeoutSeconds: 45 })
  try {
    const session = (await open(production, database, 'production')) as DatabaseSession
    assert.deepEqual(await session.query('SHOW lock_timeout'), [{ lock_timeout: '7s' }])
  } finally {
    postgres.setLimits({ lockTimeoutSeconds: 60, serverTimeoutSeconds: 60 })
  }
})

test('the separate-server guard: two servers pass; the same server by URL, or under another name, is refused', async () => {
  const [prod, room] = await Promise.all([open(production, database, 'production'), open(cleanroom, 'postgres', 'cleanroom')])
  await postgres.assertSeparateServers(prod, room)
  const sameUrl = await open(production, 'postgres', 'cleanroom')
  await assert.rejects(postgres.assertSeparateServers(prod, sameUrl), (error: unknown) => {
    assert.ok(error instanceof UserError)
    assert.match(error.message, /is the production cluster .*: same host and port\. Point cleanroom-url at a separate/)
    return true
  })
  // Its unix socket (beside the data directory, see support/cluster.ts): only what the servers say gives it away.
  const socketDir = path.dirname(production.dataDir)
  const viaSocket = await open(
    production,
    'postgres',
    'cleanroom',
    `postgresql:///postgres?host=${encodeURIComponent(socketDir)}&port=${production.port}&user=postgres&password=${encodeURIComponent(production.password)}`
  )
  await assert.rejects(
    postgres.assertSeparateServers(prod, viaSocket),
    /is the production cluster .*: both report system identifier \d+/
  )
})

test("the schema diff: what differs, what one side lacks, the same schema nothing; read through the engine's sessions", async () => {
  const [prod, copy] = await Promise.all([open(production, database, 'production'), open(cleanroom, restoredCopy, 'cleanroom')])
  const [mine, theirs] = await Promise.all([prod.readSchema(), copy.readSchema()])
  assert.deepEqual(postgres.diffSchema(mine, mine), [])
  assert.deepEqual(postgres.diffSchema(mine, theirs), [], 'the same DDL on both sides')
  const changed = theirs.map(object =>
    object.kind === 'column' && object.name.endsWith('.note') ? { ...object, definition: `${object.definition} changed` } : object
  )
  const withoutTags = theirs.filter(object => !object.name.includes('tags'))
  const differences = postgres.diffSchema(mine, [...changed.filter(object => !object.name.includes('tags'))])
  assert.ok(
    differences.some(d => d.kind === 'column' && d.name.endsWith('.note') && d.restored?.endsWith(' changed')),
    JSON.stringify(differences)
  )
  assert.ok(differences.some(d => d.kind === 'table' && d.name.includes('tags') && d.restored === null))
  assert.deepEqual(
    postgres.diffSchema(withoutTags, mine).filter(d => d.production !== null),
    [],
    'what only the restored copy has'
  )
})

test("the row diff's sides: the engine's reads of both sides pin the rows that differ by key", async () => {
  const [prod, copy] = await Promise.all([open(production, database, 'production'), open(cleanroom, restoredCopy, 'cleanroom')])
  const orders = (await prod.listTables()).find(table => table.name === 'orders')!
  const key = (await prod.primaryKeys()).get(tableKey(orders))
  assert.deepEqual(key, ['id'])
  const found = await pinDifferingRows(postgres.rowDiffSide(prod, orders, key), postgres.rowDiffSide(copy, orders, key), key, {
    maxRows: 10,
    showValues: false
  })
  assert.deepEqual({ missing: found.missing, extra: found.extra, changed: found.changed }, { missing: 1, extra: 1, changed: 1 })
  assert.deepEqual(
    found.keys.map(row => `${row.change} ${row.key}`),
    ['changed (id)=(3)', 'missing (id)=(4)', 'extra (id)=(9)']
  )
  // A session the engine did not open is refused, not read with another driver's SQL.
  assert.throws(() => postgres.rowDiffSide({} as SeamSession<TableRef>, orders, key), /reads through its own sessions/)
})

test("the client programs: pg_dump for production's major (the clean room's does not choose), or one line saying what to install", async () => {
  const [prod, room] = await Promise.all([open(production, database, 'production'), open(cleanroom, 'postgres', 'cleanroom')])
  const [productionFacts, cleanroomFacts] = await Promise.all([prod.facts(), room.facts()])
  const tools = await postgres.findClientTools(productionFacts, { ...cleanroomFacts, major: 99 })
  assert.ok(tools.pgDump.major >= 13 && tools.psql.major >= 13, JSON.stringify(tools))
  await assert.rejects(
    postgres.findClientTools({ ...productionFacts, major: 99 }, cleanroomFacts),
    /^UserError: No PostgreSQL client can dump production \(PostgreSQL 99\)/
  )
  await assert.rejects(
    postgres.findClientTools(productionFacts, cleanroomFacts, '/nonexistent/bin'),
    /^UserError: Input 'postgres-bin-dir' is '\/nonexistent\/bin', which does not exist/
  )
})

test("the sanitizer of a fresh dump: built from what the clean room knows and production's session, takes out what the clean room does not know, and says what it took", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-engine-'))
  tempDirs.push(dir)
  const room = await postgres.openMaintenance(postgres.parseUrl('cleanroom-url', cleanroom.url('postgres')))
  const prod = await open(production, database, 'production')
  try {
    // No standard_conforming_strings given: a fresh dump's is production's session's.
    const filter = await postgres.sanitizer.build(room, {
      tools: await postgres.findClientTools(await prod.facts(), await room.facts()),
      workFile: name => path.join(dir, name),
      production: prod
    })
    // With production's standard_conforming_strings on, 'a\\' ends its string at the backslash, so the
    // SET after it is a statement of its own (off, the string would go on, and the SET with it).
    const dump = [
      'SET statement_timeout = 0;',
      'SET transaction_timeout = 0;',
      "SELECT 'kept';",
      "SELECT 'a\\';",
      'SET transaction_timeout = 0;',
      ''
    ].join('\n')
    const [program, ...args] = filter.argv
    const sed = spawnSync(program, args, { input: dump, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } })
    assert.equal(sed.status, 0, sed.stderr)
    assert.equal(sed.stdout, ['SET statement_timeout = 0;', "SELECT 'kept';", "SELECT 'a\\';", ''].join('\n'))
    assert.deepEqual(filter.removed(), [{ parameter: 'transaction_timeout', lines: 2, rule: 'unknown-setting' }])
  } finally {
    await room.close()
  }
})

test("the drill's catalog: read inside production's snapshot through the engine's session", async () => {
  const prod = await open(production, database, 'production')
  await prod.pinSettings()
  await prod.beginSnapshot()
  const tables = await prod.listTables()
  const figures = await prod.tablesFigures(tables, false, true)
  const rowCounts = new Map(tables.map((table, index) => [tableKey(table), figures[index].rows ?? 0]))
  const catalog = await postgres.readDrillCatalog(prod, rowCounts)
  const orders = catalog.tables.find(table => table.name === 'orders')
  assert.ok(orders, JSON.stringify(catalog.tables.map(table => table.name)))
  assert.equal(orders.rows, 5)
  assert.ok(
    catalog.sequences.some(sequence => sequence.name === 'orders_id_seq'),
    JSON.stringify(catalog.sequences)
  )
})
