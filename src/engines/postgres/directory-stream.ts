import * as fs from 'node:fs'
import * as path from 'node:path'
import type { StoredBackup } from './backup-format.js'
import type { ConnectionTarget } from './connection.js'
import { readArchiveToc, type RestoreTools } from './pg-restore.js'
import { dumpDirectory, requirePgRestore, type ClientTools, type DirectoryDumpOptions, type StreamOutcome } from './pg-tools.js'
import { restoreStoredBackup } from './stored-restore.js'

/**
 * A fresh run with backup-format: directory. pg_dump writes the directory-format backup in
 * parallel (--jobs, every worker in the one exported snapshot); the directory is whole only once
 * pg_dump has ended (toc.dat is written last), so the restore cannot overlap the dump. Once it is
 * whole, that same directory (the restore point the run keeps, never a second dump) is restored
 * as a stored directory archive is (stored-restore.ts): the pre-data section, then the data
 * entries over `jobs` pipelines, largest files first, then the post-data section, each pipeline
 * through the sanitizer, the location check and psql with ON_ERROR_STOP. With the drill, one
 * pipeline: the sanitizer's copy of the stream must be whole and in order.
 */

export interface DirectoryStreamOptions extends DirectoryDumpOptions {
  checkFile: string
  /** Settles when the restore target exists and admits the restore; the restore starts after it and pg_dump. */
  restoreTargetReady: Promise<unknown>
  /** The sanitizing filter's argv for the n-th pipeline (counted from 1). */
  filter: (pipeline: number) => string[]
  jobs: number
  /** One pipeline only (the drill reads the sanitizer's copy of the whole stream). */
  single: boolean
  /** The run's work directory (stored-restore.ts writes each pipeline's files there). */
  workDir: string
}

/** How the dump and the restore ended, as the stream reports it; `tocFile` names where a failed restore stopped. */
export type DirectoryStreamOutcome = StreamOutcome & { tocFile?: string; pipelines?: number }

export async function dumpAndRestoreDirectory(
  tools: ClientTools,
  production: ConnectionTarget,
  restoreTarget: ConnectionTarget,
  options: DirectoryStreamOptions
): Promise<DirectoryStreamOutcome> {
  const dumped = await dumpDirectory(tools, production, options)
  const { startedAt } = dumped
  if (!dumped.ok) return { ...dumped }
  const dump = dumped.dump
  // The stream cannot have restored anything without its target: that failure is the one to report.
  await options.restoreTargetReady
  const restoreStartedAt = Date.now() / 1000
  const restoreTools: RestoreTools = { pgRestore: requirePgRestore(tools, "backup-format 'directory'"), psql: tools.psql }
  const backup: StoredBackup = {
    path: options.keep.path,
    format: 'directory',
    gzip: false,
    bytes: directoryBytes(options.keep.path)
  }
  // An archive pg_restore cannot read (a disk that lost what pg_dump wrote) is an error naming it.
  const toc = await readArchiveToc(restoreTools, backup)
  const restored = await restoreStoredBackup({
    backup,
    toc,
    tools: restoreTools,
    target: restoreTarget,
    filter: options.filter,
    checkFile: options.checkFile,
    workDir: options.workDir,
    jobs: options.jobs,
    withOwnersAndPrivileges: options.withOwnersAndPrivileges ?? false,
    single: options.single,
    limits: options.limits
  })
  const ended = { exitCode: 0, seconds: Date.now() / 1000 - startedAt }
  // The size of the backup on disk, as for a stored backup: no single stream of it was counted.
  const common = { dump, dumpBytes: backup.bytes, startedAt, restoreStartedAt, pipelines: restored.pipelines }
  if (restored.ok) return { ok: true, ...common, sanitize: ended, restore: ended }
  const failed = { ...ended, exitCode: 1 }
  switch (restored.stage) {
    case 'read':
      return { ok: false, stage: 'convert', error: restored.error, ...common, convert: failed }
    case 'sanitize':
      return { ok: false, stage: 'sanitize', error: restored.error, ...common, sanitize: failed }
    case 'restore':
      return { ok: false, stage: 'restore', error: restored.error, ...common, restore: failed, tocFile: restored.tocFile }
  }
}

/** Bytes on disk of every file of a directory archive. */
function directoryBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)
}
