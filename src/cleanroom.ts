import * as core from '@actions/core'
import { DatabaseSession } from './database.js'
import { describe, withDatabase, type ConnectionTarget } from './connection.js'
import { CleanRoomRoles } from './cleanroom-roles.js'
import { UserError, messageOf } from './errors.js'
import { restoreLocationCheckSql, type ClusterIdentity } from './guards.js'
import { RestoreRole, setUpRestoreRights, type RestoreRights, type RestoreRoleMode } from './restore-role.js'
import { saveRunId, saveScratchDatabases } from './state.js'
import { quoteIdent } from './fingerprint-queries.js'

/** Every scratch database carries this comment; Lazarus drops no database without it. */
const SCRATCH_MARKER = 'Lazarus scratch database'
/** SQLSTATE 42P04: CREATE DATABASE found the name taken. */
const DUPLICATE_DATABASE = '42P04'

/**
 * The clean-room server, through its maintenance database. Lazarus writes nothing there except
 * its own scratch databases, which it marks, tracks (also for the post step) and always drops.
 */
export class CleanRoom {
  private readonly scratch = new Set<string>()
  private readonly kept = new Set<string>()
  /** The roles a restore with owners and privileges needs; dropped after the databases that use them. */
  readonly roles: CleanRoomRoles
  private identity?: ClusterIdentity
  /** Who restores the dumps of this run (restore-role.ts), once decided. */
  private restoreRole?: RestoreRole
  restoreRights?: RestoreRights

  private constructor(
    readonly maintenance: DatabaseSession,
    private readonly target: ConnectionTarget,
    private readonly runId: string
  ) {
    this.roles = new CleanRoomRoles(maintenance, runId)
  }

  static async open(target: ConnectionTarget, runId: string): Promise<CleanRoom> {
    saveRunId(runId)
    return new CleanRoom(await DatabaseSession.open(target, 'cleanroom'), target, runId)
  }

  /** Fails early, before production is dumped, when this role cannot create databases. */
  async assertCanCreateDatabases(): Promise<void> {
    const { role, allowed } = await this.maintenance.canCreateDatabases()
    if (!allowed) {
      throw new UserError(
        `Role '${role}' on the clean room (${describe(this.target)}) cannot create databases: ` +
          `run ALTER ROLE "${role}" CREATEDB there, or use a role that can.`
      )
    }
  }

  /** What the separate-clusters guard established about this server: every restore checks it is here. */
  recordIdentity(identity: ClusterIdentity): void {
    this.identity = identity
  }

  /** The SQL psql runs before a dump restored into `target`: it stops psql anywhere but there (see guards.ts). */
  locationCheckSql(target: ConnectionTarget): string {
    if (!this.identity) throw new Error('The clean room was not identified before a restore')
    return restoreLocationCheckSql(target.database, this.identity)
  }

  /** Decides who restores this run's dumps, creating Lazarus's own restore role when that is it. */
  async setUpRestoreRights(mode: RestoreRoleMode): Promise<RestoreRights> {
    const { rights, role } = await setUpRestoreRights(this.maintenance, mode, this.runId)
    this.restoreRights = rights
    this.restoreRole = role
    return rights
  }

  /** Where psql connects to restore into `target`: as the restore role, when there is one. */
  restoreTarget(target: ConnectionTarget): ConnectionTarget {
    return this.restoreRole ? this.restoreRole.target(target) : target
  }

  /** Lets the restore role restore into `target`, a scratch database just created (and proves it can log in). */
  async prepareRestore(target: ConnectionTarget): Promise<void> {
    await this.restoreRole?.admit(target)
  }

  /** Where the scratch database for this run and purpose is (or will be once created). */
  scratchTarget(purpose: string): ConnectionTarget {
    return withDatabase(this.target, `lazarus_${this.runId}_${purpose.replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63))
  }

  /**
   * Creates an empty scratch database named and marked for this run and its purpose. The name is
   * recorded (for this process and the post step) before CREATE DATABASE, and the mark (a
   * comment) can only follow it: a run killed in between leaves an unmarked database, which its
   * name, lazarus_<this run's id>_..., still identifies as this run's.
   */
  async createScratchDatabase(
    purpose: string,
    production: { encoding: string; collate: string; ctype: string }
  ): Promise<ConnectionTarget> {
    const target = this.scratchTarget(purpose)
    const name = target.database
    this.scratch.add(name)
    saveScratchDatabases([...this.scratch])
    let localeFallback: boolean
    try {
      ;({ localeFallback } = await this.maintenance.createScratchDatabase(
        name,
        production.encoding,
        production.collate,
        production.ctype
      ))
    } catch (error) {
      // The server refused it (one of that name exists already, made by someone else): the name is
      // not this run's, and must not be dropped as an unmarked database of this run.
      if ((error as { code?: string }).code === DUPLICATE_DATABASE) {
        this.scratch.delete(name)
        saveScratchDatabases([...this.scratch])
        throw new UserError(
          `The clean room (${describe(this.target)}) already has a database named ${name}, which this run did not create: ` +
            `Lazarus leaves it alone and stops. Run again (every run names its scratch databases afresh).`
        )
      }
      throw error
    }
    await this.maintenance.commentOnDatabase(name, `${SCRATCH_MARKER} of run ${this.runId}`)
    if (localeFallback) {
      core.notice(`The clean room lacks production's locale '${production.collate}'; scratch database ${name} uses C.`)
    }
    core.info(`Created scratch database ${name} (${production.encoding}).`)
    return target
  }

  /** Leaves a scratch database in place (keep-cleanroom): it is no longer this run's to drop. */
  keep(target: ConnectionTarget): void {
    this.scratch.delete(target.database)
    this.kept.add(target.database)
    saveScratchDatabases([...this.scratch])
  }

  async dropScratchDatabase(target: ConnectionTarget): Promise<void> {
    if (this.kept.has(target.database)) return
    await dropIfLazarus(this.maintenance, target.database, this.runId)
    this.scratch.delete(target.database)
    saveScratchDatabases([...this.scratch])
    core.info(`Dropped scratch database ${target.database}.`)
  }

  /** Drops whatever is left and closes the connection; never throws, so cleanup always finishes. */
  async close(): Promise<void> {
    for (const name of [...this.scratch]) {
      try {
        await dropIfLazarus(this.maintenance, name, this.runId)
        this.scratch.delete(name)
      } catch (error) {
        core.warning(`Could not drop scratch database ${name}: ${messageOf(error)}`)
      }
    }
    saveScratchDatabases([...this.scratch])
    await this.roles.dropAll().catch(error => core.warning(`Could not drop Lazarus's roles: ${messageOf(error)}`))
    await this.restoreRole?.drop()
    await this.maintenance.close()
  }

  /**
   * Gives up on a clean room that stopped answering: drops the connection without waiting, and
   * leaves the scratch databases recorded for the post step, which tries again.
   */
  abandon(): void {
    this.maintenance.abandon()
    if (this.scratch.size > 0) {
      core.warning(
        `Could not drop scratch database(s) ${[...this.scratch].join(', ')} on the clean room, which stopped answering: ` +
          `the post step drops them once it answers again.`
      )
    }
  }
}

/**
 * Drops a database only if it is Lazarus's: it carries Lazarus's mark, or it is one of the run's
 * own (`runId`'s) that a kill left between CREATE DATABASE and its mark. A name from saved state
 * or a crafted input must never make Lazarus drop someone else's database.
 */
export async function dropIfLazarus(maintenance: DatabaseSession, name: string, runId?: string): Promise<void> {
  const comment = await maintenance.databaseComment(name)
  if (comment === undefined) {
    const exists = await maintenance.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])
    if (exists.length === 0) return
  }
  const unmarkedOfThisRun = comment === undefined && runId !== undefined && name.startsWith(`lazarus_${runId}_`)
  if (!comment?.startsWith(SCRATCH_MARKER) && !unmarkedOfThisRun) {
    throw new UserError(`Refusing to drop database '${name}' on the clean room: Lazarus did not create it.`)
  }
  await dropSubscriptions(maintenance, name)
  await maintenance.dropDatabase(name)
}

/**
 * A production subscription restored into a scratch database (pg_dump writes it with `connect =
 * false`, so it never connected) keeps DROP DATABASE from running, and DROP SUBSCRIPTION would
 * connect to production's publisher to drop the slot it names. So each one is disabled, detached
 * from its slot (slot_name = NONE: nothing is dropped on the publisher) and dropped, from inside
 * the scratch database. Any role may read a subscription's name and database.
 */
async function dropSubscriptions(maintenance: DatabaseSession, database: string): Promise<void> {
  const subscriptions = await maintenance.query<{ name: string }>(
    `SELECT s.subname AS name FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid
     WHERE d.datname = $1`,
    [database]
  )
  if (subscriptions.length === 0) return
  const session = await DatabaseSession.open(withDatabase(maintenance.target, database), 'cleanroom')
  try {
    for (const { name } of subscriptions) {
      const subscription = quoteIdent(name)
      await session.query(`ALTER SUBSCRIPTION ${subscription} DISABLE`)
      await session.query(`ALTER SUBSCRIPTION ${subscription} SET (slot_name = NONE)`)
      await session.query(`DROP SUBSCRIPTION ${subscription}`)
    }
  } finally {
    await session.close()
  }
}
