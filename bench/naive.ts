/** The naive pipeline, the baseline: pg_dump > file; psql < file (or pg_dump | psql), then count(*) of every table on both sides. */
import { existsSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Cluster } from '../test/support/cluster.js'
import type { BuiltDatabase, Measurement, Variant } from './plan.js'
import { mustExec, seconds, shellQuote } from './processes.js'
import type { Tools } from './servers.js'

export const TABLES_SQL = `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1`

export async function countEveryTable(tools: Tools, url: string, tables: string[]): Promise<number[]> {
  const sql = tables.map(table => `SELECT count(*) FROM ${table};`).join('\n')
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', '-']
  const out = await mustExec('count(*)', tools.psql, args, { env: tools.env, input: sql })
  return out.trim().split('\n').map(Number)
}

export async function runNaive(
  mode: 'file' | 'pipe',
  production: Cluster,
  cleanroom: Cluster,
  built: BuiltDatabase,
  tools: Tools,
  workDir: string,
  round: number
): Promise<Measurement> {
  const variant: Variant = mode === 'file' ? 'naive-file' : 'naive-pipe'
  const measurement: Measurement = {
    size: built.spec.name,
    variant,
    round,
    wallSeconds: 0,
    stages: {},
    ok: false,
    load1: os.loadavg()[0]!
  }
  const sourceUrl = production.url(built.database, { password: null })
  const targetUrl = cleanroom.url('bench_naive', { password: null })
  const dumpFile = path.join(workDir, `naive-${built.spec.name}.sql`)
  // As Lazarus restores (RESTORE_PSQL_OPTIONS): statement by statement, not one transaction.
  const restoreArgs = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null']
  const stage = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    const result = await work()
    measurement.stages[name] = seconds(started)
    return result
  }
  const started = performance.now()
  try {
    await stage('create', () => cleanroom.query('CREATE DATABASE bench_naive'))
    if (mode === 'file') {
      const dumpArgs = ['--format=plain', '--no-owner', '--no-privileges', `--file=${dumpFile}`, `--dbname=${sourceUrl}`]
      await stage('dump', () => mustExec('pg_dump', tools.pgDump, dumpArgs, { env: tools.env }))
      const args = [...restoreArgs, '-f', dumpFile, `--dbname=${targetUrl}`]
      await stage('restore', () => mustExec('psql restore', tools.psql, args, { env: tools.env, keepStdout: false }))
    } else {
      const pipeline =
        `${shellQuote(tools.pgDump)} --format=plain --no-owner --no-privileges --dbname=${shellQuote(sourceUrl)} | ` +
        `${shellQuote(tools.psql)} ${restoreArgs.map(shellQuote).join(' ')} --dbname=${shellQuote(targetUrl)}`
      const args = ['-o', 'pipefail', '-c', pipeline]
      await stage('dump+restore', () => mustExec('pg_dump | psql', 'bash', args, { env: tools.env, keepStdout: false }))
    }
    const [production_, restored] = await stage('counts', async () => {
      const tables = (
        await mustExec('list tables', tools.psql, ['-X', '-At', '-d', sourceUrl, '-c', TABLES_SQL], { env: tools.env })
      )
        .trim()
        .split('\n')
        .filter(Boolean)
      measurement.tables = tables.length
      return Promise.all([countEveryTable(tools, sourceUrl, tables), countEveryTable(tools, targetUrl, tables)])
    })
    measurement.wallSeconds = seconds(started)
    measurement.rows = production_.reduce((sum, n) => sum + n, 0)
    measurement.ok = production_.length === restored.length && production_.every((n, i) => n === restored[i])
    if (!measurement.ok) measurement.error = 'row counts differ between production and the restored copy'
    if (mode === 'file' && existsSync(dumpFile)) measurement.dumpBytes = statSync(dumpFile).size
  } catch (error) {
    measurement.wallSeconds = seconds(started)
    measurement.error = (error as Error).message
  } finally {
    await rm(dumpFile, { force: true })
  }
  return measurement
}
