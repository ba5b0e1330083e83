import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { tableKey } from '../../../src/util/table-name.js'
import { parseConnectionUrl } from '../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import type { Queryable } from '../../../src/engines/postgres/queryable.js'
import { readPrimaryKeys, rowDiffSide } from '../../../src/engines/postgres/row-diff-queries.js'
import { pinDifferingRows, type RowDifferences } from '../../../src/verification/row-diff.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../support/shared-servers.js'

// Production is read the way the pipeline reads it: pinned settings, inside a read-only snapshot.
// The "restored" copy lives on the other server, seeded with the same SQL and then altered.

let production: Cluster
let cleanroom: Cluster
const sessions: DatabaseSession[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
})

after(async () => {
  for (const session of sessions) await session.close()
})

/** Counts what each statement brings back, to show that identical rows stay on the server. */
class CountingQueryable implements Queryable {
  rowsReturned = 0
  statements = 0
  constructor(private readonly inner: Queryable) {}
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async query<T extends Record<string, any> = Record<string, any>>(sql: string, params?: unknown[]): Promise<T[]> {
    const rows = await this.inner.query<T>(sql, params)
    this.statements++
    this.rowsReturned += rows.length
    return rows
  }
}

interface Pair {
  production: CountingQueryable
  restored: CountingQueryable
  productionSession: DatabaseSession
}

/** Both databases from `seed`, then `alter` run on the restored one only. */
async function pair(seed: string, alter: string): Promise<Pair> {
  const name = uniqueName('rowdiff')
  await Promise.all([production.createDatabase(name, seed), cleanroom.createDatabase(name, `${seed}\n${alter}`)])
  const productionSession = await DatabaseSession.open(parseConnectionUrl('production', production.url(name)), 'production')
  sessions.push(productionSession)
  await productionSession.pinSettings()
  await productionSession.beginSnapshot()
  const restoredSession = await DatabaseSession.open(parseConnectionUrl('cleanroom', cleanroom.url(name)), 'cleanroom')
  sessions.push(restoredSession)
  await restoredSession.pinSettings()
  return {
    production: new CountingQueryable(productionSession),
    restored: new CountingQueryable(restoredSession),
    productionSession
  }
}

/** Differences of one table, with the table's columns read (sorted) and its key from production. */
async function differences(
  sides: Pair,
  table: string,
  options: { maxRows?: number; showValues?: boolean; schema?: string } = {}
): Promise<RowDifferences> {
  const schema = options.schema ?? 'public'
  const tables = await sides.productionSession.listTables()
  const ref = tables.find(candidate => candidate.schema === schema && candidate.name === table)
  assert.ok(ref, `${schema}.${table} exists in production`)
  const key = (await readPrimaryKeys(sides.production)).get(tableKey(ref))
  const result = await pinDifferingRows(rowDiffSide(sides.production, ref, key), rowDiffSide(sides.restored, ref, key), key, {
    maxRows: options.maxRows ?? 20,
    showValues: options.showValues ?? false
  })
  // Every statement succeeded: the snapshot transaction is still usable.
  assert.deepEqual(await sides.productionSession.query('SELECT 1 AS one'), [{ one: 1 }])
  return result
}

const ACCOUNTS = `CREATE TABLE public.accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric(10, 2), opened date);
INSERT INTO public.accounts SELECT g, 'customer ' || g, g * 1.5, date '2024-01-01' + g FROM generate_series(1, 100) g;`

test('a changed cell is reported by its key, without values unless asked', async () => {
  const sides = await pair(ACCOUNTS, `UPDATE public.accounts SET name = 'customer 42!' WHERE id = 42;`)
  assert.deepEqual(await differences(sides, 'accounts'), {
    missing: 0,
    extra: 0,
    changed: 1,
    keys: [{ change: 'changed', key: '(id)=(42)' }],
    notListed: 0
  })
  const withValues = await differences(sides, 'accounts', { showValues: true })
  // Columns in checksum order (by name): balance, id, name, opened.
  assert.deepEqual(withValues.keys, [
    {
      change: 'changed',
      key: '(id)=(42)',
      production: '(63.00,42,"customer 42",2024-02-12)',
      restored: '(63.00,42,"customer 42!",2024-02-12)'
    }
  ])
})

test('whatever the table checksum tells apart, the rows tell apart: NULL and empty text, the last float digit', async () => {
  const sides = await pair(
    `CREATE TABLE public.readings (id int PRIMARY KEY, note text, value float8);
     INSERT INTO public.readings VALUES (1, NULL, 0.1), (2, 'x', 0.1), (3, 'y', 0.3);`,
    `UPDATE public.readings SET note = '' WHERE id = 1;
     UPDATE public.readings SET value = 0.1000000000000001 WHERE id = 2;`
  )
  const [table] = await sides.productionSession.listTables()
  const restoredSession = sessions[sessions.length - 1]
  const checksums = [
    await sides.productionSession.tableFigures(table, true, true),
    await restoredSession.tableFigures(table, true, false)
  ]
  assert.notEqual(checksums[0].checksum, checksums[1].checksum)
  assert.deepEqual((await differences(sides, 'readings', { showValues: true })).keys, [
    { change: 'changed', key: '(id)=(1)', production: '(1,,0.1)', restored: '(1,"",0.1)' },
    { change: 'changed', key: '(id)=(2)', production: '(2,x,0.1)', restored: '(2,x,0.1000000000000001)' }
  ])
})

test('a deleted row is missing and an inserted row extra, listed in key order', async () => {
  const sides = await pair(
    ACCOUNTS,
    `DELETE FROM public.accounts WHERE id = 7;
     INSERT INTO public.accounts VALUES (101, 'rogue', 0, NULL);
     UPDATE public.accounts SET opened = NULL WHERE id = 30;`
  )
  const result = await differences(sides, 'accounts', { showValues: true })
  assert.deepEqual(result, {
    missing: 1,
    extra: 1,
    changed: 1,
    keys: [
      { change: 'missing', key: '(id)=(7)', production: '(10.50,7,"customer 7",2024-01-08)' },
      {
        change: 'changed',
        key: '(id)=(30)',
        production: '(45.00,30,"customer 30",2024-01-31)',
        restored: '(45.00,30,"customer 30",)'
      },
      { change: 'extra', key: '(id)=(101)', restored: '(0.00,101,rogue,)' }
    ],
    notListed: 0
  })
})

test('composite keys are shown column by column in key order', async () => {
  const sides = await pair(
    `CREATE TABLE public.order_lines (order_id int, line_no int, sku text, quantity int, PRIMARY KEY (order_id, line_no));
     INSERT INTO public.order_lines SELECT o, l, 'sku-' || o || '-' || l, l FROM generate_series(1, 20) o, generate_series(1, 5) l;`,
    `UPDATE public.order_lines SET quantity = 99 WHERE order_id = 7 AND line_no = 2;
     DELETE FROM public.order_lines WHERE order_id = 12 AND line_no = 5;
     INSERT INTO public.order_lines VALUES (7, 6, 'sku-new', 1);`
  )
  assert.deepEqual(await differences(sides, 'order_lines'), {
    missing: 1,
    extra: 1,
    changed: 1,
    keys: [
      { change: 'changed', key: '(order_id, line_no)=(7, 2)' },
      { change: 'extra', key: '(order_id, line_no)=(7, 6)' },
      { change: 'missing', key: '(order_id, line_no)=(12, 5)' }
    ],
    notListed: 0
  })
})

test('3 differences among 50,000 rows are found without bringing the table into the action', async () => {
  const sides = await pair(
    `CREATE TABLE public.events (id bigint PRIMARY KEY, kind text, payload text);
     INSERT INTO public.events SELECT g, 'kind-' || (g % 7), md5(g::text) FROM generate_series(1, 50000) g;`,
    `UPDATE public.events SET payload = payload || 'x' WHERE id = 12345;
     DELETE FROM public.events WHERE id = 31;
     INSERT INTO public.events VALUES (50001, 'kind-0', 'late');`
  )
  assert.deepEqual(await differences(sides, 'events'), {
    missing: 1,
    extra: 1,
    changed: 1,
    keys: [
      { change: 'missing', key: '(id)=(31)' },
      { change: 'changed', key: '(id)=(12345)' },
      { change: 'extra', key: '(id)=(50001)' }
    ],
    notListed: 0
  })
  // Buckets of about a thousand rows: a few hundred aggregates and three buckets' rows per side.
  for (const side of [sides.production, sides.restored]) {
    assert.ok(side.rowsReturned < 6000, `${side.rowsReturned} rows returned`)
  }
})

test('maxRows caps the list, notListed counts the rest, all are counted', async () => {
  const sides = await pair(ACCOUNTS, `UPDATE public.accounts SET balance = balance + 1 WHERE id % 10 = 3;`)
  const result = await differences(sides, 'accounts', { maxRows: 4 })
  assert.equal(result.changed, 10)
  assert.deepEqual(
    result.keys.map(entry => entry.key),
    ['(id)=(3)', '(id)=(13)', '(id)=(23)', '(id)=(33)']
  )
  assert.equal(result.notListed, 6)
  const none = await differences(sides, 'accounts', { maxRows: 0 })
  assert.deepEqual(none, { missing: 0, extra: 0, changed: 10, keys: [], notListed: 10 })
})

test('a table emptied in the copy counts every row and lists the first keys', async () => {
  const sides = await pair(ACCOUNTS, `TRUNCATE public.accounts;`)
  const result = await differences(sides, 'accounts', { maxRows: 3, showValues: true })
  assert.deepEqual(result, {
    missing: 100,
    extra: 0,
    changed: 0,
    keys: [
      { change: 'missing', key: '(id)=(1)', production: '(1.50,1,"customer 1",2024-01-02)' },
      { change: 'missing', key: '(id)=(2)', production: '(3.00,2,"customer 2",2024-01-03)' },
      { change: 'missing', key: '(id)=(3)', production: '(4.50,3,"customer 3",2024-01-04)' }
    ],
    notListed: 97
  })
})

test('rows listed from the server come in the same key order as rows compared in the action', async () => {
  const codes = ['b', '10', '-3', '9', 'B', 'é', 'z', '007', '7', 'a,b']
  const sides = await pair(
    `CREATE TABLE public.codes (code text PRIMARY KEY);
     INSERT INTO public.codes VALUES ${codes.map(code => `('${code}')`).join(', ')};`,
    `DELETE FROM public.codes;`
  )
  const all = await differences(sides, 'codes', { maxRows: 100 })
  const expected = ['-3', '007', '7', '9', '10', 'B', 'a,b', 'b', 'z', 'é'].map(code => `(code)=(${code})`)
  assert.deepEqual(
    all.keys.map(entry => entry.key),
    expected
  )
  const first = await differences(sides, 'codes', { maxRows: 4 })
  assert.deepEqual(
    first.keys.map(entry => entry.key),
    expected.slice(0, 4)
  )
  assert.equal(first.notListed, 6)
})

test('a capped list merges whole buckets lost in the copy with rows compared one by one', async () => {
  // Deleting every row whose key hash starts with a 0 bit empties whole buckets (listed by the
  // server with a LIMIT); a few changed rows elsewhere are compared in the action.
  const topBit = `('x' || substr(md5(ROW(code)::text), 1, 8))::bit(32)::bigint >> 31`
  const sides = await pair(
    `CREATE TABLE public.codes (code text PRIMARY KEY, n int);
     INSERT INTO public.codes SELECT CASE g % 3 WHEN 0 THEN g::text WHEN 1 THEN '-' || g ELSE 'k' || g END, g
     FROM generate_series(1, 4000) g;`,
    `UPDATE public.codes SET n = -n WHERE code IN (SELECT code FROM public.codes WHERE ${topBit} = 1 AND code LIKE '-%'
                                                ORDER BY code::int LIMIT 3);
     DELETE FROM public.codes WHERE ${topBit} = 0;`
  )
  const all = await differences(sides, 'codes', { maxRows: 10_000 })
  assert.equal(all.changed, 3)
  assert.ok(all.missing > 1500 && all.missing < 2500, `${all.missing} missing`)
  assert.equal(all.keys.length, all.missing + all.changed)
  assert.equal(all.notListed, 0)
  const first = await differences(sides, 'codes', { maxRows: 10 })
  assert.deepEqual(first.keys, all.keys.slice(0, 10))
  assert.deepEqual(new Set(first.keys.map(entry => entry.change)), new Set(['missing', 'changed']))
  assert.equal(first.notListed, all.keys.length - 10)
  // Most negative first: integers by value.
  assert.match(first.keys[0].key, /^\(code\)=\(-(4000|39\d\d)\)$/)
})

test('a table without a key reports a duplicated row as extra and a removed row as missing', async () => {
  const sides = await pair(
    `CREATE TABLE public.log (at date, message text);
     INSERT INTO public.log SELECT date '2024-01-01' + (g % 30), 'message ' || g FROM generate_series(1, 500) g;
     INSERT INTO public.log SELECT date '2024-06-01', 'same' FROM generate_series(1, 3);`,
    `INSERT INTO public.log SELECT * FROM public.log WHERE message = 'message 17';
     DELETE FROM public.log WHERE message = 'message 300';`
  )
  assert.deepEqual(await differences(sides, 'log', { showValues: true }), {
    missing: 1,
    extra: 1,
    changed: 0,
    keys: [],
    notListed: 0
  })
})

test('copies of one row beyond what a bucket holds are still counted exactly', async () => {
  // Every copy hashes alike, so no split can shrink their bucket: it has to be fetched grouped.
  const sides = await pair(
    `CREATE TABLE public.ticks (value int);
     INSERT INTO public.ticks SELECT 1 FROM generate_series(1, 5000);
     INSERT INTO public.ticks SELECT g FROM generate_series(2, 3000) g;`,
    `INSERT INTO public.ticks VALUES (1), (1);
     DELETE FROM public.ticks WHERE value = 2500;`
  )
  assert.deepEqual(await differences(sides, 'ticks'), { missing: 1, extra: 2, changed: 0, keys: [], notListed: 0 })
  // A few levels of aggregates, then one (hash, copies) per distinct row of two buckets: not 8,000 rows.
  for (const side of [sides.production, sides.restored]) assert.ok(side.rowsReturned < 1000, `${side.rowsReturned} rows returned`)
})

test('a key the copy holds twice (its constraint lost) is listed as extra', async () => {
  const sides = await pair(
    ACCOUNTS,
    `ALTER TABLE public.accounts DROP CONSTRAINT accounts_pkey;
     INSERT INTO public.accounts SELECT * FROM public.accounts WHERE id = 55;`
  )
  assert.deepEqual(await differences(sides, 'accounts'), {
    missing: 0,
    extra: 1,
    changed: 0,
    keys: [{ change: 'extra', key: '(id)=(55)' }],
    notListed: 0
  })
})

test('identical tables report nothing', async () => {
  const sides = await pair(ACCOUNTS + `\nCREATE TABLE public.empty (id int PRIMARY KEY);`, '')
  const nothing = { missing: 0, extra: 0, changed: 0, keys: [], notListed: 0 }
  assert.deepEqual(await differences(sides, 'accounts', { showValues: true }), nothing)
  assert.deepEqual(await differences(sides, 'empty'), nothing)
})

test('keys with quotes, commas, parentheses and non-ASCII text are shown as their text', async () => {
  const sides = await pair(
    `CREATE SCHEMA "Sales Data";
     CREATE TABLE "Sales Data"."Customers" ("Customer Key" text PRIMARY KEY, region text NOT NULL, note text,
                                            UNIQUE (region, "Customer Key"));
     INSERT INTO "Sales Data"."Customers" VALUES
       ('O''Brien', 'eu', 'a'), ('Smith, John', 'us', 'b'), ('naïve ☃ 日本', 'jp', 'c'), ('"quoted" (x)', 'us', 'd'),
       ('plain', 'eu', 'e');`,
    `UPDATE "Sales Data"."Customers" SET note = note || '!' WHERE "Customer Key" <> 'plain';`
  )
  const result = await differences(sides, 'Customers', { schema: 'Sales Data', showValues: true })
  assert.equal(result.changed, 4)
  assert.deepEqual(
    result.keys.map(entry => entry.key),
    // Byte order, as COLLATE "C": '"' < 'O' < 'S' < 'n'.
    [
      '("Customer Key")=("quoted" (x))',
      `("Customer Key")=(O'Brien)`,
      '("Customer Key")=(Smith, John)',
      '("Customer Key")=(naïve ☃ 日本)'
    ]
  )
  assert.deepEqual(result.keys[3], {
    change: 'changed',
    key: '("Customer Key")=(naïve ☃ 日本)',
    production: '("naïve ☃ 日本",c,jp)',
    restored: '("naïve ☃ 日本",c!,jp)'
  })
})

test('readPrimaryKeys prefers the primary key, else the narrowest NOT NULL unique index', async () => {
  const sides = await pair(
    `CREATE TABLE public.with_pk (b int, a int, c int UNIQUE NOT NULL, PRIMARY KEY (b, a));
     CREATE TABLE public.with_unique (x int NOT NULL, y int NOT NULL, z int NOT NULL, UNIQUE (y, x), UNIQUE (z));
     CREATE TABLE public.nullable_unique (x int UNIQUE, y int);
     CREATE TABLE public.partial_unique (x int NOT NULL);
     CREATE UNIQUE INDEX ON public.partial_unique (x) WHERE x > 0;
     CREATE TABLE public.expression_unique (x text NOT NULL);
     CREATE UNIQUE INDEX ON public.expression_unique (lower(x));
     CREATE TABLE public.with_include (x int NOT NULL, y int, UNIQUE (x) INCLUDE (y));
     CREATE TABLE public.no_key (x int);`,
    ''
  )
  const keys = await readPrimaryKeys(sides.production)
  const key = (name: string) => keys.get(tableKey({ schema: 'public', name }))
  assert.deepEqual(key('with_pk'), ['b', 'a'])
  assert.deepEqual(key('with_unique'), ['z'])
  assert.deepEqual(key('with_include'), ['x'])
  for (const name of ['nullable_unique', 'partial_unique', 'expression_unique', 'no_key'])
    assert.equal(key(name), undefined, name)
})
