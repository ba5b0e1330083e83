import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { quoteIdent } from '../../src/engines/postgres/figure-queries.js'
import { runAction, type ActionRun } from '../support/run-action.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'

// Timeouts a DBA sets on production's database or on a role (statement_timeout against runaway
// queries, idle_in_transaction_session_timeout against forgotten transactions) are ordinary. They
// must not cancel a checksum of a large table, on either side, nor end the session that holds
// production's snapshot while it waits for pg_dump: pg_dump turns them off for itself, and so
// must Lazarus. The dump here is held for a few seconds after pg_dump finishes (a slow pipe), so
// the snapshot's session sits idle in its transaction well past production's idle timeout.

const DATA = `
CREATE TABLE public.big (id int PRIMARY KEY, amount numeric, label text);
INSERT INTO public.big SELECT g, g / 7.0, md5(g::text) FROM generate_series(1, 1000000) AS g;
CREATE TABLE public.small (id int PRIMARY KEY);
INSERT INTO public.small VALUES (1);
`

let production: Cluster
let cleanroom: Cluster
let database: string
const role = uniqueName('timeouts_cleanroom')
const password = randomBytes(12).toString('hex')

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  database = uniqueName('timeouts')
  await production.createDatabase(database, DATA)
  // Checksumming a million rows takes far longer than 100 ms; set only after the data is in.
  await production.query(`ALTER DATABASE ${quoteIdent(database)} SET statement_timeout = '100ms'`)
  await production.query(`ALTER DATABASE ${quoteIdent(database)} SET idle_in_transaction_session_timeout = '1s'`)
  await cleanroom.query(`CREATE ROLE ${quoteIdent(role)} LOGIN CREATEDB PASSWORD '${password}'`)
  await cleanroom.query(`ALTER ROLE ${quoteIdent(role)} SET statement_timeout = '100ms'`)
  await cleanroom.query(`ALTER ROLE ${quoteIdent(role)} SET idle_in_transaction_session_timeout = '1s'`)
})

after(async () => {
  await cleanroom.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`)
})

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

// The stream, and (issue 12) a directory-format backup dumped in parallel, then restored in
// sections over two pipelines: pg_dump's workers and every pipeline's psql face the same timeouts.
for (const format of ['stream', 'directory'] as const) {
  const keep: Record<string, string> =
    format === 'directory' ? { 'backup-dir': keptDir(), 'backup-format': 'directory', jobs: '2' } : { sabotage: 'rogue-row' }
  test(`${format}: a database's and a role's timeouts neither cancel a checksum nor end the snapshot: verified`, async () => {
    const run = await runAction({
      'production-url': production.url(database, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { user: role, password: null }),
      'cleanroom-password': password,
      // The real pg_dump, whose output reaches the restore 3 s after it finished.
      'postgres-bin-dir': tamperedClientDir('sleep 3'),
      ...keep
    })
    assert.equal(run.outputs.result, 'verified', explain(run))
    assert.equal(run.exitCode, 0, explain(run))
    const big = run.report.tables.find((table: { name: string }) => table.name === 'big')
    assert.deepEqual([big.production.rows, big.restored.rows], [1000000, 1000000], explain(run))
    if (format === 'stream') assert.equal(run.outputs['sabotage-caught'], '1', explain(run))
    else assert.match(run.stdout, /Restoring directory archive in sections: .* over 2 pipeline\(s\)/, explain(run))
  })
}

/** A backup-dir of the test's own, removed when the tests end. */
function keptDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-timeouts-keep-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}
