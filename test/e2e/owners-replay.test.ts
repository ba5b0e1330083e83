import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { checkBackupFiles, parseManifest } from '../../src/report/manifest.js'
import { quoteIdent, quoteLiteral } from '../../src/engines/postgres/figure-queries.js'
import { explain, runActionProcess, workspaceRunIds } from '../support/action-process.js'
import { createShop, type Shop } from '../support/shop.js'
import { cleanroomCluster, productionCluster, uniqueName } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'
import { POSTGRES_MANIFEST } from '../../src/engines/postgres/restore-points.js'

// Issue 11: owners and privileges restored and compared under the default, unprivileged restore.
// The restore role restores without any right; the clean-room role replays pg_dump's own
// ownership and privilege statements afterwards, and only those (privileged-pass.ts).

const tag = uniqueName('own')
const role = {
  app: `${tag}_app`,
  reporting: `${tag}_reporting`,
  odd: `${tag} "Odd"; name`,
  // Exists in the clean room (and in production) before Lazarus runs: never altered, never an owner.
  existing: `${tag}_existing`,
  // A clean-room role the hostile texts below try to make a superuser.
  victim: `${tag}_victim`,
  // Role names holding line breaks: pg_dump writes their statements across lines (\n) or with a
  // carriage return inside the line (\r).
  lf: `${tag}\nlf`,
  cr: `${tag}\rcr`
}
const q = quoteIdent
const marker = `/tmp/lazarus-owners-${tag}`

/**
 * Owners of every common kind, grants (with grant option, by a grantor other than the owner),
 * column grants, default privileges, a large object's owner and grant, objects owned by the
 * bootstrap superuser and by a role the clean room already has; and hostile text shaped like
 * privilege statements on lines of their own in a function body, a comment, a string and an
 * identifier. `pwned` tells by a file whether it ever ran as a superuser in a scratch database:
 * amcheck evaluates t_expr's index expression as the table's owner, `postgres` in production.
 */
const FIXTURE_SQL = `
CREATE SCHEMA s AUTHORIZATION ${q(role.app)};
CREATE TABLE s.t (id int PRIMARY KEY, v text);
INSERT INTO s.t SELECT g, 'v' || g FROM generate_series(1, 20) g;
ALTER TABLE s.t OWNER TO ${q(role.app)};
CREATE VIEW s.tv AS SELECT id FROM s.t;
ALTER VIEW s.tv OWNER TO ${q(role.reporting)};
CREATE TYPE s.mood AS ENUM ('ok', 'sad');
ALTER TYPE s.mood OWNER TO ${q(role.app)};
REVOKE USAGE ON TYPE s.mood FROM PUBLIC;
GRANT USAGE ON TYPE s.mood TO ${q(role.odd)};
GRANT USAGE ON SCHEMA s TO ${q(role.reporting)}, ${q(role.odd)}, ${q(role.existing)};
GRANT SELECT ON s.t TO ${q(role.reporting)};
GRANT SELECT ON s.t TO ${q(role.existing)};
GRANT INSERT ON s.t TO ${q(role.reporting)} WITH GRANT OPTION;
SET ROLE ${q(role.reporting)};
GRANT INSERT ON s.t TO ${q(role.odd)};
RESET ROLE;
CREATE TABLE public.u (id serial PRIMARY KEY, w text);
INSERT INTO public.u (w) VALUES ('a'), ('b');
GRANT SELECT (w), UPDATE (w) ON public.u TO ${q(role.odd)};
ALTER TABLE public.u OWNER TO ${q(role.existing)};
CREATE FUNCTION s.f(a integer, VARIADIC b text[]) RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION s.f(integer, text[]) OWNER TO ${q(role.app)};
REVOKE EXECUTE ON FUNCTION s.f(integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION s.f(integer, text[]) TO ${q(role.reporting)};
ALTER DEFAULT PRIVILEGES FOR ROLE ${q(role.app)} IN SCHEMA s GRANT SELECT ON TABLES TO ${q(role.reporting)};
ALTER DEFAULT PRIVILEGES FOR ROLE ${q(role.app)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON SEQUENCES TO ${q(role.reporting)};
SELECT lo_create(434343);
ALTER LARGE OBJECT 434343 OWNER TO ${q(role.reporting)};
GRANT SELECT ON LARGE OBJECT 434343 TO ${q(role.app)};
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text) TO ${q(role.app)};
CREATE FUNCTION public.pwned_volatile() RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  EXECUTE pg_catalog.format('COPY (SELECT 1) TO PROGRAM %L', 'touch ${marker}');
END $fn$;
CREATE FUNCTION public.pwned(n int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  -- As whom the code runs (is_superuser tells the session's user, not the owner amcheck switches to).
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AND current_database() LIKE 'lazarus\\_%' THEN
    PERFORM public.pwned_volatile();
  END IF;
  RETURN n;
END $fn$;
CREATE TABLE public.t_expr (id int);
INSERT INTO public.t_expr VALUES (1), (2);
CREATE INDEX t_expr_index ON public.t_expr ((public.pwned(id)));
CREATE FUNCTION public.hostile() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
RETURN '
ALTER ROLE ${role.victim} SUPERUSER;
GRANT SELECT ON TABLE s.t TO ${role.victim};
';
END
$body$;
CREATE FUNCTION public.hostile_body() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
ALTER ROLE ${role.victim} SUPERUSER;
END
$$;
COMMENT ON TABLE s.t IS '
ALTER ROLE ${role.victim} SUPERUSER;
ALTER TABLE s.t OWNER TO ${role.victim};
';
CREATE TABLE public.t_hostile_column (${q(`x\nGRANT SELECT ON TABLE s.t TO ${role.victim};\nALTER ROLE ${role.victim} SUPERUSER;\ny`)} int);
INSERT INTO public.t_hostile_column VALUES (1);
CREATE TABLE public.rows_like_grants (line text);
INSERT INTO public.rows_like_grants VALUES ('GRANT SELECT ON TABLE s.t TO ${role.victim};'), ('ALTER ROLE ${role.victim} SUPERUSER;');
`

let shop: Shop

before(async () => {
  rmSync(marker, { force: true })
  const [production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  for (const name of [role.app, role.reporting, role.odd, role.existing, role.victim]) {
    await production.query(`CREATE ROLE ${q(name)} NOLOGIN`)
  }
  await cleanroom.query(`CREATE ROLE ${q(role.existing)} NOLOGIN CREATEDB`)
  await cleanroom.query(`CREATE ROLE ${q(role.victim)} NOLOGIN`)
  shop = await createShop('owners', FIXTURE_SQL)
})

after(async () => {
  rmSync(marker, { force: true })
  await shop?.production.query(`DROP DATABASE IF EXISTS ${q(shop.database)}`).catch(() => undefined)
  const [production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  for (const name of Object.values(role)) {
    await production.query(`DROP ROLE IF EXISTS ${q(name)}`).catch(() => undefined)
    await cleanroom.query(`DROP ROLE IF EXISTS ${q(name)}`).catch(() => undefined)
  }
})

/** Lazarus's roles of these runs left in the clean room. */
async function runRoles(runIds: string[]): Promise<string[]> {
  const rows = await shop.cleanroom.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'lazarus\\_%'`)
  return rows.map(row => row.rolname).filter(name => runIds.some(id => name.includes(id)))
}

async function victimIsSuperuser(): Promise<boolean> {
  const [row] = await shop.cleanroom.query<{ rolsuper: boolean }>(
    `SELECT rolsuper FROM pg_roles WHERE rolname = ${quoteLiteral(role.victim)}`
  )
  return row.rolsuper
}

test('by default (unprivileged restore) owners, grants, column grants, default privileges and large object owners are restored and compared', async () => {
  const run = await runActionProcess(shop.inputs({ verify: 'checksums', amcheck: 'true', sabotage: 'drop-grant,change-owner' }))
  assert.equal(run.outputs.result, 'verified', explain(run))
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.report.restoreRights.superuser, false, explain(run))
  const check = run.report.privileges
  assert.equal(check.compared, true, explain(run))
  assert.deepEqual([...check.rolesCreated].sort(), [role.app, role.odd, role.reporting].sort(), explain(run))
  assert.ok(check.rolesExisting.includes(role.existing) && check.rolesExisting.includes('postgres'), explain(run))
  assert.match(run.stdout, /replayed by the clean-room role after the unprivileged restore/)
  assert.match(run.stdout, /existing roles played by stand-ins without rights/)
  assert.match(run.stdout, /Replaying \d+ ownership and privilege statement\(s\)/)
  assert.match(run.stdout, /Not replayed: 1 grant\(s\) on the clean-room server's own objects/)
  assert.match(run.summary, /Owners and privileges<\/strong> restored and compared/)
  // The drill's privilege operators are caught under the default too.
  for (const operator of ['drop-grant', 'change-owner']) {
    const drill = run.report.sabotage.find((result: { operator: string }) => result.operator === operator)
    assert.equal(drill?.applied, true, `${operator} applied\n${explain(run)}`)
    assert.equal(drill?.detected, true, `${operator} caught\n${explain(run)}`)
    assert.equal(drill?.detectedBy, 'privileges', explain(run))
  }
  // A table production's bootstrap superuser owns is owned by a stand-in in the clean room:
  // amcheck evaluated its expression index as that owner, without superuser rights.
  assert.equal(existsSync(marker), false, 'production code never ran as a clean-room superuser')
  // Text shaped like privilege statements in a body, a comment, a string, an identifier or a row never ran.
  assert.equal(await victimIsSuperuser(), false)
  assert.deepEqual(await runRoles(workspaceRunIds(run.runnerTemp)), [], 'stand-ins, created and restore roles dropped')
  const [existing] = await shop.cleanroom.query<{ rolcreatedb: boolean; rolsuper: boolean }>(
    `SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = ${quoteLiteral(role.existing)}`
  )
  assert.deepEqual(existing, { rolcreatedb: true, rolsuper: false }, 'the pre-existing role is untouched')
})

/** A backup-dir of the test's own, removed when the tests end. */
function backupDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-owners-keep-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Issue 12: a fresh run with backup-format: directory dumps in parallel and restores the kept
// directory in sections, over `jobs` pipelines: each routes its own ownership and privilege
// statements, and the clean-room role replays them all, with stand-ins for existing roles.
test('backup-format directory: dumped with jobs, restored in sections over jobs pipelines; owners and privileges replayed and compared', async () => {
  const run = await runActionProcess(
    shop.inputs({ verify: 'checksums', amcheck: 'true', 'backup-dir': backupDir(), 'backup-format': 'directory', jobs: '2' })
  )
  assert.equal(run.outputs.result, 'verified', explain(run))
  assert.equal(run.exitCode, 0, explain(run))
  assert.match(
    run.stdout,
    /Restoring directory archive in sections: pre-data \(\d+ entries\), data \(\d+ entries over 2 pipeline\(s\)\), post-data/,
    explain(run)
  )
  assert.equal(run.report.privileges.compared, true, explain(run))
  assert.ok(run.report.privileges.rolesExisting.includes(role.existing), explain(run))
  assert.match(run.stdout, /existing roles played by stand-ins without rights/)
  assert.match(run.stdout, /Replaying \d+ ownership and privilege statement\(s\)/)
  assert.equal(existsSync(marker), false, 'production code never ran as a clean-room superuser')
  assert.equal(await victimIsSuperuser(), false)
  assert.deepEqual(await runRoles(workspaceRunIds(run.runnerTemp)), [], 'stand-ins, created and restore roles dropped')
  // The restored directory is the kept one, as its manifest describes it, from one parallel pg_dump.
  const manifest = parseManifest(readFileSync(run.outputs['manifest-path'], 'utf8'), 'manifest', POSTGRES_MANIFEST)
  assert.ok(manifest.dump.arguments.includes('--jobs=2'), manifest.dump.arguments.join(' '))
  assert.deepEqual(await checkBackupFiles(manifest, run.outputs['backup-path']), [])
  assert.equal(
    Number(run.outputs['dump-bytes']),
    manifest.files.reduce((sum, file) => sum + file.bytes, 0)
  )
})

test('backup-format directory with the drill: one pipeline, whose copy the privilege operators corrupt, each caught', async () => {
  const run = await runActionProcess(
    shop.inputs({
      verify: 'checksums',
      'backup-dir': backupDir(),
      'backup-format': 'directory',
      jobs: '2',
      sabotage: 'rogue-row,drop-grant,change-owner'
    })
  )
  assert.equal(run.outputs.result, 'verified', explain(run))
  assert.doesNotMatch(run.stdout, /Restoring directory archive in sections/, 'the drill needs the whole stream in one pipeline')
  for (const operator of ['rogue-row', 'drop-grant', 'change-owner']) {
    const drill = run.report.sabotage.find((result: { operator: string }) => result.operator === operator)
    assert.equal(drill?.applied, true, `${operator} applied\n${explain(run)}`)
    assert.equal(drill?.detected, true, `${operator} caught\n${explain(run)}`)
  }
  assert.deepEqual(await runRoles(workspaceRunIds(run.runnerTemp)), [])
})

test('a dump that lost a GRANT or changed an owner is a mismatch under the default, naming each', async () => {
  // A pg_dump that drops one grant and hands one function to another role.
  const run = await runActionProcess(
    shop.inputs({
      verify: 'counts',
      'postgres-bin-dir': tamperedClientDir(
        [
          `sed -i -e '/^GRANT SELECT ON TABLE s.t TO ${role.reporting};$/d'`,
          `-e 's/^ALTER FUNCTION s.f(a integer, VARIADIC b text\\[\\]) OWNER TO ${role.app};$/ALTER FUNCTION s.f(a integer, VARIADIC b text[]) OWNER TO ${role.reporting};/'`,
          '"$DUMP"'
        ].join(' ')
      )
    })
  )
  assert.equal(run.outputs.result, 'mismatch', explain(run))
  const names = run.report.schema.map((difference: { kind: string; name: string }) => `${difference.kind} ${difference.name}`)
  assert.ok(names.includes('privileges table s.t'), explain(run))
  assert.ok(
    names.some((name: string) => name.startsWith('owner function s.f(')),
    explain(run)
  )
})

test('names holding line breaks (\\n, \\r) in schemas, tables, columns, functions, arguments and roles: owners and privileges verified under the default', async () => {
  const [production] = await Promise.all([productionCluster()])
  for (const name of [role.lf, role.cr]) await production.query(`CREATE ROLE ${q(name)} NOLOGIN`)
  const database = uniqueName('own_breaks')
  const schema = q('s\nx')
  const table = `${schema}.${q('t\nab')}`
  await production.createDatabase(
    database,
    `CREATE SCHEMA ${schema} AUTHORIZATION ${q(role.lf)};
     CREATE TABLE ${table} (id int PRIMARY KEY, ${q('c\nd')} text, ${q('e\rf')} text);
     INSERT INTO ${table} VALUES (1, 'a', 'b');
     ALTER TABLE ${table} OWNER TO ${q(role.lf)};
     GRANT SELECT ON ${table} TO ${q(role.cr)};
     GRANT SELECT (${q('c\nd')}), UPDATE (${q('e\rf')}) ON ${table} TO ${q(role.cr)};
     CREATE SEQUENCE ${schema}.${q('q\rr')};
     ALTER SEQUENCE ${schema}.${q('q\rr')} OWNER TO ${q(role.cr)};
     CREATE FUNCTION ${schema}.${q('f\nn')}(${q('a\nrg')} integer) RETURNS int LANGUAGE sql AS 'SELECT 1';
     ALTER FUNCTION ${schema}.${q('f\nn')}(integer) OWNER TO ${q(role.cr)};
     REVOKE EXECUTE ON FUNCTION ${schema}.${q('f\nn')}(integer) FROM PUBLIC;
     GRANT EXECUTE ON FUNCTION ${schema}.${q('f\nn')}(integer) TO ${q(role.lf)};
     ALTER DEFAULT PRIVILEGES FOR ROLE ${q(role.lf)} IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${q(role.cr)};`
  )
  const inputs = (extra: Record<string, string> = {}) => shop.inputs({ verify: 'counts', ...extra }, database)
  try {
    const run = await runActionProcess(inputs())
    assert.equal(run.outputs.result, 'verified', explain(run))
    assert.equal(run.report.privileges.compared, true, explain(run))
    assert.ok(run.report.privileges.rolesCreated.includes(role.lf), explain(run))
    assert.doesNotMatch(run.summary, /not verified/i)
    assert.deepEqual(await runRoles(workspaceRunIds(run.runnerTemp)), [], 'its roles dropped')
    // A pg_dump that loses the column grant and hands the function to another role: both named.
    const lost = await runActionProcess(
      inputs({
        'postgres-bin-dir': tamperedClientDir(
          [
            `perl -0777 -pi -e 's/^GRANT SELECT\\("c\\nd"\\) ON TABLE [^;]*;\\n//m;`,
            `s/^(ALTER FUNCTION "s\\nx"\\."f\\nn"\\("a\\nrg" integer\\) OWNER TO )"[^"]*";/$1"${tag}\\nlf";/m'`,
            '"$DUMP"'
          ].join(' ')
        )
      })
    )
    assert.equal(lost.outputs.result, 'mismatch', explain(lost))
    const names = lost.report.schema.map((difference: { kind: string; name: string }) => `${difference.kind} ${difference.name}`)
    assert.ok(
      names.some((name: string) => name.startsWith('privileges table column')),
      explain(lost)
    )
    assert.ok(
      names.some((name: string) => name.startsWith('owner function')),
      explain(lost)
    )
  } finally {
    await production.query(`DROP DATABASE IF EXISTS ${q(database)}`).catch(() => undefined)
  }
})
