import * as core from '@actions/core'
import type { CleanroomRoles, RunRoles } from '../types.js'
import { messageOf } from '../../util/errors.js'
import { CleanRoomRoles, dropLazarusRoles } from './cleanroom-roles.js'
import type { ConnectionTarget } from './connection.js'
import { MaintenanceSession } from './maintenance.js'
import {
  RESTORE_ROLE_MODES,
  setUpRestoreRights,
  type RestoreRights,
  type RestoreRole,
  type RestoreRoleMode
} from './restore-role.js'

/**
 * A PostgreSQL run's roles in the clean room, which are global to its server: the roles production
 * names and their stand-ins (CleanRoomRoles), and the run's own restore role (restore-role.ts).
 * The clean room (run/cleanroom.ts) drops them after its scratch databases, which depend on them.
 */
export class PostgresRunRoles extends CleanRoomRoles implements RunRoles {
  /** Who restores this run's dumps (restore-role.ts), once decided. */
  restoreRights?: RestoreRights
  private restoreRole?: RestoreRole

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

  /** The roles production names and their stand-ins, then the restore role; never throws. */
  override async dropAll(): Promise<void> {
    await super.dropAll().catch(error => core.warning(`Could not drop Lazarus's roles: ${messageOf(error)}`))
    await this.restoreRole?.drop()
  }
}

/** PostgreSQL's roles as the engine's capability (Engine.cleanroomRoles), over its own maintenance handle. */
export const postgresCleanroomRoles: CleanroomRoles<MaintenanceSession, PostgresRunRoles> = {
  restoreRoleModes: RESTORE_ROLE_MODES,
  forRun: (maintenance, runId) => new PostgresRunRoles(own(maintenance), runId),
  dropLeftovers: async (maintenance, names) => {
    await dropLazarusRoles(own(maintenance), names)
  }
}

/** The run hands back the handle this engine opened: roles are created and dropped through its driver session only. */
function own(maintenance: unknown): MaintenanceSession {
  if (!(maintenance instanceof MaintenanceSession))
    throw new Error('PostgreSQL keeps its roles through its own maintenance handle')
  return maintenance
}
