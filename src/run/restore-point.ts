import type { KeyObject } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { UserError, messageOf } from '../util/errors.js'
import {
  MANIFEST_FILE,
  buildManifest,
  hashBackup,
  serializeManifest,
  signManifest,
  type Manifest,
  type ManifestFacts,
  type ManifestFile
} from '../report/manifest.js'
import type { KeptFormat } from '../engines/postgres/backup-format.js'
import type { KeepBackup } from '../engines/postgres/pg-tools.js'
import { compressArgument, describeCompressArgument, type DumpCompression } from '../engines/postgres/dump-compression.js'

/**
 * A restore point: the backup a run verified, kept with its manifest in a directory of its own,
 * `<backup-dir>/<database>-<time>/`, so that nightly runs into one backup-dir never overwrite each
 * other and the manifest sits beside its backup under the name a later verification looks for.
 */

/**
 * The archive formats' compression when backup-compression is empty. Measured
 * (docs/performance.md, bench/RESULTS.md): at 1.1 GiB, gzip level 1 cost the same CPU as none
 * (what it spends deflating, none spends writing and hashing a file 5.4 times larger), half
 * the client CPU of pg_dump's default level 6 (an earlier measurement), and kept a custom restore
 * point within 1.26x the streamed run, for a file a fifth of none's.
 */
export const DEFAULT_KEEP_COMPRESSION: DumpCompression = { method: 'gzip', level: 1 }

/**
 * While the run goes on, the restore point is `<name>.partial/`: a run that is killed leaves a
 * directory that says it is unfinished, never one that looks like a restore point. Once its
 * manifest is written it is renamed to `<name>/` (finishRestorePoint). `path` and `manifestPath`
 * are inside the partial directory until then.
 */
export interface RestorePoint extends KeepBackup {
  /** The directory the backup is written into (`<name>.partial`). */
  partialDirectory: string
  /** The restore point's own directory once finished (holds the backup and the manifest). */
  directory: string
  manifestPath: string
  /** Whether it is kept after the run (backup-dir) or only lives in the run's workspace (upload-dump alone). */
  persistent: boolean
}

/** File names per format: a DBA sees at once what to restore it with. */
const BACKUP_NAMES: Record<KeptFormat, (database: string) => string> = {
  custom: database => `${database}.dump`,
  directory: database => `${database}.dir`,
  plain: database => `${database}.sql`
}

/** A database name as a file name: anything but letters, digits, dot, dash and underscore becomes `_`. */
export function fileNameOf(database: string): string {
  const safe = database.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')
  return safe.slice(0, 100) || 'database'
}

/** `20261130T045341Z` for a directory name: sorts by time, no characters a file system or artifact refuses. */
export function stampOf(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

/**
 * Creates the restore point's directory: under `backupDir` (created if missing) when set,
 * otherwise in the run's private `workDir` (upload-dump without backup-dir). A full or read-only
 * backup-dir is one clear error naming it.
 */
export function createRestorePoint(options: {
  backupDir?: string
  workDir: string
  database: string
  format: KeptFormat
  /** backup-compression; a plain backup is always written uncompressed. */
  compression: DumpCompression
  jobs: number
  time: Date
}): RestorePoint {
  const persistent = options.backupDir !== undefined
  const parent = path.resolve(options.backupDir ?? options.workDir)
  const base = `${fileNameOf(options.database)}-${stampOf(options.time)}`
  let directory = ''
  try {
    fs.mkdirSync(parent, { recursive: true, mode: 0o700 })
    // Two runs in the same second (a matrix) each get a directory of their own.
    for (let attempt = 1; ; attempt++) {
      directory = path.join(parent, attempt === 1 ? base : `${base}-${attempt}`)
      try {
        if (fs.existsSync(directory)) throw Object.assign(new Error('exists'), { code: 'EEXIST' })
        fs.mkdirSync(`${directory}${PARTIAL}`, { mode: 0o700 })
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error
      }
    }
  } catch (error) {
    throw new UserError(
      `Could not create the restore point in '${parent}' (input 'backup-dir'): ${messageOf(error)}. ` +
        `Point backup-dir at a directory the runner may write to.`
    )
  }
  const partialDirectory = `${directory}${PARTIAL}`
  return {
    format: options.format,
    path: path.join(partialDirectory, BACKUP_NAMES[options.format](fileNameOf(options.database))),
    compress: options.format === 'plain' ? '0' : compressArgument(options.compression),
    jobs: options.jobs,
    partialDirectory,
    directory,
    manifestPath: path.join(partialDirectory, MANIFEST_FILE),
    persistent
  }
}

const PARTIAL = '.partial'

/** Renames the finished restore point into place; returns where its backup and manifest now are. */
export function finishRestorePoint(point: RestorePoint): { backupPath: string; manifestPath: string } {
  try {
    fs.renameSync(point.partialDirectory, point.directory)
  } catch (error) {
    throw new UserError(`Could not move the restore point into ${point.directory}: ${messageOf(error)}.`)
  }
  return {
    backupPath: path.join(point.directory, path.basename(point.path)),
    manifestPath: path.join(point.directory, MANIFEST_FILE)
  }
}

/** The compression as the manifest records it (`none`, `gzip:1`, `zstd:3`...). */
export function compressionOf(point: KeepBackup): string {
  return point.format === 'plain' ? 'none' : describeCompressArgument(point.compress)
}

/** Starts hashing the kept files (streamed) as soon as they are whole; the caller awaits it when writing the manifest. */
export function hashRestorePoint(point: RestorePoint): Promise<ManifestFile[]> {
  const hashing = hashBackup(point.path)
  hashing.catch(() => undefined)
  return hashing
}

/**
 * Writes the manifest beside the backup, signed when a key is given: whole into a temporary
 * file, then renamed, so a manifest is never seen half written. Returns what was written.
 */
export function writeManifest(point: RestorePoint, facts: ManifestFacts, signingKey?: KeyObject): Manifest {
  const built = buildManifest(facts)
  const manifest = signingKey ? signManifest(built, signingKey) : built
  const temporary = `${point.manifestPath}.partial`
  try {
    fs.writeFileSync(temporary, serializeManifest(manifest), { mode: 0o600 })
    fs.renameSync(temporary, point.manifestPath)
  } catch (error) {
    fs.rmSync(temporary, { force: true })
    throw new UserError(`Could not write the manifest ${point.manifestPath}: ${messageOf(error)}.`)
  }
  return manifest
}

/** Removes an unfinished restore point (a failed dump or restore leaves a partial one). */
export function discardRestorePoint(point: RestorePoint): void {
  fs.rmSync(point.partialDirectory, { recursive: true, force: true })
}
