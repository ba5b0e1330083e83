import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { parseManifest } from '../../src/report/manifest.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { realClientDir } from '../support/tampered-client.js'
import { runAction } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'
import { POSTGRES_MANIFEST } from '../../src/engines/postgres/restore-points.js'

// Production keeps taking writes while Lazarus runs: the verdict must still be exact, because
// the dump and production's figures come from one snapshot.

let production: Cluster
let shop: string
let inputs: Shop['inputs']

const LIVE_TABLE = `
CREATE TABLE public.live_events (id bigserial PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO public.live_events (payload) SELECT 'event ' || g FROM generate_series(1, 20000) g;
`

before(async () => {
  ;({ production, database: shop, inputs } = await createShop('live', LIVE_TABLE))
})

/** Inserts, updates and deletes rows in small transactions until `stop` resolves. */
async function writeUntil(stop: Promise<unknown>): Promise<{ transactions: number }> {
  const client = new pg.Client({ connectionString: production.url(shop) })
  await client.connect()
  let done = false
  void stop.finally(() => (done = true))
  let transactions = 0
  try {
    while (!done) {
      await client.query('BEGIN')
      await client.query(`INSERT INTO public.live_events (payload) SELECT 'live ' || g FROM generate_series(1, 25) g`)
      await client.query(`UPDATE public.live_events SET payload = payload || '!', updated_at = now()
                          WHERE id IN (SELECT id FROM public.live_events ORDER BY random() LIMIT 10)`)
      await client.query(
        `DELETE FROM public.live_events WHERE id IN (SELECT id FROM public.live_events ORDER BY random() LIMIT 10)`
      )
      await client.query(`UPDATE "Inventory"."StockLevels" SET "QtyOnHand" = "QtyOnHand" + 1
                          WHERE ctid IN (SELECT ctid FROM "Inventory"."StockLevels" LIMIT 3)`)
      await client.query('COMMIT')
      transactions++
    }
  } finally {
    await client.end()
  }
  return { transactions }
}

async function liveRows(): Promise<number> {
  const [row] = await production.query<{ n: string }>('SELECT count(*) AS n FROM public.live_events', shop)
  return Number(row.n)
}

test('a run under constant writes is verified, though production changed during it', async () => {
  const rowsBefore = await liveRows()
  const running = runAction(inputs({ verify: 'checksums', jobs: '3' }))
  const [run, writer] = await Promise.all([running, writeUntil(running)])
  const rowsAfter = await liveRows()

  assert.ok(writer.transactions >= 5, `the writer committed ${writer.transactions} transactions during the run`)
  assert.notEqual(rowsAfter, rowsBefore, 'production changed while Lazarus ran')
  assert.equal(run.exitCode, 0, run.stdout.slice(-5000))
  assert.equal(run.outputs.result, 'verified')
  const live = run.report.tables.find((table: { name: string }) => table.name === 'live_events')
  assert.equal(live.match, true)
  assert.ok(live.production.rows >= rowsBefore && live.production.rows <= rowsAfter, 'the snapshot lies within the run')
})

test('under constant writes, the kept restore point holds exactly the snapshot that was verified', async () => {
  const backupDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-live-keep-'))
  try {
    const running = runAction(inputs({ verify: 'checksums', 'backup-dir': backupDir, 'backup-format': 'custom' }))
    const [run, writer] = await Promise.all([running, writeUntil(running)])
    assert.ok(writer.transactions >= 5, `the writer committed ${writer.transactions} transactions during the run`)
    assert.equal(run.exitCode, 0, run.stdout.slice(-5000))
    const manifest = parseManifest(readFileSync(run.outputs['manifest-path'], 'utf8'), 'manifest', POSTGRES_MANIFEST)
    const live = manifest.figures.tables.find(table => table.name === 'live_events')!
    assert.equal(
      live.figures.rows,
      run.report.tables.find((table: { name: string }) => table.name === 'live_events').production.rows
    )
    // The kept archive, restored on its own, has the rows of the snapshot the stream verified: the same pg_dump run.
    const cleanroom = await cleanroomCluster()
    const copy = uniqueName('live_kept')
    await cleanroom.createDatabase(copy)
    execFileSync(
      path.join(realClientDir(), 'pg_restore'),
      [
        '--exit-on-error',
        '--no-owner',
        '-h',
        '127.0.0.1',
        '-p',
        String(cleanroom.port),
        '-U',
        'postgres',
        '-d',
        copy,
        run.outputs['backup-path']
      ],
      { env: { ...process.env, PGPASSWORD: cleanroom.password }, stdio: 'pipe' }
    )
    const [row] = await cleanroom.query<{ n: string }>('SELECT count(*) AS n FROM public.live_events', copy)
    assert.equal(Number(row.n), live.figures.rows)
    await cleanroom.query(`DROP DATABASE ${copy}`)
  } finally {
    rmSync(backupDir, { recursive: true, force: true })
  }
})
