import * as fs from 'node:fs'
import * as core from '@actions/core'
import { dropIfLazarus } from '../run/cleanroom.js'
import { dropLazarusRoles } from '../engines/postgres/cleanroom-roles.js'
import { forgetLibpqEnvironment } from '../engines/postgres/connection.js'
import { MaintenanceSession } from '../engines/postgres/maintenance.js'
import { messageOf } from '../util/errors.js'
import { readRunSettings, type EngineSettings } from '../run/engine-settings.js'
import { dropIfLazarus as dropIfLazarusOverSeam } from '../run/engine-cleanroom.js'
import { leftoverRestoreRole, leftoverRoles, leftoverRunId, leftoverScratchDatabases, leftoverWorkDir } from './state.js'

/**
 * The post step: finishes the cleanup of a main step that was killed before it could, dropping
 * the scratch databases and the dump files it left. After a normal run there is nothing to do.
 */
export async function runPost(): Promise<void> {
  try {
    const workDir = leftoverWorkDir()
    if (workDir && fs.existsSync(workDir)) {
      fs.rmSync(workDir, { recursive: true, force: true })
      core.info(`Removed leftover work files in ${workDir}.`)
    }
    const names = leftoverScratchDatabases()
    // The run's restore role is one of Lazarus's roles too (marked alike), dropped with them.
    const restoreRole = leftoverRestoreRole()
    const roles = [...leftoverRoles(), ...(restoreRole ? [restoreRole] : [])]
    if (names.length === 0 && roles.length === 0) return
    const chosen = await readRunSettings(name => core.getInput(name))
    if (chosen.kind === 'engine') return await dropEngineLeftovers(chosen.settings, names)
    const settings = chosen.settings
    for (const target of [settings.production, settings.cleanroom])
      for (const secret of target?.secrets ?? []) core.setSecret(secret)
    forgetLibpqEnvironment()
    const maintenance = await MaintenanceSession.openMaintenance(settings.cleanroom)
    try {
      // Each database on its own: one refusal or failure must not leave the others behind.
      for (const name of names) {
        try {
          await dropIfLazarus(maintenance, name, leftoverRunId())
          core.info(`Dropped leftover scratch database ${name}.`)
        } catch (error) {
          core.warning(`Post-run cleanup failed: ${messageOf(error)}`)
        }
      }
      // After the databases: a role stays while a scratch database depends on it.
      await dropLazarusRoles(maintenance, roles)
    } finally {
      await maintenance.close()
    }
  } catch (error) {
    core.warning(`Post-run cleanup failed: ${messageOf(error)}`)
  }
}

/** The post step of a run over the engine seam (MySQL, MariaDB): its scratch databases only, each on its own. */
async function dropEngineLeftovers(settings: EngineSettings, names: string[]): Promise<void> {
  for (const secret of settings.secrets) core.setSecret(secret)
  if (names.length === 0) return
  const maintenance = await settings.engine.openMaintenance(settings.cleanroom)
  try {
    for (const name of names) {
      try {
        await dropIfLazarusOverSeam(maintenance, name, leftoverRunId())
        core.info(`Dropped leftover scratch database ${name}.`)
      } catch (error) {
        core.warning(`Post-run cleanup failed: ${messageOf(error)}`)
      }
    }
  } finally {
    await maintenance.close()
  }
}
