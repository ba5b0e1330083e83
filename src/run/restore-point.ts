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
import type { KeptBackup, ManifestProfile, RestorePointsCapability } from '../engines/types.js'

/**
 * A restore point: the backup a run verified, kept with its manifest in a directory of its own,
 * `<backup-dir>/<database>-<time>/`, so that nightly runs into one backup-dir never overwrite each
 * other and the manifest sits beside its backup under the name a later verification looks for.
 */

/**
 * The engine's restore points (engines/types.ts RestorePointsCapability). The settings refuse
 * backup-dir, upload-dump, backup-compression and the manifests' keys for an engine without them
 * (settings.ts); a run that still asks is refused the same way, in one line.
 */
export function restorePointsOf<E extends { readonly name: string; readonly restorePoints?: object }>(
  engine: E
): NonNullable<E['restorePoints']> {
  if (!engine.restorePoints) {
    throw new UserError(
      `${engine.name} keeps no restore points and verifies no stored backups: remove backup-dir, upload-dump, ` +
        `backup-compression, backup-path, manifest-path, signing-key and verify-key.`
    )
  }
  return engine.restorePoints as NonNullable<E['restorePoints']>
}

/**
 * While the run goes on, the restore point is `<name>.partial/`: a run that is killed leaves a
 * directory that says it is unfinished, never one that looks like a restore point. Once its
 * manifest is written it is renamed to `<name>/` (finishRestorePoint). `path` and `manifestPath`
 * are inside the partial directory until then.
 */
export interface RestorePoint<Format extends string = string> extends KeptBackup<Format> {
  /** The directory the backup is written into (`<name>.partial`). */
  partialDirectory: string
  /** The restore point's own directory once finished (holds the backup and the manifest). */
  directory: string
  manifestPath: string
  /** Whether it is kept after the run (backup-dir) or only lives in the run's workspace (upload-dump alone). */
  persistent: boolean
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
 * backup-dir is one clear error naming it. The engine's restore points name the backup's file and
 * its compression argument.
 */
export function createRestorePoint<Format extends string, Compression>(
  engine: Pick<RestorePointsCapability<unknown, unknown, Format, Compression>, 'backupName' | 'compressArgument'>,
  options: {
    backupDir?: string
    workDir: string
    database: string
    format: Format
    /** backup-compression (the engine's: a plain backup is always written uncompressed). */
    compression: Compression
    jobs: number
    time: Date
  }
): RestorePoint<Format> {
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
    path: path.join(partialDirectory, engine.backupName(options.format, fileNameOf(options.database))),
    compress: engine.compressArgument(options.format, options.compression),
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
export function writeManifest(
  point: RestorePoint,
  facts: ManifestFacts,
  profile: ManifestProfile,
  signingKey?: KeyObject
): Manifest {
  const built = buildManifest(facts, profile)
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
