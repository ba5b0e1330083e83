import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { repoRoot } from '../support/run-action.js'
import { startRecordingProxy, writingStatements, type RecordingProxy } from '../support/pg-proxy.js'
import { errorAnnotations, explain, leftoverWorkDirs, startAction } from '../support/action-process.js'
import { assertNoCommandLineHolds, assertNothingLeaks, maskedValues, sampleCommandLines } from '../support/secret-scan.js'

// Issue 4, secrets: a password full of URL-hostile characters works however it is given (inside
// the URI, in the *-password inputs, or as PGPASSWORD) and appears nowhere the action writes or
// shows: its log, outputs, job summary, report, any file in RUNNER_TEMP, or a command line.
// Production is reached through a recording proxy, which shows how every session was set up.

const PASSWORD = 'p@ss:/ word?#%&='

let production: Cluster
let cleanroom: Cluster
let proxy: RecordingProxy
let shop: string
let role: string

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  shop = uniqueName('shop')
  role = uniqueName('adversarial')
  await production.createDatabase(shop, readFileSync(path.join(repoRoot, 'test/fixtures/shop.sql'), 'utf8'))
  // The same role and password on both servers, so PGPASSWORD alone can serve both. In production
  // it may only read: a realistic backup role, not a superuser.
  await production.query(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`)
  await production.query(
    `DO $$ DECLARE s text; BEGIN
       FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
         EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${role}', s);
         EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO ${role}', s);
         EXECUTE format('GRANT SELECT ON ALL SEQUENCES IN SCHEMA %I TO ${role}', s);
       END LOOP;
     END $$`,
    shop
  )
  await cleanroom.query(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${PASSWORD}'`)
  proxy = await startRecordingProxy(production.port)
})

after(async () => {
  await proxy?.close()
  await production?.query(`DROP OWNED BY ${role}`, shop).catch(() => undefined)
  await production?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
  await cleanroom?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
})

function url(cluster: Cluster | { port: number }, database: string, password?: string): string {
  const auth = password === undefined ? role : `${role}:${encodeURIComponent(password)}`
  return `postgresql://${auth}@127.0.0.1:${cluster.port}/${database}`
}

test('an adversarial password works inside the URI, in the inputs and as PGPASSWORD, and leaks nowhere', async () => {
  const production = { port: proxy.port }
  const ways: { name: string; inputs: Record<string, string>; env?: Record<string, string> }[] = [
    {
      name: 'inside the URI',
      inputs: { 'production-url': url(production, shop, PASSWORD), 'cleanroom-url': url(cleanroom, 'postgres', PASSWORD) }
    },
    {
      name: 'in the -password inputs',
      inputs: {
        'production-url': url(production, shop),
        'production-password': PASSWORD,
        'cleanroom-url': url(cleanroom, 'postgres'),
        'cleanroom-password': PASSWORD
      }
    },
    {
      name: 'as PGPASSWORD',
      inputs: { 'production-url': url(production, shop), 'cleanroom-url': url(cleanroom, 'postgres') },
      env: { PGPASSWORD: PASSWORD }
    }
  ]

  const commandLines = sampleCommandLines()
  const runs = await Promise.all(
    ways.map(async way => (await startAction({ ...way.inputs, sabotage: 'rogue-row' }, { env: way.env })).finished)
  )
  const seen = commandLines.stop()

  for (const [index, way] of ways.entries()) {
    const run = runs[index]
    assert.equal(run.exitCode, 0, `${way.name}: ${explain(run)}`)
    assert.equal(run.outputs.result, 'verified', way.name)
    assert.equal(run.outputs['sabotage-caught'], '1', way.name)
    assert.deepEqual(errorAnnotations(run.stdout), [], way.name)
    assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], `${way.name}: the dump files are deleted`)
    // The runner masks what the action registers; the secret must be among it.
    const masked = maskedValues(run)
    assert.ok(masked.includes(PASSWORD), `${way.name}: the password is registered with the runner's masking`)
    assertNothingLeaks(way.name, run, PASSWORD)
  }

  // The process list: every client program's command line was sampled while it ran.
  const clients = [...seen].filter(args => /\/(pg_dump|psql) /.test(args) && args.includes(`user='${role}'`))
  assert.ok(
    clients.some(args => args.includes('/pg_dump ')),
    'pg_dump was seen running'
  )
  assert.ok(
    clients.some(args => args.includes('/psql ')),
    'psql was seen running'
  )
  for (const args of clients.filter(args => args.includes('/pg_dump '))) {
    assert.match(args, /--lock-wait-timeout=\d+s/, 'pg_dump gives up on a lock rather than queueing behind production')
  }
  assertNoCommandLineHolds(seen, PASSWORD)

  // Every production session: the role, application_name=lazarus, read-only from its first
  // statement: pg_dump's through default_transaction_read_only in its startup options; Lazarus's
  // own sessions through SET statements right after connecting (poolers refuse startup options),
  // with a lock timeout and no parallel workers (production gives Lazarus `jobs` backends).
  const sessions = proxy.connections.filter(connection => connection.startup.user === role)
  assert.ok(sessions.length >= 6, `each run opened production sessions (saw ${sessions.length})`)
  let ownSessions = 0
  for (const { startup, statements } of sessions) {
    const described = JSON.stringify({ startup, statements: statements.slice(0, 3) })
    assert.equal(startup.database, shop)
    assert.equal(startup.application_name, 'lazarus', described)
    if (/default_transaction_read_only=on/.test(startup.options ?? '')) continue
    ownSessions++
    assert.equal(startup.options, undefined, `Lazarus's own sessions send no startup options: ${described}`)
    const settings = statements.findIndex(statement => /SET default_transaction_read_only = on/.test(statement))
    assert.ok(settings >= 0 && settings <= 1, `read-only before anything is read: ${described}`)
    assert.match(statements[settings], /SET lock_timeout = '\d+s'/, described)
    assert.match(statements[settings], /SET max_parallel_workers_per_gather = 0/, described)
  }
  assert.ok(ownSessions >= 3, `Lazarus's own sessions were seen (${ownSessions})`)
  assert.ok(sessions.length > ownSessions, "pg_dump's sessions were seen")
  assert.ok(
    proxy.statements.some(statement => /^COPY .+ TO stdout/i.test(statement)),
    'the proxy saw the dump'
  )
  assert.deepEqual(writingStatements(proxy.statements), [], 'nothing but reads was sent to production')
})
