/**
 * `npm run bench`: issue 6's benchmark. On two fresh PostgreSQL 13 servers (production and clean
 * room), for production databases of several sizes (pgbench tables plus a 30-column wide table),
 * it measures in the same run on the same servers:
 *
 *   naive, file       pg_dump > file; psql -v ON_ERROR_STOP=1 < file into a fresh database;
 *                     count(*) of every table on both sides
 *   naive, pipe       the same with pg_dump | psql (no file)
 *   Lazarus counts    the bundled action under Node 24, as the runner runs it, verify: counts
 *   Lazarus checksums the same with verify: checksums
 *
 * and prints (and writes to bench/RESULTS.md) wall times, Lazarus / naive ratios, the peak memory
 * of the action's Node process and throughput, with the machine and versions it ran on.
 *
 * Options: --sizes small,medium,large (default all)  --repeat N (rounds; medians are reported, default 1)
 *          --variants counts,checksums,keep-custom,keep-directory,keep-plain,verify-directory (Lazarus runs; default all;
 *          verify-directory verifies the restore point keep-directory kept, from its manifest)
 *          --bundle REV (measure dist/index.js as committed at REV, e.g. HEAD, instead of the working tree's)
 *          --keep (keep the clusters' data directories; the servers are stopped either way)
 *
 * This file is the run itself (main); its parts live beside it:
 *   plan.ts       what is measured (sizes, variants, server settings, targets) and the options
 *   processes.ts  the child processes it starts, and the CPU seconds of everything a run caused
 *   servers.ts    the two servers, the client tools, and the production database of each size
 *   naive.ts      the naive pipeline (the baseline)
 *   lazarus.ts    one run of the bundled action, with its memory and stages
 *   rounds.ts     the order of the runs in a round, and the restore points kept between them
 *   figures.ts    medians, paired ratios, the tables and the targets' verdicts
 *   results.ts    bench/RESULTS.md: machine facts, figures, method, raw measurements
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startCluster, type Cluster } from '../test/support/cluster.js'
import { node24Path, repoRoot } from '../test/support/run-action.js'
import {
  cpuTable,
  fmt,
  memoryTable,
  mib,
  pairRatios,
  restorePointTable,
  summarize,
  targets,
  wallTable,
  type Summary
} from './figures.js'
import { runLazarus } from './lazarus.js'
import { runNaive } from './naive.js'
import { GIB, parseOptions, VARIANT_LABEL, type Measurement } from './plan.js'
import { exec, killChildren, measureCpu, mustExec } from './processes.js'
import { cpuModel, gitFacts, loadAverage, renderResults, type AmcheckCost, type Facts } from './results.js'
import { discardKept, keptInputs, roundOrder } from './rounds.js'
import { asRoot, buildDatabase, checkpointAndSync, clientBinDir, dropScratchDatabases, tune, type Tools } from './servers.js'

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  if (options.keep) process.env.LAZARUS_TEST_KEEP_TEMP = '1'
  if (!existsSync('/usr/bin/time')) {
    console.log('▶ /usr/bin/time is missing: apt-get install -y time')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    await mustExec('apt-get install time', 'apt-get', ['install', '-y', '-q', 'time'], { env })
  }
  const sourceBundle = path.join(repoRoot, 'dist', 'index.js')
  if (!options.bundleRevision && !existsSync(sourceBundle))
    throw new Error('dist/index.js is missing: run `npm run bundle` first')

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'lazarus-bench-'))
  if (!options.keep) process.on('exit', () => rmSync(workDir, { recursive: true, force: true }))
  await chmod(workDir, 0o755)
  // The checkout may change under a long run: measure one fixed copy of the bundle.
  const bundleDir = path.join(workDir, 'dist')
  await mkdir(bundleDir)
  const bundle = path.join(bundleDir, 'index.js')
  // The bundle is dist/index.js plus the chunks it loads on demand (artifact and cache clients).
  const bundleFiles = (files: string[]) => files.filter(file => file.endsWith('.js') || file === 'package.json')
  if (options.bundleRevision) {
    const listing = await exec('git', ['ls-tree', '--name-only', `${options.bundleRevision}:dist`], { cwd: repoRoot })
    if (listing.code !== 0) throw new Error(`git ls-tree ${options.bundleRevision}:dist failed: ${listing.stderr.trim()}`)
    for (const file of bundleFiles(listing.stdout.split('\n'))) {
      const r = await exec('git', ['show', `${options.bundleRevision}:dist/${file}`], { cwd: repoRoot })
      if (r.code !== 0) throw new Error(`git show ${options.bundleRevision}:dist/${file} failed: ${r.stderr.trim()}`)
      await writeFile(path.join(bundleDir, file), r.stdout)
    }
  } else {
    for (const file of bundleFiles(readdirSync(path.join(repoRoot, 'dist'))))
      await copyFile(path.join(repoRoot, 'dist', file), path.join(bundleDir, file))
  }

  const facts: Partial<Facts> = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / GIB).toFixed(1)} GiB`,
    kernel: os.release(),
    loadStart: loadAverage(),
    ...(await gitFacts(bundle, options.bundleRevision))
  }

  const clusters: Cluster[] = []
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}, stopping the servers`)
    killChildren()
    // cluster.ts's exit hook stops every cluster still running and removes its files.
    process.exit(128 + (os.constants.signals[signal] ?? 1))
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)

  const measurements: Measurement[] = []
  const summaries: Summary[] = []
  const amcheckCosts: AmcheckCost[] = []
  try {
    const binDir = clientBinDir()
    console.log('▶ Starting two PostgreSQL 13 servers (production, clean room) and tuning them for the benchmark')
    const [production, cleanroom] = await Promise.all([startCluster('bench-production'), startCluster('bench-cleanroom')])
    clusters.push(production, cleanroom)
    await Promise.all([tune(production), tune(cleanroom)])
    const pgpass = path.join(workDir, 'pgpass')
    await writeFile(
      pgpass,
      [production, cleanroom].map(c => `${c.host}:${c.port}:*:${c.superuser}:${c.password}`).join('\n') + '\n',
      { mode: 0o600 }
    )
    const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: pgpass, PGCONNECT_TIMEOUT: '10' }
    delete env.PGPASSWORD
    const tool = (name: string) => path.join(binDir, name)
    const tools: Tools = { dir: binDir, pgDump: tool('pg_dump'), psql: tool('psql'), pgbench: tool('pgbench'), env }
    const version = async (c: Cluster) => (await c.query<{ server_version: string }>('SHOW server_version'))[0]!.server_version
    facts.productionVersion = await version(production)
    facts.cleanroomVersion = await version(cleanroom)
    facts.pgDump = `${(await mustExec('pg_dump --version', tools.pgDump, ['--version'])).trim()} (${tools.pgDump})`
    facts.psql = (await mustExec('psql --version', tools.psql, ['--version'])).trim()
    facts.node = (await mustExec('node --version', node24Path, ['--version'])).trim()
    console.log(`  production 127.0.0.1:${production.port}, clean room 127.0.0.1:${cleanroom.port}; ${facts.pgDump}`)

    for (const spec of options.sizes) {
      console.log(
        `\n▶ ${spec.name}: building production database (pgbench scale ${spec.scale}, wide_orders ${spec.wideRows} rows)`
      )
      const built = await buildDatabase(production, spec, tools)
      const parts = `pgbench ${mib(built.pgbenchBytes)}, wide ${mib(built.wideBytes)}`
      console.log(`  ${mib(built.bytes)} on disk (${parts}) in ${fmt(built.buildSeconds)} s`)
      if (spec.name === 'large' && built.bytes < GIB)
        console.warn(`  warning: the large database is under 1 GiB (${mib(built.bytes)})`)
      const warmUp = [
        '--no-owner',
        '--no-privileges',
        '-f',
        '/dev/null',
        `--dbname=${production.url(built.database, { password: null })}`
      ]
      await mustExec('warm-up pg_dump', tools.pgDump, warmUp, { env })

      for (let round = 1; round <= options.repeat; round++) {
        for (const variant of roundOrder(options.variants, round)) {
          await dropScratchDatabases(cleanroom)
          await checkpointAndSync(production, cleanroom)
          const extra = keptInputs(variant, measurements, built, round, workDir)
          const { result: measurement, cpuSeconds } = await measureCpu([production, cleanroom], () =>
            variant === 'naive-file' || variant === 'naive-pipe'
              ? runNaive(variant === 'naive-file' ? 'file' : 'pipe', production, cleanroom, built, tools, workDir, round)
              : runLazarus(variant, production, cleanroom, built, bundle, workDir, round, extra)
          )
          measurement.cpuSeconds = cpuSeconds
          measurement.seq = measurements.length
          pairRatios(measurement, measurements)
          measurements.push(measurement)
          discardKept(measurements, options.variants, variant)
          const memory = measurement.nodePeakKiB === undefined ? '' : `, Node peak ${fmt(measurement.nodePeakKiB / 1024)} MiB`
          console.log(
            `  round ${round} ${VARIANT_LABEL[variant].padEnd(17)} ${fmt(measurement.wallSeconds, 2).padStart(8)} s, ` +
              `CPU ${fmt(cpuSeconds, 1).padStart(6)} s, load ${measurement.load1.toFixed(1)}${memory}` +
              `${measurement.ok ? '' : `  FAILED: ${measurement.error}`}`
          )
        }
      }
      await dropScratchDatabases(cleanroom)
      await checkpointAndSync(production, cleanroom)
      const withAmcheck = await runLazarus('checksums', production, cleanroom, built, bundle, workDir, 1, { amcheck: 'true' })
      amcheckCosts.push({ built, measurement: withAmcheck })
      console.log(
        `  amcheck           ${fmt(withAmcheck.stages.amcheck, 2).padStart(8)} s of a ${fmt(withAmcheck.wallSeconds, 2)} s run` +
          `${withAmcheck.ok ? '' : `  FAILED: ${withAmcheck.error}`}`
      )
      await dropScratchDatabases(cleanroom)
      summaries.push(summarize(built, measurements))
    }
    facts.loadEnd = loadAverage()

    const markdown = renderResults(facts as Facts, options, summaries, measurements, amcheckCosts)
    const resultsFile = path.join(repoRoot, 'bench', 'RESULTS.md')
    await writeFile(resultsFile, markdown)
    console.log(
      `\n${wallTable(summaries)}\n\n${cpuTable(summaries)}\n\n${restorePointTable(summaries)}\n\n${memoryTable(summaries)}\n\n` +
        `${targets(summaries).join('\n')}\n`
    )
    console.log(`Wrote ${path.relative(process.cwd(), resultsFile)}`)
    if (options.keep) {
      for (const c of clusters) {
        console.log(
          `Kept ${c.name}: data directory ${c.dataDir}, superuser postgres, password ${c.password} ` +
            `(start it with pg_ctl start -D ${c.dataDir}${asRoot ? ' as the postgres user' : ''})`
        )
      }
    }
    return measurements.every(m => m.ok) && amcheckCosts.every(cost => cost.measurement.ok) ? 0 : 1
  } finally {
    await Promise.allSettled(clusters.map(c => c.stop()))
    if (!options.keep) await rm(workDir, { recursive: true, force: true })
  }
}

main().then(
  code => process.exit(code),
  error => {
    console.error(`bench: ${(error as Error).stack ?? error}`)
    process.exit(1)
  }
)
