import * as fs from 'node:fs'
import * as path from 'node:path'
import { UserError } from './errors.js'
import { formatBytes } from './bytes.js'

/**
 * Lazarus's own work files (the report, the stream's script and status files, the sanitizer...),
 * written private, and the error a full disk makes of a write into the run's work directory,
 * whichever program hit it: one that names the directory, what filled it and what to do.
 */

/**
 * The error to show when a program ran out of disk space writing `file` (its stderr says so, as
 * strerror(ENOSPC) words it), or undefined when it failed for another reason. Shared by every
 * program that writes a copy of the dump into RUNNER_TEMP.
 */
export function diskFullError(
  stderr: string,
  program: string,
  what: string,
  file: string,
  fix = workDirFix(true)
): UserError | undefined {
  if (!/No space left on device|ENOSPC/i.test(stderr)) return undefined
  const directory = path.dirname(file)
  return new UserError(
    `The disk filled up while ${program} was writing ${what} to ${directory} (No space left on device${freeSpace(directory)}). ${fix}`
  )
}

/** What to do about a full RUNNER_TEMP, by whether the file that filled it grows as large as the dump. */
export function workDirFix(dumpSized: boolean): string {
  const needs = dumpSized
    ? `With sabotage or upload-dump, a run keeps a copy of the dump there, plus one sabotaged copy at a time ` +
      `(each about the size of production's data)`
    : `Besides the copies of the dump that sabotage or upload-dump keep, a run writes only a few small files there`
  return `${needs}: free disk space on the runner, use a runner with a larger disk, or point RUNNER_TEMP at a volume with room for it.`
}

/** A file in the work directory: what it holds, and whether it grows as large as the dump. */
export interface WorkFile {
  what: string
  dumpSized: boolean
}

/**
 * Writes one of Lazarus's own work files (private, 0600). A full disk becomes the error that
 * names the file's directory and the fix, like every other writer's.
 */
export function writeWorkFile(file: string, content: string, what: string): void {
  try {
    fs.writeFileSync(file, content, { mode: 0o600 })
  } catch (error) {
    throw diskFullError(String((error as { code?: string }).code), 'Lazarus', what, file, workDirFix(false)) ?? error
  }
}

function freeSpace(directory: string): string {
  try {
    const stats = fs.statfsSync(directory)
    return `; ${formatBytes(stats.bavail * stats.bsize)} free of ${formatBytes(stats.blocks * stats.bsize)}`
  } catch {
    return ''
  }
}
