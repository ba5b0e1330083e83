import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { uniqueName, type Cluster } from '../support/shared-servers.js'
import { createShop, SHOP_SQL, type Shop } from '../support/shop.js'
import { startRecordingProxy, writingStatements } from '../support/pg-proxy.js'
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.js'
import { CERT_USER, startTlsCluster, type TlsCluster } from '../support/tls-cluster.js'
import {
  errorAnnotations,
  explain,
  leftoverWorkDirs,
  runActionProcess,
  workspaceRunIds,
  type ActionResult
} from '../support/action-process.js'

// Issue 16 §1, end to end through the bundled action: a URI cannot send the restore anywhere but
// where Lazarus checked; the parameters it accepts reach pg_dump, psql and Lazarus's own sessions
// alike (percent-encoding intact, TLS as libpq means it); production behind a real PgBouncer
// verifies in session mode and is refused, with the reason, in transaction mode.

let production: Cluster
let cleanroom: Cluster
let shop: string
let inputs: Shop['inputs']
let tlsServer: TlsCluster
let tlsShop: string
let sessionPool: PgBouncer
let transactionPool: PgBouncer
const teardown: (() => Promise<unknown>)[] = []

before(async () => {
  ;({ production, cleanroom, database: shop, inputs } = await createShop('conn_shop'))
  tlsServer = await startTlsCluster('tls-e2e')
  teardown.push(() => tlsServer.stop())
  tlsShop = uniqueName('tls_shop')
  await tlsServer.createDatabase(tlsShop, SHOP_SQL)
  const users = { postgres: production.password }
  sessionPool = await startPgBouncer(production.port, 'session', users)
  teardown.push(() => sessionPool.stop())
  transactionPool = await startPgBouncer(production.port, 'transaction', users)
  teardown.push(() => transactionPool.stop())
})

after(async () => {
  for (const step of teardown.reverse()) await step().catch(error => console.error('teardown:', error))
})

async function lazarusDatabases(cluster: Cluster, runId = ''): Promise<string[]> {
  const prefix = `lazarus_${runId}`.replace(/_/g, '\\_')
  const rows = await cluster.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`)
  return rows.map(row => row.datname)
}

/** Rows written to the shop on production, as its statistics count them. */
async function productionWrites(): Promise<string> {
  const [row] = await production.query<{ w: string }>(
    'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS w FROM pg_stat_user_tables',
    shop
  )
  return row.w
}

function assertVerified(run: ActionResult, name: string): void {
  assert.equal(run.exitCode, 0, `${name}: ${explain(run)}`)
  assert.equal(run.outputs.result, 'verified', `${name}: ${explain(run)}`)
  assert.deepEqual(errorAnnotations(run.stdout), [], name)
}

/** Exit 1, one error annotation matching `cause`, result error, nothing left behind. */
async function assertFailsCleanly(run: ActionResult, cause: RegExp, name: string): Promise<void> {
  assert.equal(run.exitCode, 1, `${name}: ${explain(run)}`)
  const errors = errorAnnotations(run.stdout)
  assert.equal(errors.length, 1, `${name}: exactly one error annotation\n${explain(run)}`)
  assert.match(errors[0], cause, `${name}: ${explain(run)}`)
  assert.equal(run.outputs.result, 'error', name)
  assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], `${name}: no work files are left`)
  for (const runId of workspaceRunIds(run.runnerTemp)) {
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [], `${name}: no scratch database is left`)
  }
}

describe('connections: URL parameters, TLS and poolers', { concurrency: true }, () => {
  test('URI parameters that would restore elsewhere are refused before anything connects', async () => {
    const writesBefore = await productionWrites()
    const cleanroomAt = `postgresql://postgres@127.0.0.1:${cleanroom.port}/postgres`
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'hostaddr pointing the restore at production',
        { 'cleanroom-url': `${cleanroomAt}?hostaddr=127.0.0.1&dbname=${shop}` },
        /^::error::Input 'cleanroom-url' has parameter 'hostaddr', which Lazarus refuses: it would make pg_dump and psql connect to that address/
      ],
      [
        'dbname naming the maintenance database',
        { 'cleanroom-url': `${cleanroomAt}?dbname=postgres` },
        /^::error::Input 'cleanroom-url' has parameter 'dbname', which Lazarus refuses/
      ],
      [
        'a service',
        { 'production-url': `postgresql://postgres@127.0.0.1:${production.port}/${shop}?service=prod` },
        /'production-url' has parameter 'service'/
      ],
      [
        'two hosts',
        { 'cleanroom-url': `postgresql://postgres@127.0.0.1:${cleanroom.port},127.0.0.1:${production.port}/postgres` },
        /'cleanroom-url' names several hosts/
      ],
      [
        'an unknown parameter',
        { 'production-url': `postgresql://postgres@127.0.0.1:${production.port}/${shop}?sslmod=require` },
        /'production-url' has parameter 'sslmod', which libpq does not know/
      ]
    ]
    const runs = await Promise.all(cases.map(([, extra]) => runActionProcess(inputs(extra))))
    for (const [index, [name, , cause]] of cases.entries()) await assertFailsCleanly(runs[index], cause, name)
    assert.ok(
      runs.every(run => run.seconds < 20),
      'each failed at once'
    )
    await new Promise(resolve => setTimeout(resolve, 700))
    assert.equal(await productionWrites(), writesBefore, 'production took no writes')
    assert.deepEqual(await lazarusDatabases(production), [], 'Lazarus created no database on production')
  })

  test('percent-encoded parameters reach pg_dump, psql and every session intact', async () => {
    const productionProxy = await startRecordingProxy(production.port)
    const cleanroomProxy = await startRecordingProxy(cleanroom.port)
    teardown.push(
      () => productionProxy.close(),
      () => cleanroomProxy.close()
    )
    const query = '?options=-c%20statement_timeout%3D123456%20-c%20work_mem%3D8MB&application_name=nightly%20proof%2B1'
    const run = await runActionProcess(
      inputs({
        'production-url': `postgresql://postgres@127.0.0.1:${productionProxy.port}/${shop}${query}`,
        'cleanroom-url': `postgresql://postgres@127.0.0.1:${cleanroomProxy.port}/postgres${query}`
      })
    )
    assertVerified(run, 'percent-encoding')
    for (const [side, proxy, minimum] of [
      ['production', productionProxy, 2],
      ['clean room', cleanroomProxy, 3]
    ] as const) {
      const startups = proxy.startups.filter(startup => startup.user === 'postgres')
      assert.ok(startups.length >= minimum, `${side}: connections seen (${startups.length})`)
      for (const startup of startups) {
        assert.equal(startup.application_name, 'nightly proof+1', `${side}: ${JSON.stringify(startup)}`)
        assert.match(
          startup.options ?? '',
          /^-c statement_timeout=123456 -c work_mem=8MB( -c default_transaction_read_only=on)?$/,
          `${side}: ${JSON.stringify(startup)}`
        )
      }
    }
    assert.ok(
      productionProxy.startups.some(startup => /default_transaction_read_only=on$/.test(startup.options ?? '')),
      "pg_dump's session is read-only after the user's options"
    )
    assert.deepEqual(writingStatements(productionProxy.statements), [])
  })

  test('TLS: verify-full with a client certificate to production, verify-ca to the clean room', async () => {
    const { ca, clientCert, clientKey } = tlsServer.files
    const [toTlsProduction, toTlsCleanroom] = await Promise.all([
      runActionProcess(
        inputs({
          'production-url':
            `postgresql://${CERT_USER}@localhost:${tlsServer.port}/${tlsShop}` +
            `?sslmode=verify-full&sslrootcert=${ca}&sslcert=${clientCert}&sslkey=${clientKey}`,
          'production-password': ''
        })
      ),
      // The certificate names only localhost: verify-ca checks the chain, not the name.
      runActionProcess(
        inputs({
          'cleanroom-url': `postgresql://postgres@127.0.0.1:${tlsServer.port}/postgres?sslmode=verify-ca&sslrootcert=${ca}`,
          'cleanroom-password': tlsServer.password
        })
      )
    ])
    assertVerified(toTlsProduction, 'TLS production')
    assertVerified(toTlsCleanroom, 'TLS clean room')
  })

  test('production behind PgBouncer in session mode verifies end to end', async () => {
    const writesBefore = await productionWrites()
    // libpq's environment on the runner decides nothing: PgBouncer would refuse PGOPTIONS, libpq
    // would connect to PGHOSTADDR (a documentation address nothing answers at), demand a CA for
    // PGSSLMODE and look for a service file.
    const env = { PGOPTIONS: '-c work_mem=64kB', PGHOSTADDR: '192.0.2.1', PGSSLMODE: 'verify-full', PGSERVICE: 'nowhere' }
    const run = await runActionProcess(
      inputs({ 'production-url': `postgresql://postgres@127.0.0.1:${sessionPool.port}/${shop}`, sabotage: 'rogue-row' }),
      { env }
    )
    assertVerified(run, `session pooling\n${sessionPool.log()}`)
    assert.equal(run.outputs['sabotage-caught'], '1', explain(run))
    await new Promise(resolve => setTimeout(resolve, 700))
    assert.equal(await productionWrites(), writesBefore, 'production took no writes')
  })

  test('production behind PgBouncer in transaction mode is refused with the reason; a refused startup parameter is named', async () => {
    const writesBefore = await productionWrites()
    const [transaction, withOptions] = await Promise.all([
      runActionProcess(inputs({ 'production-url': `postgresql://postgres@127.0.0.1:${transactionPool.port}/${shop}` })),
      runActionProcess(
        inputs({ 'production-url': `postgresql://postgres@127.0.0.1:${sessionPool.port}/${shop}?options=-c%20work_mem%3D8MB` })
      )
    ])
    await assertFailsCleanly(
      transaction,
      new RegExp(
        `The connection pooler at 127\\.0\\.0\\.1:${transactionPool.port} \\('production-url'\\) does not keep a client on one server connection ` +
          `\\(.+\\): in transaction or statement pooling, session settings and the exported snapshot .* Use a pool in session mode \\(PgBouncer: pool_mode = session\\)`
      ),
      'transaction pooling'
    )
    await assertFailsCleanly(
      withOptions,
      /refused the connection: unsupported startup parameter: options\. A connection pooler \(PgBouncer\) refuses startup parameters/,
      'options through PgBouncer'
    )
    assert.doesNotMatch(withOptions.stdout, /Check that a PostgreSQL server listens/)
    await new Promise(resolve => setTimeout(resolve, 700))
    assert.equal(await productionWrites(), writesBefore, 'production took no writes')
    assert.deepEqual(await lazarusDatabases(production), [])
  })
})
