/**
 * `npx tsx bench/many-tables.ts [--schemas 100] [--tables 100] [--indexes 1]`: issue 11's
 * many-tables measurement. On two fresh PostgreSQL 13 servers (production with
 * max_locks_per_transaction = 256, so that pg_dump may lock every table; the clean room at the
 * default 64), a schema-per-tenant database of schemas x tables small tables (3 rows, a primary
 * key, and `indexes - 1` more indexes each) is verified four ways, one after the other:
 *
 *   naive, pipe         pg_dump | psql -v ON_ERROR_STOP=1 into a fresh database, then count(*)
 *                       of every table on both sides (one psql per side, all statements in one script)
 *   naive, one xact     the same with psql --single-transaction: expected to fail ("out of shared memory")
 *   Lazarus counts      the bundled action (dist/index.js), verify: counts
 *   Lazarus checksums   the same with verify: checksums
 *
 * and prints wall times, the Lazarus / naive ratios and Lazarus's own stage timeline.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { startCluster, type Cluster } from '../test/support/cluster.js'
import { runAction } from '../test/support/run-action.js'
import { realClientDir } from '../test/support/tampered-client.js'

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const SCHEMAS = option('schemas', 100)
const TABLES = option('tables', 100)
const INDEXES = option('indexes', 1)
const bin = realClientDir()

function sh(command: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)))
    child.on('error', reject)
    child.on('close', code => resolve({ code, stderr }))
  })
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = performance.now()
  const result = await work()
  return { seconds: (performance.now() - started) / 1000, result }
}

async function build(production: Cluster): Promise<string> {
  const database = 'many_tables'
  const second = INDEXES >= 2 ? "EXECUTE format('CREATE INDEX ON s%s.t%s (n)', s, t);" : ''
  const tenant = (schema: number) => `
DO $$
DECLARE s int := ${schema};
BEGIN
  EXECUTE format('CREATE SCHEMA s%s', s);
  FOR t IN 1..${TABLES} LOOP
    EXECUTE format('CREATE TABLE s%s.t%s (id int PRIMARY KEY, n int)', s, t);
    ${second}
    EXECUTE format('INSERT INTO s%s.t%s SELECT g, g * %s FROM generate_series(1, 3) g', s, t, t);
  END LOOP;
END $$;`
  await production.createDatabase(database, Array.from({ length: SCHEMAS }, (_, i) => tenant(i + 1)).join('\n'))
  return database
}

async function naive(production: Cluster, cleanroom: Cluster, database: string, oneTransaction: boolean) {
  const target = `naive_${oneTransaction ? 'xact' : 'pipe'}`
  await cleanroom.query(`DROP DATABASE IF EXISTS ${target}`)
  await cleanroom.query(`CREATE DATABASE ${target}`)
  const source = production.url(database, { password: null })
  const restored = cleanroom.url(target, { password: null })
  // Passwords through the environment, each to its own program.
  const env = { PW_PRODUCTION: production.password, PW_CLEANROOM: cleanroom.password }
  const single = oneTransaction ? '--single-transaction' : ''
  const pipeline =
    `PGPASSWORD="$PW_PRODUCTION" "${bin}/pg_dump" --format=plain --no-owner --no-privileges --dbname='${source}' | ` +
    `PGPASSWORD="$PW_CLEANROOM" "${bin}/psql" -X -q -v ON_ERROR_STOP=1 ${single} -o /dev/null --dbname='${restored}'`
  // count(*) of every table, all in one script per side, both sides at once.
  const count = (url: string, password: string) =>
    `export PGPASSWORD="$${password}"; "${bin}/psql" -X -At -d '${url}' -c ` +
    `"SELECT format('SELECT count(*) FROM %I.%I;', schemaname, tablename) FROM pg_tables WHERE schemaname LIKE 's%'" | ` +
    `"${bin}/psql" -X -At -v ON_ERROR_STOP=1 -d '${url}' -f - > /dev/null`
  const { seconds, result } = await timed(async () => {
    const restore = await sh(pipeline, env)
    if (restore.code !== 0) return restore
    const counts = await Promise.all([sh(count(source, 'PW_PRODUCTION'), env), sh(count(restored, 'PW_CLEANROOM'), env)])
    return counts.find(outcome => outcome.code !== 0) ?? restore
  })
  await cleanroom.query(`DROP DATABASE IF EXISTS ${target}`)
  return { seconds, ok: result.code === 0, error: result.code === 0 ? '' : result.stderr.trim().split('\n').pop() }
}

async function lazarus(production: Cluster, cleanroom: Cluster, database: string, verify: string) {
  const { seconds, result } = await timed(() =>
    runAction(
      {
        'production-url': production.url(database, { password: null }),
        'production-password': production.password,
        'cleanroom-url': cleanroom.url('postgres', { password: null }),
        'cleanroom-password': cleanroom.password,
        verify,
        jobs: '4'
      },
      { timeoutMs: 60 * 60_000 }
    )
  )
  return { seconds, ok: result.outputs.result === 'verified', error: result.outputs.result, report: result.report }
}

const production = await startCluster('bench-many-prod', { settings: ['max_locks_per_transaction = 256'] })
const cleanroom = await startCluster('bench-many-clean')
try {
  const built = await timed(() => build(production))
  console.log(`Built ${SCHEMAS * TABLES} tables (${INDEXES} index(es) each) in ${built.seconds.toFixed(1)} s`)
  const pipe = await naive(production, cleanroom, built.result, false)
  console.log(`naive, pipe:        ${pipe.seconds.toFixed(1)} s ${pipe.ok ? 'ok' : pipe.error}`)
  const xact = await naive(production, cleanroom, built.result, true)
  console.log(`naive, one xact:    ${xact.seconds.toFixed(1)} s ${xact.ok ? 'ok' : xact.error}`)
  for (const verify of ['counts', 'checksums']) {
    const run = await lazarus(production, cleanroom, built.result, verify)
    const timeline = (run.report?.timeline ?? [])
      .map(
        (stage: { stage: string; start: number; end: number }) =>
          `${stage.stage} ${stage.start.toFixed(1)}-${stage.end.toFixed(1)}`
      )
      .join(', ')
    console.log(
      `Lazarus ${verify}: ${run.seconds.toFixed(1)} s ${run.ok ? 'verified' : run.error}, ` +
        `${(run.seconds / pipe.seconds).toFixed(2)} x naive; timeline: ${timeline}`
    )
  }
} finally {
  await Promise.allSettled([production.stop(), cleanroom.stop()])
}
console.log(path.basename(import.meta.url), 'done')
