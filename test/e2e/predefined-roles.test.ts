import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../support/run-action.js'
import { NEWER_MAJOR, startNewerCluster } from '../support/newer-cluster.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { predefinedRolesNewerThan } from '../../src/engines/postgres/predefined-roles.js'
import { quoteLiteral } from '../../src/engines/postgres/figure-queries.js'

// Issue 11: a production on PostgreSQL 15 or later names predefined roles a PostgreSQL 13 clean
// room neither has nor can create (pg_database_owner owns schema public, GRANT ... TO
// pg_read_all_data...). Each is played by a stand-in, in both restore modes, and compared by name.
//
// No pg_dump 18 is installed (Debian ships 15, which refuses to dump 18), so the backup is a plain
// dump laid out as pg_dump 18 writes it (dumpNamespace, dumpACL, dumpDefaultACL, large objects),
// and the real PostgreSQL 18 production is that very dump restored: the backup holds exactly what
// production holds. It is verified as a stored backup against production as it is now.

const FIXTURE = path.join(repoRoot, 'test/fixtures/skew/pg-dump-18-predefined-roles.sql')
const dump = readFileSync(FIXTURE, 'utf8')
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-predefined-'))
let production: Cluster
let cleanroom: Cluster
const database = uniqueName('predefined')

before(async () => {
  cleanroom = await cleanroomCluster()
  production = await startNewerCluster('predefined-production')
  await production.query('CREATE ROLE lz_pr_app NOLOGIN')
  await production.createDatabase(database, dump)
})

after(async () => {
  await production?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The backup, with `edit` applied (a corrupting backup pipeline). */
function backup(name: string, edit: (text: string) => string = text => text): string {
  const file = path.join(dir, `${name}.sql`)
  writeFileSync(file, edit(dump))
  return file
}

function run(file: string, extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    {
      'backup-path': file,
      'production-url': production.url(database, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password,
      ...extra
    },
    { timeoutMs: 240_000 }
  )
}

function explain(result: ActionRun): string {
  const report = result.report ?? {}
  return `exit ${result.exitCode}, result ${result.outputs.result}: ${JSON.stringify(report.schema ?? []).slice(0, 4000)}\n${report.error ?? ''}\n${result.stdout.slice(-4000)}`
}

/**
 * The roles a run left in the clean room: production's role (this file's own), every role the
 * run's log says it created, its stand-ins, and any role marked as this run's. Pinned or not: at
 * the end of a run nothing of it may remain. Other runs (other test files) on the shared clean room
 * have their own run ids, so their roles, in use meanwhile, are not counted.
 */
async function leftoverRoles(result: ActionRun): Promise<string[]> {
  const runId = /Created scratch database lazarus_(\d{14}_[0-9a-f]{6})_/.exec(result.stdout)?.[1]
  assert.ok(runId, `the run's id is in its log\n${result.stdout.slice(-2000)}`)
  const created = [...result.stdout.matchAll(/Created role "?([^" ]+)"?/g)].map(match => match[1])
  assert.ok(
    created.some(name => name.startsWith(`lazarus_as_${runId}_`)),
    `the run created stand-ins\n${result.stdout.slice(-2000)}`
  )
  const rows = await cleanroom.query<{ rolname: string }>(
    `SELECT r.rolname FROM pg_roles r
     WHERE r.rolname IN (${['lz_pr_app', ...created].map(quoteLiteral).join(', ')})
       OR starts_with(r.rolname, ${quoteLiteral(`lazarus_as_${runId}_`)})
       OR pg_catalog.shobj_description(r.oid, 'pg_authid') LIKE ${quoteLiteral(`Lazarus role% of run ${runId}`)}`
  )
  return rows.map(row => row.rolname)
}

test('the fixture names every predefined role PostgreSQL 13 lacks (the whole class)', async () => {
  const named = await production.query<{ role: string }>(
    `SELECT DISTINCT r.rolname AS role FROM pg_roles r
     WHERE r.rolname LIKE 'pg\\_%' AND (EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspowner = r.oid)
       OR EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = r.oid)
       OR EXISTS (SELECT 1 FROM pg_attribute t, aclexplode(t.attacl) a WHERE a.grantee = r.oid)
       OR EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = r.oid)
       OR EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a WHERE a.grantee = r.oid)
       OR EXISTS (SELECT 1 FROM pg_largeobject_metadata m, aclexplode(m.lomacl) a WHERE a.grantee = r.oid)
       OR EXISTS (SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = r.oid OR d.defaclrole = r.oid))`,
    database
  )
  const newer = predefinedRolesNewerThan(13)
  assert.deepEqual(
    named
      .map(row => row.role)
      .filter(role => newer.includes(role))
      .sort(),
    newer,
    `every predefined role newer than 13 is named by PostgreSQL ${NEWER_MAJOR}'s catalog`
  )
})

for (const mode of ['unprivileged', 'superuser'] as const) {
  test(`restore-role ${mode}: owners and privileges of PostgreSQL ${NEWER_MAJOR}'s predefined roles verify in a PostgreSQL 13 clean room`, async () => {
    const result = await run(backup(`untouched-${mode}`), { 'restore-role': mode })
    assert.equal(result.outputs.result, 'restored', explain(result))
    assert.equal(result.exitCode, 0, explain(result))
    assert.deepEqual(result.report.schema, [], explain(result))
    assert.equal(result.report.privileges.compared, true, explain(result))
    assert.match(result.report.cleanroom.serverVersion, /^13\./)
    assert.doesNotMatch(result.summary, /not verified/i)
    // Each played by a stand-in, named in the log.
    for (const role of ['pg_database_owner', 'pg_read_all_data', 'pg_signal_autovacuum_worker']) {
      assert.match(result.stdout, new RegExp(`roles played by stand-ins: [^\\n]*"${role}"`), explain(result))
    }
    assert.deepEqual(await leftoverRoles(result), [], 'the run removed its roles')
  })
}

for (const mode of ['unprivileged', 'superuser'] as const) {
  test(`restore-role ${mode}: a lost GRANT to a predefined role, and a changed owner, are named`, async () => {
    const file = backup(`corrupt-${mode}`, text =>
      text
        .replace('GRANT SELECT ON TABLE shared.items TO pg_read_all_data;\n', '')
        .replace('ALTER SEQUENCE shared.counter OWNER TO pg_database_owner;', 'ALTER SEQUENCE shared.counter OWNER TO lz_pr_app;')
    )
    const result = await run(file, { 'restore-role': mode })
    assert.equal(result.outputs.result, 'mismatch', explain(result))
    const named = (result.report.schema as { kind: string; name: string }[]).map(d => `${d.kind} ${d.name}`)
    assert.ok(named.includes('privileges table shared.items'), explain(result))
    assert.ok(named.includes('owner sequence shared.counter'), explain(result))
    assert.deepEqual(await leftoverRoles(result), [], 'the run removed its roles')
  })
}
