import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseConnectionUrl, type ConnectionTarget } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { restoreLocationCheckSql, type ClusterIdentity } from '../../../../src/engines/postgres/guards.js'
import {
  resolveClientTools,
  streamDumpIntoRestore,
  type ClientTools,
  type StreamOptions
} from '../../../../src/engines/postgres/pg-tools.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// pg_dump starts while the scratch database is still being created; psql waits at the gate for it.

let production: Cluster
let cleanroom: Cluster
let tools: ClientTools
let exporter: DatabaseSession
let productionTarget: ConnectionTarget
let snapshot: string
let workDir: string
let cleanroomIdentity: ClusterIdentity
const productionDb = uniqueName('gate_prod')

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  tools = await resolveClientTools(13)
  await production.createDatabase(
    productionDb,
    'CREATE TABLE public.t (id int PRIMARY KEY, label text); INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;'
  )
  productionTarget = parseConnectionUrl('production-url', production.url(productionDb))
  exporter = await DatabaseSession.open(productionTarget, 'production')
  snapshot = await exporter.beginSnapshot()
  workDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-gate-'))
  const maintenance = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  cleanroomIdentity = await maintenance.clusterIdentity()
  await maintenance.close()
})

after(async () => {
  await exporter.close()
  rmSync(workDir, { recursive: true, force: true })
})

function options(name: string, restoreTargetReady: Promise<unknown>, database = ''): StreamOptions {
  const checkFile = path.join(workDir, `${name}.check.sql`)
  writeFileSync(checkFile, restoreLocationCheckSql(database, cleanroomIdentity))
  return {
    checkFile,
    productionTakesOptions: true,
    snapshot,
    filter: ['cat'],
    statusFile: path.join(workDir, `${name}.status`),
    scriptFile: path.join(workDir, `${name}.sh`),
    bytesFile: path.join(workDir, `${name}.bytes`),
    gateFile: path.join(workDir, `${name}.gate`),
    restoreTargetReady
  }
}

test('psql starts only once its database exists, then restores everything pg_dump wrote meanwhile', async () => {
  const database = uniqueName('gate_late')
  const target = parseConnectionUrl('cleanroom-url', cleanroom.url(database))
  // Created only after pg_dump has had time to start: without the gate psql would find no database.
  const ready = new Promise(resolve => setTimeout(resolve, 1500)).then(() => cleanroom.createDatabase(database))
  const dumpEnds: boolean[] = []
  const outcome = await streamDumpIntoRestore(tools, productionTarget, target, {
    ...options('late', ready, database),
    onDumpEnded: succeeded => dumpEnds.push(succeeded)
  })
  assert.equal(outcome.ok, true, JSON.stringify(outcome))
  assert.deepEqual(dumpEnds, [true], 'told once that pg_dump succeeded')
  if (outcome.ok)
    assert.ok(outcome.restore.seconds >= 1.4, `psql ended ${outcome.restore.seconds} s in, before its database existed`)
  const [row] = await cleanroom.query<{ n: string }>('SELECT count(*)::text AS n FROM public.t', database)
  assert.equal(row.n, '5000')
})

test('a database that could not be created is the error, and psql never runs', async () => {
  const database = uniqueName('gate_never')
  const target = parseConnectionUrl('cleanroom-url', cleanroom.url(database))
  const refused = Promise.reject(new Error('permission denied to create database'))
  await assert.rejects(
    streamDumpIntoRestore(tools, productionTarget, target, options('never', refused)),
    /permission denied to create database/
  )
  const status = readFileSync(path.join(workDir, 'never.status'), 'utf8')
  assert.doesNotMatch(status, /^restore /m, 'psql ran without its database')
})

test('an action killed while psql waits at the gate leaves no pipeline behind', async () => {
  const waiter = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('../../../support/gate-waiter.ts', import.meta.url).pathname],
    {
      env: {
        ...process.env,
        GATE_PRODUCTION_URL: production.url(productionDb),
        GATE_RESTORE_URL: cleanroom.url(uniqueName('gate_orphan')),
        GATE_SNAPSHOT: snapshot,
        GATE_WORK_DIR: workDir
      },
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  await new Promise<void>((resolve, reject) => {
    waiter.stdout.on('data', (data: Buffer) => data.toString().includes('streaming') && resolve())
    waiter.on('exit', code => reject(new Error(`the waiter exited early (${code})`)))
  })
  const script = path.join(workDir, 'orphan.sh')
  const pipeline = () => {
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    return processes.split('\n').filter(line => line.includes(script))
  }
  for (let i = 0; i < 50 && pipeline().length === 0; i++) await new Promise(resolve => setTimeout(resolve, 100))
  assert.notDeepEqual(pipeline(), [], 'the pipeline started')
  waiter.kill('SIGKILL')
  for (let i = 0; i < 50 && pipeline().length > 0; i++) await new Promise(resolve => setTimeout(resolve, 100))
  assert.deepEqual(pipeline(), [], 'the pipeline outlived the killed action')
})
