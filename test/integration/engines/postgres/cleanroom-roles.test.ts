import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CleanRoomRoles, ROLE_MARKER, dropLazarusRoles } from '../../../../src/engines/postgres/cleanroom-roles.js'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { quoteIdent, quoteLiteral } from '../../../../src/engines/postgres/figure-queries.js'
import type { NamedRole } from '../../../../src/engines/postgres/privileges.js'
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
