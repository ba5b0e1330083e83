import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import type { Cluster } from '../support/shared-servers.js'
import { runAction } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'

// Production keeps taking writes while Lazarus runs: the verdict must still be exact, because
// the dump and production's fingerprint come from one snapshot.

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
