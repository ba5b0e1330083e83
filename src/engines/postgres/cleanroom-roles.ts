import * as core from '@actions/core'
import { UserError, messageOf } from '../../util/errors.js'
import { quoteIdent, quoteLiteral } from './figure-queries.js'
import { isReservedRoleName, predefinedRolesNewerThan } from './predefined-roles.js'
import { listNames, type NamedRole } from './privileges.js'
import type { Queryable } from './queryable.js'
import { saveRoles } from '../../util/leftovers.js'
import type { OwnersPlan } from '../types.js'

/**
 * The roles a restore with owners and privileges needs in the clean room. Roles are global to
 * the clean-room cluster, so Lazarus is careful with them:
 * - A role that exists without Lazarus's mark was there before (or belongs to someone else): it
 *   is used as it is, never altered, never dropped.
 * - A missing role is created NOLOGIN, without password or attributes, and marked with a comment
 *   in the same transaction, so no other session ever sees it unmarked.
 * - Each scratch database pins every Lazarus role it uses (GRANT CONNECT on the database, which
 *   the dump never carries): DROP ROLE refuses while the pin exists, so a concurrent run sharing
 *   the clean room (a matrix of jobs) cannot drop a role from under this run's restore. PostgreSQL
 *   locks the role while it records the pin and checks it still exists, so a role dropped in the
 *   meantime makes the pin fail, and it is created again.
 * - At the end every Lazarus role this run created, or found marked and tried to pin, is dropped
 *   unless something still depends on it (another run's scratch database, or one kept with
 *   keep-cleanroom). Each run drops its scratch databases before its roles, so whatever the
 *   interleaving the last run out finds no dependency left and drops the role: a role is
 *   recorded before it is created (a pin that fails, a run cancelled meanwhile, still leave it
 *   recorded), no role is created once the drop has begun, and a role kept for any reason stays
 *   recorded for the post step, which tries again after dropping the run's leftover databases.
 */

/** The name of the n-th stand-in of a run (see RolePlan.standIns): unique per run, within 63 bytes. */
export function standInName(runId: string, n: number): string {
  return `lazarus_as_${runId}_${n}`.slice(0, 63)
}

/** The comment every role Lazarus creates carries; Lazarus drops no role without it. */
export const ROLE_MARKER = 'Lazarus role'

const DUPLICATE_OBJECT = '42710'
const UNIQUE_VIOLATION = '23505'
const UNDEFINED_OBJECT = '42704'
const DEPENDENT_OBJECTS_STILL_EXIST = '2BP01'
/** Tries to create and pin a role that a concurrent run keeps dropping and creating. */
const PROVIDE_ATTEMPTS = 5

/**
 * Whether owners and privileges can be restored and compared, and with which roles (OwnersPlan:
 * `restore`, `reason`, `provided`, `existing`, the roles that already existed in the clean room,
 * used as they are or played by stand-ins, below).
 */
export interface RolePlan extends OwnersPlan {
  /**
   * Predefined roles of a newer PostgreSQL (predefined-roles.ts) that production names and the
   * clean room lacks: no one may create a `pg_*` role, so each is played by a stand-in (below),
   * whatever restore-role says, and named back as itself when the restored copy is read.
   */
  predefined?: string[]
  /**
   * When the stream keeps owners and grants (restore-role: superuser) and predefined roles are
   * played: the roles whose statements the sanitizer routes out to be replayed with stand-ins,
   * every predefined role newer than the clean room (the sanitizer's list, made before the plan).
   */
  replayOnly?: string[]
  /**
   * When pg_dump's ownership and privilege statements are replayed after an unprivileged restore
   * (privileged-pass.ts): each pre-existing role production names and the Lazarus role that plays
   * it. A pre-existing role may be a superuser (the clean room's own `postgres`), or hold
   * pg_execute_server_program or other rights: made the owner of production's objects, it would run
   * production's code with them (autovacuum's ANALYZE evaluates an expression index as the table's
   * owner, amcheck checks as the owner, a SECURITY DEFINER function runs as it). A stand-in is
   * created like every Lazarus role, NOLOGIN without any attribute or membership, and named back
   * as the role it plays when the restored copy's owners and privileges are read. Predefined
   * roles the clean room lacks have stand-ins in every mode.
   */
  standIns?: { role: string; standIn: string }[]
}

/** What the clean room says about its connected role and about the roles production names. */
export interface CleanRoomRoleFacts {
  user: string
  superuser: boolean
  createRole: boolean
  major: number
  /** Roles of those asked about that exist, with their comment (Lazarus's mark or not). */
  roles: { name: string; comment: string | null }[]
}

/**
 * Decides, from the clean room's facts, whether owners and privileges can be restored. Pure.
 * Only a superuser can replay what pg_dump writes about them: a role with CREATEROLE can create
 * the roles, but `ALTER ... OWNER TO` needs the restoring role to act as the new owner (objects
 * owned by the bootstrap superuser, as `public` and often everything else is, are out of
 * reach), the new owner must already hold CREATE on the schema at that point of the dump (its
 * GRANTs come at the end), and a grant made by someone other than the owner is replayed under
 * SET SESSION AUTHORIZATION, which only a superuser may run. A partial attempt would end in a
 * failed restore of a good backup, so such a role restores as before and says so.
 */
export function planRoles(
  named: string[],
  facts: CleanRoomRoleFacts,
  playable: (name: string) => boolean = () => true
): RolePlan {
  const found = new Map(facts.roles.map(role => [role.name, role]))
  const existing = named.filter(name => found.has(name) && !isLazarusComment(found.get(name)!.comment))
  const missing = named.filter(name => !existing.includes(name))
  const reserved = missing.filter(isReservedRoleName)
  const provided = missing.filter(name => !isReservedRoleName(name))
  const notRestored = (reason: string): RolePlan => ({ restore: false, reason, provided: [], existing })
  if (!facts.superuser) {
    const user = quoteIdent(facts.user)
    const what = facts.createRole ? 'has CREATEROLE but is not a superuser' : 'is not a superuser'
    return notRestored(
      `the clean-room role ${user} ${what}, and only a superuser can replay the dump's ALTER ... OWNER TO, GRANT and ` +
        `SET SESSION AUTHORIZATION statements: connect to the clean room as a superuser (ALTER ROLE ${user} SUPERUSER ` +
        `on that disposable server) to verify owners and privileges`
    )
  }
  // A predefined role of a newer major is played by a stand-in; a `pg_*` name this Lazarus does
  // not know (a major newer than it) can be played only where every statement is replayed apart.
  const unplayable = reserved.filter(name => !playable(name))
  if (unplayable.length > 0) {
    return notRestored(
      `production names the built-in role(s) ${listNames(unplayable)}, which the clean room ` +
        `(PostgreSQL ${facts.major}) does not have and no one may create: use a clean room of production's major version`
    )
  }
  return { restore: true, provided, existing, ...(reserved.length > 0 ? { predefined: reserved } : {}) }
}

/**
 * Which missing `pg_*` roles a run can play with stand-ins: when every ownership and privilege
 * statement is replayed apart (`replay`), any; otherwise (restore-role: superuser, the statements
 * in the stream) those the sanitizer routes out for a clean room of `major`, the predefined roles
 * of newer releases.
 */
export function playablePredefinedRoles(replay: boolean, major: number): (name: string) => boolean {
  if (replay) return () => true
  const known = new Set(predefinedRolesNewerThan(major))
  return name => known.has(name)
}

export function isLazarusComment(comment: string | null | undefined): boolean {
  return comment?.startsWith(ROLE_MARKER) ?? false
}

/** The roles of one run in the clean room: what it provides, to which scratch databases, and their removal. */
export class CleanRoomRoles {
  private plan: RolePlan | undefined
  private facts: CleanRoomRoleFacts | undefined
  /**
   * Lazarus roles this run created or found marked (recorded before it creates or pins them): it
   * tries to drop each at the end.
   */
  private readonly used = new Set<string>()
  /** provide() calls still running: the drop waits for them, so nothing is created after it. */
  private readonly providing = new Set<Promise<void>>()
  /** Set once dropAll has begun: from then on no role is created or pinned. */
  private dropping = false

  constructor(
    protected readonly maintenance: Queryable,
    protected readonly runId: string
  ) {}

  /** Roles production has as superusers: created as such under restore-role: superuser only. */
  private readonly superusers = new Set<string>()
  /** Owners and privileges are replayed after an unprivileged restore: no role Lazarus uses has any right. */
  private replay = false

  /**
   * Reads the clean room's facts about the roles production names and decides the plan (see
   * planRoles); `notRestored` says why owners and privileges cannot be restored whatever the facts.
   */
  async decide(namedRoles: NamedRole[], notRestored?: string, replay = false): Promise<RolePlan> {
    this.replay = replay
    const named = namedRoles.map(role => role.name)
    for (const role of namedRoles) if (role.superuser) this.superusers.add(role.name)
    const [self] = await this.maintenance.query<{ user: string; superuser: boolean; createrole: boolean; num: string }>(
      `SELECT current_user AS user, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
         pg_catalog.current_setting('server_version_num') AS num
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`
    )
    const major = Math.floor(Number(self.num) / 10000)
    const roles = await this.maintenance.query<{ name: string; comment: string | null }>(
      `SELECT r.rolname AS name, pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
       FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1::text[])`,
      [named]
    )
    this.facts = { user: self.user, superuser: self.superuser, createRole: self.createrole, major, roles }
    const playable = playablePredefinedRoles(replay, major)
    this.plan = notRestored
      ? { restore: false, reason: notRestored, provided: [], existing: planRoles(named, this.facts, playable).existing }
      : planRoles(named, this.facts, playable)
    if (this.plan.restore) {
      // Replayed apart, pre-existing roles never own production's objects; predefined roles the
      // clean room lacks are played in every mode.
      const played = [...(replay ? this.plan.existing : []), ...(this.plan.predefined ?? [])]
      if (played.length > 0) {
        this.plan.standIns = played.map((role, index) => ({ role, standIn: standInName(this.runId, index + 1) }))
      }
      if (!replay && this.plan.predefined) this.plan.replayOnly = predefinedRolesNewerThan(major)
    }
    return this.plan
  }

  /** Adds a role of Lazarus's own (the drill's) to those provided to each scratch database from now on. */
  addRole(name: string): void {
    if (this.plan?.restore && !this.plan.provided.includes(name)) this.plan.provided.push(name)
  }

  /**
   * Makes every role of the plan exist and pins it to `database` (a scratch database just
   * created), so that a restore into it finds them all until the database is dropped.
   */
  async provide(database: string): Promise<void> {
    if (!this.plan?.restore || !this.facts) return
    const standIns = (this.plan.standIns ?? []).map(entry => entry.standIn)
    const names = [...this.plan.provided, ...standIns]
    const work = (async () => {
      for (const name of names) await this.provideOne(name, database)
    })()
    this.providing.add(work)
    try {
      await work
    } finally {
      this.providing.delete(work)
    }
  }

  /** Records a role as this run's to try to drop at the end (and the post step's, should main be killed). */
  private track(name: string): void {
    this.used.add(name)
    saveRoles([...this.used])
  }

  private async provideOne(name: string, database: string): Promise<void> {
    const role = quoteIdent(name)
    for (let attempt = 1; ; attempt++) {
      // A run whose cleanup has begun (cancelled, or a stage abandoned while this ran on) creates
      // nothing more: a role made after the drop would be left behind.
      if (this.dropping) throw new Error(`The run's roles are being dropped: role ${listNames([name])} is not provided`)
      const [found] = await this.maintenance.query<{ comment: string | null; powerless: boolean }>(
        `SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
           NOT (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls OR r.rolcanlogin
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a WHERE a.member = r.oid)) AS powerless
         FROM pg_catalog.pg_roles r WHERE r.rolname = $1`,
        [name]
      )
      try {
        if (!found) {
          // Recorded before it exists, so that a pin that fails afterwards (the database dropped
          // meanwhile, a timeout) still leaves it to this run's drop; dropping a role that is not
          // there, or not marked, does nothing.
          this.track(name)
          // One implicit transaction: no other session sees the role before it carries the mark.
          // Under restore-role: superuser (production's code already runs as a superuser there), a
          // superuser in production stays one, without login or password: a foreign-data wrapper
          // or an event trigger refuses any other owner. When owners are replayed after an
          // unprivileged restore, never: the objects it owns would run production's code with it.
          const attributes = this.superusers.has(name) && !this.replay ? 'NOLOGIN SUPERUSER' : 'NOLOGIN'
          await this.maintenance.query(
            `CREATE ROLE ${role} ${attributes}; COMMENT ON ROLE ${role} IS ${quoteLiteral(`${ROLE_MARKER} of run ${this.runId}`)}`
          )
          core.info(`Created role ${listNames([name])} (${attributes}) in the clean room.`)
        } else if (!isLazarusComment(found.comment)) {
          // Someone created it meanwhile, outside Lazarus: it is theirs, used as it is.
          return
        } else if (this.replay && !found.powerless) {
          // A concurrent run with restore-role: superuser made it a superuser: never an owner here.
          throw new UserError(
            `Role ${listNames([name])} exists in the clean room with rights (a concurrent Lazarus run with restore-role: ` +
              `superuser created it): run again once that run has ended, or give the runs separate clean rooms.`
          )
        }
        // A marked role found here is this run's to drop too, pinned or not: when the run that made
        // it ends while this one still uses it, that run keeps it, and this one is the last out.
        this.track(name)
        await this.maintenance.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role}`)
        return
      } catch (error) {
        const code = (error as { code?: string }).code
        const raced = code === DUPLICATE_OBJECT || code === UNIQUE_VIOLATION || code === UNDEFINED_OBJECT
        if (!raced || attempt >= PROVIDE_ATTEMPTS) throw error
      }
    }
  }

  /**
   * Drops the Lazarus roles this run used that nothing depends on any more; never throws. Call it
   * after the run's scratch databases are dropped. A provide() still running finishes first (its
   * queries share this session and are bounded by its timeouts) and creates nothing more.
   */
  async dropAll(): Promise<void> {
    this.dropping = true
    await Promise.allSettled([...this.providing])
    if (this.used.size === 0) return
    const { kept } = await dropLazarusRoles(this.maintenance, [...this.used])
    this.used.clear()
    for (const name of kept) this.used.add(name)
    // A role kept because another run's database uses it is that run's to drop (it recorded it
    // too); one kept because this run's own database could not be dropped, or because the drop
    // failed, is the post step's, after it drops the leftover databases.
    saveRoles(kept)
  }
}

/**
 * Drops each named role that carries Lazarus's mark. A role something still depends on (a
 * concurrent run's scratch database) is left for whoever uses it last. Never throws; used by
 * the main and the post step.
 */
export async function dropLazarusRoles(db: Queryable, names: string[]): Promise<{ dropped: string[]; kept: string[] }> {
  const dropped: string[] = []
  const kept: string[] = []
  for (const name of names) {
    try {
      if (await dropIfMarked(db, name)) {
        dropped.push(name)
        core.info(`Dropped role ${listNames([name])} from the clean room.`)
      }
    } catch (error) {
      // Another run dropped it between the check and the drop (this one waited for that run's
      // lock, then found it gone): nothing is left to keep.
      if (await isGone(db, name)) continue
      kept.push(name)
      const code = (error as { code?: string }).code
      if (code === DEPENDENT_OBJECTS_STILL_EXIST) {
        core.info(`Kept role ${listNames([name])}: another Lazarus run's (or a kept) scratch database still uses it.`)
      } else {
        core.warning(`Could not drop role ${listNames([name])} from the clean room: ${messageOf(error)}`)
      }
    }
  }
  return { dropped, kept }
}

/** Whether no role of that name exists any more; false when that cannot be told. */
async function isGone(db: Queryable, name: string): Promise<boolean> {
  try {
    return (await db.query(`SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, [name])).length === 0
  } catch {
    return false
  }
}

/**
 * Checks the mark and drops the role in one statement, so that a role dropped and re-created by
 * someone else between a check and a drop is never touched. The name travels as a
 * transaction-local setting, never spliced into the statement's text.
 */
const DROP_IF_MARKED = `
DO $lazarus$
DECLARE
  target text := pg_catalog.current_setting('lazarus.drop_role');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = target
             AND pg_catalog.starts_with(pg_catalog.shobj_description(r.oid, 'pg_authid'),
                                        pg_catalog.current_setting('lazarus.role_marker'))) THEN
    EXECUTE pg_catalog.format('DROP ROLE %I', target);
    PERFORM pg_catalog.set_config('lazarus.role_dropped', 'yes', true);
  END IF;
END
$lazarus$`

async function dropIfMarked(db: Queryable, name: string): Promise<boolean> {
  await db.query('BEGIN')
  try {
    await db.query(
      `SELECT pg_catalog.set_config('lazarus.drop_role', $1, true), pg_catalog.set_config('lazarus.role_marker', $2, true),
         pg_catalog.set_config('lazarus.role_dropped', 'no', true)`,
      [name, ROLE_MARKER]
    )
    await db.query(DROP_IF_MARKED)
    const [row] = await db.query<{ dropped: string }>(`SELECT pg_catalog.current_setting('lazarus.role_dropped') AS dropped`)
    await db.query('COMMIT')
    return row.dropped === 'yes'
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}
