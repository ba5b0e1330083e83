import { engineFor, runsOverSeam } from '../engines/index.js'
import type { Engine, EngineShapes } from '../engines/types.js'
import { UserError } from '../util/errors.js'
import { VERIFY_LEVELS, type VerifyLevel } from '../verification/compare.js'
import {
  INPUT,
  parseBoolean,
  parseChoice,
  parseNumber,
  parseSabotage,
  readSettings,
  type InputReader,
  type Settings
} from './settings.js'

/**
 * The settings of a run over the engine seam (run/engine-pipeline.ts): MySQL and MariaDB today.
 * The connection targets are the engine's own (parsed and vetted by it); the other fields mean
 * what they mean for PostgreSQL (settings.ts documents each).
 */
export interface EngineSettings<S extends EngineShapes = EngineShapes> {
  engine: Engine<S>
  production: S['target']
  cleanroom: S['target']
  /** Where production and the clean room are, for the run history and the artifact's name. */
  productionAddress: { host: string; port: number; database: string }
  cleanroomAddress: { host: string; port: number; database: string }
  /** Every form a password takes in the inputs, for the runner to mask. */
  secrets: string[]
  /** Directory holding the engine's client programs (mysql-bin-dir), used exclusively when set. */
  binDir?: string
  verify: VerifyLevel
  /** Drill operators, out of the engine's own, in order, without repeats. */
  sabotage: string[]
  showValues: boolean
  maxRowsReported: number
  jobs: number
  keepCleanroom: boolean
  rtoSeconds?: number
  rtoWarnSeconds?: number
  artifactName?: string
  artifactRetentionDays?: number
  historyKey?: string
  runnerTemp: string
  lockTimeoutSeconds: number
  serverTimeoutSeconds: number
}

/** Which run a step's inputs ask for: PostgreSQL's own pipeline, or the run over the engine seam. */
export type RunSettings = { kind: 'postgres'; settings: Settings } | { kind: 'engine'; settings: EngineSettings }

/**
 * Inputs that only a PostgreSQL run has a use for, and why another engine refuses them rather
 * than ignore them: each changes what a user expects the run to prove or keep, so a run that
 * quietly did without it would pass for something it did not do. `restore-role` and
 * `backup-format` have defaults a run cannot tell from a choice; they are documented as
 * PostgreSQL's (README, docs/mysql.md) and left alone.
 */
const POSTGRES_ONLY: { input: string; isSet: (raw: string) => boolean; fix: string }[] = [
  {
    input: INPUT.postgresBinDir,
    isSet: nonEmpty,
    fix: `set '${INPUT.mysqlBinDir}' to the directory of the MySQL/MariaDB client programs`
  },
  { input: INPUT.backupPath, isSet: nonEmpty, fix: 'verifying a stored backup is PostgreSQL-only for now: remove it' },
  { input: INPUT.manifestPath, isSet: nonEmpty, fix: 'verifying a stored backup is PostgreSQL-only for now: remove it' },
  { input: INPUT.backupDir, isSet: nonEmpty, fix: 'keeping restore points is PostgreSQL-only for now: remove it' },
  { input: INPUT.backupCompression, isSet: nonEmpty, fix: 'keeping restore points is PostgreSQL-only for now: remove it' },
  { input: INPUT.signingKey, isSet: nonEmpty, fix: 'manifests of restore points are PostgreSQL-only for now: remove it' },
  { input: INPUT.verifyKey, isSet: nonEmpty, fix: 'manifests of restore points are PostgreSQL-only for now: remove it' },
  { input: INPUT.uploadDump, isSet: isTrue, fix: 'uploading the verified dump is PostgreSQL-only for now: remove it' },
  { input: INPUT.amcheck, isSet: isTrue, fix: "amcheck is PostgreSQL's index and heap checker: remove it" },
  { input: INPUT.checks, isSet: nonEmpty, fix: 'checks files are PostgreSQL-only for now: remove it' }
]

function nonEmpty(raw: string): boolean {
  return raw.trim() !== ''
}

function isTrue(raw: string): boolean {
  return ['true', 'True', 'TRUE'].includes(raw.trim())
}

/**
 * Reads the inputs of any run. The engine is chosen by the URLs' scheme (engines/index.ts), the
 * same for both: production and the clean room of another engine cannot verify each other, and
 * say so in one line. PostgreSQL URLs read as they always have (readSettings).
 */
export async function readRunSettings(readInput: InputReader, env = process.env): Promise<RunSettings> {
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
  const engine = production ?? cleanroom
  if (!engine || !runsOverSeam(engine)) return { kind: 'postgres', settings: readSettings(readInput, env) }
  return { kind: 'engine', settings: readEngineSettings(engine, readInput, env) }
}

/** The settings of a run over the seam, read and vetted before anything is connected to. */
export function readEngineSettings(engine: Engine, readInput: InputReader, env = process.env): EngineSettings {
  for (const { input, isSet, fix } of POSTGRES_ONLY) {
    if (isSet(readInput(input))) throw new UserError(`Input '${input}' does not apply to ${engine.name}: ${fix}.`)
  }
  const url = (name: string) => {
    const value = readInput(name).trim()
    if (!value) throw new UserError(`Input '${name}' is required: set it to a ${engine.schemes[0]}:// URL.`)
    return value
  }
  const productionUrl = url(INPUT.productionUrl)
  const cleanroomUrl = url(INPUT.cleanroomUrl)
  const productionPassword = readInput(INPUT.productionPassword) || undefined
  const cleanroomPassword = readInput(INPUT.cleanroomPassword) || undefined
  const production = engine.parseUrl(INPUT.productionUrl, productionUrl, productionPassword)
  const cleanroom = engine.parseUrl(INPUT.cleanroomUrl, cleanroomUrl, cleanroomPassword)
  const binDir = readInput(INPUT.mysqlBinDir).trim()
  return {
    engine,
    production,
    cleanroom,
    productionAddress: addressOf(productionUrl),
    cleanroomAddress: addressOf(cleanroomUrl),
    secrets: [...engine.secretsOf(production), ...engine.secretsOf(cleanroom)],
    binDir: binDir || undefined,
    verify: parseChoice(readInput, INPUT.verify, VERIFY_LEVELS, 'checksums'),
    sabotage: parseSabotage(readInput(INPUT.sabotage), engine.drillOperators),
    showValues: parseBoolean(readInput, INPUT.showValues),
    maxRowsReported: parseNumber(readInput, INPUT.maxRowsReported, { min: 0, integer: true }) ?? 20,
    jobs: parseNumber(readInput, INPUT.jobs, { min: 1, max: 64, integer: true }) ?? 2,
    keepCleanroom: parseBoolean(readInput, INPUT.keepCleanroom),
    rtoSeconds: parseNumber(readInput, INPUT.rtoSeconds, { min: 0 }),
    rtoWarnSeconds: parseNumber(readInput, INPUT.rtoWarnSeconds, { min: 0 }),
    artifactName: readInput(INPUT.artifactName).trim() || undefined,
    artifactRetentionDays: parseNumber(readInput, INPUT.artifactRetentionDays, { min: 1, max: 90, integer: true }),
    historyKey: readInput(INPUT.historyKey).trim() || undefined,
    runnerTemp: env.RUNNER_TEMP || env.TMPDIR || '/tmp',
    lockTimeoutSeconds: parseNumber(readInput, INPUT.lockTimeoutSeconds, { min: 1, max: 86400 }) ?? 60,
    serverTimeoutSeconds: parseNumber(readInput, INPUT.serverTimeoutSeconds, { min: 1, max: 86400 }) ?? 60
  }
}

/**
 * Host, port and database of a URL the engine has already accepted, for naming the run's
 * history and artifact (never for connecting). The port is as written (0 when left to the default).
 */
function addressOf(url: string): { host: string; port: number; database: string } {
  const parsed = new URL(url)
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 0),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  }
}
