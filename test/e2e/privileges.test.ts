import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { quoteIdent, quoteLiteral } from '../../src/engines/postgres/figure-queries.js'
import { explain, runPostStep } from '../support/action-process.js'
import { runAction as runActionProcess, type ActionRun } from '../support/run-action.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'

// Owners and privileges restored and compared, through the bundle against the real servers.
// Roles are global to a cluster and test files run at once: every role name here is unique.

let production: Cluster
let cleanroom: Cluster
let database: string
const prefix = uniqueName('role')
const role = {
  app: `${prefix}_app`,
  reporting: `${prefix}_reporting`,
  // Hostile names: SQL in a name, a line break, a quote.
  injection: `${prefix}"; DROP TABLE s.t; --`,
  newline: `${prefix}\nline`,
  // Exists in the clean room before Lazarus runs: used as it is, never altered or dropped.
  existing: `${prefix}_existing`,
  // Named only by grants on an extension's and a system object, which pg_dump writes too.
  monitor: `${prefix}_monitor`,
  // A superuser in production, owning what only a superuser may own.
  super: `${prefix}_super`
}
const q = quoteIdent
const EXISTING_COMMENT = 'belongs to the clean room, not to Lazarus'

/** Privileges of every kind Lazarus compares, granted to and owned by the roles above. */
const PRIVILEGES_SQL = `
CREATE SCHEMA s AUTHORIZATION ${q(role.app)};
CREATE TABLE s.t (id int PRIMARY KEY, v text);
INSERT INTO s.t SELECT g, 'v' || g FROM generate_series(1, 20) g;
ALTER TABLE s.t OWNER TO ${q(role.app)};
CREATE TABLE public.u (id serial PRIMARY KEY, w text);
INSERT INTO public.u (w) VALUES ('a'), ('b');
CREATE VIEW s.tv AS SELECT id FROM s.t;
ALTER VIEW s.tv OWNER TO ${q(role.reporting)};
CREATE TYPE s.mood AS ENUM ('ok', 'sad');
ALTER TYPE s.mood OWNER TO ${q(role.app)};
REVOKE USAGE ON TYPE s.mood FROM PUBLIC;
GRANT USAGE ON TYPE s.mood TO ${q(role.injection)};
GRANT USAGE ON SCHEMA s TO ${q(role.reporting)}, ${q(role.injection)}, ${q(role.existing)};
GRANT SELECT ON s.t TO ${q(role.reporting)};
GRANT SELECT ON s.t TO ${q(role.existing)};
GRANT INSERT ON s.t TO ${q(role.reporting)} WITH GRANT OPTION;
SET ROLE ${q(role.reporting)};
GRANT INSERT ON s.t TO ${q(role.injection)};
RESET ROLE;
GRANT SELECT (w), UPDATE (w) ON public.u TO ${q(role.newline)};
GRANT USAGE ON SEQUENCE public.u_id_seq TO ${q(role.app)};
CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION s.f() OWNER TO ${q(role.app)};
REVOKE EXECUTE ON FUNCTION s.f() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION s.f() TO ${q(role.reporting)};
ALTER DEFAULT PRIVILEGES FOR ROLE ${q(role.app)} IN SCHEMA s GRANT SELECT ON TABLES TO ${q(role.reporting)};
ALTER DEFAULT PRIVILEGES FOR ROLE ${q(role.app)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
SELECT lo_create(424242);
ALTER LARGE OBJECT 424242 OWNER TO ${q(role.reporting)};
GRANT SELECT ON LARGE OBJECT 424242 TO ${q(role.app)};
CREATE FOREIGN DATA WRAPPER w;
CREATE SERVER srv FOREIGN DATA WRAPPER w;
ALTER SERVER srv OWNER TO ${q(role.app)};
GRANT USAGE ON FOREIGN SERVER srv TO ${q(role.reporting)};
CREATE USER MAPPING FOR ${q(role.reporting)} SERVER srv;
CREATE FOREIGN DATA WRAPPER w_super;
ALTER FOREIGN DATA WRAPPER w_super OWNER TO ${q(role.super)};
CREATE FUNCTION s.ddl_watch() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
CREATE EVENT TRIGGER ddl_watch ON ddl_command_start EXECUTE FUNCTION s.ddl_watch();
ALTER EVENT TRIGGER ddl_watch OWNER TO ${q(role.super)};
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text) TO ${q(role.monitor)};
REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;
GRANT USAGE ON LANGUAGE plpgsql TO ${q(role.monitor)};
ALTER TABLE s.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON s.t FOR SELECT TO ${q(role.newline)} USING (id > 0);
`

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  for (const name of Object.values(role)) {
    await production.query(`CREATE ROLE ${q(name)} NOLOGIN${name === role.super ? ' SUPERUSER' : ''}`)
  }
  await cleanroom.query(`CREATE ROLE ${q(role.existing)} NOLOGIN CREATEDB CONNECTION LIMIT 3`)
  await cleanroom.query(`COMMENT ON ROLE ${q(role.existing)} IS ${quoteLiteral(EXISTING_COMMENT)}`)
  database = uniqueName('privileges')
  await production.createDatabase(database, PRIVILEGES_SQL)
})

after(async () => {
  await production?.query(`DROP DATABASE IF EXISTS ${q(database)}`).catch(() => undefined)
  for (const name of Object.values(role)) {
    await production?.query(`DROP ROLE IF EXISTS ${q(name)}`).catch(() => undefined)
    await cleanroom?.query(`DROP ROLE IF EXISTS ${q(name)}`).catch(() => undefined)
  }
})

function inputs(extra: Record<string, string> = {}, cleanroomUrl?: string): Record<string, string> {
  return {
    'production-url': production.url(database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroomUrl ?? cleanroom.url('postgres', { password: null }),
    'cleanroom-password': cleanroom.password,
    // Owners and privileges are restored only by a superuser (and the fixture holds what only one can restore).
    'restore-role': 'superuser',
    ...extra
  }
}

/** The clean room's roles of this file, with their comment and the attributes a run could alter. */
async function cleanroomRoles(): Promise<Map<string, { comment: string | null; createdb: boolean; connlimit: number }>> {
  const rows = await cleanroom.query<{ name: string; comment: string | null; createdb: boolean; connlimit: number }>(
    `SELECT rolname AS name, shobj_description(oid, 'pg_authid') AS comment, rolcreatedb AS createdb, rolconnlimit AS connlimit
     FROM pg_roles WHERE starts_with(rolname, ${quoteLiteral(prefix)})`
  )
  return new Map(rows.map(({ name, ...rest }) => [name, rest]))
}

/** The ids of this file's runs: other test files' runs share the clean room and its roles at the same time. */
const ourRunIds = new Set<string>()

async function runAction(...args: Parameters<typeof runActionProcess>): Promise<ActionRun> {
  const run = await runActionProcess(...args)
  for (const match of run.stdout.matchAll(/lazarus_(?:restore_|drill_)?(\d{14}_[0-9a-f]{6})/g)) ourRunIds.add(match[1]!)
  return run
}

/** This file's runs' own roles (the restore role, the drill's) still in the clean room. */
async function runRolesLeft(kind: 'restore' | 'drill'): Promise<string[]> {
  const rows = await cleanroom.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE rolname LIKE 'lazarus\\_${kind}\\_%'`
  )
  return rows.map(row => row.rolname).filter(name => ourRunIds.has(name.slice(`lazarus_${kind}_`.length)))
}

/** Lazarus leaves no role of its own behind, and the pre-existing role exactly as it was. */
async function assertRolesCleanedUp(): Promise<void> {
  const left = await cleanroomRoles()
  assert.deepEqual([...left.keys()], [role.existing], 'only the pre-existing role remains')
  assert.deepEqual(left.get(role.existing), { comment: EXISTING_COMMENT, createdb: true, connlimit: 3 })
  assert.deepEqual(await runRolesLeft('drill'), [], "the drill's own role is dropped too")
  assert.deepEqual(await runRolesLeft('restore'), [], 'the restore role is dropped too')
}

function log(run: ActionRun): string {
  return run.stdout.slice(-8000)
}

test('owners, ACLs, column privileges and default privileges are restored and verified; hostile names are harmless', async () => {
  const run = await runAction(inputs())
  assert.equal(run.exitCode, 0, log(run))
  assert.equal(run.outputs.result, 'verified', log(run))
  const check = run.report.privileges
  assert.equal(check.compared, true)
  assert.deepEqual(
    [...check.rolesCreated].sort(),
    [role.app, role.injection, role.newline, role.reporting, role.monitor, role.super].sort()
  )
  assert.match(run.stdout, new RegExp(`Created role "${role.super}" \\(NOLOGIN SUPERUSER\\)`))
  assert.match(run.stdout, new RegExp(`Created role "${role.monitor}" \\(NOLOGIN\\)`))
  assert.ok(check.rolesExisting.includes(role.existing), 'the pre-existing role is used as it is')
  assert.ok(check.rolesExisting.includes('postgres'))
  assert.match(run.summary, /Owners and privileges<\/strong> restored and compared/)
  // A line break in a role name never starts a log line of its own (a workflow command).
  assert.ok(!run.stdout.split('\n').some(line => line.startsWith('line')), 'a name cannot start a log line')
  await assertRolesCleanedUp()
})

test('by default (restore-role: unprivileged) a database holding what only a superuser can restore is refused before the dump, in one line', async () => {
  const run = await runAction(inputs({ 'restore-role': '' }))
  assert.equal(run.exitCode, 1, log(run))
  assert.equal(run.outputs.result, 'error', log(run))
  const errors = run.stdout.split('\n').filter(line => line.startsWith('::error'))
  assert.equal(errors.length, 1, log(run))
  assert.match(errors[0], /Production holds what only a superuser can restore \(.*event trigger ddl_watch/)
  assert.match(errors[0], /foreign-data wrapper w\b/)
  assert.match(errors[0], /set restore-role: superuser/)
  assert.doesNotMatch(run.stdout, /\[command\].*pg_dump|stream\.sh/, 'nothing was dumped')
  assert.ok(ourRunIds.size > 0, 'the run id is in the log')
  assert.deepEqual(await runRolesLeft('restore'), [], 'the restore role is dropped')
  await assertRolesCleanedUp()
})

test('a dump that lost a GRANT, a default privilege, a column privilege or an owner is a mismatch naming each', async () => {
  // Stands in for a backup taken with a tool or role that drops them.
  const tamper = [
    `sed -i -e '/^GRANT SELECT ON TABLE s.t TO ${role.reporting};$/d'`,
    `-e '/^ALTER DEFAULT PRIVILEGES FOR ROLE ${role.app} IN SCHEMA s GRANT SELECT/d'`,
    `-e 's/^ALTER FUNCTION s.f() OWNER TO ${role.app};$/ALTER FUNCTION s.f() OWNER TO ${role.reporting};/'`,
    `-e '/^GRANT SELECT(w),UPDATE(w) ON TABLE public.u TO /,/;$/d'`,
    '"$DUMP"'
  ].join(' ')
  const run = await runAction(inputs({ 'postgres-bin-dir': tamperedClientDir(tamper) }))
  assert.equal(run.outputs.result, 'mismatch', log(run))
  assert.notEqual(run.exitCode, 0)
  const named = (run.report.schema as { kind: string; name: string }[]).map(item => `${item.kind}: ${item.name}`)
  assert.deepEqual(named.sort(), [
    `default privileges: for role ${role.app} in schema s on tables`,
    'owner: function s.f()',
    // Its grants are now made by another owner: the ACL's grantor changes with it.
    'privileges: function s.f()',
    'privileges: table column public.u.w',
    'privileges: table s.t'
  ])
  const owner = run.report.schema.find((item: { kind: string }) => item.kind === 'owner')
  assert.equal(owner.production, role.app)
  assert.equal(owner.restored, role.reporting)
  await assertRolesCleanedUp()
})

test('lost grants and changed owners of schemas, types, sequences, large objects and foreign servers are named too', async () => {
  const tamper = [
    `sed -i -e 's/^ALTER SCHEMA s OWNER TO .*;$/ALTER SCHEMA s OWNER TO ${role.reporting};/'`,
    `-e 's/^ALTER LARGE OBJECT 424242 OWNER TO .*;$/ALTER LARGE OBJECT 424242 OWNER TO ${role.app};/'`,
    "-e '/^GRANT [A-Z,]* ON TYPE s.mood TO /d'",
    "-e '/^GRANT [A-Z,]* ON SEQUENCE public.u_id_seq TO /d'",
    "-e '/^GRANT [A-Z,]* ON FOREIGN SERVER srv TO /d'",
    '"$DUMP"'
  ].join(' ')
  const run = await runAction(inputs({ 'postgres-bin-dir': tamperedClientDir(tamper) }))
  assert.equal(run.outputs.result, 'mismatch', log(run))
  const named = (run.report.schema as { kind: string; name: string }[]).map(item => `${item.kind}: ${item.name}`)
  assert.deepEqual(named.sort(), [
    'owner: large object 424242',
    'owner: schema s',
    // A new owner's ACL names it: the owner's own privileges move with it.
    'privileges: large object 424242',
    'privileges: schema s',
    'privileges: sequence public.u_id_seq',
    'privileges: server srv',
    'privileges: type s.mood'
  ])
  await assertRolesCleanedUp()
})

test('drop-grant and change-owner are caught by the privileges comparison and named', async () => {
  const run = await runAction(inputs({ sabotage: 'drop-grant,change-owner' }))
  assert.equal(run.exitCode, 0, log(run))
  const [dropGrant, changeOwner] = run.report.sabotage
  assert.equal(dropGrant.operator, 'drop-grant')
  assert.equal(dropGrant.target, 'privileges on table s.t')
  assert.equal(dropGrant.detected, true, dropGrant.evidence)
  assert.equal(dropGrant.detectedBy, 'privileges')
  assert.match(dropGrant.evidence, /GRANT .* ON TABLE s\.t TO .* removed from the dump/)
  assert.equal(changeOwner.operator, 'change-owner')
  assert.equal(changeOwner.target, 'owner of table s.t')
  assert.equal(changeOwner.detected, true, changeOwner.evidence)
  assert.equal(changeOwner.detectedBy, 'privileges')
  assert.match(changeOwner.evidence, /owner changed from .* to .*; owner of table s\.t/)
  await assertRolesCleanedUp()
})

test('two runs sharing the clean room and its roles at once both verify, and leave no role behind', async () => {
  const runs = await Promise.all([
    runAction(inputs({ sabotage: 'change-owner' })),
    runAction(inputs()),
    runAction(inputs({ sabotage: 'drop-grant' }))
  ])
  for (const run of runs) {
    assert.equal(run.exitCode, 0, log(run))
    assert.equal(run.outputs.result, 'verified')
    assert.equal(run.report.privileges.compared, true)
  }
  await assertRolesCleanedUp()
})

test('a role Lazarus marked but left behind (a killed run) is adopted and dropped; an unmarked one is never touched', async () => {
  // What a run killed before its cleanup leaves: a marked role.
  await cleanroom.query(`CREATE ROLE ${q(role.app)} NOLOGIN`)
  await cleanroom.query(`COMMENT ON ROLE ${q(role.app)} IS 'Lazarus role of run 20200101000000_dead00'`)
  const run = await runAction(inputs())
  assert.equal(run.outputs.result, 'verified', log(run))
  assert.ok(run.report.privileges.rolesCreated.includes(role.app))
  await assertRolesCleanedUp()
})

test('a clean-room role that is not a superuser restores as before and reports owners and privileges as not verified', async () => {
  const user = uniqueName('nosuper')
  const password = 'not-a-secret-for-tests'
  await cleanroom.query(`CREATE ROLE ${user} LOGIN CREATEDB CREATEROLE PASSWORD ${quoteLiteral(password)}`)
  try {
    // The policy names a role the clean room lacks: restored without it, so only for this test, none.
    const plain = uniqueName('plain')
    await production.createDatabase(
      plain,
      `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); GRANT SELECT ON t TO ${q(role.reporting)};`
    )
    try {
      const run = await runAction({
        ...inputs({ sabotage: 'drop-grant' }, `postgresql://${user}@127.0.0.1:${cleanroom.port}/postgres`),
        'production-url': production.url(plain, { password: null }),
        'cleanroom-password': password
      })
      assert.equal(run.exitCode, 0, log(run))
      assert.equal(run.outputs.result, 'verified')
      const check = run.report.privileges
      assert.equal(check.compared, false)
      assert.match(check.reason, new RegExp(`${user}" has CREATEROLE but is not a superuser`))
      assert.match(check.reason, /connect to the clean room as a superuser/)
      assert.match(
        run.stdout,
        /::warning title=Lazarus%3A owners and privileges not verified::Owners and privileges are not verified: /
      )
      assert.match(run.summary, /Owners and privileges not verified:/)
      assert.match(run.summary, /⚠️ Lazarus: verified/)
      assert.deepEqual(
        run.report.schema.filter((item: { kind: string }) => ['owner', 'privileges'].includes(item.kind)),
        []
      )
      const [drill] = run.report.sabotage
      assert.equal(drill.applied, false)
      assert.match(drill.evidence, /owners and privileges are not verified/)
      assert.deepEqual([...(await cleanroomRoles()).keys()], [role.existing], 'no role was created')
    } finally {
      await production.query(`DROP DATABASE IF EXISTS ${plain}`)
    }
  } finally {
    await cleanroom.query(`DROP ROLE IF EXISTS ${user}`)
  }
})

test('the post step drops the marked roles a killed main recorded, and no other role', async () => {
  const marked = `${prefix}_killed`
  await cleanroom.query(`CREATE ROLE ${q(marked)} NOLOGIN`)
  await cleanroom.query(`COMMENT ON ROLE ${q(marked)} IS 'Lazarus role of run 20200101000000_kill00'`)
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-killed-'))
  try {
    // What a main killed mid-run leaves in its state: the roles it was using.
    const post = await runPostStep(inputs(), {
      runnerTemp,
      state: { 'lazarus-main-started': 'true', 'lazarus-roles': JSON.stringify([marked, role.existing]) }
    })
    assert.equal(post.exitCode, 0, explain(post))
    assert.doesNotMatch(post.stdout, /::warning::/, explain(post))
    await assertRolesCleanedUp()
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true })
  }
})
