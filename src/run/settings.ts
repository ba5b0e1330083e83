import * as path from 'node:path'
import type { KeyObject } from 'node:crypto'
import type { CheckDefinition } from '../verification/checks-file.js'
import { readChecksInput } from './checks-input.js'
import { UserError } from '../util/errors.js'
import { VERIFY_LEVELS, type VerifyLevel } from '../verification/compare.js'
import { readSigningKey, readVerifyKey } from '../report/manifest.js'
import { engineFor } from '../engines/index.js'
import type { Engine, EngineShapes, RestorePointsCapability, ServerAddress, ShapeOf } from '../engines/types.js'

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

/**
 * Everything a run needs, read and validated once from the step's inputs, for any engine: the
 * engine is chosen by the URLs' scheme (engines/index.ts), which parses the URLs into its own
 * targets; what only some engines take is read through the capability that gives it its meaning,
 * in the engine's own shapes (`S`), and refused by an engine without it.
 */
export interface Settings<S extends EngineShapes = EngineShapes> {
  /** The engine both URLs name: whatever only it knows is asked of it. */
  engine: Engine<S>
  /**
   * The database whose backup is verified. Only ever read. Absent only when a stored backup is
   * verified from its manifest (backup-path), which needs no production at all.
   */
  production?: S['target']
  /** A maintenance database on the clean-room server; scratch databases are created beside it. */
  cleanroom: S['target']
  /** Where production and the clean room are, for the run history and the artifact's name (Engine.address). */
  productionAddress?: ServerAddress
  cleanroomAddress: ServerAddress
  /** Every form a password takes in the inputs, for the runner to mask (Engine.secretsOf). */
  secrets: string[]
  /** `counts` compares row counts; `checksums` adds a content checksum per table. */
  verify: VerifyLevel
  /** Chaos-drill operators to run against copies of the dump, out of the engine's own, in order, without repeats. */
  sabotage: ShapeOf<S, 'drillOperator', string>[]
  /**
   * Directory holding the engine's client programs (its own input, Engine.binDirInput:
   * postgres-bin-dir, mysql-bin-dir), used exclusively when set.
   */
  binDir?: string
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
   * Who restores the dump, out of the engine's modes (CleanroomRoles.restoreRoleModes; PostgreSQL:
   * `unprivileged`, a role Lazarus creates without any right, see restore-role.ts, or `superuser`,
   * the clean-room role itself, trusting production's code); undefined for an engine without roles.
   */
  restoreRole: ShapeOf<S, 'restoreRole', string | undefined>
  /** Private working directory root (the runner's RUNNER_TEMP). */
  runnerTemp: string
  /** Where the verified backup and its manifest are kept (a restore point per run); none when unset. */
  backupDir?: string
  /** The kept backup's format (RestorePointsCapability.formats); undefined for an engine that keeps none. */
  backupFormat: ShapeOf<S, 'keptFormat', string | undefined>
  /** How the kept archive is compressed (PostgreSQL: custom, directory; always none for plain), in the engine's terms. */
  backupCompression: ShapeOf<S, 'compression', unknown>
  /** Signs the manifest (Ed25519). A secret: its PEM text is masked (`signingKeyPem`) and never written anywhere. */
  signingKey?: KeyObject
  signingKeyPem?: string
  /** A manifest to be trusted must carry a signature by this public key (Ed25519). */
  verifyKey?: KeyObject
  /** How long the dump and Lazarus's production sessions wait for a table lock before failing, naming the table. */
  lockTimeoutSeconds: number
  /** A server that answers no probe for this long (frozen, cut off) ends the run with an error naming it. */
  serverTimeoutSeconds: number
}

/** How an input is read: the action passes core.getInput; a test passes its own values. */
export type InputReader = (name: string) => string

/**
 * Reads the inputs of any run: the engine is chosen by the URLs' scheme (engines/index.ts), the
 * same for both (production and the clean room of another engine cannot verify each other, and
 * say so in one line); without either URL, PostgreSQL's, whose reader says what is missing.
 */
export async function readRunSettings(readInput: InputReader, env = process.env): Promise<Settings> {
  return readSettings(await chooseEngine(readInput), readInput, env)
}

/** The engine the URLs name by their scheme, the same for both. */
export async function chooseEngine(readInput: InputReader): Promise<Engine> {
  const productionUrl = readInput(INPUT.productionUrl).trim()
  const cleanroomUrl = readInput(INPUT.cleanroomUrl).trim()
  const [production, cleanroom] = await Promise.all([
    productionUrl ? engineFor(INPUT.productionUrl, productionUrl) : undefined,
    cleanroomUrl ? engineFor(INPUT.cleanroomUrl, cleanroomUrl) : undefined
  ])
  if (production && cleanroom && production !== cleanroom) {
    throw new UserError(
      `Inputs '${INPUT.productionUrl}' (${production.name}) and '${INPUT.cleanroomUrl}' (${cleanroom.name}) name different engines: ` +
        `a backup restores into a clean room of its own engine; give both URLs the same kind (${production.schemes.map(s => `${s}://`).join(' or ')}).`
    )
  }
  return production ?? cleanroom ?? engineFor(INPUT.productionUrl, '')
}

/**
 * The inputs naming a directory of client programs, one per engine (Engine.binDirInput): a run
 * takes its own engine's and refuses another's in one line that names its own.
 */
const BIN_DIR_INPUTS: { input: string; refusal: (engine: Engine) => string }[] = [
  {
    input: INPUT.postgresBinDir,
    refusal: engine =>
      `Input '${INPUT.postgresBinDir}' does not apply to ${engine.name}: ` +
      `set '${engine.binDirInput}' to the directory of the ${engine.name} client programs.`
  },
  {
    input: INPUT.mysqlBinDir,
    refusal: engine =>
      `Input '${INPUT.mysqlBinDir}' is for mysql:// and mariadb:// URLs; this run is ${engine.name}'s: remove it, or set '${engine.binDirInput}'.`
  }
]

/**
 * Inputs that only an engine with a capability has a use for, and why an engine without it
 * refuses them rather than ignore them: each changes what a user expects the run to prove or
 * keep, so a run that quietly did without it would pass for something it did not do.
 * `restore-role` and `backup-format` have defaults a run cannot tell from a choice; an engine
 * without roles or restore points leaves them alone (README, docs/mysql.md say whose they are).
 */
const CAPABILITY_INPUTS: { input: string; isSet: (raw: string) => boolean; has: (engine: Engine) => boolean; fix: string }[] = [
  {
    input: INPUT.backupPath,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'verifying a stored backup is PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.manifestPath,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'verifying a stored backup is PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.backupDir,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'keeping restore points is PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.backupCompression,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'keeping restore points is PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.signingKey,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'manifests of restore points are PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.verifyKey,
    isSet: nonEmpty,
    has: keepsRestorePoints,
    fix: 'manifests of restore points are PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.uploadDump,
    isSet: isTrue,
    has: keepsRestorePoints,
    fix: 'uploading the verified dump is PostgreSQL-only for now: remove it'
  },
  {
    input: INPUT.amcheck,
    isSet: isTrue,
    has: engine => engine.amcheck !== undefined,
    fix: "amcheck is PostgreSQL's index and heap checker: remove it"
  },
  {
    input: INPUT.checks,
    isSet: nonEmpty,
    has: engine => engine.userChecks !== undefined,
    fix: 'checks files are PostgreSQL-only for now: remove it'
  }
]

function keepsRestorePoints(engine: Engine): boolean {
  return engine.restorePoints !== undefined
}

function nonEmpty(raw: string): boolean {
  return raw.trim() !== ''
}

function isTrue(raw: string): boolean {
  return ['true', 'True', 'TRUE'].includes(raw.trim())
}

/** Refuses, in one line naming it, an input the engine has no use for (another engine's, or a capability it lacks). */
function refuseInputsItLacks(engine: Engine, readInput: InputReader): void {
  for (const { input, refusal } of BIN_DIR_INPUTS) {
    if (input !== engine.binDirInput && nonEmpty(readInput(input))) throw new UserError(refusal(engine))
  }
  for (const { input, isSet, has, fix } of CAPABILITY_INPUTS) {
    if (!has(engine) && isSet(readInput(input))) throw new UserError(`Input '${input}' does not apply to ${engine.name}: ${fix}.`)
  }
}

/**
 * Reads and validates every input for `engine` (readRunSettings chooses it). Throws a UserError
 * naming the input and the fix for any bad value, before anything is connected to.
 */
export function readSettings<S extends EngineShapes>(engine: Engine<S>, readInput: InputReader, env = process.env): Settings<S> {
  refuseInputsItLacks(engine as Engine, readInput)
  // A password neither the URL nor its input gives comes from the client's own variable (PGPASSWORD).
  const passwordVariable = engine.clientEnvironment?.passwordVariable
  const environmentPassword = (passwordVariable && env[passwordVariable]) || undefined
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
  const productionUrl = storedBackup ? readInput(INPUT.productionUrl).trim() : required(engine, readInput, INPUT.productionUrl)
  const production = productionUrl
    ? engine.parseUrl(INPUT.productionUrl, productionUrl, readInput(INPUT.productionPassword) || environmentPassword)
    : undefined
  const cleanroomUrl = required(engine, readInput, INPUT.cleanroomUrl)
  const cleanroom = engine.parseUrl(INPUT.cleanroomUrl, cleanroomUrl, readInput(INPUT.cleanroomPassword) || environmentPassword)
  const binDir = readInput(engine.binDirInput).trim()
  const restorePoints = engine.restorePoints
  const backupFormat =
    restorePoints && parseChoice(readInput, INPUT.backupFormat, restorePoints.formats, restorePoints.formats[0])
  const keeps = readInput(INPUT.backupDir).trim() !== '' || parseBoolean(readInput, INPUT.uploadDump)
  const roleModes = engine.cleanroomRoles?.restoreRoleModes
  const settings: Settings = {
    engine: engine as Engine,
    production,
    cleanroom,
    productionAddress: production === undefined ? undefined : addressOf(engine, production, productionUrl),
    cleanroomAddress: addressOf(engine, cleanroom, cleanroomUrl),
    secrets: [...(production === undefined ? [] : engine.secretsOf(production)), ...engine.secretsOf(cleanroom)],
    verify: parseChoice(readInput, INPUT.verify, VERIFY_LEVELS, 'checksums'),
    sabotage: parseSabotage(readInput(INPUT.sabotage), engine.drillOperators),
    binDir: binDir || undefined,
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
    // An engine without checks has none: its settings refused the input above (CAPABILITY_INPUTS).
    checks: engine.userChecks ? readChecksInput(INPUT.checks, readInput(INPUT.checks), engine.userChecks.dialect, env) : [],
    amcheck: parseBoolean(readInput, INPUT.amcheck),
    backupPath: workspacePath(readInput(INPUT.backupPath), env),
    manifestPath: workspacePath(readInput(INPUT.manifestPath), env),
    restoreRole: roleModes && parseChoice(readInput, INPUT.restoreRole, roleModes, roleModes[0]),
    runnerTemp: env.RUNNER_TEMP || env.TMPDIR || '/tmp',
    backupDir: workspacePath(readInput(INPUT.backupDir), env),
    backupFormat,
    backupCompression:
      restorePoints && backupFormat !== undefined
        ? readBackupCompression(readInput, restorePoints as RestorePointsCapability, backupFormat, { keeps, storedBackup })
        : undefined,
    ...readKeys(readInput),
    lockTimeoutSeconds: parseNumber(readInput, INPUT.lockTimeoutSeconds, { min: 1, max: 86400 }) ?? 60,
    serverTimeoutSeconds: parseNumber(readInput, INPUT.serverTimeoutSeconds, { min: 1, max: 86400 }) ?? 60
  }
  // The choices above were read out of the engine's own lists (its operators, modes, formats) and
  // parsed by it: they are its shapes.
  return settings as unknown as Settings<S>
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
 * backup-compression: empty is the format's default (the engine's: none for PostgreSQL's plain).
 * A value is refused where it would change nothing, so no one believes a backup compressed that
 * is not: a run that keeps no backup, a stored one, a format the engine keeps uncompressed.
 */
function readBackupCompression(
  readInput: InputReader,
  restorePoints: RestorePointsCapability,
  format: string,
  run: { keeps: boolean; storedBackup: boolean }
): unknown {
  const raw = readInput(INPUT.backupCompression)
  if (!raw.trim()) return restorePoints.defaultCompression(format)
  const compression = restorePoints.parseCompression(raw, INPUT.backupCompression)
  const refuse = (why: string) => new UserError(`Input '${INPUT.backupCompression}' is '${raw}', ${why}.`)
  if (run.storedBackup)
    throw refuse(
      `but '${INPUT.backupPath}' verifies a stored backup, which is read as it was written: remove ${INPUT.backupCompression}`
    )
  if (!run.keeps)
    throw refuse(
      `but this run keeps no backup: set '${INPUT.backupDir}' (or '${INPUT.uploadDump}: true') to keep one, or remove it`
    )
  const refused = restorePoints.refusedCompression(format, compression)
  if (refused) throw refuse(refused)
  return compression
}

/**
 * Where a target is, for the history and the artifact's name: the engine's own account, or the
 * URL as written (the port 0 when left to the default).
 */
function addressOf<S extends EngineShapes>(engine: Engine<S>, target: S['target'], url: string): ServerAddress {
  if (engine.address) return engine.address(target)
  const parsed = new URL(url)
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 0),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  }
}

/** A path input: absolute, or relative to the workspace (GITHUB_WORKSPACE, else the working directory); undefined when empty. */
function workspacePath(raw: string, env: NodeJS.ProcessEnv): string | undefined {
  const given = raw.trim()
  return given ? path.resolve(env.GITHUB_WORKSPACE || process.cwd(), given) : undefined
}

/** Settings of a run that connects to production (a fresh dump, or a stored backup without its manifest). */
export type ProductionSettings<S extends EngineShapes = EngineShapes> = Settings<S> & {
  production: S['target']
  productionAddress: ServerAddress
}

/** The settings with production, or the error saying why production-url is needed. */
export function requireProduction<S extends EngineShapes>(settings: Settings<S>, why: string): ProductionSettings<S> {
  if (!settings.production)
    throw new UserError(`Input '${INPUT.productionUrl}' is required ${why}: set it to ${settings.engine.urlForm}.`)
  return settings as ProductionSettings<S>
}

function required(engine: Engine<EngineShapes> | Engine<never>, readInput: InputReader, name: string): string {
  const value = readInput(name).trim()
  if (!value) throw new UserError(`Input '${name}' is required: set it to ${engine.urlForm}.`)
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

/** `none`, `all`, or a comma-separated list of operators, out of the engine's `operators` (`all` means all of those). */
export function parseSabotage<T extends string>(raw: string, operators: readonly T[]): T[] {
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
