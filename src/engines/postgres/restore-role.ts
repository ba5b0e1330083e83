import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import * as core from '@actions/core'
import { ROLE_MARKER, dropLazarusRoles } from './cleanroom-roles.js'
import type { ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { UserError, messageOf } from '../../util/errors.js'
import { quoteIdent, quoteLiteral } from './figure-queries.js'
import type { Queryable } from './queryable.js'
import { saveRestoreRole } from '../../util/leftovers.js'
import type { RestoreRights, RestoreRoleMode } from '../types.js'

/**
 * Who restores the dump in the clean room. A restore executes production-authored code: CHECK
 * and domain constraints and generated columns during COPY, index expressions and predicates
 * and exclusion constraints during CREATE INDEX, REFRESH MATERIALIZED VIEW, SECURITY DEFINER
 * functions owned by whoever restores them (pg_dump --no-owner). Run as the clean room's
 * superuser, a production user who may create a function could run `COPY ... TO PROGRAM` on the
 * clean-room host. SET ROLE or SET SESSION AUTHORIZATION are no sandbox (a function may RESET
 * them while the session's login role is a superuser), so psql LOGS IN as a role of its own:
 * created per run, without any attribute, marked like Lazarus's other roles (ROLE_MARKER),
 * recorded for the post step, given only CONNECT, CREATE and TEMPORARY on the scratch database
 * (and CREATE on its public schema), and dropped at the end. It owns what it restores, so the
 * code that runs as an object's owner (CREATE INDEX, REFRESH, autovacuum's ANALYZE, amcheck)
 * runs as this role too. It does not own the database: the owner could ALTER DATABASE ... SET
 * settings (a search_path) that Lazarus's own sessions, connected as the clean-room role,
 * would pick up.
 */

export const RESTORE_ROLE_MODES = ['unprivileged', 'superuser'] as const satisfies readonly RestoreRoleMode[]
export type { RestoreRights, RestoreRoleMode }

/** Rights that let a role run programs or touch the server's files: never lent to production's code. */
export const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'] as const

/** What the clean room says about its configured role. */
export interface CleanRoomRights {
  user: string
  superuser: boolean
  createRole: boolean
  /** Of SERVER_ACCESS_ROLES, those the role has the rights of. */
  serverAccess: string[]
}

/** The name of the run's restore role: unique per run, recognisable, within PostgreSQL's 63 bytes. */
export function restoreRoleName(runId: string): string {
  return `lazarus_restore_${runId}`.slice(0, 63)
}

/**
 * Decides who restores. Pure. `unprivileged` (the default) creates a role of Lazarus's own when
 * the clean-room role can create roles (a superuser, or CREATEROLE, which before PostgreSQL 16
 * could grant itself any non-superuser right and so is no sandbox either); a role that cannot
 * restores as itself, unless it is a superuser (impossible) or may run programs or touch the
 * server's files (refused: it would lend those rights to production's code).
 */
export function decideRestoreRights(
  mode: RestoreRoleMode,
  rights: CleanRoomRights,
  ownRole: string
): RestoreRights | { refuse: string } {
  const user = quoteIdent(rights.user)
  if (mode === 'superuser') {
    const what = rights.superuser ? 'a superuser' : 'the clean-room role'
    return {
      mode,
      role: rights.user,
      superuser: rights.superuser,
      ownRole: false,
      description:
        `The restore runs as ${rights.user}, ${what} (restore-role: superuser): production's functions, constraints, ` +
        `index expressions and materialized views run with that role's rights in the clean room`
    }
  }
  if (rights.superuser || rights.createRole) {
    return {
      mode,
      role: ownRole,
      superuser: false,
      ownRole: true,
      description:
        `The restore runs as ${ownRole}, a role without superuser rights that Lazarus created for this run ` +
        `(restore-role: unprivileged): production's code in the dump runs with no right beyond the scratch database`
    }
  }
  if (rights.serverAccess.length > 0) {
    return {
      refuse:
        `the clean-room role ${user} cannot create roles but has the rights of ${rights.serverAccess.join(', ')}, ` +
        `which production's code in the dump would run with: give it CREATEROLE (Lazarus then restores as a role ` +
        `of its own), use a role without those rights, or set restore-role: superuser to accept that`
    }
  }
  return {
    mode,
    role: rights.user,
    superuser: false,
    ownRole: false,
    description:
      `The restore runs as ${rights.user}, the clean-room role, which is not a superuser and cannot create roles ` +
      `(restore-role: unprivileged): production's code in the dump runs with that role's rights`
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, RFC 7677): the role is
 * created with it, so the password itself never reaches the server (nor its statement log).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

/** Reads the configured clean-room role's rights. */
export async function readCleanRoomRights(maintenance: Queryable): Promise<CleanRoomRights> {
  const [row] = await maintenance.query<{ user: string; superuser: boolean; createrole: boolean; access: string[] }>(
    `SELECT r.rolname AS user, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
       ARRAY(SELECT a.rolname::pg_catalog.text FROM pg_catalog.pg_roles a
             WHERE a.rolname = ANY ($1::pg_catalog.text[]) AND pg_catalog.pg_has_role(r.oid, a.oid, 'USAGE')
             ORDER BY 1) AS access
     FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    [[...SERVER_ACCESS_ROLES]]
  )
  return { user: row.user, superuser: row.superuser, createRole: row.createrole, serverAccess: row.access }
}

/** The run's own restore role in the clean room: created, admitted to scratch databases, dropped. */
export class RestoreRole {
  private constructor(
    private readonly maintenance: Queryable,
    readonly name: string,
    private readonly password: string
  ) {}

  /**
   * Creates the role, LOGIN and nothing else, with its mark in the same transaction (no other
   * session sees it unmarked). It is recorded for the post step before it exists: dropping a
   * role that is not there, or not marked, does nothing.
   */
  static async create(maintenance: Queryable, runId: string): Promise<RestoreRole> {
    const name = restoreRoleName(runId)
    const password = randomBytes(24).toString('base64url')
    core.setSecret(password)
    saveRestoreRole(name)
    const role = quoteIdent(name)
    await maintenance.query(
      `CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
         PASSWORD ${quoteLiteral(scramVerifier(password))};
       COMMENT ON ROLE ${role} IS ${quoteLiteral(`${ROLE_MARKER} (restores the dump) of run ${runId}`)}`
    )
    core.info(`Created role ${name} in the clean room to restore the dump with (no superuser or other rights).`)
    return new RestoreRole(maintenance, name, password)
  }

  /** Where psql connects to restore into `scratch`: the same server and database, as this role. */
  target(scratch: ConnectionTarget): ConnectionTarget {
    return {
      ...scratch,
      user: this.name,
      password: this.password,
      secrets: [...scratch.secrets, this.password]
    }
  }

  /**
   * Lets the role restore into `scratch` (an empty scratch database just created): CONNECT,
   * CREATE (schemas, trusted extensions) and TEMPORARY on the database, CREATE on its public
   * schema (PostgreSQL 15 and later give it to the database owner only). Then proves the role
   * can log in there, so that a clean room whose pg_hba.conf refuses it fails with what to fix
   * instead of as a backup that does not restore.
   */
  async admit(scratch: ConnectionTarget): Promise<void> {
    const role = quoteIdent(this.name)
    await this.maintenance.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${quoteIdent(scratch.database)} TO ${role}`)
    const owner = await DatabaseSession.open(scratch, 'cleanroom')
    try {
      const [publicSchema] = await owner.query(`SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public'`)
      if (publicSchema) await owner.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`)
    } finally {
      await owner.close()
    }
    try {
      const session = await DatabaseSession.open(this.target(scratch), 'cleanroom')
      await session.close()
    } catch (error) {
      throw new UserError(
        `The clean room refused a login by Lazarus's restore role ${this.name} (${messageOf(error)}): let every role ` +
          `log in with a password from this runner in the clean room's pg_hba.conf (host all all <runner> scram-sha-256), ` +
          `or set restore-role: superuser to restore as the clean-room role.`
      )
    }
  }

  /**
   * Drops the role; never throws. A database kept with keep-cleanroom still holds what it
   * restored: the role then stays for that database, but can no longer log in.
   */
  async drop(): Promise<void> {
    const { kept } = await dropLazarusRoles(this.maintenance, [this.name])
    if (kept.length === 0) {
      saveRestoreRole(undefined)
      return
    }
    await this.maintenance
      .query(`ALTER ROLE ${quoteIdent(this.name)} NOLOGIN PASSWORD NULL`)
      .catch(error => core.warning(`Could not disable logins by role ${this.name}: ${messageOf(error)}`))
  }
}

/**
 * Decides who restores for this run (decideRestoreRights) and, when that is a role of Lazarus's
 * own, creates it. Throws a UserError when the clean-room role may not be trusted with
 * production's code and cannot make a role that could.
 */
export async function setUpRestoreRights(
  maintenance: Queryable,
  mode: RestoreRoleMode,
  runId: string
): Promise<{ rights: RestoreRights; role?: RestoreRole }> {
  const decided = decideRestoreRights(mode, await readCleanRoomRights(maintenance), restoreRoleName(runId))
  if ('refuse' in decided) throw new UserError(`The restore cannot run without superuser rights: ${decided.refuse}.`)
  if (!decided.ownRole) return { rights: decided }
  return { rights: decided, role: await RestoreRole.create(maintenance, runId) }
}

/** A hint for a restore that failed on a right the restoring role lacks, or nothing. Pure. */
export function missingRightHint(error: string, rights: RestoreRights | undefined): string | undefined {
  if (!rights || rights.superuser) return undefined
  if (!/must be superuser|must be owner|permission denied|must have privileges|must be a member/i.test(error)) return undefined
  return (
    `the restore ran as ${rights.role} without superuser rights (restore-role: ${rights.mode}); ` +
    `if the backup needs them, set restore-role: superuser`
  )
}
