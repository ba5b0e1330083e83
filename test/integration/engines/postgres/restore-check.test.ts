import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { UserError } from '../../../../src/util/errors.js'
import { restoreLocationCheckSql, type ClusterIdentity } from '../../../../src/engines/postgres/guards.js'
import {
  resolveClientTools,
  restoreDump,
  streamDumpIntoRestore,
  type ClientTools
} from '../../../../src/engines/postgres/pg-tools.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// Issue 16 §1, defence in depth: psql checks where it is before the first statement of a dump,
// and stops at once anywhere but the scratch database on the clean room the guard identified.
// The test seam: the restore functions are called with a target the guard never saw (another
// database on the clean room, a database of the same name on production), as if the guard and
// the URI vetting had been bypassed.

let production: Cluster
let cleanroom: Cluster
let tools: ClientTools
let identity: ClusterIdentity
let workDir: string
const scratch = uniqueName('lazarus_check')
const source = uniqueName('check_source')
const marker = 'CREATE TABLE public.restore_marker (id integer);\nINSERT INTO public.restore_marker VALUES (1);\n'

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  tools = await resolveClientTools(13)
  const maintenance = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  identity = await maintenance.clusterIdentity()
  await maintenance.close()
  workDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-restore-check-'))
  // The scratch database, and a database of the same name on production (a restore sent there).
  await Promise.all([cleanroom.createDatabase(scratch), production.createDatabase(scratch)])
  await production.createDatabase(source, 'CREATE TABLE public.t (id integer); INSERT INTO public.t VALUES (1), (2);')
})

after(async () => {
  rmSync(workDir, { recursive: true, force: true })
  await cleanroom.query(`DROP DATABASE IF EXISTS ${scratch}`).catch(() => undefined)
  await production.query(`DROP DATABASE IF EXISTS ${scratch}`).catch(() => undefined)
})

function files(name: string): { dump: string; check: string } {
  const dump = path.join(workDir, `${name}.sql`)
  const check = path.join(workDir, `${name}.check.sql`)
  writeFileSync(dump, marker)
  writeFileSync(check, restoreLocationCheckSql(scratch, identity))
  return { dump, check }
}

async function tablesIn(cluster: Cluster, database: string): Promise<string[]> {
  const rows = await cluster.query<{ name: string }>(
    "SELECT relname AS name FROM pg_class WHERE relname IN ('restore_marker', 't')",
    database
  )
  return rows.map(row => row.name)
}

const stopped = (where: RegExp) => (error: unknown) =>
  error instanceof UserError &&
  /^The restore stopped before its first statement: /.test(error.message) &&
  where.test(error.message) &&
  /nothing of the dump ran there/.test(error.message)

test('the check passes where the guard looked, and the restore runs', async () => {
  const { dump, check } = files('here')
  const outcome = await restoreDump(tools, parseConnectionUrl('cleanroom-url', cleanroom.url(scratch)), dump, check)
  assert.deepEqual(outcome, { ok: true })
  assert.deepEqual(await tablesIn(cleanroom, scratch), ['restore_marker'])
  await cleanroom.query('DROP TABLE public.restore_marker', scratch)
})

test("another database on the clean room (its maintenance database) stops psql before the dump's first statement", async () => {
  const other = uniqueName('not_scratch')
  await cleanroom.createDatabase(other)
  const { dump, check } = files('other-db')
  await assert.rejects(
    restoreDump(tools, parseConnectionUrl('cleanroom-url', cleanroom.url(other)), dump, check),
    stopped(new RegExp(`psql reached database ${other} .*not database ${scratch} on the clean room`))
  )
  assert.deepEqual(await tablesIn(cleanroom, other), [], 'nothing was restored there')
  await cleanroom.query(`DROP DATABASE ${other}`)
})

test('production, even in a database of the same name, stops psql; nothing lands there', async () => {
  const { dump, check } = files('production')
  await assert.rejects(
    restoreDump(tools, parseConnectionUrl('cleanroom-url', production.url(scratch)), dump, check),
    stopped(
      new RegExp(`psql reached database ${scratch} on a server started .*, port ${production.port}, not database ${scratch}`)
    )
  )
  assert.deepEqual(await tablesIn(production, scratch), [])
})

test('the streamed restore stops the same way, and pg_dump is not blamed', async () => {
  const exporter = await DatabaseSession.open(parseConnectionUrl('production-url', production.url(source)), 'production')
  try {
    const snapshot = await exporter.beginSnapshot()
    const { check } = files('stream')
    const work = (name: string) => path.join(workDir, `stream.${name}`)
    await assert.rejects(
      streamDumpIntoRestore(
        tools,
        parseConnectionUrl('production-url', production.url(source)),
        parseConnectionUrl('cleanroom-url', production.url(scratch)),
        {
          snapshot,
          filter: ['cat'],
          statusFile: work('status'),
          scriptFile: work('sh'),
          bytesFile: work('bytes'),
          gateFile: work('gate'),
          restoreTargetReady: Promise.resolve(),
          checkFile: check,
          productionTakesOptions: true
        }
      ),
      stopped(new RegExp(`port ${production.port}, not database ${scratch}`))
    )
  } finally {
    await exporter.close()
  }
  assert.deepEqual(await tablesIn(production, scratch), [], "production's database of that name got nothing of the dump")
})
