import type { OwnersAndPrivilegesCapability, PrivilegeReplay, RunRoles, SeamMaintenance } from '../types.js'
import { compareText } from '../../util/text-order.js'
import type { RolePlan } from './cleanroom-roles.js'
import type { ConnectionTarget } from './connection.js'
import { ownSession, type DatabaseSession } from './database.js'
import type { DrillCatalog } from './drill-catalog.js'
import type { TableRef } from './figure-queries.js'
import { MaintenanceSession } from './maintenance.js'
import type { ClientTools } from './pg-tools.js'
import { predefinedRolesNewerThan } from './predefined-roles.js'
import { replayPrivileges } from './privileged-pass.js'
import { listNames, readNamedRoles, readPrivilegeTargets, readPrivileges } from './privileges.js'
import { RESTORE_ROLE_MODES, missingRightHint } from './restore-role.js'
import { PostgresRunRoles } from './run-roles.js'
import { readCreatableExtensions, readSuperuserObjects, superuserObjectsError } from './superuser-objects.js'

/**
 * PostgreSQL's owners, privileges and roles as the engine's capability (Engine.ownersAndPrivileges):
 * who restores (restore-role.ts), the role plan and the roles provided to each scratch database
 * (cleanroom-roles.ts), the replay of owners and privileges after an unprivileged restore
 * (privileged-pass.ts), their reading (privileges.ts) and the refusal of what only a superuser
 * can restore (superuser-objects.ts). The run's state lives in its PostgresRunRoles.
 */

/** The run hands back the roles this engine's clean room keeps for it (Engine.cleanroomRoles). */
function own(roles: RunRoles | undefined): PostgresRunRoles {
  if (!(roles instanceof PostgresRunRoles)) throw new Error("PostgreSQL's owners and privileges need its own roles of the run")
  return roles
}

function maintenance(opened: SeamMaintenance): MaintenanceSession {
  if (!(opened instanceof MaintenanceSession))
    throw new Error('The PostgreSQL engine reads the clean room through its own maintenance handle')
  return opened
}

/** Whether owners and privileges are replayed by the clean-room role after the restore: the restore role is Lazarus's own. */
export function replaysPrivileges(roles: PostgresRunRoles): boolean {
  const rights = roles.restoreRights
  return rights?.ownRole === true && !rights.superuser
}

/**
 * What replaying owners and privileges apart needs: every statement when a role of Lazarus's own
 * restores; otherwise only those naming a predefined role the clean room lacks, when production
 * names one (cleanroom-roles.ts), replayed with its stand-in. Undefined when nothing is replayed.
 */
export function privilegeReplay(plan: RolePlan, roles: PostgresRunRoles, encoding: string): PrivilegeReplay | undefined {
  const rights = roles.restoreRights
  if (!plan.restore || !rights) return undefined
  const standIns = new Map((plan.standIns ?? []).map(entry => [entry.role, entry.standIn]))
  if (replaysPrivileges(roles)) return { standIns, restoreRole: rights.role, encoding }
  return plan.replayOnly ? { standIns, encoding, onlyNaming: plan.replayOnly } : undefined
}

/**
 * Where the sanitizer routes pg_dump's ownership and privilege statements, decided before the
 * role plan (the program is built before the dump): all of them when a role of Lazarus's own
 * restores; otherwise those naming a predefined role the clean room's major lacks, which no
 * stream can restore (privilegedRoles), when there is such a role.
 */
export async function routedStatements(
  roles: PostgresRunRoles,
  cleanroom: MaintenanceSession,
  file: string
): Promise<{ routedFile?: string; routedRoles?: string[] }> {
  if (roles.restoreRights?.ownRole) return { routedFile: file }
  const newer = predefinedRolesNewerThan((await cleanroom.serverFacts()).major)
  return newer.length > 0 ? { routedFile: file, routedRoles: newer } : {}
}

/**
 * Decides whether owners and privileges are restored and compared (cleanroom-roles.ts), with how
 * for the log: a check that cannot run is never a silent pass.
 */
async function planRoles(roles: PostgresRunRoles, named: { name: string; superuser: boolean }[]): Promise<RolePlan> {
  // Restored by a role of Lazarus's own: the clean-room role replays the dump's ownership and
  // privilege statements afterwards (privileged-pass.ts), with stand-ins for pre-existing roles.
  const replay = replaysPrivileges(roles)
  const plan = await roles.decide(named, undefined, replay)
  const created = plan.provided.length > 0 ? `; roles created for the restore: ${listNames(plan.provided)}` : ''
  const existing =
    plan.existing.length === 0
      ? ''
      : replay
        ? `; existing roles played by stand-ins without rights (never owners of production's code): ${listNames(plan.existing)}`
        : `; existing roles used as they are: ${listNames(plan.existing)}`
  const how = replay ? ', replayed by the clean-room role after the unprivileged restore' : ''
  plan.detail = `${how}${created}${existing}`
  return plan
}

/**
 * Production's objects that only a superuser can restore while the restore runs without superuser
 * rights (superuser-objects.ts), as one line naming the objects and the input; undefined when the
 * restore may restore them (or runs as a superuser).
 */
async function superuserObjectsRefusal(
  roles: PostgresRunRoles,
  production: DatabaseSession,
  cleanroom: MaintenanceSession
): Promise<string | undefined> {
  const rights = roles.restoreRights
  if (rights?.mode !== 'unprivileged' || rights.superuser !== false) return undefined
  const creatable = await readCreatableExtensions(cleanroom, (await cleanroom.serverFacts()).major)
  const productionMajor = (await production.serverFacts()).major
  const objects = await production.withSavepoint(() => readSuperuserObjects(production, productionMajor, creatable))
  return objects.length > 0 ? superuserObjectsError(objects) : undefined
}

/** PostgreSQL's owners and privileges, over the run's roles (run-roles.ts) and its own sessions. */
/** A replay needs psql alone (a stored backup's run has no pg_dump). */
export const postgresOwnersAndPrivileges: OwnersAndPrivilegesCapability<
  TableRef,
  ConnectionTarget,
  Pick<ClientTools, 'psql'>,
  DrillCatalog
> = {
  restoreRoleModes: RESTORE_ROLE_MODES,
  setUpRestoreRights: (roles, mode) => own(roles).setUpRestoreRights(mode),
  restoreRights: roles => own(roles).restoreRights,
  missingRightHint,
  superuserObjectsRefusal: (roles, production, cleanroom) =>
    superuserObjectsRefusal(own(roles), ownSession(production), maintenance(cleanroom)),
  routedStatements: (roles, cleanroom, file) => routedStatements(own(roles), maintenance(cleanroom), file),
  readNamedRoles: production => readNamedRoles(ownSession(production)),
  planRoles: (roles, named) => planRoles(own(roles), named),
  privilegeReplay: (roles, plan, encoding) => privilegeReplay(plan, own(roles), encoding),
  replay: ({ tools, target, routed, script, check, replay, limits }) =>
    replayPrivileges(tools, target, { routed, script, check }, replay, limits),
  readPrivileges: (opened, standIns) => readPrivileges(ownSession(opened), standIns),
  async addDrillTargets(catalog, opened, plan, runId) {
    if (!plan.restore) return
    catalog.privileges = {
      objects: await readPrivilegeTargets(ownSession(opened)),
      roles: [...plan.provided, ...plan.existing].sort(compareText),
      drillRole: `lazarus_drill_${runId}`
    }
  },
  async prepareRestore(roles, target) {
    // Every role the dump names (when owners are restored), then the restore role's admission.
    await own(roles).provide(target.database)
    await own(roles).prepareRestore(target)
  },
  restoreTarget: (roles, target) => own(roles).restoreTarget(target),
  addRole: (roles, name) => own(roles).addRole(name)
}
