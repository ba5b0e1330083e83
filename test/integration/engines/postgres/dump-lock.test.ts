import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { parseConnectionUrl, type ConnectionTarget } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { restoreLocationCheckSql } from '../../../../src/engines/postgres/guards.js'
import {
  resolveClientTools,
  streamDumpIntoRestore,
  type ClientTools,
  type StreamOptions
} from '../../../../src/engines/postgres/pg-tools.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// pg_dump's own lock probe: its --lock-wait-timeout (lock-timeout-seconds) on a table another
// session holds ACCESS EXCLUSIVE. Lazarus's own sessions read nothing here, so the one thing that
// waits is pg_dump's LOCK TABLE, and its failure must name the table, production and the setting.

let production: Cluster
let cleanroom: Cluster
let tools: ClientTools
let productionTarget: ConnectionTarget
let workDir: string
const database = uniqueName('dump_lock')
const sessions: { close(): Promise<unknown> }[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  tools = await resolveClientTools(13)
  await production.createDatabase(
    database,
    `CREATE SCHEMA sales;
     CREATE TABLE public.a (id integer PRIMARY KEY); CREATE TABLE public."odd, name" (id integer PRIMARY KEY);
     CREATE TABLE sales.orders (id integer PRIMARY KEY); CREATE TABLE public.z (id integer PRIMARY KEY);
     INSERT INTO sales.orders VALUES (1);`
  )
  productionTarget = parseConnectionUrl('production-url', production.url(database))
  workDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-dump-lock-'))
})

after(async () => {
  for (const session of sessions.reverse()) await session.close()
  rmSync(workDir, { recursive: true, force: true })
})

/** A session of the test's that holds sales.orders ACCESS EXCLUSIVE until the end. */
async function lockOrders(): Promise<void> {
  const holder = new pg.Client({ connectionString: production.url(database) })
  holder.on('error', () => undefined)
  await holder.connect()
  sessions.push({ close: () => holder.end() })
  await holder.query('BEGIN; LOCK TABLE sales.orders IN ACCESS EXCLUSIVE MODE')
}

async function streamOptions(
  name: string,
  exporter: DatabaseSession
): Promise<{ options: StreamOptions; target: ConnectionTarget }> {
  const scratch = uniqueName(`dump_lock_${name}`)
  const target = parseConnectionUrl('cleanroom-url', cleanroom.url(scratch))
  const maintenance = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  const identity = await maintenance.clusterIdentity()
  await maintenance.close()
  const checkFile = path.join(workDir, `${name}.check.sql`)
  writeFileSync(checkFile, restoreLocationCheckSql(scratch, identity))
  return {
    target,
    options: {
      checkFile,
      productionTakesOptions: true,
      snapshot: await exporter.beginSnapshot(),
      filter: ['cat'],
      statusFile: path.join(workDir, `${name}.status`),
      scriptFile: path.join(workDir, `${name}.sh`),
      bytesFile: path.join(workDir, `${name}.bytes`),
      gateFile: path.join(workDir, `${name}.gate`),
      restoreTargetReady: cleanroom.createDatabase(scratch),
      limits: { lockTimeoutSeconds: 2, serverTimeoutSeconds: 60 }
    }
  }
}

test("pg_dump's lock wait fails after lock-timeout-seconds, naming the locked table, production and the setting", async () => {
  DatabaseSession.limits = { lockTimeoutSeconds: 2, serverTimeoutSeconds: 60 }
  const exporter = await DatabaseSession.open(productionTarget, 'production')
  sessions.push(exporter)
  const { options, target } = await streamOptions('named', exporter)
  await lockOrders()
  const started = performance.now()
  const outcome = await streamDumpIntoRestore(tools, productionTarget, target, {
    ...options,
    exclusiveLocks: () => exporter.exclusiveLocks()
  })
  const seconds = (performance.now() - started) / 1000
  assert.equal(outcome.ok, false)
  if (outcome.ok) return
  assert.equal(outcome.stage, 'dump', outcome.error)
  assert.match(outcome.error, /canceling statement due to (statement|lock) timeout.*LOCK TABLE/, 'pg_dump itself gave up waiting')
  assert.match(
    outcome.environmentError?.message ?? '',
    new RegExp(
      `^pg_dump waited 2 s for a lock on table sales\\.orders on production \\(postgres@127\\.0\\.0\\.1:${production.port}/${database}, ` +
        `'production-url'\\): another session holds a lock that blocks reading it .*Run Lazarus when no such lock is held, ` +
        `or raise 'lock-timeout-seconds' to wait longer\\.$`
    ),
    outcome.error
  )
  assert.ok(seconds < 30, `pg_dump gave up after ${seconds.toFixed(1)} s`)
})
