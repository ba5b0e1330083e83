/**
 * What a run leaves behind while it works (scratch databases, roles, the work directory), reported
 * as it changes, so that the post step can finish the cleanup should main be killed. The layers
 * that create these things report here; keeping the record between main and post is the action's
 * edge (action/state.ts), which main installs before anything is created. With no recorder (a
 * module used on its own, as in a test) nothing is kept.
 */
export interface LeftoverRecorder {
  /** Scratch databases that exist right now; the latest call wins. */
  scratchDatabases(names: string[]): void
  /** Roles created or shared in the clean room; the latest call wins. */
  roles(names: string[]): void
  /** The run's own restore role; undefined once dropped. */
  restoreRole(name: string | undefined): void
  /** The run id that names this run's scratch databases. */
  runId(runId: string): void
  workDir(dir: string): void
}

let recorder: LeftoverRecorder | undefined

/** Installs (or, with undefined, removes) where leftovers are recorded. */
export function recordLeftoversWith(next: LeftoverRecorder | undefined): void {
  recorder = next
}

export function saveScratchDatabases(names: string[]): void {
  recorder?.scratchDatabases(names)
}

export function saveRoles(names: string[]): void {
  recorder?.roles(names)
}

export function saveRestoreRole(name: string | undefined): void {
  recorder?.restoreRole(name)
}

export function saveRunId(runId: string): void {
  recorder?.runId(runId)
}

export function saveWorkDir(dir: string): void {
  recorder?.workDir(dir)
}
