import * as core from '@actions/core'
import { UserError } from './errors.js'
import { parseConnectionUrl, type ConnectionTarget } from './connection.js'
import { SABOTAGE_OPERATORS, type SabotageOperator } from './sabotage.js'

/** Input names, exactly as action.yml declares them. */
export const INPUT = {
  productionUrl: 'production-url',
  productionPassword: 'production-password',
  cleanroomUrl: 'cleanroom-url',
  cleanroomPassword: 'cleanroom-password',
  verify: 'verify',
  sabotage: 'sabotage',
  postgresBinDir: 'postgres-bin-dir'
} as const

export const VERIFY_LEVELS = ['counts', 'checksums'] as const
export type VerifyLevel = (typeof VERIFY_LEVELS)[number]

/** Everything a run needs, read and validated once from the step's inputs. */
export interface Settings {
  /** The database whose backup is verified. Only ever read. */
  production: ConnectionTarget
  /** A maintenance database on the clean-room server; scratch databases are created beside it. */
  cleanroom: ConnectionTarget
  /** `counts` compares row counts; `checksums` adds a content checksum per table. */
  verify: VerifyLevel
  /** Chaos-drill operators to run against copies of the dump, in order, without repeats. */
  sabotage: SabotageOperator[]
  /** Directory holding pg_dump and psql, used exclusively when set. */
  postgresBinDir?: string
  /** Private working directory root (the runner's RUNNER_TEMP). */
  runnerTemp: string
}

type InputReader = (name: string) => string

/**
 * Reads and validates every input. Throws a UserError naming the input and the fix for any bad
 * value, before anything is connected to.
 */
export function readSettings(readInput: InputReader = name => core.getInput(name), env = process.env): Settings {
  const environmentPassword = env.PGPASSWORD || undefined
  const production = parseConnectionUrl(
    INPUT.productionUrl,
    required(readInput, INPUT.productionUrl),
    readInput(INPUT.productionPassword) || environmentPassword
  )
  const cleanroom = parseConnectionUrl(
    INPUT.cleanroomUrl,
    required(readInput, INPUT.cleanroomUrl),
    readInput(INPUT.cleanroomPassword) || environmentPassword
  )
  const binDir = readInput(INPUT.postgresBinDir).trim()
  return {
    production,
    cleanroom,
    verify: parseVerify(readInput(INPUT.verify)),
    sabotage: parseSabotage(readInput(INPUT.sabotage)),
    postgresBinDir: binDir || undefined,
    runnerTemp: env.RUNNER_TEMP || env.TMPDIR || '/tmp'
  }
}

function required(readInput: InputReader, name: string): string {
  const value = readInput(name).trim()
  if (!value) throw new UserError(`Input '${name}' is required: set it to a postgresql:// URI.`)
  return value
}

function parseVerify(raw: string): VerifyLevel {
  const value = (raw.trim() || 'checksums').toLowerCase()
  if (!(VERIFY_LEVELS as readonly string[]).includes(value)) {
    throw new UserError(`Input 'verify' is '${raw}': use one of ${VERIFY_LEVELS.join(', ')}.`)
  }
  return value as VerifyLevel
}

/** `none`, `all`, or a comma-separated list of operators. */
export function parseSabotage(raw: string): SabotageOperator[] {
  const words = raw
    .split(/[,\s]+/)
    .map(word => word.trim().toLowerCase())
    .filter(Boolean)
  if (words.length === 0 || (words.length === 1 && words[0] === 'none')) return []
  if (words.length === 1 && words[0] === 'all') return [...SABOTAGE_OPERATORS]
  const unknown = words.filter(word => !(SABOTAGE_OPERATORS as readonly string[]).includes(word))
  if (unknown.length > 0) {
    throw new UserError(
      `Input 'sabotage' has unknown operator(s) ${unknown.map(w => `'${w}'`).join(', ')}: ` +
        `use none, all, or a comma-separated list of ${SABOTAGE_OPERATORS.join(', ')}.`
    )
  }
  return [...new Set(words)] as SabotageOperator[]
}
