import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { runAction } from '../support/run-action.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'

// A schema-per-tenant database: 100 schemas of 100 small tables with a primary key each, 20,000
// relations (no more, so that the test stays fast). Restored in one transaction it would need a lock on each,
// far past the clean room's lock table at its default max_locks_per_transaction; a plain
// `pg_dump | psql` restores it, and so must Lazarus.

const SCHEMAS = 100
const TABLES_PER_SCHEMA = 100

let production: Cluster
let cleanroom: Cluster
let database: string

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  database = uniqueName('many_tables')
  // One DO block per schema, each its own transaction: the build never holds many locks at once.
  const tenant = (schema: number) => `
DO $$
BEGIN
  CREATE SCHEMA tenant_${schema};
  FOR t IN 1..${TABLES_PER_SCHEMA} LOOP
    EXECUTE format('CREATE TABLE tenant_${schema}.t%s (id int PRIMARY KEY, n int)', t);
    EXECUTE format('INSERT INTO tenant_${schema}.t%s SELECT g, g * %s FROM generate_series(1, 3) g', t, t);
  END LOOP;
END $$;`
  const started = Date.now()
  await production.createDatabase(database, Array.from({ length: SCHEMAS }, (_, i) => tenant(i + 1)).join('\n'))
  console.log(`many-tables: production built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

test('10,000 tables restore and verify although no single transaction could lock them all in the clean room', async () => {
  // The clean room's lock table holds max_locks_per_transaction x (connections + workers) locks:
  // far fewer than the 20,000 tables and indexes a single-transaction restore would hold (the
  // lock table has some slack beyond that product, but not that much).
  const [settings] = await cleanroom.query<{ locks: string; backends: string }>(
    `SELECT current_setting('max_locks_per_transaction') AS locks,
            (current_setting('max_connections')::int + current_setting('max_worker_processes')::int
             + current_setting('autovacuum_max_workers')::int + current_setting('max_wal_senders')::int + 1)::text AS backends`
  )
  assert.ok(Number(settings.locks) * Number(settings.backends) * 2 < SCHEMAS * TABLES_PER_SCHEMA * 2, JSON.stringify(settings))

  const run = await runAction(
    {
      'production-url': production.url(database, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password,
      verify: 'checksums',
      jobs: '4'
    },
    { timeoutMs: 1_200_000 }
  )
  console.log(`many-tables: timings ${JSON.stringify(run.report.timings)}, timeline ${JSON.stringify(run.report.timeline)}`)
  assert.equal(run.exitCode, 0, run.stdout.slice(-4000))
  assert.equal(run.outputs.result, 'verified')
  assert.equal(run.outputs.tables, String(SCHEMAS * TABLES_PER_SCHEMA))
  assert.equal(run.report.tables.filter((table: { production: { rows: number } }) => table.production.rows === 3).length, 10_000)
})
