import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction } from '../support/run-action.js'
import { productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { createShop, type Shop } from '../support/shop.js'

// The user's checks and amcheck through the bundle, on real servers.

let shop: Shop
let production: Cluster
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-checks-e2e-'))

before(async () => {
  shop = await createShop('checks')
  production = await productionCluster()
})

after(() => rmSync(dir, { recursive: true, force: true }))

function checksFile(name: string, text: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

const SHOP_CHECKS = `
-- The shop's own invariants.

-- check: latest order
SELECT id, customer_id, status, ordered_at, total FROM sales.orders ORDER BY ordered_at DESC, id DESC LIMIT 1;

-- check: revenue per status
SELECT status, sum(total) AS revenue, count(*) AS orders FROM sales.orders GROUP BY status;

-- check: best customers
SELECT c.email, sum(o.total) AS spent
FROM sales.orders o JOIN customers c ON c.id = o.customer_id
GROUP BY c.email ORDER BY spent DESC, c.email LIMIT 10;

-- check: orders without lines
SELECT o.id FROM sales.orders o
WHERE NOT EXISTS (SELECT 1 FROM sales.order_items i WHERE i.order_id = o.id) AND o.total > 0;

-- check: order count
-- expect: 800
SELECT count(*) FROM sales.orders;

-- check: every customer
SELECT * FROM customers;
`

test('a faithful backup answers every check alike, and amcheck finds its indexes whole', async () => {
  const file = checksFile('shop.sql', SHOP_CHECKS)
  const run = await runAction(shop.inputs({ checks: 'shop.sql', amcheck: 'true', 'show-values': 'true' }), {
    env: { GITHUB_WORKSPACE: dir }
  })
  assert.equal(run.exitCode, 0, run.stdout.slice(-6000))
  assert.equal(run.outputs.result, 'verified')
  const checks = run.report.checks as { name: string; match: boolean; production: { rows: number; values?: string[] } }[]
  assert.deepEqual(
    checks.map(check => [check.name, check.match]),
    [
      ['latest order', true],
      ['revenue per status', true],
      ['best customers', true],
      ['orders without lines', true],
      ['order count', true],
      ['every customer', true]
    ]
  )
  assert.deepEqual(checks[4].production.values, ['800'])
  assert.equal(checks[3].production.rows, 0)
  assert.equal(checks[5].production.rows, 290)
  assert.match(run.summary, /Checks: 6 of 6 answered alike/)
  assert.equal(run.report.amcheck.findings.length, 0)
  assert.ok(run.report.amcheck.indexes >= 10, `indexes checked: ${run.report.amcheck.indexes}`)
  assert.equal(typeof run.report.timings.amcheck, 'number')
  assert.match(run.summary, /amcheck:<\/strong> no corruption in \d+ B-tree index/)
  assert.match(run.stdout, /✓ check 'latest order': same answer/)
  assert.ok(file)
})

test('a corrupted copy (the drill mutating a cell a check reads) fails, naming that check', async () => {
  const database = uniqueName('ledger')
  await production.createDatabase(
    database,
    `CREATE TABLE public.accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
     INSERT INTO public.accounts SELECT i, i * 100 FROM generate_series(1, 40) i;`
  )
  const file = checksFile(
    'ledger.sql',
    `-- check: total balance
SELECT sum(balance) FROM accounts;
-- check: account count
SELECT count(*) FROM accounts;
`
  )
  // verify: counts cannot see a changed cell; the check that sums the column can.
  const run = await runAction(shop.inputs({ checks: file, verify: 'counts', sabotage: 'mutate-cell' }, database))
  assert.equal(run.exitCode, 0, run.stdout.slice(-6000))
  assert.equal(run.outputs.result, 'verified', 'the real backup still verifies')
  const [drill] = run.report.sabotage
  assert.equal(drill.operator, 'mutate-cell')
  assert.equal(drill.detected, true, drill.evidence)
  assert.equal(drill.detectedBy, 'checks')
  assert.match(drill.evidence, /one character of column balance changed .*; check 'total balance': the rows differ/)
  assert.doesNotMatch(drill.evidence, /account count/)
  assert.equal(run.outputs['sabotage-missed'], '0')
})

test('a check that cannot run is an error naming the check and the side; production is never written', async () => {
  const file = checksFile(
    'broken.sql',
    `-- check: orders
SELECT count(*) FROM sales.orders;
-- check: a table that is not there
SELECT count(*) FROM sales.refunds;
-- check: locks
SELECT id FROM customers FOR UPDATE;
-- check: writes
WITH gone AS (DELETE FROM sales."order notes" RETURNING id) SELECT count(*) FROM gone;
`
  )
  const writes = async () =>
    (
      await production.query<{ w: string }>(
        'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS w FROM pg_stat_user_tables',
        shop.database
      )
    )[0].w
  const before = await writes()
  const run = await runAction(shop.inputs({ checks: file }))
  assert.equal(run.exitCode, 1)
  assert.equal(run.outputs.result, 'error')
  assert.match(
    run.report.error,
    /Check 'a table that is not there' could not run on production: relation "sales\.refunds" does not exist/
  )
  assert.match(
    run.report.error,
    /Check 'locks' could not run on production: cannot execute SELECT FOR UPDATE in a read-only transaction/
  )
  assert.match(run.report.error, /Check 'writes' could not run on production: /)
  assert.equal(run.report.checks[0].match, true)
  assert.match(run.stdout, /::error.*a table that is not there/)
  // The copy itself matched: the error is the checks', not the backup's.
  assert.ok(run.report.tables.every((table: { match: boolean }) => table.match))
  await new Promise(resolve => setTimeout(resolve, 700)) // statistics are flushed every 500 ms
  assert.equal(await writes(), before, 'production took no writes')
})

test('a malformed checks file or an unknown path is one clear error before anything connects', async () => {
  const smuggling = checksFile('smuggling.sql', '-- check: innocent\nSELECT 1; DELETE FROM sales."order notes";\n')
  const run = await runAction(shop.inputs({ checks: smuggling }))
  assert.equal(run.exitCode, 1)
  assert.equal(run.outputs.result, 'error')
  const errors = run.stdout.split('\n').filter(line => line.startsWith('::error'))
  assert.equal(errors.length, 1, run.stdout)
  assert.match(errors[0], /Input 'checks': .*smuggling\.sql, check 'innocent' \(line 1\) holds 2 statements/)
  assert.doesNotMatch(run.stdout, /Connect/)
  const missing = await runAction(shop.inputs({ checks: 'nowhere/checks.sql' }))
  assert.equal(missing.exitCode, 1)
  assert.match(missing.stdout, /::error::Input 'checks' names .*nowhere\/checks\.sql, which does not exist/)
})
