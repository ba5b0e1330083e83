import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConnectionUrl, withDatabase } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { quoteIdent, quoteLiteral } from '../../../../src/engines/postgres/figure-queries.js'
import { RestoreRole, readCleanRoomRights } from '../../../../src/engines/postgres/restore-role.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// The run's restore role on the real clean room: what it may do in a scratch database (restore)
// and what it may not (run programs, read the server's files, change the database's settings),
// its login with a password that never reached the server, and its removal.

let cleanroom: Cluster
let maintenance: DatabaseSession
const databases: string[] = []
const roles: string[] = []

before(async () => {
  cleanroom = await cleanroomCluster()
  maintenance = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
})

after(async () => {
  await maintenance.close()
  for (const database of databases)
    await cleanroom.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`).catch(() => undefined)
  for (const role of roles) await cleanroom.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`).catch(() => undefined)
})

async function scratch(): Promise<string> {
  const name = uniqueName('lazarus_restore_role')
  databases.push(name)
  await cleanroom.query(`CREATE DATABASE ${quoteIdent(name)}`)
  return name
}

async function roleRow(name: string) {
  const [row] = await cleanroom.query<{ super: boolean; login: boolean; password: string | null; comment: string | null }>(
    `SELECT rolsuper AS super, rolcanlogin AS login, rolpassword AS password, shobj_description(oid, 'pg_authid') AS comment
     FROM pg_authid WHERE rolname = ${quoteLiteral(name)}`
  )
  return row
}

test("the clean-room role's rights are read: superuser, CREATEROLE, and the server-access roles it has", async () => {
  assert.deepEqual(await readCleanRoomRights(maintenance), {
    user: 'postgres',
    superuser: true,
    createRole: true,
    serverAccess: ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files']
  })
  const user = uniqueName('program_runner')
  roles.push(user)
  await cleanroom.query(`CREATE ROLE ${user} LOGIN CREATEDB PASSWORD 'x'; GRANT pg_execute_server_program TO ${user}`)
  const session = await DatabaseSession.open(
    parseConnectionUrl('cleanroom-url', cleanroom.url('postgres', { user, password: 'x' })),
    'cleanroom'
  )
  try {
    assert.deepEqual(await readCleanRoomRights(session), {
      user,
      superuser: false,
      createRole: false,
      serverAccess: ['pg_execute_server_program']
    })
  } finally {
    await session.close()
  }
})

test('the restore role restores into its scratch database and can do nothing beyond it; it is dropped at the end', async () => {
  const runId = uniqueName('run')
  const role = await RestoreRole.create(maintenance, runId)
  roles.push(role.name)
  const row = await roleRow(role.name)
  assert.equal(row.super, false)
  assert.equal(row.login, true)
  assert.match(row.password ?? '', /^SCRAM-SHA-256\$4096:/)
  assert.match(row.comment ?? '', new RegExp(`^Lazarus role \\(restores the dump\\) of run ${runId}$`))

  const database = await scratch()
  const target = withDatabase(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), database)
  await role.admit(target)
  const restorer = await DatabaseSession.open(role.target(target), 'cleanroom')
  try {
    const [who] = await restorer.query<{ user: string; superuser: string }>(
      `SELECT current_user AS user, current_setting('is_superuser') AS superuser`
    )
    assert.deepEqual(who, { user: role.name, superuser: 'off' })
    // What a dump does: schemas, tables, data, indexes, a trusted extension.
    await restorer.query(`CREATE SCHEMA app; CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1);
      CREATE TABLE app.u (v text); CREATE INDEX ON app.u (lower(v)); CREATE EXTENSION citext WITH SCHEMA app`)
    // What production's code must never do from there.
    for (const sql of [
      `COPY (SELECT 1) TO PROGRAM 'true'`,
      `SELECT pg_read_file('postgresql.conf')`,
      `ALTER DATABASE ${quoteIdent(database)} SET search_path = public, pg_catalog`,
      `SET ROLE postgres`,
      `CREATE ROLE ${quoteIdent(`${role.name}_x`)}`,
      `CREATE EXTENSION file_fdw`
    ]) {
      await assert.rejects(restorer.query(sql), /permission denied|must be|must have/, sql)
    }
  } finally {
    await restorer.close()
  }
  await cleanroom.query(`DROP DATABASE ${quoteIdent(database)}`)
  await role.drop()
  assert.equal(await roleRow(role.name), undefined, 'dropped')
})

test('a database kept with keep-cleanroom keeps the restore role, which can no longer log in', async () => {
  const role = await RestoreRole.create(maintenance, uniqueName('run'))
  roles.push(role.name)
  const database = await scratch()
  const target = withDatabase(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), database)
  await role.admit(target)
  const restorer = await DatabaseSession.open(role.target(target), 'cleanroom')
  await restorer.query('CREATE TABLE public.kept (id int)')
  await restorer.close()
  await role.drop()
  const row = await roleRow(role.name)
  assert.equal(row.login, false)
  assert.equal(row.password, null)
  await assert.rejects(DatabaseSession.open(role.target(target), 'cleanroom'))
})
