import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import type { StoredBackup } from './backup-format.js'
import type { ConnectionTarget } from './connection.js'
import {
  directoryDataBytes,
  runPipeline,
  splitDataEntries,
  type ArchiveToc,
  type PipelineOutcome,
  type RestoreTools
} from './pg-restore.js'
import type { FaultLimits } from './pg-tools.js'

/**
 * Restores a stored backup into a scratch database. Plain dumps and tar archives run as one
 * pipeline (a tar is read front to back: several readers would each read it all). Custom and
 * directory archives with `jobs` above 1 run as pg_restore -j would, but through psql: the
 * pre-data section in one pipeline, then the data entries split over `jobs` pipelines at once,
 * then the post-data section (indexes, constraints), so that every statement still passes the
 * sanitizer, the location check and ON_ERROR_STOP.
 */

export interface StoredRestoreOptions {
  backup: StoredBackup
  toc?: ArchiveToc
  tools: RestoreTools
  target: ConnectionTarget
  /** The sanitizing filter's argv for the n-th pipeline (counted from 1): each records its removals apart. */
  filter: (pipeline: number) => string[]
  checkFile: string
  /** The run's work directory: each pipeline's status, TOC, script and entry list are written there (restore-N.*). */
  workDir: string
  jobs: number
  withOwnersAndPrivileges: boolean
  /** One pipeline even where several could run (the sed copy of the stream must be whole and in order). */
  single?: boolean
  /** TCP safeguards for psql (server-timeout-seconds). */
  limits?: FaultLimits
}

export type StoredRestoreOutcome = { seconds: number; pipelines: number } & (
  { ok: true } | Extract<PipelineOutcome, { ok: false }>
)

export async function restoreStoredBackup(options: StoredRestoreOptions): Promise<StoredRestoreOutcome> {
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  const { backup, toc } = options
  let count = 0
  const pipeline = (entries?: string[]) => {
    const n = ++count
    return runPipeline({
      backup,
      tools: options.tools,
      target: options.target,
      filter: options.filter(n),
      checkFile: options.checkFile,
      withOwnersAndPrivileges: options.withOwnersAndPrivileges,
      limits: options.limits,
      entries,
      files: {
        statusFile: path.join(options.workDir, `restore-${n}.status`),
        tocFile: path.join(options.workDir, `restore-${n}.toc`),
        scriptFile: path.join(options.workDir, `restore-${n}.sh`),
        listFile: path.join(options.workDir, `restore-${n}.list`)
      }
    })
  }
  // The sections must hold every entry between them, or the split would leave something out.
  const whole = toc !== undefined && toc.preData.length + toc.data.length + toc.postData.length === toc.entries
  const parallel =
    toc && whole && options.jobs > 1 && !options.single && (backup.format === 'custom' || backup.format === 'directory')
  if (!parallel) {
    const outcome = await pipeline()
    return { ...outcome, seconds: seconds(), pipelines: count }
  }
  const sizeOf = (entry: string) => (backup.format === 'directory' ? directoryDataBytes(backup.path, entry) : undefined)
  const lists = splitDataEntries(toc.data, options.jobs, sizeOf)
  core.info(
    `Restoring ${backup.format} archive in sections: pre-data (${toc.preData.length} entries), data (${toc.data.length} entries ` +
      `over ${lists.length} pipeline(s)), post-data (${toc.postData.length} entries).`
  )
  const pre = await pipeline(toc.preData)
  if (!pre.ok) return { ...pre, seconds: seconds(), pipelines: count }
  const data = await Promise.all(lists.map(list => pipeline(list)))
  const failed = firstFailure(data)
  if (failed) return { ...failed, seconds: seconds(), pipelines: count }
  const post = await pipeline(toc.postData)
  return { ...post, seconds: seconds(), pipelines: count }
}

/** Of several pipelines' outcomes, the failure to report: an unreadable backup before a failed restore. */
function firstFailure(outcomes: PipelineOutcome[]): Extract<PipelineOutcome, { ok: false }> | undefined {
  const failures = outcomes.filter((outcome): outcome is Extract<PipelineOutcome, { ok: false }> => !outcome.ok)
  return failures.find(failure => failure.stage === 'read') ?? failures[0]
}

/** The numbered TOC comments psql saw in a failed pipeline, for restore-failure.ts. */
export function tocLines(outcome: { tocFile: string }): string[] {
  return fs.existsSync(outcome.tocFile) ? fs.readFileSync(outcome.tocFile, 'latin1').split('\n') : []
}
