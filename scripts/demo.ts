/**
 * `npm run demo`: run Lazarus end to end on this machine, no Docker and no CI needed.
 * `npm run demo -- --engine mariadb` does the same with two private MariaDB servers and
 * test/fixtures/mysql-shop.sql (the MySQL/MariaDB engine), with the drill's drop-row and mutate-cell.
 *
 * 0. makes sure the machine has PostgreSQL's client tools (and, as root, the `postgres` user the
 *    servers run as): scripts/setup-machine.sh sets them up as root, or the one command to run is
 *    printed;
 * 1. builds the bundle if dist/index.js is missing (`npm run bundle`);
 * 2. starts two throw-away PostgreSQL 13 servers: "production" and the "clean room";
 * 3. loads test/fixtures/shop.sql into production database `shop`;
 * 4. runs dist/index.js under Node 24 exactly like the GitHub runner would, with
 *    verify=checksums and sabotage=rogue-row, streaming its log;
 * 5. prints the verdict, keeps the job summary, JSON report and log in .tmp/demo/, stops the
 *    servers and exits with the action's exit code.
 */
import { spawnSync } from 'node:child_process'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { startCluster, type Cluster } from '../test/support/cluster.js'
import { startMariadb, type MariadbServer } from '../test/support/mariadb.js'
import { ensureMachine, MachineSetupError } from './machine-setup.js'
import { node24Path, repoRoot, runAction } from '../test/support/run-action.js'

const bundle = path.join(repoRoot, 'dist', 'index.js')
const keepDir = path.join(repoRoot, '.tmp', 'demo')

function step(msg: string): void {
  console.log(`\n\x1b[1m▶ ${msg}\x1b[0m`)
}

/** The engine to demonstrate: `--engine postgres` (the default) or `--engine mariadb`. */
function demoEngine(argv: string[]): 'postgres' | 'mariadb' {
  const at = argv.findIndex(arg => arg === '--engine' || arg.startsWith('--engine='))
  if (at < 0) return 'postgres'
  const value = argv[at].includes('=') ? argv[at].slice('--engine='.length) : argv[at + 1]
  if (value === 'postgres' || value === 'postgresql') return 'postgres'
  if (value === 'mariadb' || value === 'mysql') return 'mariadb'
  throw new Error(`unknown --engine '${value ?? ''}': use postgres or mariadb`)
}

/** What a demo run needs of its servers: their inputs for the action, and how to stop them. */
interface DemoServers {
  inputs: Record<string, string>
  stop(): Promise<unknown>
}

/** Two throw-away PostgreSQL 13 servers, production seeded with test/fixtures/shop.sql. */
async function postgresServers(): Promise<DemoServers> {
  step('Starting two PostgreSQL 13 servers (production, clean room)')
  const clusters: Cluster[] = []
  const stop = () => Promise.allSettled(clusters.map(c => c.stop()))
  try {
    const [production, cleanroom] = await Promise.all([startCluster('production'), startCluster('cleanroom')])
    clusters.push(production, cleanroom)
    console.log(`  production  127.0.0.1:${production.port}  (data dir ${production.dataDir})`)
    console.log(`  clean room  127.0.0.1:${cleanroom.port}  (data dir ${cleanroom.dataDir})`)

    step('Seeding production database "shop" from test/fixtures/shop.sql')
    await production.createDatabase('shop', await readFile(path.join(repoRoot, 'test/fixtures/shop.sql'), 'utf8'))
    const [size] = await production.query<{ tables: string; rows: string }>(
      `SELECT count(*) AS tables, sum(c.reltuples)::bigint AS rows
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'`,
      'shop'
    )
    console.log(`  ${size?.tables} tables (incl. partitions and a materialized view), ${size?.rows} rows`)
    return {
      inputs: {
        'production-url': production.url('shop', { password: null }),
        'production-password': production.password,
        'cleanroom-url': cleanroom.url('postgres', { password: null }),
        'cleanroom-password': cleanroom.password,
        verify: 'checksums',
        sabotage: 'rogue-row'
      },
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Two throw-away MariaDB servers, production seeded with test/fixtures/mysql-shop.sql. */
async function mariadbServers(): Promise<DemoServers> {
  step('Starting two MariaDB servers (production, clean room)')
  const servers: MariadbServer[] = []
  const stop = () => Promise.allSettled(servers.map(s => s.stop()))
  try {
    const started = await Promise.allSettled([startMariadb('production'), startMariadb('cleanroom')])
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value)
    const failed = started.find(result => result.status === 'rejected')
    if (failed) throw failed.reason
    const [production, cleanroom] = servers as [MariadbServer, MariadbServer]
    console.log(`  production  127.0.0.1:${production.port}`)
    console.log(`  clean room  127.0.0.1:${cleanroom.port}`)

    step('Seeding production database "shop" from test/fixtures/mysql-shop.sql')
    await production.sql('CREATE DATABASE shop')
    await production.sql(await readFile(path.join(repoRoot, 'test/fixtures/mysql-shop.sql'), 'utf8'), 'shop')
    const size = await production.sql(
      "SELECT COUNT(*), SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_TYPE = 'BASE TABLE'"
    )
    const [tables, rows] = size.trim().split('\n').pop()!.split('\t')
    console.log(`  ${tables} tables, about ${rows} rows, a view, a trigger and a function`)
    return {
      inputs: {
        'production-url': production.url('shop', { password: null }),
        'production-password': production.password,
        'cleanroom-url': cleanroom.url('mysql', { password: null }),
        'cleanroom-password': cleanroom.password,
        verify: 'checksums',
        sabotage: 'drop-row,mutate-cell'
      },
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function main(): Promise<number> {
  let engine: 'postgres' | 'mariadb'
  try {
    engine = demoEngine(process.argv.slice(2))
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`)
    return 2
  }
  try {
    ensureMachine({
      purpose: engine === 'mariadb' ? 'demo-mariadb' : 'demo',
      command: engine === 'mariadb' ? 'npm run demo -- --engine mariadb' : 'npm run demo',
      output: 'inherit'
    })
  } catch (err) {
    if (!(err instanceof MachineSetupError)) throw err
    console.error(`demo: ${err.message}`)
    return 1
  }
  if (!existsSync(bundle)) {
    step('dist/index.js is missing: npm run bundle')
    const r = spawnSync('npm', ['run', 'bundle'], { cwd: repoRoot, stdio: 'inherit' })
    if (r.status !== 0 || !existsSync(bundle)) {
      console.error(`demo: \`npm run bundle\` failed (exit ${r.status ?? r.signal}); cannot run the action.`)
      return 1
    }
  }

  const servers = engine === 'mariadb' ? await mariadbServers() : await postgresServers()
  try {
    const inputs = servers.inputs
    step(`Running the action under Node 24 (${path.relative(repoRoot, node24Path)} ${path.relative(repoRoot, bundle)})`)
    for (const [k, v] of Object.entries(inputs)) console.log(`  ${k}: ${/password/.test(k) ? '***' : v}`)
    console.log('─'.repeat(72))
    const run = await runAction(inputs, { echo: true, timeoutMs: 10 * 60_000 })
    console.log('─'.repeat(72))

    // keep the artifacts before RUNNER_TEMP is removed at exit
    await mkdir(keepDir, { recursive: true })
    const kept: string[] = []
    const keep = async (name: string, write: (dest: string) => Promise<void>) => {
      const dest = path.join(keepDir, name)
      await write(dest)
      kept.push(dest)
    }
    await keep('action.log', d => writeFile(d, run.stdout + (run.stderr ? `\n--- stderr ---\n${run.stderr}` : '')))
    await keep('summary.md', d => writeFile(d, run.summary))
    const reportPath = run.outputs['report-path']
    if (reportPath && existsSync(path.resolve(repoRoot, reportPath))) {
      await keep('report.json', d => copyFile(path.resolve(repoRoot, reportPath), d))
    }

    step('Verdict')
    const o = run.outputs
    console.log(`  result:            ${o.result ?? '(not set)'}`)
    console.log(`  tables compared:   ${o.tables ?? '-'}   mismatched: ${o['mismatched-tables'] ?? '-'}`)
    console.log(`  sabotage:          caught ${o['sabotage-caught'] ?? '-'}, missed ${o['sabotage-missed'] ?? '-'}`)
    if (o['dump-seconds'] || o['restore-seconds'] || o['verify-seconds']) {
      console.log(
        `  timings:           dump ${o['dump-seconds'] ?? '?'} s, restore ${o['restore-seconds'] ?? '?'} s, ` +
          `verify ${o['verify-seconds'] ?? '?'} s, dump ${o['dump-bytes'] ?? '?'} bytes`
      )
    }
    console.log(`  action exit code:  ${run.exitCode}`)
    console.log(`  job summary:       ${path.join(keepDir, 'summary.md')}${run.summary ? '' : ' (empty)'}`)
    console.log(
      `  JSON report:       ${kept.includes(path.join(keepDir, 'report.json')) ? path.join(keepDir, 'report.json') : '(none written)'}`
    )
    console.log(`  action log:        ${path.join(keepDir, 'action.log')}`)
    if (run.stderr.trim() && run.exitCode !== 0) console.log(`\n  stderr:\n${run.stderr.trim().replace(/^/gm, '    ')}`)
    return run.exitCode
  } finally {
    step(`Stopping the ${engine === 'mariadb' ? 'MariaDB' : 'PostgreSQL'} servers`)
    await servers.stop()
  }
}

main().then(
  code => process.exit(code),
  err => {
    console.error('demo failed:', err)
    process.exit(1)
  }
)
