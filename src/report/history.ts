import { byteUnit } from '../util/bytes.js'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { messageOf } from '../util/errors.js'
import type { Report, RestoreTrend, Result } from './report.js'

/** How many runs a history keeps: a month of daily runs. */
export const HISTORY_LENGTH = 30

/** One run of one database, as the history keeps it. */
export interface HistoryRun {
  startedAt: string
  result: Result
  /** Absent when the backup did not restore: a failed restore's time says nothing about recovery. */
  restoreSeconds?: number
  totalSeconds?: number
  dumpBytes?: number
  tables: number
}

/** The runs of one production database, oldest first. */
export interface History {
  version: 1
  databaseId: string
  runs: HistoryRun[]
}

/** Where a history lives between runs. Injectable, so a test can stand in for the Actions cache. */
export interface HistoryStore {
  /** The history saved by the newest earlier run, or undefined when there is none. */
  load(): Promise<History | undefined>
  save(history: History): Promise<void>
}

/** When a restore counts as having grown sharply. */
export interface TrendRule {
  /** How many of the most recent earlier restores the median is taken over. */
  window: number
  /** Fewer earlier restores than this are no baseline. */
  minimumRuns: number
  /** Alarm above this multiple of the median... */
  factor: number
  /** ...and only when it grew by at least this many seconds, so a tiny database's jitter is no alarm. */
  minimumGrowthSeconds: number
}

export const DEFAULT_TREND_RULE: TrendRule = { window: 10, minimumRuns: 3, factor: 1.5, minimumGrowthSeconds: 1 }

/**
 * Names the history a run joins without revealing anything secret: by default a hash of
 * production's host:port/database, so the same database keeps one history across workflows and
 * matrix legs. A `history-key` names it instead, for legs that reach different databases at the
 * same address (service containers, tunnels: localhost:5432/app in every leg) or restore one
 * database into different clean rooms, whose restore times must not share one median; and for a
 * database that moved host but should keep its history. A URI's host holds no line break, so a
 * key never names the default history of some database.
 */
export function databaseId(target: { host: string; port: number; database: string }, historyKey?: string): string {
  const named = historyKey === undefined ? `${target.host}:${target.port}/${target.database}` : `history-key\n${historyKey}`
  return createHash('sha256').update(named).digest('hex').slice(0, 16)
}

/** What the history keeps of a report. */
export function historyRun(report: Report): HistoryRun {
  const run: HistoryRun = { startedAt: report.startedAt, result: report.result, tables: report.tables.length }
  if (report.result !== 'restore-failed' && report.timings.restore !== undefined)
    run.restoreSeconds = round(report.timings.restore)
  if (report.timings.total !== undefined) run.totalSeconds = round(report.timings.total)
  if (report.dumpBytes !== undefined) run.dumpBytes = report.dumpBytes
  return run
}

/** The history with `run` added as the newest, keeping the last `limit` runs. */
export function appendRun(history: History | undefined, run: HistoryRun, id: string, limit = HISTORY_LENGTH): History {
  const runs = [...(history?.runs ?? []), run]
  return { version: 1, databaseId: id, runs: runs.slice(Math.max(0, runs.length - limit)) }
}

/**
 * This run's restore time against the median of the recent earlier restores, or undefined when
 * there are too few of them (or this run did not restore) to say anything.
 */
export function restoreTrend(
  earlier: History | undefined,
  current: HistoryRun,
  rule = DEFAULT_TREND_RULE
): RestoreTrend | undefined {
  if (current.restoreSeconds === undefined) return undefined
  const recent = (earlier?.runs ?? [])
    .map(run => run.restoreSeconds)
    .filter((seconds): seconds is number => seconds !== undefined)
    .slice(-rule.window)
  if (recent.length < rule.minimumRuns) return undefined
  const medianSeconds = median(recent)
  const restoreSeconds = current.restoreSeconds
  // A median of 0 s (restores faster than the clock) still gives a finite, comparable ratio.
  const ratio = restoreSeconds / Math.max(medianSeconds, 0.001)
  const alarm = ratio > rule.factor && restoreSeconds - medianSeconds >= rule.minimumGrowthSeconds
  return { runs: recent.length, medianSeconds: round(medianSeconds), restoreSeconds, ratio: round(ratio), alarm }
}

/** The warning for a restore that grew sharply against recent runs, or undefined. */
export function restoreTimeAlarm(
  earlier: History | undefined,
  current: HistoryRun,
  rule = DEFAULT_TREND_RULE
): string | undefined {
  const trend = restoreTrend(earlier, current, rule)
  return trend?.alarm ? describeTrend(trend) : undefined
}

export function describeTrend(trend: RestoreTrend): string {
  return (
    `The restore took ${trend.restoreSeconds.toFixed(2)} s, ${trend.ratio.toFixed(1)}× the median ` +
    `${trend.medianSeconds.toFixed(2)} s of the last ${trend.runs} runs.`
  )
}

/**
 * Charts the history for the job summary: total and restore time per run, and the dump's size.
 * Mermaid `xychart-beta` blocks (GitHub renders them); labels are ours, never database data.
 * Empty for fewer than two runs, where a chart shows nothing.
 */
export function historyCharts(history: History): string {
  const runs = history.runs
  if (runs.length < 2) return ''
  const labels = runs.map((_, index) => `"${index + 1}"`).join(', ')
  // Dates come from a stored file: only digits and dashes reach the chart's quoted title.
  const day = (run: HistoryRun) => run.startedAt.slice(0, 10).replace(/[^0-9-]/g, '')
  const span = `runs 1 to ${runs.length}, ${day(runs[0])} to ${day(runs[runs.length - 1])}`
  const charts = [
    mermaid([
      'xychart-beta',
      `  title "Total time (bars) and restore time (line) in seconds, ${span}"`,
      `  x-axis [${labels}]`,
      '  y-axis "seconds"',
      `  bar [${runs.map(run => chartNumber(run.totalSeconds)).join(', ')}]`,
      `  line [${runs.map(run => chartNumber(run.restoreSeconds)).join(', ')}]`
    ])
  ]
  const sizes = runs.map(run => run.dumpBytes)
  if (sizes.some(size => size !== undefined)) {
    const [unit, divisor] = byteUnit(Math.max(...sizes.map(size => size ?? 0)))
    charts.push(
      mermaid([
        'xychart-beta',
        `  title "Dump size in ${unit}, ${span}"`,
        `  x-axis [${labels}]`,
        `  y-axis "${unit}"`,
        `  line [${sizes.map(size => chartNumber(size === undefined ? undefined : size / divisor)).join(', ')}]`
      ])
    )
  }
  return charts.join('\n\n')
}

/** Reads a stored history, dropping anything that is not a run (an old or damaged file is no failure). */
export function parseHistory(text: string, id: string): History | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(parsed) || parsed.version !== 1 || !Array.isArray(parsed.runs)) return undefined
  const runs = parsed.runs.filter(isObject).flatMap((raw): HistoryRun[] => {
    if (typeof raw.startedAt !== 'string' || typeof raw.result !== 'string' || typeof raw.tables !== 'number') return []
    const run: HistoryRun = { startedAt: raw.startedAt, result: raw.result as Result, tables: raw.tables }
    for (const key of ['restoreSeconds', 'totalSeconds', 'dumpBytes'] as const) {
      const value = raw[key]
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) run[key] = value
    }
    return [run]
  })
  return { version: 1, databaseId: id, runs: runs.slice(-HISTORY_LENGTH) }
}

/** A history kept in a JSON file. */
export class FileHistoryStore implements HistoryStore {
  constructor(
    readonly file: string,
    private readonly id: string
  ) {}

  async load(): Promise<History | undefined> {
    if (!fs.existsSync(this.file)) return undefined
    return parseHistory(fs.readFileSync(this.file, 'utf8'), this.id)
  }

  async save(history: History): Promise<void> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    const temporary = `${this.file}.${process.pid}.tmp`
    try {
      fs.writeFileSync(temporary, JSON.stringify(history) + '\n')
    } catch (error) {
      fs.rmSync(temporary, { force: true })
      if ((error as { code?: string }).code !== 'ENOSPC') throw error
      // Like every file Lazarus writes, a full disk names where and what to do.
      throw new Error(
        `the disk filled up while Lazarus was writing it to ${path.dirname(this.file)} (No space left on device): ` +
          `free disk space on the runner, or point RUNNER_TEMP at a volume with room`
      )
    }
    fs.renameSync(temporary, this.file)
  }
}

/**
 * A history in the Actions cache: needs no permission beyond what every job has, so scheduled
 * runs keep it. Cache entries are immutable, so every run saves a new entry and the next one
 * restores the newest by key prefix. The file's path is part of the cache version, so it must be
 * the same in every run (RUNNER_TEMP is, on a given kind of runner).
 *
 * The cache client reports its own failures as warnings and answers "nothing found"; a run that
 * lost its history that way starts a new one, which is all a best-effort history can promise.
 */
export class ActionsCacheHistoryStore implements HistoryStore {
  private readonly file: FileHistoryStore
  private readonly prefix: string

  constructor(
    private readonly cache: ActionsCache,
    id: string,
    directory: string,
    private readonly env: NodeJS.ProcessEnv = process.env
  ) {
    this.file = new FileHistoryStore(path.join(directory, `lazarus-history-${id}.json`), id)
    this.prefix = `lazarus-history-${id}-`
  }

  async load(): Promise<History | undefined> {
    // A file left by an earlier job on a self-hosted runner must not pass for the restored one.
    fs.rmSync(this.file.file, { force: true })
    const hit = await this.cache.restoreCache([this.file.file], this.prefix + this.runKey(), [this.prefix])
    if (!hit) return undefined
    core.info(`Run history restored from cache entry ${hit}.`)
    return this.file.load()
  }

  async save(history: History): Promise<void> {
    await this.file.save(history)
    // The time keeps keys apart when one job checks the same database twice.
    const id = await this.cache.saveCache([this.file.file], `${this.prefix}${this.runKey()}-${Date.now().toString(36)}`)
    if (id === -1) throw new Error('the cache service did not take it')
  }

  private runKey(): string {
    return `${this.env.GITHUB_RUN_ID ?? 'local'}-${this.env.GITHUB_RUN_ATTEMPT ?? '1'}`
  }
}

type ActionsCache = typeof import('@actions/cache')

/** The Actions cache store, or undefined where there is no cache service (outside Actions). */
export async function actionsCacheHistoryStore(
  id: string,
  runnerTemp: string,
  env = process.env
): Promise<HistoryStore | undefined> {
  if (!env.ACTIONS_RUNTIME_TOKEN) return undefined
  // Loaded only where there is a cache service: it is a large part of the bundle to read at start-up.
  const cache = await import('@actions/cache')
  if (!cache.isFeatureAvailable()) return undefined
  return new ActionsCacheHistoryStore(cache, id, path.join(runnerTemp, 'lazarus-history'), env)
}

/**
 * Loads the history, weighs this run's restore time against it, and saves it with this run
 * added. Never fails the run: without a store, or when it fails, there is no history, said once
 * in a notice.
 */
export async function trackRun(
  store: HistoryStore | undefined,
  run: HistoryRun,
  id: string,
  rule = DEFAULT_TREND_RULE
): Promise<{ history?: History; trend?: RestoreTrend }> {
  if (!store) {
    core.notice('No run history: it is kept in the GitHub Actions cache, which is not available here.')
    return {}
  }
  let earlier: History | undefined
  try {
    earlier = await store.load()
  } catch (error) {
    core.notice(`No run history: it could not be loaded (${messageOf(error)}).`)
    return {}
  }
  if (!earlier) core.info('No earlier runs of this database on record: its history starts with this run.')
  const trend = restoreTrend(earlier, run, rule)
  const history = appendRun(earlier, run, id)
  try {
    await store.save(history)
  } catch (error) {
    core.notice(`This run was not added to the run history: ${messageOf(error)}.`)
  }
  return { history, trend }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}

/** Mermaid wants a number for every category: a run without the figure charts as 0. */
function chartNumber(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '0' : String(Math.round(value * 100) / 100)
}

function mermaid(lines: string[]): string {
  return ['```mermaid', ...lines, '```'].join('\n')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
