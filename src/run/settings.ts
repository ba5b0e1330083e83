import * as path from 'node:path'
import type { KeyObject } from 'node:crypto'
import type { CheckDefinition } from '../verification/checks-file.js'
import { readChecksInput } from './checks-input.js'
import { UserError } from '../util/errors.js'
import { VERIFY_LEVELS, type VerifyLevel } from '../verification/compare.js'
import { parseConnectionUrl, type ConnectionTarget } from '../engines/postgres/connection.js'
import { KEPT_FORMATS, type KeptFormat } from '../engines/postgres/backup-format.js'
import { DEFAULT_KEEP_COMPRESSION, parseDumpCompression, type DumpCompression } from '../engines/postgres/dump-compression.js'
import { readSigningKey, readVerifyKey } from '../report/manifest.js'
import { RESTORE_ROLE_MODES, type RestoreRoleMode } from '../engines/postgres/restore-role.js'
import { DRILL_OPERATORS, type DrillOperator } from '../engines/postgres/drill-plan.js'

/** Input names, exactly as action.yml declares them. */
export const INPUT = {
  productionUrl: 'production-url',
  productionPassword: 'production-password',
  cleanroomUrl: 'cleanroom-url',
  cleanroomPassword: 'cleanroom-password',
  verify: 'verify',
  sabotage: 'sabotage',
  postgresBinDir: 'postgres-bin-dir',
  mysqlBinDir: 'mysql-bin-dir',
  showValues: 'show-values',
  maxRowsReported: 'max-rows-reported',
  jobs: 'jobs',
  keepCleanroom: 'keep-cleanroom',
  uploadDump: 'upload-dump',
  rtoSeconds: 'rto-seconds',
  rtoWarnSeconds: 'rto-warn-seconds',
  artifactName: 'artifact-name',
  artifactRetentionDays: 'artifact-retention-days',
  historyKey: 'history-key',
  checks: 'checks',
  amcheck: 'amcheck',
  backupPath: 'backup-path',
  manifestPath: 'manifest-path',
  backupDir: 'backup-dir',
  backupFormat: 'backup-format',
  backupCompression: 'backup-compression',
  signingKey: 'signing-key',
  verifyKey: 'verify-key',
  lockTimeoutSeconds: 'lock-timeout-seconds',
  serverTimeoutSeconds: 'server-timeout-seconds',
  restoreRole: 'restore-role'
} as const

/** Everything a run needs, read and validated once from the step's inputs. */
export interface Settings {
  /**
   * The database whose backup is verified. Only ever read. Absent only when a stored backup is
   * verified from its manifest (backup-path), which needs no production at all.
   */
  production?: ConnectionTarget
  /** A maintenance database on the clean-room server; scratch databases are created beside it. */
  cleanroom: ConnectionTarget
  /** `counts` compares row counts; `checksums` adds a content checksum per table. */
  verify: VerifyLevel
  /** Chaos-drill operators to run against copies of the dump, in order, without repeats. */
  sabotage: DrillOperator[]
  /** Directory holding pg_dump and psql, used exclusively when set. */
  postgresBinDir?: string
  /** Show production row values for differing rows; keys only when false. */
  showValues: boolean
  /** How many differing rows to list per table before only counting them. */
  maxRowsReported: number
  /** Sessions that checksum tables at once, on each server. */
  jobs: number
  /** Leave the restored scratch database in place for debugging. */
  keepCleanroom: boolean
  /** Upload the dump (production data) as an artifact. */
  uploadDump: boolean
  /** Fail when the restore takes longer (seconds). */
  rtoSeconds?: number
  /** Warn when the restore takes longer (seconds). */
  rtoWarnSeconds?: number
  /** Report artifact name; undefined for a default unique per job, step and database. */
  artifactName?: string
  /** Report artifact retention in days; undefined for the repository default. */
  artifactRetentionDays?: number
  /** Names the run history this run joins; undefined for one history per production database. */
  historyKey?: string
  /** The user's checks (from the `checks` file): queries production and the restored copy must answer alike. */
  checks: CheckDefinition[]
  /** Run amcheck on the restored copy. */
  amcheck: boolean
  /** A stored backup to verify instead of a fresh dump (absolute; relative inputs resolve against the workspace). */
  backupPath?: string
  /** The evidence manifest of `backupPath`, when not beside it (absolute). */
  manifestPath?: string
  /**
   * Who restores the dump: `unprivileged` (a role Lazarus creates without any right, see
   * restore-role.ts) or `superuser` (the clean-room role itself, trusting production's code).
   */
  restoreRole: RestoreRoleMode
  /** Private working directory root (the runner's RUNNER_TEMP). */
  runnerTemp: string
  /** Where the verified backup and its manifest are kept (a restore point per run); none when unset. */
  backupDir?: string
  /** The kept backup's pg_dump format. */
  backupFormat: KeptFormat
  /** How pg_dump compresses the kept archive (custom, directory); always none for plain. */
  backupCompression: DumpCompression
  /** Signs the manifest (Ed25519). A secret: its PEM text is masked (`signingKeyPem`) and never written anywhere. */
  signingKey?: KeyObject
  signingKeyPem?: string
  /** A manifest to be trusted must carry a signature by this public key (Ed25519). */
  verifyKey?: KeyObject
  /** How long pg_dump and Lazarus's production sessions wait for a table lock before failing, naming the table. */
  lockTimeoutSeconds: number
  /** A server that answers no probe for this long (frozen, cut off) ends the run with an error naming it. */
  serverTimeoutSeconds: number
}

/** How an input is read: the action passes core.getInput; a test passes its own values. */
export type InputReader = (name: string) => string

/**
 * Reads and validates every input. Throws a UserError naming the input and the fix for any bad
 * value, before anything is connected to.
 */
export function readSettings(readInput: InputReader, env = process.env): Settings {
  const environmentPassword = env.PGPASSWORD || undefined
  // A stored backup verified from its manifest needs no production: whether one is needed is
  // known once the manifest is looked for (stored-pipeline.ts), which says so then.
  const storedBackup = readInput(INPUT.backupPath).trim() !== ''
  // A stored backup is verified, not dumped: there is nothing new to keep.
  if (storedBackup && readInput(INPUT.backupDir).trim() !== '') {
    throw new UserError(
      `Inputs '${INPUT.backupPath}' and '${INPUT.backupDir}' are both set: a run either verifies a stored backup (backup-path) ` +
        `or takes a fresh dump and keeps it (backup-dir). Remove one of them.`
    )
  }
  const productionUrl = storedBackup ? readInput(INPUT.productionUrl).trim() : required(readInput, INPUT.productionUrl)
  const production = productionUrl
    ? parseConnectionUrl(INPUT.productionUrl, productionUrl, readInput(INPUT.productionPassword) || environmentPassword)
    : undefined
  const cleanroom = parseConnectionUrl(
    INPUT.cleanroomUrl,
    required(readInput, INPUT.cleanroomUrl),
    readInput(INPUT.cleanroomPassword) || environmentPassword
  )
  const binDir = readInput(INPUT.postgresBinDir).trim()
  if (readInput(INPUT.mysqlBinDir).trim()) {
    throw new UserError(
      `Input '${INPUT.mysqlBinDir}' is for mysql:// and mariadb:// URLs; this run is PostgreSQL's: remove it, or set '${INPUT.postgresBinDir}'.`
    )
  }
  const backupFormat = parseChoice(readInput, INPUT.backupFormat, KEPT_FORMATS, 'custom')
  const keeps = readInput(INPUT.backupDir).trim() !== '' || parseBoolean(readInput, INPUT.uploadDump)
  return {
    production,
    cleanroom,
    verify: parseChoice(readInput, INPUT.verify, VERIFY_LEVELS, 'checksums'),
    sabotage: parseSabotage(readInput(INPUT.sabotage)),
    postgresBinDir: binDir || undefined,
    showValues: parseBoolean(readInput, INPUT.showValues),
    maxRowsReported: parseNumber(readInput, INPUT.maxRowsReported, { min: 0, integer: true }) ?? 20,
    jobs: parseNumber(readInput, INPUT.jobs, { min: 1, max: 64, integer: true }) ?? 2,
    keepCleanroom: parseBoolean(readInput, INPUT.keepCleanroom),
    uploadDump: parseBoolean(readInput, INPUT.uploadDump),
    rtoSeconds: parseNumber(readInput, INPUT.rtoSeconds, { min: 0 }),
    rtoWarnSeconds: parseNumber(readInput, INPUT.rtoWarnSeconds, { min: 0 }),
    artifactName: readInput(INPUT.artifactName).trim() || undefined,
    artifactRetentionDays: parseNumber(readInput, INPUT.artifactRetentionDays, { min: 1, max: 90, integer: true }),
    historyKey: readInput(INPUT.historyKey).trim() || undefined,
    checks: readChecksInput(INPUT.checks, readInput(INPUT.checks), env),
    amcheck: parseBoolean(readInput, INPUT.amcheck),
    backupPath: workspacePath(readInput(INPUT.backupPath), env),
    manifestPath: workspacePath(readInput(INPUT.manifestPath), env),
    restoreRole: parseChoice(readInput, INPUT.restoreRole, RESTORE_ROLE_MODES, 'unprivileged'),
    runnerTemp: env.RUNNER_TEMP || env.TMPDIR || '/tmp',
    backupDir: workspacePath(readInput(INPUT.backupDir), env),
    backupFormat,
    backupCompression: readBackupCompression(readInput, backupFormat, { keeps, storedBackup }),
    ...readKeys(readInput),
    lockTimeoutSeconds: parseNumber(readInput, INPUT.lockTimeoutSeconds, { min: 1, max: 86400 }) ?? 60,
    serverTimeoutSeconds: parseNumber(readInput, INPUT.serverTimeoutSeconds, { min: 1, max: 86400 }) ?? 60
  }
}

/** The manifest keys, read (and refused with one line) before anything runs. */
function readKeys(readInput: InputReader): Pick<Settings, 'signingKey' | 'signingKeyPem' | 'verifyKey'> {
  const signingKeyPem = readInput(INPUT.signingKey).trim()
  const verifyKeyPem = readInput(INPUT.verifyKey).trim()
  return {
    ...(signingKeyPem ? { signingKey: readSigningKey(signingKeyPem, INPUT.signingKey), signingKeyPem } : {}),
    ...(verifyKeyPem ? { verifyKey: readVerifyKey(verifyKeyPem, INPUT.verifyKey) } : {})
  }
}

/**
 * backup-compression: empty is the default for the archive formats (none for plain). A value is
 * refused where it would change nothing, so no one believes a backup compressed that is not:
 * a plain backup (kept as pg_dump's SQL, uncompressed), a run that keeps no backup, a stored one.
 */
function readBackupCompression(
  readInput: InputReader,
  format: KeptFormat,
  run: { keeps: boolean; storedBackup: boolean }
): DumpCompression {
  const raw = readInput(INPUT.backupCompression)
  if (!raw.trim()) return format === 'plain' ? { method: 'none' } : DEFAULT_KEEP_COMPRESSION
  const compression = parseDumpCompression(raw, INPUT.backupCompression)
  const refuse = (why: string) => new UserError(`Input '${INPUT.backupCompression}' is '${raw}', ${why}.`)
  if (run.storedBackup)
    throw refuse(
      `but '${INPUT.backupPath}' verifies a stored backup, which is read as it was written: remove ${INPUT.backupCompression}`
    )
  if (!run.keeps)
    throw refuse(
      `but this run keeps no backup: set '${INPUT.backupDir}' (or '${INPUT.uploadDump}: true') to keep one, or remove it`
    )
  if (format === 'plain' && compression.method !== 'none')
    throw refuse(
      `but '${INPUT.backupFormat}' is plain, which Lazarus keeps uncompressed (pg_dump's SQL as it was restored): ` +
        `use backup-format custom or directory for a compressed backup, or remove ${INPUT.backupCompression}`
    )
  return compression
}

/** A path input: absolute, or relative to the workspace (GITHUB_WORKSPACE, else the working directory); undefined when empty. */
function workspacePath(raw: string, env: NodeJS.ProcessEnv): string | undefined {
  const given = raw.trim()
  return given ? path.resolve(env.GITHUB_WORKSPACE || process.cwd(), given) : undefined
}

/** Settings of a run that connects to production (a fresh dump, or a stored backup without its manifest). */
export type ProductionSettings = Settings & { production: ConnectionTarget }

/** The settings with production, or the error saying why production-url is needed. */
export function requireProduction(settings: Settings, why: string): ProductionSettings {
  if (!settings.production)
    throw new UserError(`Input '${INPUT.productionUrl}' is required ${why}: set it to a postgresql:// URI.`)
  return settings as ProductionSettings
}

function required(readInput: InputReader, name: string): string {
  const value = readInput(name).trim()
  if (!value) throw new UserError(`Input '${name}' is required: set it to a postgresql:// URI.`)
  return value
}

export function parseChoice<T extends string>(readInput: InputReader, name: string, choices: readonly T[], fallback: T): T {
  const raw = readInput(name)
  const value = (raw.trim() || fallback).toLowerCase()
  if (!(choices as readonly string[]).includes(value)) {
    throw new UserError(`Input '${name}' is '${raw}': use one of ${choices.join(', ')}.`)
  }
  return value as T
}

/** Like core.getBooleanInput (YAML 1.2 core schema), but an empty value is false. */
export function parseBoolean(readInput: InputReader, name: string): boolean {
  const raw = readInput(name).trim()
  if (['', 'false', 'False', 'FALSE'].includes(raw)) return false
  if (['true', 'True', 'TRUE'].includes(raw)) return true
  throw new UserError(`Input '${name}' is '${raw}': use true or false.`)
}

export function parseNumber(
  readInput: InputReader,
  name: string,
  limits: { min: number; max?: number; integer?: boolean }
): number | undefined {
  const raw = readInput(name).trim()
  if (!raw) return undefined
  const value = Number(raw)
  const bad =
    !Number.isFinite(value) ||
    value < limits.min ||
    (limits.max !== undefined && value > limits.max) ||
    (limits.integer && !Number.isInteger(value))
  if (bad) {
    const range = limits.max === undefined ? `at least ${limits.min}` : `from ${limits.min} to ${limits.max}`
    throw new UserError(`Input '${name}' is '${raw}': use ${limits.integer ? 'a whole number' : 'a number'} ${range}.`)
  }
  return value
}

/**
 * `none`, `all`, or a comma-separated list of operators, out of `operators` (PostgreSQL's by
 * default; another engine passes its own, and `all` means all of those).
 */
export function parseSabotage<T extends string = DrillOperator>(
  raw: string,
  operators: readonly T[] = DRILL_OPERATORS as unknown as readonly T[]
): T[] {
  const words = raw
    .split(/[,\s]+/)
    .map(word => word.trim().toLowerCase())
    .filter(Boolean)
  if (words.length === 0 || (words.length === 1 && words[0] === 'none')) return []
  if (words.length === 1 && words[0] === 'all') return [...operators]
  const unknown = words.filter(word => !(operators as readonly string[]).includes(word))
  if (unknown.length > 0) {
    throw new UserError(
      `Input 'sabotage' has unknown operator(s) ${unknown.map(w => `'${w}'`).join(', ')}: ` +
        `use none, all, or a comma-separated list of ${operators.join(', ')}.`
    )
  }
  return [...new Set(words)] as T[]
}
