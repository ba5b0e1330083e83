import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CATALOG_KINDS, UNREADABLE_MAPPING_OPTIONS } from '../../../../src/engines/postgres/catalog-kinds.js'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { readLargeObjects } from '../../../../src/engines/postgres/large-objects.js'
import {
  SCHEMA_KINDS,
  diffSchema,
  readSchemaFingerprint,
  type SchemaObject
} from '../../../../src/engines/postgres/schema-fingerprint.js'
import { installFixtureExtension } from '../../../support/fixture-extension.js'
import { startNewerCluster } from '../../../support/newer-cluster.js'
import { productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// The catalog kinds of fixtures/everything.sql, read on PostgreSQL 13 and 18; the kinds a dump
// cannot carry into the test servers (subscriptions, security labels) are made here directly.

const EVERYTHING = readFileSync(new URL('../../../fixtures/everything.sql', import.meta.url), 'utf8')

let production: Cluster
let newer: Cluster | undefined
let database: string
const sessions: DatabaseSession[] = []

before(async () => {
  installFixtureExtension()
  production = await productionCluster()
  database = uniqueName('kinds')
  await production.createDatabase(database, EVERYTHING)
})

after(async () => {
  for (const session of sessions) await session.close()
  await production.query(`DROP SUBSCRIPTION IF EXISTS kinds_sub_${process.pid}`, database).catch(() => undefined)
  await newer?.stop()
})

async function open(cluster: Cluster, db: string, user?: { user: string; password: string }): Promise<DatabaseSession> {
  const session = await DatabaseSession.open(parseConnectionUrl('test', cluster.url(db, user)), 'cleanroom')
  sessions.push(session)
  return session
}

async function fingerprint(session: DatabaseSession): Promise<SchemaObject[]> {
  return [...(await readSchemaFingerprint(session)), ...(await readLargeObjects(session))]
}

const named = (objects: { kind: string; name: string }[]) => objects.map(object => `${object.kind} ${object.name}`)

test('every kind is fingerprinted, and a user mapping never shows its options', async () => {
  const subscription = `kinds_sub_${process.pid}`
  // A subscription without a connection (no slot, no publisher); a label from a provider nobody loaded.
  await production.query(
    `CREATE SUBSCRIPTION ${subscription} CONNECTION 'host=192.0.2.1 dbname=none' PUBLICATION kinds_pub
     WITH (connect = false, enabled = false, slot_name = NONE)`,
    database
  )
  await production.query(
    `INSERT INTO pg_catalog.pg_seclabel VALUES ('kinds.orders'::regclass, 'pg_class'::regclass, 0, 'lazarus_test', 'secret')`,
    database
  )
  const objects = await fingerprint(await open(production, database))
  const kinds = new Set(objects.map(object => object.kind))
  assert.deepEqual(
    SCHEMA_KINDS.filter(kind => !kinds.has(kind)),
    [],
    'kinds missing from fixtures/everything.sql'
  )
  const byName = new Map(objects.map(object => [`${object.kind} ${object.name}`, object.definition]))
  assert.equal(byName.get(`subscription ${subscription}`), 'PUBLICATION kinds_pub NO SLOT')
  assert.equal(byName.get('security label table kinds.orders FOR lazarus_test'), 'secret')
  assert.match(
    byName.get('user mapping FOR public SERVER kinds_server') ?? '',
    /^OPTIONS \(password, user\) digest [0-9a-f]{16}$/
  )
  assert.ok(
    objects.every(object => !object.definition.includes('hunter2')),
    'a user mapping password in the fingerprint'
  )
  assert.equal(byName.get('large object 424203'), '0 bytes, md5 74be16979710d4c4e7c6647856088456')
  assert.match(byName.get('function kinds.total(numeric)') ?? '', /MINVFUNC = numeric_sub\(numeric,numeric\).* PARALLEL = SAFE/)
  assert.equal(byName.get('partitioned index kinds.split_at_idx'), 'VALID ATTACHED kinds.split_a_at_idx, kinds.split_b_at_idx')
  assert.equal(byName.get('column settings kinds.tuned.body'), 'STATISTICS 500 STORAGE EXTERNAL')
  assert.equal(byName.get('table settings kinds.tuned'), 'TOAST WITH (autovacuum_enabled=false)')

  // Each changes exactly its own object.
  const before = objects
  await production.query(
    `ALTER SUBSCRIPTION ${subscription} SET PUBLICATION kinds_all WITH (refresh = false);
     UPDATE pg_catalog.pg_seclabel SET label = 'public' WHERE provider = 'lazarus_test';
     ALTER INDEX kinds.tuned_expr_idx ALTER COLUMN 1 SET STATISTICS 301;`,
    database
  )
  assert.deepEqual(named(diffSchema(before, await fingerprint(await open(production, database)))), [
    'column settings kinds.tuned_expr_idx.expr',
    'security label table kinds.orders FOR lazarus_test',
    `subscription ${subscription}`
  ])
})

test('user mapping options a role may not read are compared by existence only, and said so', async () => {
  const role = uniqueName('reader')
  await production.query(`CREATE ROLE ${role} LOGIN PASSWORD 'reader-pass'`)
  try {
    await production.query(`GRANT USAGE ON SCHEMA kinds, data TO ${role}`, database)
    // Large objects are left out: a role that may not read them cannot dump them either.
    const superuser = await readSchemaFingerprint(await open(production, database))
    const reader = await readSchemaFingerprint(await open(production, database, { user: role, password: 'reader-pass' }))
    const mapping = reader.find(object => object.kind === 'user mapping')
    assert.equal(mapping?.definition, UNREADABLE_MAPPING_OPTIONS)
    assert.deepEqual(
      named(diffSchema(superuser, reader)).filter(name => name.startsWith('user mapping')),
      [],
      'unreadable options compared'
    )
    // A missing mapping is still a difference.
    const withoutMapping = reader.filter(object => object.kind !== 'user mapping')
    assert.deepEqual(named(diffSchema(superuser, withoutMapping)), ['user mapping FOR public SERVER kinds_server'])
  } finally {
    await production.query(`DROP OWNED BY ${role}`, database)
    await production.query(`DROP ROLE ${role}`)
  }
})

test('the catalog kinds and large objects read alike on PostgreSQL 13 and 18', { timeout: 180_000 }, async () => {
  newer = await startNewerCluster('kinds-newer')
  await newer.createDatabase('everything', EVERYTHING)
  const old = await fingerprint(await open(production, database))
  const fresh = await fingerprint(await open(newer, 'everything'))
  // Objects made by the first test only (subscription, label, index statistics) are left out, and
  // so are the older kinds, whose deparsed text (views, procedures) and extension versions differ by major.
  const mine = new Set<string>([...CATALOG_KINDS, 'large object'])
  const differences = diffSchema(old, fresh).filter(
    difference =>
      mine.has(difference.kind) &&
      !['subscription', 'security label'].includes(difference.kind) &&
      !difference.name.includes('tuned_expr_idx')
  )
  assert.deepEqual(differences, [])
})
