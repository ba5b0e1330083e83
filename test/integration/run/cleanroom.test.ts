import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mysql } from '../../../src/engines/mysql/index.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import type { PostgresRunRoles } from '../../../src/engines/postgres/run-roles.js'
import type { CleanroomRoles, DatabaseDefaults, SeamMaintenance } from '../../../src/engines/types.js'
import { CleanRoom, dropIfLazarus, dropLeftovers, scratchMark, scratchName } from '../../../src/run/cleanroom.js'
import { UserError } from '../../../src/util/errors.js'
import { recordLeftoversWith, type LeftoverRecorder } from '../../../src/util/leftovers.js'
import { capturingStdout } from '../../support/capture-stdout.js'
import { mariadbCleanroom } from '../../support/mariadb.js'
import { cleanroomCluster, uniqueName } from '../../support/shared-servers.js'

// The one clean room (run/cleanroom.ts), over each engine's real maintenance handle: scratch
// databases created with production's defaults, marked, recorded for the post step before they
// exist, dropped at the end (or kept), a name someone else took refused and forgotten, a database
// Lazarus did not mark never dropped, and the post step's drop of what a killed run left: the
// databases, then (PostgreSQL) the roles that depend on them.

interface RoomEngine {
  name: 'PostgreSQL' | 'MariaDB'
  engine: { openMaintenance(target: unknown): Promise<SeamMaintenance>; readonly cleanroomRoles?: CleanroomRoles }
  target(): Promise<unknown>
  /** Production's defaults, as a scratch database should get them. */
  defaults: DatabaseDefaults
  /** What the server says the database was created with, in DatabaseDefaults' terms. */
  createdWith(name: string): Promise<DatabaseDefaults>
  /** Defaults with a collation this clean room lacks, and what it then says. */
  lacking: { defaults: DatabaseDefaults; notice: (name: string) => string; createdWith: DatabaseDefaults }
  /** Someone else's database, without Lazarus's mark, holding one row. */
  createForeign(name: string): Promise<void>
  exists(name: string): Promise<boolean>
  dropDirectly(name: string): Promise<void>
}

const engines: RoomEngine[] = [
  {
    name: 'PostgreSQL',
    engine: postgres,
    target: async () => postgres.parseUrl('cleanroom-url', (await cleanroomCluster()).url('postgres')),
    // LC_CTYPE apart from LC_COLLATE: a scratch database must get both as production has them.
    defaults: { characterSet: 'UTF8', collation: 'C', characterType: 'C.utf8' },
    async createdWith(name) {
      const session = await DatabaseSession.open(
        postgres.parseUrl('cleanroom-url', (await cleanroomCluster()).url(name)),
        'cleanroom'
      )
      try {
        return await session.databaseDefaults()
      } finally {
        await session.close()
      }
    },
    lacking: {
      defaults: { characterSet: 'UTF8', collation: 'xx_XX.UTF-8', characterType: 'xx_XX.UTF-8' },
      notice: name => `The clean room lacks production's locale 'xx_XX.UTF-8'; scratch database ${name} uses C.`,
      createdWith: { characterSet: 'UTF8', collation: 'C', characterType: 'C' }
    },
    createForeign: async name =>
      (await cleanroomCluster()).createDatabase(name, 'CREATE TABLE precious (id integer); INSERT INTO precious VALUES (42);'),
    exists: async name =>
      (await (await cleanroomCluster()).query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length > 0,
    dropDirectly: async name => void (await (await cleanroomCluster()).query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  },
  {
    name: 'MariaDB',
    engine: mysql,
    target: async () => mysql.parseUrl('cleanroom-url', (await mariadbCleanroom()).url('mysql')),
    defaults: { characterSet: 'latin1', collation: 'latin1_swedish_ci' },
    async createdWith(name) {
      const [, row] = (
        await (
          await mariadbCleanroom()
        ).sql(
          `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`
        )
      ).split('\n')
      const [characterSet, collation] = row!.split('\t')
      return { characterSet: characterSet!, collation: collation! }
    },
    lacking: {
      // MariaDB before 11.4 has no MySQL 8 _0900_ collations.
      defaults: { characterSet: 'utf8mb4', collation: 'utf8mb4_0900_ai_ci' },
      notice: name =>
        `The clean room lacks production's collation utf8mb4_0900_ai_ci; scratch database ${name} uses its default.`,
      createdWith: { characterSet: 'utf8mb4', collation: 'utf8mb4_general_ci' }
    },
    createForeign: async name =>
      void (await (
        await mariadbCleanroom()
      ).sql(
        `CREATE DATABASE \`${name}\`; CREATE TABLE \`${name}\`.precious (id int); INSERT INTO \`${name}\`.precious VALUES (42);`
      )),
    exists: async name =>
      (await (await mariadbCleanroom()).sql(`SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`)).trim() !==
      '',
    dropDirectly: async name => void (await (await mariadbCleanroom()).sql(`DROP DATABASE IF EXISTS \`${name}\``))
  }
]

const cleanups: (() => Promise<unknown>)[] = []
after(async () => {
  recordLeftoversWith(undefined)
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
})

/** Opens a clean room whose handle the file's end closes too, should a test fail before it does. */
async function openRoom(...args: Parameters<typeof CleanRoom.open>): Promise<CleanRoom> {
  const room = await CleanRoom.open(...args)
  cleanups.push(() => room.maintenance.close())
  return room
}

/** A run id as a run makes one (workspace.ts): unique, so that every test has its own names. */
function runId(): string {
  return uniqueName('r').replace(/^r_/, '')
}

/** What the clean room reports for the post step, as the action's state would keep it. */
function recording(): { state: { databases?: string[]; roles?: string[]; restoreRole?: string; runId?: string } } {
  const state: { databases?: string[]; roles?: string[]; restoreRole?: string; runId?: string } = {}
  const recorder: LeftoverRecorder = {
    scratchDatabases: names => (state.databases = names),
    roles: names => (state.roles = names),
    restoreRole: name => (state.restoreRole = name),
    runId: id => (state.runId = id),
    workDir: () => undefined
  }
  recordLeftoversWith(recorder)
  return { state }
}

for (const side of engines) {
  test(`${side.name}: a scratch database gets production's defaults and the run's mark, is recorded while it exists, and is dropped at the end unless kept`, async () => {
    const { state } = recording()
    const id = runId()
    const room = await openRoom(side.engine, await side.target(), id)
    cleanups.push(
      () => side.dropDirectly(scratchName(id, 'backup')),
      () => side.dropDirectly(scratchName(id, 'kept'))
    )
    assert.equal(state.runId, id)
    const name = await room.create('backup', side.defaults)
    assert.equal(name, scratchName(id, 'backup'))
    assert.match(name, new RegExp(`^lazarus_${id}_backup$`))
    assert.deepEqual(state.databases, [name], 'recorded for the post step')
    assert.deepEqual(await side.createdWith(name), side.defaults)
    assert.equal(await room.maintenance.scratchMarker(name), scratchMark(id))
    const kept = await room.create('kept', side.defaults)
    room.keep(kept)
    assert.deepEqual(state.databases, [name], "a kept database is no longer the post step's to drop")
    await room.close()
    assert.equal(await side.exists(name), false, 'dropped at the end')
    assert.equal(await side.exists(kept), true, 'kept (keep-cleanroom)')
    assert.deepEqual(state.databases, [])
  })

  test(`${side.name}: a clean room that lacks production's collation creates the database with its own and says so`, async () => {
    recording()
    const id = runId()
    const room = await openRoom(side.engine, await side.target(), id)
    cleanups.push(() => side.dropDirectly(scratchName(id, 'fallback')))
    try {
      const { value: name, output } = await capturingStdout(() => room.create('fallback', side.lacking.defaults))
      assert.ok(output.includes(`::notice::${side.lacking.notice(name)}`), output)
      assert.deepEqual(await side.createdWith(name), side.lacking.createdWith)
    } finally {
      await room.close()
    }
  })

  test(`${side.name}: a name someone else's database took is refused and forgotten: neither the run nor the post step drops it`, async () => {
    const { state } = recording()
    const id = runId()
    const taken = scratchName(id, 'backup')
    await side.createForeign(taken)
    cleanups.push(() => side.dropDirectly(taken))
    const room = await openRoom(side.engine, await side.target(), id)
    await assert.rejects(room.create('backup', side.defaults), (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.match(
        error.message,
        new RegExp(`already has a database named ${taken}, which this run did not create: Lazarus leaves it alone`)
      )
      return true
    })
    assert.deepEqual(state.databases, [], "not recorded as the run's")
    await room.close()
    assert.equal(await side.exists(taken), true)
    // Even named in the post step's record (a crafted state), an unmarked database of a name the
    // run did not make is refused, and the post step goes on.
    const target = await side.target()
    const { output } = await capturingStdout(() =>
      dropLeftovers(side.engine, target, { databases: [taken], roles: [], runId: runId() })
    )
    assert.match(
      output,
      new RegExp(
        `::warning::Post-run cleanup failed: Refusing to drop database '${taken}' on the clean room: Lazarus did not create it\\.`
      )
    )
    assert.equal(await side.exists(taken), true, 'left as it was')
  })

  test(`${side.name}: a CREATE DATABASE whose answer is lost stays recorded: the run's end drops what the server made`, async () => {
    const { state } = recording()
    const id = runId()
    const room = await openRoom(side.engine, await side.target(), id)
    const [lost, never] = [scratchName(id, 'lost'), scratchName(id, 'never')]
    cleanups.push(() => side.dropDirectly(lost))
    // The server makes the first database and its answer is lost (the connection dropped, a
    // timeout); the second fails before the server makes anything.
    const create = room.maintenance.createScratchDatabase.bind(room.maintenance)
    room.maintenance.createScratchDatabase = async (name, defaults) => {
      if (name === lost) await create(name, defaults)
      throw new Error('Connection terminated unexpectedly')
    }
    await assert.rejects(room.create('lost', side.defaults), /Connection terminated unexpectedly/)
    await assert.rejects(room.create('never', side.defaults), /Connection terminated unexpectedly/)
    assert.equal(await side.exists(lost), true)
    assert.equal(await side.exists(never), false)
    assert.deepEqual(state.databases, [lost, never], 'still recorded, for the run and the post step')
    const { output } = await capturingStdout(() => room.close())
    assert.equal(await side.exists(lost), false, "dropped at the run's end: unmarked, but named as this run's")
    assert.deepEqual(state.databases, [])
    assert.ok(output.includes(`Dropped scratch database ${lost}.`), output)
    assert.ok(!output.includes(never), `nothing said of a database that never was: ${output}`)
  })

  test(`${side.name}: only Lazarus's databases are dropped: marked ones, and the run's own that a kill left unmarked`, async () => {
    recording()
    const id = runId()
    const maintenance = await side.engine.openMaintenance(await side.target())
    cleanups.push(() => maintenance.close())
    const [foreign, unmarkedOfRun, marked] = [
      `lazarus_${runId()}_backup`,
      scratchName(id, 'killed'),
      scratchName(runId(), 'marked')
    ]
    for (const name of [foreign, unmarkedOfRun, marked]) {
      await side.createForeign(name)
      cleanups.push(() => side.dropDirectly(name))
    }
    await maintenance.markScratchDatabase(marked, scratchMark('another run'))
    try {
      // Named like a scratch database, but another run's (or no run's) and without the mark.
      await assert.rejects(dropIfLazarus(maintenance, foreign, id), (error: unknown) => {
        assert.ok(error instanceof UserError)
        assert.equal(error.message, `Refusing to drop database '${foreign}' on the clean room: Lazarus did not create it.`)
        return true
      })
      await assert.rejects(dropIfLazarus(maintenance, foreign), /Lazarus did not create it/)
      assert.equal(await side.exists(foreign), true)
      // A comment that is not Lazarus's mark is no mark.
      await maintenance.markScratchDatabase(foreign, 'Production copy, keep')
      await assert.rejects(dropIfLazarus(maintenance, foreign, id), /Lazarus did not create it/)
      assert.equal(await side.exists(foreign), true)
      await dropIfLazarus(maintenance, unmarkedOfRun, id)
      assert.equal(await side.exists(unmarkedOfRun), false, "the run's own, killed between CREATE DATABASE and its mark")
      await dropIfLazarus(maintenance, marked)
      assert.equal(await side.exists(marked), false, 'marked by Lazarus')
      // A database already gone is nothing to do.
      await dropIfLazarus(maintenance, marked, id)
    } finally {
      await maintenance.close()
    }
  })
}

test('PostgreSQL: the post step drops what a killed run left, the scratch database and then the roles that depend on it', async () => {
  const { state } = recording()
  const id = runId()
  const target = postgres.parseUrl('cleanroom-url', (await cleanroomCluster()).url('postgres'))
  const room = await openRoom(postgres, target, id)
  const cluster = await cleanroomCluster()
  const role = uniqueName('app_owner')
  cleanups.push(
    () => cluster.query(`DROP DATABASE IF EXISTS ${scratchName(id, 'backup')} WITH (FORCE)`),
    () => cluster.query(`DROP ROLE IF EXISTS ${role}`),
    () => (state.restoreRole ? cluster.query(`DROP ROLE IF EXISTS ${state.restoreRole}`) : Promise.resolve())
  )
  // The run's roles: its own restore role, and a role production names, pinned to the database.
  const roles = room.roles as PostgresRunRoles
  assert.equal((await roles.setUpRestoreRights('unprivileged')).ownRole, true)
  assert.equal((await roles.decide([{ name: role, superuser: false }])).restore, true)
  const name = await room.create('backup', { characterSet: 'UTF8', collation: 'C' })
  await roles.provide(name)
  // Killed: the connection goes, the cleanup never runs; what it left is recorded.
  await capturingStdout(async () => room.abandon())
  assert.deepEqual(state.databases, [name])
  assert.deepEqual(state.roles, [role])
  assert.ok(state.restoreRole)
  const roleExists = async (r: string) => (await cluster.query(`SELECT 1 FROM pg_roles WHERE rolname = '${r}'`)).length > 0
  assert.equal(await roleExists(role), true)
  const { output } = await capturingStdout(() =>
    dropLeftovers(postgres, target, { databases: state.databases!, roles: [...state.roles!, state.restoreRole!], runId: id })
  )
  assert.doesNotMatch(output, /::warning::/)
  assert.match(output, new RegExp(`Dropped leftover scratch database ${name}\\.`))
  assert.equal((await cluster.query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length, 0)
  assert.equal(await roleExists(role), false, 'the role production names, once its database is gone')
  assert.equal(await roleExists(state.restoreRole!), false, 'the restore role')
})

test('MariaDB: the post step drops a scratch database a killed run left, and keeps no roles (the engine has none to keep)', async () => {
  const { state } = recording()
  const id = runId()
  const target = mysql.parseUrl('cleanroom-url', (await mariadbCleanroom()).url('mysql'))
  const room = await openRoom(mysql, target, id)
  assert.equal(room.roles, undefined)
  const name = await room.create('backup', { characterSet: 'utf8mb4', collation: 'utf8mb4_general_ci' })
  cleanups.push(() => engines[1]!.dropDirectly(name))
  await capturingStdout(async () => room.abandon())
  assert.deepEqual(state.databases, [name])
  const { output } = await capturingStdout(() => dropLeftovers(mysql, target, { databases: [name], roles: ['stray'], runId: id }))
  assert.match(output, new RegExp(`Dropped leftover scratch database ${name}\\.`))
  assert.doesNotMatch(output, /::warning::/)
  assert.equal(await engines[1]!.exists(name), false)
})

test("PostgreSQL: a locale the clean room has, but not for production's encoding, falls back to C too", async () => {
  recording()
  const id = runId()
  const room = await openRoom(postgres, postgres.parseUrl('cleanroom-url', (await cleanroomCluster()).url('postgres')), id)
  cleanups.push(() => engines[0]!.dropDirectly(scratchName(id, 'latin')))
  try {
    // C.utf8 exists on this machine, for UTF8 only: "encoding LATIN1 does not match locale".
    const defaults = { characterSet: 'LATIN1', collation: 'C.utf8', characterType: 'C.utf8' }
    const { value: name, output } = await capturingStdout(() => room.create('latin', defaults))
    assert.ok(
      output.includes(`::notice::The clean room lacks production's locale 'C.utf8'; scratch database ${name} uses C.`),
      output
    )
    assert.deepEqual(await engines[0]!.createdWith(name), { characterSet: 'LATIN1', collation: 'C', characterType: 'C' })
  } finally {
    await room.close()
  }
})

test("PostgreSQL: the run's end drops its scratch databases, then its roles, which depended on them", async () => {
  const { state } = recording()
  const id = runId()
  const cluster = await cleanroomCluster()
  const room = await openRoom(postgres, postgres.parseUrl('cleanroom-url', cluster.url('postgres')), id)
  const role = uniqueName('app_reader')
  cleanups.push(
    () => cluster.query(`DROP DATABASE IF EXISTS ${scratchName(id, 'backup')} WITH (FORCE)`),
    () => cluster.query(`DROP ROLE IF EXISTS ${role}`),
    () => (state.restoreRole ? cluster.query(`DROP ROLE IF EXISTS ${state.restoreRole}`) : Promise.resolve())
  )
  const roles = room.roles as PostgresRunRoles
  await roles.setUpRestoreRights('unprivileged')
  await roles.decide([{ name: role, superuser: false }])
  await roles.provide(await room.create('backup', { characterSet: 'UTF8', collation: 'C' }))
  const exists = async (r: string) => (await cluster.query(`SELECT 1 FROM pg_roles WHERE rolname = '${r}'`)).length > 0
  assert.ok(state.restoreRole && (await exists(state.restoreRole)) && (await exists(role)))
  await capturingStdout(() => room.close())
  assert.equal(await engines[0]!.exists(scratchName(id, 'backup')), false)
  assert.equal(await exists(role), false)
  assert.equal(await exists(state.restoreRole), false)
  assert.deepEqual(state.roles, [], 'nothing left for the post step')
  assert.equal(state.restoreRole, undefined)
})
