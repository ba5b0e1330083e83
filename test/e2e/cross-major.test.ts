import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../support/run-action.js'
import { NEWER_MAJOR, startNewerCluster } from '../support/newer-cluster.js'
import { tamperedClientDir } from '../support/tampered-client.js'
import { productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'

// Production 13 restored into a PostgreSQL 18 clean room, a normal upgrade rehearsal: every
// object the newer server prints differently (test/fixtures/cross-major.sql) must verify, and a
// corruption of those same objects must still be caught and named.

let production: Cluster
let newer: Cluster
let database: string
const reader = uniqueName('xm_reader')
const writer = uniqueName('xm_writer')

before(async () => {
  production = await productionCluster()
  database = uniqueName('cross_major')
  // Roles are global to the shared server: this file's own names.
  const fixture = readFileSync(path.join(repoRoot, 'test/fixtures/cross-major.sql'), 'utf8')
    .replace(/\bxm_reader\b/g, reader)
    .replace(/\bxm_writer\b/g, writer)
  await production.createDatabase(database, fixture)
  newer = await startNewerCluster('cross-major-clean')
})

after(async () => {
  await newer?.stop()
  await production?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined)
  for (const role of [reader, writer]) await production?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
})

function run(extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    {
      'production-url': production.url(database, { password: null }),
      'production-password': production.password,
      'cleanroom-url': newer.url('postgres', { password: null }),
      'cleanroom-password': newer.password,
      verify: 'checksums',
      // Owners and privileges are restored only by a superuser.
      'restore-role': 'superuser',
      ...extra
    },
    { timeoutMs: 240_000 }
  )
}

function explain(run: ActionRun): string {
  const report = run.report ?? {}
  return `exit ${run.exitCode}, result ${run.outputs.result}: ${JSON.stringify(report.schema ?? []).slice(0, 4000)}\n${report.error ?? ''}\n${run.stdout.slice(-2000)}`
}

test(`an untouched PostgreSQL 13 database verifies in a PostgreSQL ${NEWER_MAJOR} clean room, owners and privileges included`, async () => {
  const result = await run()
  assert.equal(result.outputs.result, 'verified', explain(result))
  assert.equal(result.exitCode, 0, explain(result))
  assert.match(result.report.production.serverVersion, /^13\./)
  assert.match(result.report.cleanroom.serverVersion, new RegExp(`^${NEWER_MAJOR}\\.`))
  assert.deepEqual(result.report.schema, [])
  assert.ok(result.report.tables.length >= 10, `${result.report.tables.length} tables compared`)
  // Owners and privileges were restored and compared, not skipped.
  assert.doesNotMatch(result.summary, /not verified/i)
})

test(`by default (unprivileged restore, owners and privileges replayed apart) ACLs verify across majors, stand-ins named back`, async () => {
  // postgres owns the table in production and exists in the clean room: a stand-in owns it there.
  // PostgreSQL ${NEWER_MAJOR} gives an owner MAINTAIN by default, so the ACLs differ as texts and are
  // settled as changes to each server's default, the stand-in read as postgres.
  const own = uniqueName('xm_default')
  await production.createDatabase(
    own,
    `CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1), (2);
     GRANT SELECT ON public.t TO ${reader};`
  )
  try {
    const result = await runAction(
      {
        'production-url': production.url(own, { password: null }),
        'production-password': production.password,
        'cleanroom-url': newer.url('postgres', { password: null }),
        'cleanroom-password': newer.password,
        verify: 'checksums'
      },
      { timeoutMs: 240_000 }
    )
    assert.equal(result.outputs.result, 'verified', explain(result))
    assert.equal(result.report.restoreRights.superuser, false)
    assert.equal(result.report.privileges.compared, true, explain(result))
    assert.ok(result.report.privileges.rolesExisting.includes('postgres'), explain(result))
    assert.deepEqual(result.report.schema, [])
  } finally {
    await production.query(`DROP DATABASE IF EXISTS ${own}`).catch(() => undefined)
  }
})

test(`a corruption of what ${NEWER_MAJOR} prints differently is still caught across majors and named`, async () => {
  const binDir = tamperedClientDir(
    [
      // A view's condition, a procedure's body, an aggregate's initial state, a grant, a revoke of the owner's own privilege.
      `sed -i 's/customers\\.score > (5)::numeric/customers.score > (6)::numeric/' "$DUMP"`,
      `sed -i 's/SET score = score + a/SET score = score - a/' "$DUMP"`,
      `sed -i "s/^    INITCOND = '{}'$/    INITCOND = '{7}'/" "$DUMP"`,
      `sed -i '/^GRANT INSERT ON TABLE app\\.orders TO /d' "$DUMP"`,
      `sed -i '/^REVOKE ALL ON TABLE app\\.log FROM /d' "$DUMP"`
    ].join('\n')
  )
  const result = await run({ 'postgres-bin-dir': binDir })
  assert.equal(result.outputs.result, 'mismatch', explain(result))
  const named = result.report.schema.map((d: { kind: string; name: string }) => `${d.kind} ${d.name}`).sort()
  assert.deepEqual(
    named,
    [
      'function app.collect(integer)',
      'function app.touch(integer, text, integer)',
      'privileges table app.log',
      'privileges table app.orders',
      'view app.simple'
    ],
    explain(result)
  )
})

test(`what production 13 holds that ${NEWER_MAJOR} rejects stops the run before the dump, with one line naming each object`, async () => {
  const skewed = uniqueName('cross_major_skew')
  await production.createDatabase(
    skewed,
    `CREATE TABLE keep (id integer PRIMARY KEY);
     CREATE FUNCTION fact(bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 1::numeric';
     CREATE OPERATOR !!! (FUNCTION = fact, LEFTARG = bigint);
     CREATE AGGREGATE pcollect(anyelement) (SFUNC = array_append, STYPE = anyarray, INITCOND = '{}');
     CREATE TABLE gp (a integer, b integer);
     CREATE TABLE gc (a integer, b integer GENERATED ALWAYS AS (a * 3) STORED) INHERITS (gp);`
  )
  try {
    const result = await runAction(
      {
        'production-url': production.url(skewed, { password: null }),
        'production-password': production.password,
        'cleanroom-url': newer.url('postgres', { password: null }),
        'cleanroom-password': newer.password
      },
      { timeoutMs: 120_000 }
    )
    assert.equal(result.exitCode, 1, explain(result))
    const error = result.report?.error ?? ''
    assert.doesNotMatch(error, /\n/)
    assert.match(error, /postfix operators \(!!! \(bigint, NONE\)\).*PostgreSQL 13 or older/)
    assert.match(error, /aggregate public\.pcollect\(anyelement\)\).*PostgreSQL 13 or older/)
    assert.match(error, /public\.gc\.b\).*PostgreSQL 15 or older/)
    // pg_dump never ran, and the scratch database made meanwhile is gone.
    assert.doesNotMatch(result.stdout, /\[command\].*stream\.sh/)
    assert.match(result.stdout, /Dropped scratch database/)
  } finally {
    await production.query(`DROP DATABASE IF EXISTS ${skewed} WITH (FORCE)`).catch(() => undefined)
  }
})
