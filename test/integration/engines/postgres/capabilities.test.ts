import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import pg from 'pg'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { postgres } from '../../../../src/engines/postgres/index.js'
import type { SeamSession, ServerRole } from '../../../../src/engines/types.js'
import type { TableRef } from '../../../../src/engines/postgres/figure-queries.js'
import { answerChecks } from '../../../../src/verification/checks.js'
import { resolveClientTools } from '../../../../src/engines/postgres/pg-tools.js'
import type { DrillCatalog } from '../../../../src/engines/postgres/drill-catalog.js'
import { CleanRoom } from '../../../../src/run/cleanroom.js'
import { capturingStdout } from '../../../support/capture-stdout.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// What only PostgreSQL does, as the optional capabilities of its engine object (engines/types.ts):
// each answers through the engine's own sessions against the shared servers.

let production: Cluster
let cleanroom: Cluster
const database = uniqueName('pg_capabilities')
const copy = uniqueName('pg_capabilities_copy')
const opened: SeamSession<TableRef>[] = []
/** Run after the tests, last first: what a test made outside its own databases (roles are global). */
const cleanups: (() => Promise<unknown>)[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  await Promise.all([
    production.createDatabase(
      database,
      `CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL);
       INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 20) g;
       SELECT pg_catalog.lo_from_bytea(424242, 'a large object');`
    ),
    cleanroom.createDatabase(
      copy,
      `CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL);
       CREATE INDEX items_by_name ON public.items (name);
       INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 20) g;`
    )
  ])
})

after(async () => {
  for (const session of opened) await session.close().catch(() => undefined)
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
})

async function open(cluster: Cluster, name: string, role: ServerRole): Promise<SeamSession<TableRef>> {
  const session = await postgres.openRead(postgres.parseUrl(`${role}-url`, cluster.url(name)), role)
  opened.push(session)
  await session.pinSettings()
  return session
}

test('large objects: each read by its OID, size and content digest; none where there are none', async () => {
  const largeObjects = postgres.largeObjects
  assert.ok(largeObjects, 'PostgreSQL has large objects')
  const [prod, restored] = await Promise.all([open(production, database, 'production'), open(cleanroom, copy, 'cleanroom')])
  const found = await largeObjects.read(prod)
  assert.deepEqual(found, [
    { kind: 'large object', name: '424242', definition: `14 bytes, md5 ${md5OfChunks('a large object')}` }
  ])
  assert.deepEqual(await largeObjects.read(restored), [])
  assert.deepEqual(
    postgres.diffSchema(found, []),
    [{ kind: 'large object', name: '424242', production: found[0].definition, restored: null }],
    'a large object the copy lacks is a schema difference'
  )
})

test("the user's checks: each side answers a check alike, and a different answer differs", async () => {
  const userChecks = postgres.userChecks
  assert.ok(userChecks)
  const [prod, restored] = await Promise.all([open(production, database, 'production'), open(cleanroom, copy, 'cleanroom')])
  const check = (sql: string) => ({ name: 'items', sql, ordered: false, timeoutSeconds: 30, line: 1 })
  // Production answers inside its snapshot; the restored copy inside a read-only transaction of its own.
  await prod.beginSnapshot()
  await userChecks.side(restored).beginReadOnly()
  const [mine, theirs] = await Promise.all([
    answerChecks(userChecks.side(prod), [check('SELECT id, name FROM items WHERE id <= 5')], 3),
    answerChecks(userChecks.side(restored), [check('SELECT id, name FROM items WHERE id <= 5')], 3)
  ])
  assert.equal(mine[0].error, undefined, JSON.stringify(mine))
  assert.equal(mine[0].rows, 5)
  assert.deepEqual(mine[0].columns, ['id integer', 'name text'])
  assert.equal(mine[0].multisetHash, theirs[0].multisetHash)
  const [other] = await answerChecks(userChecks.side(restored), [check('SELECT id, name FROM items WHERE id <= 4')], 3)
  assert.notEqual(other.multisetHash, mine[0].multisetHash)
})

test("amcheck: the restored copy's indexes (and heap, where the server can) are checked and found sound", async () => {
  const amcheck = postgres.amcheck
  assert.ok(amcheck)
  const sessions = await Promise.all([open(cleanroom, copy, 'cleanroom'), open(cleanroom, copy, 'cleanroom')])
  const result = await amcheck.check(sessions)
  // PostgreSQL 13: its primary key, the index by name and its TOAST table's index; verify_heapam needs 14.
  assert.deepEqual(result, { indexes: 3, tables: 0, heapChecked: false, findings: [] })
})

test('the location check: it passes in the database it names on the identified clean room, and stops psql anywhere else', async () => {
  const locationCheck = postgres.locationCheck
  assert.ok(locationCheck, 'PostgreSQL checks where a restore landed')
  // What the run keeps of the clean room once the same-server guard ran: its facts' instance.
  const identity = (await (await open(cleanroom, copy, 'cleanroom')).facts()).instance
  const sql = locationCheck.sql(postgres.parseUrl('cleanroom-url', cleanroom.url(copy)), identity)
  assert.deepEqual(await cleanroom.query(sql, copy), [{ lazarus_location_check: null }])
  // Another database of the clean room, and production's server under the same database name.
  await assert.rejects(cleanroom.query(sql, 'postgres'), /Lazarus location check failed: psql reached database postgres/)
  const onProduction = locationCheck.sql(postgres.parseUrl('cleanroom-url', cleanroom.url(database)), identity)
  await assert.rejects(production.query(onProduction, database), /Lazarus location check failed/)
})

test("a database's size on disk, read on a session of its own for the restore's progress line", async () => {
  assert.ok(postgres.databaseBytes)
  const [{ bytes }] = await cleanroom.query<{ bytes: string }>(`SELECT pg_catalog.pg_database_size('${copy}')::text AS bytes`)
  assert.equal(await postgres.databaseBytes(postgres.parseUrl('cleanroom-url', cleanroom.url(copy))), Number(bytes))
  assert.ok(Number(bytes) > 0)
})

test('cross-major settling: servers of one major have nothing to settle, and a real difference stays', async () => {
  const crossMajor = postgres.crossMajor
  assert.ok(crossMajor)
  const [prod, restored] = await Promise.all([open(production, database, 'production'), open(cleanroom, copy, 'cleanroom')])
  await prod.beginSnapshot()
  const differences = postgres.diffSchema(await prod.readSchema(), await restored.readSchema())
  assert.ok(
    differences.some(d => d.kind === 'index' && d.production === null),
    JSON.stringify(differences)
  )
  assert.deepEqual(await crossMajor.settle({ production: prod, restored }, differences), differences)
})

test("the lock watch: a Lazarus session stuck behind another session's lock is found, with what it waits for and who blocks it", async () => {
  const lockWatch = postgres.lockWatch
  assert.ok(lockWatch)
  assert.match(lockWatch.probe, /SELECT 1/)
  const [probe, reader] = await Promise.all([open(production, database, 'production'), open(production, database, 'production')])
  assert.deepEqual(await lockWatch.lockWaits(probe, 0), [], 'nothing waits yet')
  const tables = await probe.listTables()
  const holder = new pg.Client({ connectionString: production.url(database) })
  await holder.connect()
  try {
    await holder.query('BEGIN; LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE')
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0].pid
    const reading = reader.tablesFigures(tables, false, false)
    reading.catch(() => undefined)
    let waits: Awaited<ReturnType<typeof lockWatch.lockWaits>> = []
    for (let i = 0; i < 100 && waits.length === 0; i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      waits = await lockWatch.lockWaits(probe, 0)
    }
    assert.equal(waits.length, 1, JSON.stringify(waits))
    assert.equal(waits[0].waitingFor, 'table public.items')
    assert.equal(waits[0].blockers, String(holderPid))
    assert.deepEqual(await lockWatch.lockWaits(probe, 3600), [], 'a wait shorter than asked is not reported')
    await holder.query('ROLLBACK')
    await reading
  } finally {
    await holder.end()
  }
})

test("owners and privileges: who restores, the role plan, the roles a scratch database is given, and each side's owners read alike", async () => {
  const owners = postgres.ownersAndPrivileges
  assert.ok(owners, 'PostgreSQL has owners and privileges')
  assert.deepEqual(owners.restoreRoleModes, ['unprivileged', 'superuser'])
  // Production: a table owned by a role the clean room lacks, read by PUBLIC; and a database whose
  // public schema carries a comment, which only a superuser can restore (superuser-objects.ts).
  const owner = uniqueName('ledger_owner')
  const [ledger, commented] = [uniqueName('pg_owners'), uniqueName('pg_owners_comment')]
  const objects = `CREATE TABLE public.ledger (id int PRIMARY KEY);
     ALTER TABLE public.ledger OWNER TO ${owner};
     GRANT SELECT ON public.ledger TO PUBLIC;`
  await production.query(`CREATE ROLE ${owner} NOLOGIN`)
  cleanups.push(
    () => production.query(`DROP ROLE IF EXISTS ${owner}`),
    () => production.query(`DROP DATABASE IF EXISTS ${ledger}`),
    () => production.query(`DROP DATABASE IF EXISTS ${commented}`),
    () => cleanroom.query(`DROP ROLE IF EXISTS ${owner}`)
  )
  await production.createDatabase(ledger, objects)
  await production.createDatabase(commented, `COMMENT ON SCHEMA public IS 'the shop';`)
  const runId = `caps${process.pid}${Date.now() % 100000}`
  const target = postgres.parseUrl('cleanroom-url', cleanroom.url('postgres'))
  const room = await CleanRoom.open(postgres, target, runId)
  cleanups.push(() => capturingStdout(() => room.close()))
  await capturingStdout(async () => {
    // The clean-room role is a superuser: the restore runs as a role of Lazarus's own, without rights.
    const rights = await owners.setUpRestoreRights(room.roles, 'unprivileged')
    assert.deepEqual(
      { mode: rights.mode, superuser: rights.superuser, ownRole: rights.ownRole },
      { mode: 'unprivileged', superuser: false, ownRole: true }
    )
    assert.equal(owners.restoreRights(room.roles), rights)
    assert.match(owners.missingRightHint('ERROR:  must be owner of table ledger', rights) ?? '', /set restore-role: superuser$/)
    assert.equal(owners.missingRightHint('ERROR:  syntax error at or near "x"', rights), undefined)
    // Every ownership and privilege statement is routed out of the stream, to be replayed apart.
    assert.deepEqual(await owners.routedStatements(room.roles, room.maintenance, '/work/privileged.sql'), {
      routedFile: '/work/privileged.sql'
    })
    const [prod, refused] = await Promise.all([open(production, ledger, 'production'), open(production, commented, 'production')])
    await Promise.all([prod.beginSnapshot(), refused.beginSnapshot()])
    assert.equal(await owners.superuserObjectsRefusal(room.roles, prod, room.maintenance), undefined)
    assert.match(
      (await owners.superuserObjectsRefusal(room.roles, refused, room.maintenance)) ?? '',
      /^Production holds what only a superuser can restore \(comment on schema public\)/
    )
    const named = await owners.readNamedRoles(prod)
    assert.deepEqual(
      named.find(role => role.name === owner),
      { name: owner, superuser: false }
    )
    const plan = await owners.planRoles(room.roles, named)
    assert.equal(plan.restore, true)
    assert.ok(plan.provided.includes(owner), JSON.stringify(plan))
    assert.match(
      plan.detail ?? '',
      /^, replayed by the clean-room role after the unprivileged restore; roles created for the restore: /
    )
    const replay = owners.privilegeReplay(room.roles, plan, 'UTF8')
    assert.equal(replay?.restoreRole, rights.role)
    assert.equal(replay?.onlyNaming, undefined, 'every statement is replayed')
    // A scratch database: the plan's roles are created and pinned to it, the restore role admitted.
    const scratch = postgres.withDatabase(target, await room.create('owners', { characterSet: 'UTF8', collation: 'C' }))
    assert.equal((await cleanroom.query(`SELECT 1 FROM pg_roles WHERE rolname = '${owner}'`)).length, 0)
    await owners.prepareRestore(room.roles, scratch)
    assert.equal((await cleanroom.query(`SELECT 1 FROM pg_roles WHERE rolname = '${owner}'`)).length, 1)
    assert.equal(owners.restoreTarget(room.roles, scratch).user, rights.role, 'the restore logs in as the restore role')
    // Restored with its owner and grant, the copy's owners and privileges read as production's.
    // (The replay takes back the restore role's admission to the public schema first, as here.)
    await cleanroom.query(`${objects} REVOKE ALL ON SCHEMA public FROM ${rights.role};`, scratch.database)
    const copy = await open(cleanroom, scratch.database, 'cleanroom')
    const productionPrivileges = await owners.readPrivileges(prod)
    assert.ok(productionPrivileges.some(object => object.kind === 'owner' && object.definition === owner))
    assert.deepEqual(postgres.diffSchema(productionPrivileges, await owners.readPrivileges(copy)), [])
    // A dropped grant is a difference of the table's privileges.
    await cleanroom.query(`REVOKE SELECT ON public.ledger FROM PUBLIC`, scratch.database)
    assert.deepEqual(
      postgres.diffSchema(productionPrivileges, await owners.readPrivileges(copy)).map(d => `${d.kind} ${d.name}`),
      ['privileges table public.ledger']
    )
    // The drill's owner and privilege operators aim at production's objects and the plan's roles.
    const catalog = {} as DrillCatalog
    await owners.addDrillTargets(catalog, prod, plan, runId)
    assert.deepEqual(
      catalog.privileges?.objects.map(object => object.identity),
      ['schema public', 'table public.ledger']
    )
    assert.ok(catalog.privileges?.roles.includes(owner))
    assert.equal(catalog.privileges?.drillRole, `lazarus_drill_${runId}`)
  })
})

test('MySQL and MariaDB have no owners-and-privileges capability: their run restores and compares none', async () => {
  const { mysql } = await import('../../../../src/engines/mysql/index.js')
  assert.equal(mysql.ownersAndPrivileges, undefined)
  assert.equal(mysql.cleanroomRoles, undefined)
})

/** The digest large-objects.ts writes for an object of one chunk: md5 of the chunk's md5. */
function md5OfChunks(content: string): string {
  const chunk = createHash('md5').update(content).digest('hex')
  return createHash('md5').update(chunk).digest('hex')
}

test('server checks: a server older than PostgreSQL 12 is refused in one line, naming the side; 12 and newer pass', () => {
  const serverChecks = postgres.serverChecks
  assert.ok(serverChecks)
  assert.equal(
    serverChecks.unsupported('clean room', { version: '11.22', major: 11 }),
    'The clean room runs PostgreSQL 11.22; Lazarus supports PostgreSQL 12 or newer.'
  )
  assert.match(
    serverChecks.unsupported('production', { version: '9.6.24', major: 9 }) ?? '',
    /^The production runs PostgreSQL 9\.6\.24;/
  )
  for (const major of [12, 13, 18])
    assert.equal(serverChecks.unsupported('production', { version: `${major}.1`, major }), undefined)
})

test("server checks: production's extensions against the clean room's, and version skew before and after the dump", async () => {
  const serverChecks = postgres.serverChecks
  assert.ok(serverChecks)
  const skewed = uniqueName('pg_capabilities_skew')
  await production.createDatabase(
    skewed,
    `CREATE EXTENSION hstore;
     CREATE FUNCTION fact(bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 1::numeric';
     CREATE OPERATOR !!! (FUNCTION = fact, LEFTARG = bigint);`
  )
  const [prod, room] = await Promise.all([open(production, skewed, 'production'), open(cleanroom, 'postgres', 'cleanroom')])
  try {
    const cleanroomTarget = postgres.parseUrl('cleanroom-url', cleanroom.url('postgres'))
    // One build of the servers: every extension production uses is there at its version.
    assert.deepEqual(await serverChecks.environment(prod, room, cleanroomTarget), { differences: [] })
    await prod.beginSnapshot()
    // A postfix operator: PostgreSQL 14 dropped them, so a clean room of 14 or later is refused before the dump.
    assert.equal(await serverChecks.productionSkew(prod, 13, false), undefined)
    assert.match(
      (await serverChecks.productionSkew(prod, 14, false)) ?? '',
      /postfix operators \(!!! \(bigint, NONE\)\).*PostgreSQL 13 or older/
    )
    // Owners and privileges are asked apart: the postfix operator is none of theirs.
    assert.equal(await serverChecks.productionSkew(prod, 14, true), undefined)
  } finally {
    await prod.close()
    await production.query(`DROP DATABASE IF EXISTS ${skewed} WITH (FORCE)`)
  }
  // After a failed restore: an unknown setting of a newer pg_dump is version skew, a plain error is not.
  assert.match(
    serverChecks.explainRestoreFailure({
      error: 'ERROR:  unrecognized configuration parameter "transaction_timeout"',
      cleanroomMajor: 13,
      productionMajor: 17,
      dumpMajor: 17
    }) ?? '',
    /^Version skew/
  )
  assert.equal(
    serverChecks.explainRestoreFailure({
      error: 'ERROR:  duplicate key value',
      cleanroomMajor: 13,
      productionMajor: 13,
      dumpMajor: 15
    }),
    undefined
  )
})

test('the sanitizer: built from what the clean room knows, run as the stream runs it, read back: what it removed, what stopped it', async () => {
  const sanitizer = postgres.sanitizer
  assert.ok(sanitizer)
  const work = mkdtempSync(path.join(os.tmpdir(), 'pg-sanitizer-'))
  const maintenance = await postgres.openMaintenance(postgres.parseUrl('cleanroom-url', cleanroom.url('postgres')))
  try {
    const tools = await resolveClientTools(13)
    const filter = await sanitizer.build(maintenance, {
      tools,
      workFile: name => path.join(work, name),
      standardConformingStrings: true,
      copyFile: path.join(work, 'copy.sql')
    })
    assert.equal(filter.cleanroomMajor, 13)
    assert.equal(filter.copyFile, path.join(work, 'copy.sql'))
    assert.equal(
      readFileSync(path.join(work, 'sanitize.sed'), 'utf8'),
      filter.program,
      'the program is written where sed reads it'
    )
    const run = (argv: string[], text: string) => {
      const [program, ...args] = argv
      return execFileSync(program, args, { input: Buffer.from(text, 'latin1') }).toString('latin1')
    }
    // A setting the clean room (PostgreSQL 13) does not know goes, and is counted; the rest passes.
    const dump = 'SET transaction_timeout = 0;\nSET statement_timeout = 0;\nCREATE TABLE t (id int);\n'
    assert.equal(run(filter.argv, dump), 'SET statement_timeout = 0;\nCREATE TABLE t (id int);\n')
    assert.equal(readFileSync(path.join(work, 'copy.sql'), 'latin1'), 'SET statement_timeout = 0;\nCREATE TABLE t (id int);\n')
    // A second pipeline records in files of its own, and removed() reads them all.
    run(filter.argvFor(2), 'SET transaction_timeout = 0;\n')
    assert.deepEqual(filter.removed(), [{ parameter: 'transaction_timeout', lines: 2, rule: 'unknown-setting' }])
    assert.equal(filter.stopped(), undefined)
    assert.deepEqual(filter.routedFiles(), [])
    // A meta-command pg_dump never writes stops the stream: the refusal names it.
    // (sed stops there, with an exit status of its own, so that psql never reads the line.)
    assert.throws(() => run(filter.argvFor(3), '\\! echo hostile\n'), /Command failed/)
    assert.match(filter.stopped() ?? '', /^The dump holds the psql meta-command \\! outside any string/)
  } finally {
    await maintenance.close()
    rmSync(work, { recursive: true, force: true })
  }
})
