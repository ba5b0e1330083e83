/** Lazarus, as the runner runs it, under /usr/bin/time with a preload that reads VmHWM at exit. */
import { chmod, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Cluster } from '../test/support/cluster.js'
import { node24Path, runAction } from '../test/support/run-action.js'
import { LAZARUS_INPUTS, type BuiltDatabase, type LazarusVariant, type Measurement } from './plan.js'
import { actionPidFiles, seconds, shellQuote } from './processes.js'

/** The parts of Lazarus's JSON report the benchmark reads. */
export interface ReportFigures {
  timings?: Record<string, number>
  dumpBytes?: number
  tables?: { production?: { rows?: number } }[]
  restorePoint?: { bytes: number }
}

/** The compression a kept backup's manifest records (dump.compression), so the results say what each size was. */
async function keptCompression(manifestPath: string | undefined): Promise<string | undefined> {
  if (!manifestPath) return undefined
  const manifest = await readFile(manifestPath, 'utf8').then(
    text => JSON.parse(text) as { dump?: { compression?: string } },
    () => undefined
  )
  return manifest?.dump?.compression
}

export async function runLazarus(
  variant: LazarusVariant,
  production: Cluster,
  cleanroom: Cluster,
  built: BuiltDatabase,
  bundle: string,
  workDir: string,
  round: number,
  extraInputs: Record<string, string> = {}
): Promise<Measurement> {
  const measurement: Measurement = {
    size: built.spec.name,
    variant,
    round,
    wallSeconds: 0,
    stages: {},
    ok: false,
    load1: os.loadavg()[0]!
  }
  const tag = `${built.spec.name}-${variant}-${round}${Object.keys(extraInputs).join('-')}`
  const memoryFile = path.join(workDir, `${tag}.memory.json`)
  const timeFile = path.join(workDir, `${tag}.time`)
  const pidFile = path.join(workDir, `${tag}.pid`)
  const preload = path.join(workDir, `${tag}.preload.mjs`)
  const wrapper = path.join(workDir, `${tag}.node.sh`)
  await writeFile(
    preload,
    [
      "import { readFileSync, writeFileSync } from 'node:fs'",
      "process.on('exit', () => {",
      "  const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))",
      '  const figures = { vmHwmKiB: Number(hwm?.[1]), maxRssKiB: process.resourceUsage().maxRSS }',
      `  writeFileSync(${JSON.stringify(memoryFile)}, JSON.stringify(figures))`,
      '})',
      ''
    ].join('\n')
  )
  await writeFile(
    wrapper,
    [
      // bash, not sh: dash drops environment variables whose names are not identifiers, like INPUT_PRODUCTION-URL.
      '#!/bin/bash',
      `echo $$ > ${shellQuote(pidFile)}`,
      `exec /usr/bin/time -f '%M' -o ${shellQuote(timeFile)} ${shellQuote(node24Path)} ` +
        `--import ${shellQuote(pathToFileURL(preload).href)} "$@"`,
      ''
    ].join('\n')
  )
  await chmod(wrapper, 0o755)
  actionPidFiles.add(pidFile)
  const inputs = {
    'production-url': production.url(built.database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroom.url('postgres', { password: null }),
    'cleanroom-password': cleanroom.password,
    sabotage: 'none',
    ...LAZARUS_INPUTS[variant],
    ...extraInputs
  }
  const started = performance.now()
  try {
    const run = await runAction(inputs, { node: wrapper, script: bundle, timeoutMs: 60 * 60_000 })
    measurement.wallSeconds = seconds(started)
    const report = run.report as ReportFigures | undefined
    const timings: Record<string, number> = report?.timings ?? {}
    // the report's order is the order stages finished; show them in pipeline order
    const order = ['dump', 'sanitize', 'restore', 'verify']
    for (const name of [...order, ...Object.keys(timings).filter(name => !order.includes(name))]) {
      if (timings[name] !== undefined) measurement.stages[name] = timings[name]
    }
    measurement.dumpBytes = report?.dumpBytes
    measurement.tables = Number(run.outputs.tables)
    measurement.rows = report?.tables?.reduce((sum, table) => sum + (table.production?.rows ?? 0), 0)
    measurement.ok = run.exitCode === 0 && run.outputs.result === 'verified'
    if (run.outputs['backup-path']) measurement.backupPath = run.outputs['backup-path']
    if (report?.restorePoint) {
      measurement.keptBytes = report.restorePoint.bytes
      measurement.keptCompression = await keptCompression(run.outputs['manifest-path'])
    }
    if (!measurement.ok) {
      const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-8).join(' | ')
      measurement.error = `exit ${run.exitCode}, result ${run.outputs.result ?? '(none)'}: ${tail}`
    }
  } catch (error) {
    measurement.wallSeconds = seconds(started)
    measurement.error = (error as Error).message
  } finally {
    actionPidFiles.delete(pidFile)
  }
  const memory = await readFile(memoryFile, 'utf8').then(
    text => JSON.parse(text) as { vmHwmKiB: number; maxRssKiB: number },
    () => undefined
  )
  if (memory) measurement.nodePeakKiB = Math.max(memory.vmHwmKiB || 0, memory.maxRssKiB || 0)
  const time = await readFile(timeFile, 'utf8').catch(() => '')
  const maxRss = time
    .trim()
    .split('\n')
    .reverse()
    .find(line => /^\d+$/.test(line.trim()))
  if (maxRss) measurement.treeMaxRssKiB = Number(maxRss)
  return measurement
}
