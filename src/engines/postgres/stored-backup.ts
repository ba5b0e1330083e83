import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import type { OpenedBackup, RestoreProgram, StoredBackup } from '../types.js'
import { HEAD_BYTES, type BackupFormat, type StoredBackup as PostgresBackup } from './backup-format.js'
import type { ConnectionTarget } from './connection.js'
import { failurePlace } from './failure-place.js'
import {
  archivePreamble,
  majorOfVersion,
  plainDumpHasOwners,
  readArchiveToc,
  standardConformingStringsOf,
  type RestoreTools
} from './pg-restore.js'
import { tocEntryAt } from './restore-failure.js'
import { ownFilter } from './sanitizer.js'
import { restoreStoredBackup, tocLines } from './stored-restore.js'

/**
 * A stored backup opened for its restore (engines/types.ts OpenedBackup): pg_restore's table of
 * contents of an archive, the head of its SQL (pg_dump's preamble and header comments), and its
 * restore through the sanitizer into psql (stored-restore.ts), with where a failed one stopped.
 */

const FORMATS: readonly string[] = ['plain', 'custom', 'directory', 'tar'] satisfies BackupFormat[]

/** A stored backup this engine detected (backup-format.ts detectBackup): the run hands it back as it got it. */
export function own(backup: StoredBackup): PostgresBackup {
  if (!FORMATS.includes(backup.format)) throw new Error(`Not a PostgreSQL backup format: ${backup.format}`)
  return backup as PostgresBackup
}

/** How a stored backup is described in the log: plain SQL (gzip-compressed or not), or a pg_dump archive. */
export function describeBackup(backup: StoredBackup): string {
  return backup.format === 'plain' ? (backup.gzip ? 'plain SQL, gzip-compressed' : 'plain SQL') : `${backup.format} archive`
}

/** The programs that restore a stored backup, for the report (pg_restore when found, psql). */
export function restorePrograms(tools: RestoreTools): { psql: RestoreProgram } & Record<string, RestoreProgram> {
  return {
    ...(tools.pgRestore ? { pg_restore: { path: tools.pgRestore.path, version: tools.pgRestore.version } } : {}),
    psql: { path: tools.psql.path, version: tools.psql.version }
  }
}

/**
 * Reads what the backup says of itself. An archive pg_restore cannot read fails here, before any
 * server is touched. `emptyListFile`: a work file for pg_restore's empty list (the preamble alone).
 */
export async function openStoredBackup(
  stored: StoredBackup,
  tools: RestoreTools,
  emptyListFile: string
): Promise<OpenedBackup<ConnectionTarget>> {
  const backup = own(stored)
  const toc = backup.format === 'plain' ? undefined : await readArchiveToc(tools, backup)
  const head = await sqlHead(backup, tools, emptyListFile)
  const dumpedFrom = toc?.header['Dumped from database version'] ?? /Dumped from database version (\S+)/.exec(head)?.[1]
  const dumpedBy = toc?.header['Dumped by pg_dump version'] ?? /Dumped by pg_dump version (\S+)/.exec(head)?.[1]
  return {
    ...(toc ? { readBy: `pg_restore ${tools.pgRestore!.version} reads it: ${toc.entries} entries.` } : {}),
    ...(dumpedFrom ? { dumpedFrom } : {}),
    ...(dumpedBy ? { dumpedBy } : {}),
    dumpedFromMajor: majorOfVersion(dumpedFrom ?? ''),
    dumpedByMajor: majorOfVersion(dumpedBy ?? ''),
    // A plain dump replays its owners and grants whatever the plan; pg_restore leaves an archive's out at will.
    replaysOwners: backup.format === 'plain' ? plainDumpHasOwners(head) : undefined,
    standardConformingStrings: standardConformingStringsOf(head),
    async restore({ sanitizer, ...request }) {
      const filter = ownFilter(sanitizer)
      const outcome = await restoreStoredBackup({ backup, toc, tools, ...request, filter: pipeline => filter.argvFor(pipeline) })
      if (outcome.ok) return outcome
      return {
        ...outcome,
        failurePlace: encoding => failurePlace(outcome.error, encoding, line => tocEntryAt(tocLines(outcome), line))
      }
    }
  }
}

/** The first bytes of the backup's SQL: the preamble pg_dump writes (its settings, its header comments). */
async function sqlHead(backup: PostgresBackup, tools: RestoreTools, emptyListFile: string): Promise<string> {
  if (backup.format !== 'plain') return archivePreamble(tools, backup, emptyListFile)
  const fd = fs.openSync(backup.path, 'r')
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const read = fs.readSync(fd, buffer, 0, HEAD_BYTES, 0)
    const head = buffer.subarray(0, read)
    return (backup.gzip ? zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : head).toString('latin1')
  } finally {
    fs.closeSync(fd)
  }
}
