import * as core from '@actions/core'
import type { LeftoverRecorder } from '../util/leftovers.js'

/**
 * What main leaves for the post step, in one place. The post step runs even when main was
 * killed (a cancelled workflow), and finishes its cleanup from this state.
 */
const KEY = {
  mainStarted: 'lazarus-main-started',
  scratchDatabases: 'lazarus-scratch-databases',
  roles: 'lazarus-roles',
  restoreRole: 'lazarus-restore-role',
  workDir: 'lazarus-work-dir',
  runId: 'lazarus-run-id'
} as const

/** True in the post step: main saved state before it did anything else. */
export function isPostStep(): boolean {
  return core.getState(KEY.mainStarted) === 'true'
}

export function markMainStarted(): void {
  core.saveState(KEY.mainStarted, 'true')
}

/** Scratch databases that exist right now; the latest call wins. */
export function saveScratchDatabases(names: string[]): void {
  core.saveState(KEY.scratchDatabases, JSON.stringify(names))
}

/** Roles Lazarus created or shares in the clean room, to drop should main be killed; the latest call wins. */
export function saveRoles(names: string[]): void {
  core.saveState(KEY.roles, JSON.stringify(names))
}

/** The run id that names this run's scratch databases (lazarus_<run id>_...). */
export function saveRunId(runId: string): void {
  core.saveState(KEY.runId, runId)
}

export function leftoverRunId(): string | undefined {
  return core.getState(KEY.runId) || undefined
}

/** The run's own restore role (restore-role.ts), to drop should main be killed; undefined once dropped. */
export function saveRestoreRole(name: string | undefined): void {
  core.saveState(KEY.restoreRole, JSON.stringify(name ?? null))
}

export function leftoverRestoreRole(): string | undefined {
  try {
    const name = JSON.parse(core.getState(KEY.restoreRole) || 'null')
    return typeof name === 'string' ? name : undefined
  } catch {
    return undefined
  }
}

export function saveWorkDir(dir: string): void {
  core.saveState(KEY.workDir, dir)
}

export function leftoverScratchDatabases(): string[] {
  return savedNames(KEY.scratchDatabases)
}

export function leftoverRoles(): string[] {
  return savedNames(KEY.roles)
}

function savedNames(key: string): string[] {
  const raw = core.getState(key)
  if (!raw) return []
  try {
    const names = JSON.parse(raw)
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : []
  } catch {
    return []
  }
}

export function leftoverWorkDir(): string | undefined {
  return core.getState(KEY.workDir) || undefined
}

/** The record of leftovers main installs (util/leftovers.ts): the run's layers report, this keeps. */
export const leftoverState: LeftoverRecorder = {
  scratchDatabases: saveScratchDatabases,
  roles: saveRoles,
  restoreRole: saveRestoreRole,
  runId: saveRunId,
  workDir: saveWorkDir
}
