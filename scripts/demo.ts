/**
 * `npm run demo`: run Lazarus end to end on this machine, no Docker and no CI needed.
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
import { ensureMachine, MachineSetupError } from './machine-setup.js'
import { node24Path, repoRoot, runAction } from '../test/support/run-action.js'

const bundle = path.join(repoRoot, 'dist', 'index.js')
const keepDir = path.join(repoRoot, '.tmp', 'demo')

function step(msg: string): void {
  console.log(`\n\x1b[1m▶ ${msg}\x1b[0m`)
}

async function main(): Promise<number> {
  try {
    ensureMachine({ purpose: 'demo', command: 'npm run demo', output: 'inherit' })
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

  step('Starting two PostgreSQL 13 servers (production, clean room)')
  const clusters: Cluster[] = []
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

    const inputs = {
      'production-url': production.url('shop', { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password,
      verify: 'checksums',
      sabotage: 'rogue-row'
    }
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
    step('Stopping the PostgreSQL servers')
    await Promise.allSettled(clusters.map(c => c.stop()))
  }
}

main().then(
  code => process.exit(code),
  err => {
    console.error('demo failed:', err)
    process.exit(1)
  }
)
