import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CleanRoomRoles, ROLE_MARKER, dropLazarusRoles } from '../../../../src/engines/postgres/cleanroom-roles.js'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { quoteIdent, quoteLiteral } from '../../../../src/engines/postgres/figure-queries.js'
import type { NamedRole } from '../../../../src/engines/postgres/privileges.js'
import { recordLeftoversWith, type LeftoverRecorder } from '../../../../src/util/leftovers.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// The roles of runs that share one clean room, on the real server: created marked and bare, kept
// while another run's scratch database uses them, dropped by the last run out, and a role
// without Lazarus's mark never touched.

let cleanroom: Cluster
const sessions: DatabaseSession[] = []
const databases: string[] = []
const prefix = uniqueName('shared')
const shared = `${prefix}"; DROP ROLE postgres; --`
const newline = `${prefix}\nsecond line`

before(async () => {
  cleanroom = await cleanroomCluster()
})

after(async () => {
  for (const session of sessions) await session.close()
  for (const database of databases)
    await cleanroom.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`).catch(() => undefined)
  const left = await cleanroom.query<{ name: string }>(
    `SELECT rolname AS name FROM pg_roles WHERE starts_with(rolname, ${quoteLiteral(prefix)})`
  )
  for (const { name } of left) await cleanroom.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`).catch(() => undefined)
})

/** Roles as production names them: none a superuser there. */
function roles(...names: string[]): NamedRole[] {
  return names.map(name => ({ name, superuser: false }))
}

async function maintenance(): Promise<DatabaseSession> {
  const session = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  sessions.push(session)
  return session
}

async function scratchDatabase(): Promise<string> {
  const name = uniqueName('roles_scratch')
  databases.push(name)
  await cleanroom.query(`CREATE DATABASE ${name}`)
  return name
}

async function role(
  name: string
): Promise<{ comment: string | null; login: boolean; password: string | null; super: boolean } | undefined> {
  const [row] = await cleanroom.query(
    `SELECT shobj_description(oid, 'pg_authid') AS comment, rolcanlogin AS login, rolpassword AS password, rolsuper AS super
     FROM pg_authid WHERE rolname = ${quoteLiteral(name)}`
  )
  return row
}

test('roles are created bare and marked, shared by two runs, and dropped only by the last one out', async () => {
  const [first, second] = [new CleanRoomRoles(await maintenance(), 'run_a'), new CleanRoomRoles(await maintenance(), 'run_b')]
  const [firstDatabase, secondDatabase] = [await scratchDatabase(), await scratchDatabase()]
  for (const run of [first, second]) {
    const plan = await run.decide(roles(shared, newline, 'postgres'))
    assert.equal(plan.restore, true)
    assert.deepEqual(plan.existing, ['postgres'])
  }
  await first.provide(firstDatabase)
  // The second run finds them marked by the first: Lazarus's, so shared, not someone else's.
  assert.deepEqual((await second.decide(roles(shared, newline))).provided, [shared, newline])
  await second.provide(secondDatabase)
  for (const name of [shared, newline]) {
    assert.deepEqual(await role(name), { comment: `${ROLE_MARKER} of run run_a`, login: false, password: null, super: false })
  }
  // The second run's database pins both roles: the first run's cleanup leaves them.
  await cleanroom.query(`DROP DATABASE ${firstDatabase}`)
  await first.dropAll()
  assert.ok(await role(shared), 'kept while another run still uses it')
  assert.ok(await role(newline))
  await cleanroom.query(`DROP DATABASE ${secondDatabase}`)
  await second.dropAll()
  assert.equal(await role(shared), undefined, 'the last run out drops it')
  assert.equal(await role(newline), undefined)
  assert.ok(await role('postgres'), 'an existing role is never dropped')
})

test('a role dropped by another run after this one decided is created again when pinned', async () => {
  const name = `${prefix}_again`
  const [first, second] = [new CleanRoomRoles(await maintenance(), 'run_c'), new CleanRoomRoles(await maintenance(), 'run_d')]
  const [firstDatabase, database] = [await scratchDatabase(), await scratchDatabase()]
  await first.decide(roles(name))
  await first.provide(firstDatabase)
  await second.decide(roles(name))
  // The first run ends (its database gone) before the second pins the role.
  await cleanroom.query(`DROP DATABASE ${firstDatabase}`)
  await first.dropAll()
  assert.equal(await role(name), undefined)
  await second.provide(database)
  assert.equal((await role(name))?.comment, `${ROLE_MARKER} of run run_d`)
  await cleanroom.query(`DROP DATABASE ${database}`)
  await second.dropAll()
  assert.equal(await role(name), undefined)
})

test('cleanup drops only roles that carry the mark', async () => {
  const theirs = `${prefix}_theirs`
  const ours = `${prefix}_ours`
  await cleanroom.query(`CREATE ROLE ${quoteIdent(theirs)} NOLOGIN`)
  await cleanroom.query(`COMMENT ON ROLE ${quoteIdent(theirs)} IS 'not Lazarus: ${ROLE_MARKER} appears only later'`)
  await cleanroom.query(`CREATE ROLE ${quoteIdent(ours)} NOLOGIN`)
  await cleanroom.query(`COMMENT ON ROLE ${quoteIdent(ours)} IS '${ROLE_MARKER} of run gone'`)
  const result = await dropLazarusRoles(await maintenance(), [theirs, ours, `${prefix}_absent`])
  assert.deepEqual(result, { dropped: [ours], kept: [] })
  assert.ok(await role(theirs), 'a role without the mark stays')
  assert.equal(await role(ours), undefined)
})

test('two runs sharing a role, the one that created it ending last: the last run out drops it', async () => {
  const name = `${prefix}_order`
  const [first, second] = [new CleanRoomRoles(await maintenance(), 'run_e'), new CleanRoomRoles(await maintenance(), 'run_f')]
  const [firstDatabase, secondDatabase] = [await scratchDatabase(), await scratchDatabase()]
  await first.decide(roles(name))
  await first.provide(firstDatabase)
  await second.decide(roles(name))
  await second.provide(secondDatabase)
  assert.equal((await role(name))?.comment, `${ROLE_MARKER} of run run_e`)
  // The run that only found the role ends first: the creator's database still uses it.
  await cleanroom.query(`DROP DATABASE ${secondDatabase}`)
  await second.dropAll()
  assert.ok(await role(name), 'kept while the run that made it still uses it')
  await cleanroom.query(`DROP DATABASE ${firstDatabase}`)
  await first.dropAll()
  assert.equal(await role(name), undefined, 'the last run out drops it')
})

test('two runs sharing a role that end at the same time leave nothing, whichever drops first', async () => {
  for (const round of [1, 2, 3]) {
    const name = `${prefix}_together_${round}`
    const runs = [
      new CleanRoomRoles(await maintenance(), `run_g${round}`),
      new CleanRoomRoles(await maintenance(), `run_h${round}`)
    ]
    const scratch = [await scratchDatabase(), await scratchDatabase()]
    for (const [index, run] of runs.entries()) {
      await run.decide(roles(name))
      await run.provide(scratch[index])
    }
    // Each run drops its database, then its roles, as CleanRoom.close does; the two run at once.
    await Promise.all(
      runs.map(async (run, index) => {
        await cleanroom.query(`DROP DATABASE ${scratch[index]}`)
        await run.dropAll()
      })
    )
    assert.equal(await role(name), undefined, `round ${round}: no role left`)
  }
})

test('a role whose pin fails (its database dropped meanwhile) is still dropped by the run', async () => {
  const name = `${prefix}_unpinned`
  const run = new CleanRoomRoles(await maintenance(), 'run_i')
  await run.decide(roles(name))
  // The scratch database is gone before the pin (a cancelled run drops its databases first).
  await assert.rejects(run.provide(uniqueName('never_created')), /does not exist/)
  assert.equal((await role(name))?.comment, `${ROLE_MARKER} of run run_i`, 'created, then the pin failed')
  await run.dropAll()
  assert.equal(await role(name), undefined)
})

test('a provide still running when the run drops its databases and roles leaves no role behind', async () => {
  const names = [1, 2, 3].map(n => `${prefix}_inflight_${n}`)
  const run = new CleanRoomRoles(await maintenance(), 'run_j')
  await run.decide(roles(...names))
  const database = await scratchDatabase()
  // Holds every CREATE ROLE back, so that the cleanup below starts while the first one waits (a
  // stage abandoned by a cancellation, or by a server watch that gave up, runs on meanwhile).
  const blocker = await maintenance()
  await blocker.query('BEGIN')
  await blocker.query('LOCK TABLE pg_catalog.pg_authid IN EXCLUSIVE MODE')
  let providing: Promise<void> | undefined
  let dropping: Promise<void> | undefined
  const saved: string[][] = []
  try {
    recordLeftoversWith(recorderInto(saved))
    providing = run.provide(database)
    await waitForLockWait(`CREATE ROLE ${quoteIdent(names[0])}`)
    // Should main be killed now, the post step knows of the role being created.
    assert.deepEqual(saved.at(-1), [names[0]], 'recorded before it exists')
    // The cleanup, as CleanRoom.close runs it: the scratch databases, then the roles.
    await cleanroom.query(`DROP DATABASE ${database} WITH (FORCE)`)
    dropping = run.dropAll()
  } finally {
    await blocker.query('COMMIT')
    recordLeftoversWith(undefined)
  }
  await assert.rejects(providing, /does not exist/, 'its pin fails: the database is gone')
  await dropping
  // A stage that would provide again once the drop has begun creates nothing.
  await assert.rejects(run.provide(await scratchDatabase()), /being dropped/)
  for (const name of names) assert.equal(await role(name), undefined, `${name} is not left behind`)
})

/** Records the roles saved for the post step into `saved`, each save a list. */
function recorderInto(saved: string[][]): LeftoverRecorder {
  return {
    scratchDatabases: () => undefined,
    roles: names => saved.push(names),
    restoreRole: () => undefined,
    runId: () => undefined,
    workDir: () => undefined
  }
}

/** Waits (bounded) until a session waits for a lock in a statement holding `text`. */
async function waitForLockWait(text: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [row] = await cleanroom.query(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, ${quoteLiteral(text)}) > 0`
    )
    if (row) return
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error(`no session waited for a lock in ${text}`)
}

test('roles kept by the drop stay recorded for the post step, which drops them after the databases', async () => {
  const name = `${prefix}_post`
  const saved: string[][] = []
  recordLeftoversWith(recorderInto(saved))
  try {
    const run = new CleanRoomRoles(await maintenance(), 'run_k')
    const database = await scratchDatabase()
    await run.decide(roles(name))
    await run.provide(database)
    // The run's own database could not be dropped (the main step killed, a server that stopped answering).
    await run.dropAll()
    assert.ok(await role(name), 'kept: its own database still uses it')
    assert.deepEqual(saved.at(-1), [name], 'recorded for the post step')
    // The post step: the leftover databases first, then the recorded roles.
    await cleanroom.query(`DROP DATABASE ${database}`)
    assert.deepEqual(await dropLazarusRoles(await maintenance(), saved.at(-1)!), { dropped: [name], kept: [] })
    assert.equal(await role(name), undefined)
  } finally {
    recordLeftoversWith(undefined)
  }
})

test('a role another run drops while this one waits to drop it counts as gone, not kept', async () => {
  const name = `${prefix}_raced`
  await cleanroom.query(`CREATE ROLE ${quoteIdent(name)} NOLOGIN`)
  await cleanroom.query(`COMMENT ON ROLE ${quoteIdent(name)} IS '${ROLE_MARKER} of run run_l'`)
  // The other run's drop, not yet committed: this run's drop waits for it.
  const other = await maintenance()
  await other.query('BEGIN')
  await other.query(`DROP ROLE ${quoteIdent(name)}`)
  const warnings: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  let result: { dropped: string[]; kept: string[] } | undefined
  try {
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (String(chunk).startsWith('::warning')) warnings.push(String(chunk))
      return write(chunk, ...rest)
    }) as typeof process.stdout.write
    const dropping = dropLazarusRoles(await maintenance(), [name])
    await waitForLockWait('DROP ROLE')
    await other.query('COMMIT')
    result = await dropping
  } finally {
    process.stdout.write = write
  }
  assert.deepEqual(result, { dropped: [], kept: [] })
  assert.deepEqual(warnings, [], 'no warning: the role is gone, as wanted')
  assert.equal(await role(name), undefined)
})
