import * as fs from 'node:fs'
import * as core from '@actions/core'
import { messageOf } from '../util/errors.js'
import { dropLeftovers } from '../run/cleanroom.js'
import { readRunSettings } from '../run/settings.js'
import { leftoverRestoreRole, leftoverRoles, leftoverRunId, leftoverScratchDatabases, leftoverWorkDir } from './state.js'

/**
 * The post step: finishes the cleanup of a main step that was killed before it could, dropping
 * the scratch databases, the roles and the dump files it left, through the clean room of the
 * run's engine (run/cleanroom.ts). After a normal run there is nothing to do.
 */
export async function runPost(): Promise<void> {
  try {
    const workDir = leftoverWorkDir()
    if (workDir && fs.existsSync(workDir)) {
      fs.rmSync(workDir, { recursive: true, force: true })
      core.info(`Removed leftover work files in ${workDir}.`)
    }
    const databases = leftoverScratchDatabases()
    // The run's restore role is one of Lazarus's roles too (marked alike), dropped with them.
    const restoreRole = leftoverRestoreRole()
    const roles = [...leftoverRoles(), ...(restoreRole ? [restoreRole] : [])]
    if (databases.length === 0 && roles.length === 0) return
    const settings = await readRunSettings(name => core.getInput(name))
    const leftovers = { databases, roles, runId: leftoverRunId() }
    for (const secret of settings.secrets) core.setSecret(secret)
    settings.engine.clientEnvironment?.forget()
    await dropLeftovers(settings.engine, settings.cleanroom, leftovers)
  } catch (error) {
    core.warning(`Post-run cleanup failed: ${messageOf(error)}`)
  }
}
