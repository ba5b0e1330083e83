import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseChecksFile, type CheckDefinition } from '../../../src/verification/checks-file.js'
import { answerCheck, answerChecks, verifyChecks } from '../../../src/verification/checks.js'
import { checkSide, parseRecordText } from '../../../src/engines/postgres/check-queries.js'
import { checkDialect } from '../../../src/engines/postgres/check-dialect.js'
import { parseConnectionUrl } from '../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../support/shared-servers.js'

// The user's checks on real servers: production read inside an exported snapshot the way the
// pipeline reads it, the "restored copy" a database on the clean-room server seeded alike.

const SEED = `
CREATE TABLE public.accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL, rank int NOT NULL);
CREATE TABLE public.orders (
  id serial PRIMARY KEY, account_id int NOT NULL REFERENCES public.accounts, total numeric(12,2) NOT NULL,
  placed_at timestamptz NOT NULL, status text NOT NULL);
CREATE TABLE public.audit (id serial PRIMARY KEY, note text);
CREATE SCHEMA ledger;
CREATE TABLE ledger.entries (id bigint PRIMARY KEY, amount numeric NOT NULL, memo text);
INSERT INTO public.accounts SELECT i, 'owner ' || i, i * 10.25, i FROM generate_series(1, 50) i;
INSERT INTO public.orders (account_id, total, placed_at, status)
  SELECT 1 + i % 50, (i % 97) * 1.5, timestamptz '2025-01-01 00:00+00' + i * interval '37 minutes',
         CASE WHEN i % 7 = 0 THEN 'shipped' ELSE 'paid' END
  FROM generate_series(1, 400) i;
INSERT INTO ledger.entries SELECT i, i * 0.01, CASE WHEN i % 3 = 0 THEN NULL ELSE 'memo, "' || i || '"' END
  FROM generate_series(1, 3000) i;
CREATE FUNCTION public.log_visit() RETURNS int LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO public.audit (note) VALUES ('visited'); RETURN 1; END $$;
CREATE FUNCTION public.sneak_write() RETURNS int LANGUAGE plpgsql SET transaction_read_only = off AS $$
  BEGIN INSERT INTO public.audit (note) VALUES ('sneaked'); RETURN 1; END $$;
`

const REALISTIC = `
-- Five questions a team would ask of its restored database.

-- check: latest order
SELECT id, account_id, total, placed_at FROM orders ORDER BY placed_at DESC, id DESC LIMIT 1;

-- check: revenue by status
SELECT status, sum(total) AS revenue, count(*) FROM orders GROUP BY status;

-- check: top customers
SELECT a.owner, sum(o.total) AS spent
FROM orders o JOIN accounts a ON a.id = o.account_id
GROUP BY a.owner ORDER BY spent DESC, a.owner LIMIT 5;

-- check: no refunded orders
SELECT id FROM orders WHERE status = 'refunded';

-- check: account count
-- expect: 50
SELECT count(*) FROM accounts;

-- check: ledger
SELECT * FROM ledger.entries;
`

let production: Cluster
let cleanroom: Cluster
const sessions: DatabaseSession[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
})

after(async () => {
  for (const session of sessions) await session.close()
})

interface Sides {
  name: string
  production: DatabaseSession
  restored: DatabaseSession
}

/** Both databases from SEED, `alter` run on the restored one; production's session sits in a snapshot. */
async function sides(alter = ''): Promise<Sides> {
  const name = uniqueName('checks')
  await Promise.all([production.createDatabase(name, SEED), cleanroom.createDatabase(name, `${SEED}\n${alter}`)])
  const productionSession = await DatabaseSession.open(parseConnectionUrl('production-url', production.url(name)), 'production')
  sessions.push(productionSession)
  await productionSession.pinSettings()
  await productionSession.beginSnapshot()
  const restored = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url(name)), 'cleanroom')
  sessions.push(restored)
  await restored.pinSettings()
  return { name, production: productionSession, restored }
}

async function verify(s: Sides, checks: CheckDefinition[], showValues = false, maxRows = 20) {
  const options = { showValues, maxRows, rowValues: parseRecordText }
  const answers = await answerChecks(checkSide(s.production), checks, showValues ? maxRows : 0)
  return verifyChecks(checkSide(s.restored), { session: checkSide(s.production), answers }, checks, options)
}

/** Everything a write could change in production: every table's rows, the relations, the sequences. */
async function productionState(database: string): Promise<string> {
  const [row] = await production.query<{ state: string }>(
    `SELECT md5(concat_ws('|',
       (SELECT string_agg(a::text, ',' ORDER BY a.id) FROM public.accounts a),
       (SELECT string_agg(o::text, ',' ORDER BY o.id) FROM public.orders o),
       (SELECT string_agg(u::text, ',' ORDER BY u.id) FROM public.audit u),
       (SELECT count(*) FROM ledger.entries),
       (SELECT string_agg(oid::regclass::text || relkind, ',' ORDER BY oid) FROM pg_class WHERE relnamespace IN
         ('public'::regnamespace, 'ledger'::regnamespace)),
       (SELECT last_value || ' ' || is_called FROM public.orders_id_seq),
       (SELECT last_value || ' ' || is_called FROM public.audit_id_seq))) AS state`,
    database
  )
  return row.state
}

test('five realistic checks get the same answers from a faithful copy', async () => {
  const s = await sides()
  const checks = parseChecksFile(REALISTIC, checkDialect)
  assert.deepEqual(
    checks.map(check => check.ordered),
    [true, false, true, false, false, false]
  )
  const results = await verify(s, checks, true)
  for (const result of results) assert.equal(result.match, true, `${result.name}: ${result.difference}`)
  const byName = Object.fromEntries(results.map(result => [result.name, result]))
  assert.equal(byName['account count'].production.rows, 1)
  assert.deepEqual(byName['account count'].production.values, ['50'])
  assert.deepEqual(byName['no refunded orders'].production, {
    rows: 0,
    columns: ['id integer'],
    hash: '0000000000000000',
    values: []
  })
  assert.deepEqual(byName['latest order'].production.columns, [
    'id integer',
    'account_id integer',
    'total numeric(12,2)',
    'placed_at timestamp with time zone'
  ])
  // Pinned settings: the timestamp prints in UTC, ISO style, on both sides.
  assert.deepEqual(byName['latest order'].production.values, ['(400,1,18.00,"2025-01-11 06:40:00+00")'])
  assert.equal(byName.ledger.production.rows, 3000)
  assert.equal(byName.ledger.production.values, undefined, 'a large answer is never shown whole')
})

test('a changed value fails the checks that read it, naming them, with or without values', async () => {
  const s = await sides(`UPDATE public.orders SET total = total + 0.01 WHERE id = 400;
    UPDATE ledger.entries SET memo = 'tampered' WHERE id = 2500;`)
  const checks = parseChecksFile(REALISTIC, checkDialect)
  const hidden = await verify(s, checks)
  const differing = hidden.filter(result => !result.match)
  assert.deepEqual(
    differing.map(result => result.name),
    ['latest order', 'revenue by status', 'ledger'],
    'account 1 is not among the top customers: that check reads nothing that changed'
  )
  for (const result of differing) assert.equal(result.error, undefined)
  const latest = differing[0]
  assert.match(
    latest.difference!,
    /^the rows differ \(1 on each side\) — production 1 row\(s\), hash [0-9a-f]{16}; restored 1 row\(s\), hash [0-9a-f]{16}$/
  )
  assert.doesNotMatch(JSON.stringify(hidden), /19\.5|tampered/, 'no values without show-values')

  const shown = await verify(s, checks, true)
  const latestShown = shown.find(result => result.name === 'latest order')!
  assert.match(latestShown.difference!, /production \(400,1,18\.00,"2025-01-11 06:40:00\+00"\); restored \(400,1,18\.01,/)
  const ledger = shown.find(result => result.name === 'ledger')!
  // 3000 rows: the counts, and the first row that differs in sorted order, read through cursors.
  assert.match(ledger.difference!, /the rows differ \(3000 on each side\)/)
  assert.match(
    ledger.difference!,
    /first differing row \(in sorted order\) #\d+: production \(2500,25\.00,"memo, ""2500"""\), restored \(2500,25\.00,tampered\)/
  )
  assert.deepEqual(ledger.firstDifference?.production, '(2500,25.00,"memo, ""2500""")')
})

test('an ORDER BY makes order part of the answer; without one, order does not matter', async () => {
  // The same owners, ranked differently.
  const s = await sides(`UPDATE public.accounts SET rank = CASE id WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE rank END;`)
  const checks = parseChecksFile(
    `
-- check: ranking
SELECT owner FROM accounts ORDER BY rank;
-- check: owners
SELECT owner FROM accounts;
-- check: ranking inside
SELECT * FROM (SELECT owner FROM accounts ORDER BY rank) AS ranked;
`,
    checkDialect
  )
  const results = await verify(s, checks, true, 5)
  assert.equal(results[0].match, false)
  assert.match(results[0].difference!, /^the same rows in a different order/)
  assert.match(results[0].difference!, /first differing row \(in the query's order\) #1: production owner 1, restored owner 2/)
  assert.equal(results[1].match, true)
  assert.equal(results[2].match, true, 'an ORDER BY inside parentheses does not order the result')
})

test('a check that cannot run is an error naming the check, the side and the message, and later checks still run', async () => {
  const s = await sides('CREATE TABLE public.only_restored (id int);')
  const checks = parseChecksFile(
    `
-- check: unknown table
SELECT count(*) FROM public.no_such_table;
-- check: only in the copy
SELECT count(*) FROM public.only_restored;
-- check: too slow
-- timeout: 0.2
SELECT pg_sleep(3);
-- check: still fine
SELECT count(*) FROM accounts;
`,
    checkDialect
  )
  const results = await verify(s, checks)
  assert.equal(results[0].error, true)
  assert.match(
    results[0].difference!,
    /^could not run on production: relation "public\.no_such_table" does not exist; could not run on the restored copy: relation "public\.no_such_table" does not exist$/
  )
  assert.equal(results[1].error, true)
  assert.match(results[1].difference!, /^could not run on production: relation "public\.only_restored" does not exist$/)
  assert.equal(results[2].error, true)
  assert.match(results[2].difference!, /could not run on production: canceling statement due to statement timeout/)
  assert.equal(results[3].match, true, 'the snapshot survives the failures before it')
})

test('production is never written: every kind of write is refused and production stays as it was', async () => {
  const s = await sides()
  const before = await productionState(s.name)
  const marker = path.join(os.tmpdir(), `lazarus-copy-to-program-${process.pid}-${Date.now()}`)
  // Each is handed to the server as one check, bypassing the file parser (which refuses some of
  // them already): the read-only transaction, the subquery and the extended protocol must hold.
  const attempts: Record<string, string> = {
    delete: 'DELETE FROM public.accounts',
    'delete returning': 'DELETE FROM public.accounts RETURNING *',
    update: 'UPDATE public.accounts SET balance = 0 RETURNING id',
    insert: "INSERT INTO public.audit (note) VALUES ('x') RETURNING id",
    truncate: 'TRUNCATE public.audit',
    'create table': 'CREATE TABLE public.intruder (id int)',
    'create table as': 'CREATE TABLE public.intruder AS SELECT 1',
    'select into': 'SELECT 1 AS x INTO public.intruder',
    'drop table': 'DROP TABLE public.audit',
    'alter table': 'ALTER TABLE public.accounts ADD COLUMN x int',
    'for update': 'SELECT id FROM public.accounts FOR UPDATE',
    'for share in a subquery': 'SELECT * FROM (SELECT id FROM public.accounts FOR SHARE) AS s',
    'writing CTE': 'WITH gone AS (DELETE FROM public.accounts RETURNING id) SELECT count(*) FROM gone',
    'function that writes': 'SELECT public.log_visit()',
    'function that asks for read-write': 'SELECT public.sneak_write()',
    nextval: "SELECT nextval('public.orders_id_seq')",
    setval: "SELECT setval('public.orders_id_seq', 1)",
    'read-write transaction': "SELECT set_config('transaction_read_only', 'off', true), public.log_visit()",
    'copy to program': `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`,
    'copy to file': `COPY public.accounts TO '${marker}'`,
    'two statements': 'SELECT 1; DELETE FROM public.accounts',
    'smuggled out of the subquery': 'SELECT 1) AS q; DELETE FROM public.accounts; SELECT (1',
    'comment smuggling': 'SELECT 1 --\n) AS q; DELETE FROM public.accounts; --',
    do: 'DO $$ BEGIN DELETE FROM public.accounts; END $$',
    call: 'CALL public.nothing()',
    'lock table': 'LOCK TABLE public.accounts',
    vacuum: 'VACUUM public.accounts'
  }
  for (const [name, sql] of Object.entries(attempts)) {
    const check: CheckDefinition = { name, sql, ordered: false, timeoutSeconds: 10, line: 1 }
    const answer = await answerCheck(checkSide(s.production), check, 0)
    assert.ok(answer.error, `${name} was refused`)
  }
  // The first check the file parser lets through is refused too, with the server's reason.
  const forUpdate = await answerCheck(
    checkSide(s.production),
    { name: 'f', sql: 'SELECT id FROM public.accounts FOR UPDATE', ordered: false, timeoutSeconds: 10, line: 1 },
    0
  )
  assert.match(forUpdate.error!, /cannot execute SELECT FOR UPDATE in a read-only transaction/)
  const writes = await answerCheck(
    checkSide(s.production),
    { name: 'w', sql: 'SELECT public.log_visit()', ordered: false, timeoutSeconds: 10, line: 1 },
    0
  )
  assert.match(writes.error!, /cannot execute INSERT in a read-only transaction/)
  const smuggled = await answerCheck(
    checkSide(s.production),
    { name: 's', sql: 'SELECT 1) AS q; DELETE FROM public.accounts; SELECT (1', ordered: false, timeoutSeconds: 10, line: 1 },
    0
  )
  assert.match(smuggled.error!, /cannot insert multiple commands into a prepared statement/)
  // And the snapshot still answers, unchanged.
  const fine = await answerCheck(
    checkSide(s.production),
    { name: 'ok', sql: 'SELECT count(*) FROM public.audit', ordered: false, timeoutSeconds: 10, line: 1 },
    1
  )
  assert.deepEqual(fine.sample, ['(0)'])
  assert.equal(existsSync(marker), false, 'COPY ... TO PROGRAM never ran')
  assert.equal(await productionState(s.name), before, 'production is unchanged')
})

test('a check cannot change the session for the checks after it', async () => {
  const s = await sides()
  const checks = parseChecksFile(
    `
-- check: change the time zone
SELECT set_config('TimeZone', 'Asia/Tokyo', false), set_config('search_path', 'ledger', false);
-- check: a timestamp
SELECT placed_at FROM orders WHERE id = 1;
`,
    checkDialect
  )
  const answers = await answerChecks(checkSide(s.production), checks, 1)
  assert.deepEqual(answers[1].sample, ['("2025-01-01 00:37:00+00")'])
})
