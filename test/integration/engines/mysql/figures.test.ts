import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { mysql } from '../../../../src/engines/mysql/index.js'
import type { MysqlTable } from '../../../../src/engines/mysql/figure-queries.js'
import type { SeamSession } from '../../../../src/engines/types.js'
import { pinDifferingRows } from '../../../../src/verification/row-diff.js'
import { compareSequences } from '../../../../src/verification/sequence-check.js'
import { tableKey } from '../../../../src/util/table-name.js'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from '../../../support/mariadb.js'
import { uniqueName } from '../../../support/shared-servers.js'
import { TRICKY_SQL } from './tricky-database.js'

// The same tricky database on production and on the clean room: the engine must see no
// difference, and must see every single change made to the copy afterwards.

let production: MariadbServer
let cleanroom: MariadbServer
const database = uniqueName('mysql_figures')
const copy = uniqueName('mysql_copy')
let prod: SeamSession<MysqlTable>
let restored: SeamSession<MysqlTable>

before(async () => {
  ;[production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  await Promise.all([
    production.sql(`CREATE DATABASE \`${database}\``).then(() => production.sql(TRICKY_SQL, database)),
    cleanroom.sql(`CREATE DATABASE \`${copy}\``).then(() => cleanroom.sql(TRICKY_SQL, copy))
  ])
  prod = await mysql.openRead(mysql.parseUrl('production-url', production.url(database)), 'production')
  const room = mysql.parseUrl('cleanroom-url', cleanroom.url('mysql'))
  restored = await mysql.openRead(mysql.withDatabase(room, copy, database), 'cleanroom')
  await prod.beginSnapshot()
  await prod.releaseSnapshotLock()
})

after(async () => {
  await prod?.close()
  await restored?.close()
  await Promise.all([
    production?.sql(`DROP DATABASE IF EXISTS \`${database}\``),
    cleanroom?.sql(`DROP DATABASE IF EXISTS \`${copy}\``)
  ])
})

async function figuresOf(session: SeamSession<MysqlTable>, name?: string) {
  const tables = (await session.listTables()).filter(table => name === undefined || table.name === name)
  const figures = await session.tablesFigures(tables, true, session === prod)
  return new Map(tables.map((table, i) => [tableKey(table), figures[i]]))
}

test('the same data on two servers: equal tables, counts and checksums, no schema or counter difference', async () => {
  const [mine, theirs] = [await prod.listTables(), await restored.listTables()]
  // The copy reports its tables under production's database name, so that they pair by name.
  assert.deepEqual(theirs, mine)
  assert.deepEqual(
    mine.map(table => table.name),
    ['audit', 'customer', 'invoice', 'measurements', 'nokey', 'order', 'spatial_places', 'types']
  )
  const [a, b] = [await figuresOf(prod), await figuresOf(restored)]
  assert.deepEqual(b, a)
  for (const figures of a.values()) assert.match(figures.checksum!, /^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/)
  assert.equal(a.get(tableKey({ schema: database, name: 'types' }))!.rows, 3)

  const [schemaA, schemaB] = [await prod.readSchema(), await restored.readSchema()]
  assert.ok(schemaA.length > 60, `a fingerprint of ${schemaA.length} objects`)
  for (const kind of ['table', 'column', 'index', 'constraint', 'view', 'function', 'procedure', 'trigger', 'event']) {
    assert.ok(
      schemaA.some(object => object.kind === kind),
      `the fingerprint has a ${kind}`
    )
  }
  assert.deepEqual(mysql.diffSchema(schemaA, schemaB), [])
  // Nothing names the database: the copy's objects carry the same names and definitions.
  assert.ok(schemaA.every(object => !object.name.includes(database) && !object.definition.includes(database)))

  const counters = await prod.readCounters()
  assert.deepEqual(
    counters.map(counter => [counter.name, counter.lastValue]),
    [
      ['audit.id', '5'],
      ['order.select', '5'],
      ['types.id', '4']
    ]
  )
  assert.deepEqual(compareSequences(counters, counters, await restored.readCounters(), await restored.countersBehindData()), [])
})

test('every single changed value changes its table checksum, and only its own (NULL vs empty, bytes, fractions, JSON, spatial, duplicates)', async () => {
  const baseline = await figuresOf(prod)
  const changes: [table: string, change: string, revert: string][] = [
    [
      'order',
      'UPDATE `order` SET `we``ird name` = NULL WHERE `select` = 2',
      "UPDATE `order` SET `we``ird name` = '' WHERE `select` = 2"
    ],
    ['order', 'UPDATE `order` SET note = NULL WHERE `select` = 2', "UPDATE `order` SET note = '' WHERE `select` = 2"],
    [
      'order',
      "UPDATE `order` SET note = 'null name ' WHERE `select` = 3",
      "UPDATE `order` SET note = 'null name' WHERE `select` = 3"
    ],
    ['order', "UPDATE `order` SET note = 'N' WHERE `select` = 1", 'UPDATE `order` SET note = NULL WHERE `select` = 1'],
    [
      'order',
      "UPDATE `order` SET `Ünïcode` = 'emoji 🙂🚁' WHERE `select` = 4",
      "UPDATE `order` SET `Ünïcode` = 'emoji 🙂🚀' WHERE `select` = 4"
    ],
    [
      'order',
      "UPDATE `order` SET `Ünïcode` = 'äöü' WHERE `select` = 1",
      "UPDATE `order` SET `Ünïcode` = 'ÄÖÜ' WHERE `select` = 1"
    ],
    [
      'types',
      "UPDATE types SET moment = '2024-02-29 23:59:59.999998' WHERE id = 1",
      "UPDATE types SET moment = '2024-02-29 23:59:59.999999' WHERE id = 1"
    ],
    [
      'types',
      'UPDATE types SET stamp = stamp + INTERVAL 1 MICROSECOND WHERE id = 1',
      'UPDATE types SET stamp = stamp - INTERVAL 1 MICROSECOND WHERE id = 1'
    ],
    [
      'types',
      'UPDATE types SET amount = amount + 0.0000000001 WHERE id = 1',
      'UPDATE types SET amount = amount - 0.0000000001 WHERE id = 1'
    ],
    [
      'types',
      'UPDATE types SET precise = 2.7182818284590455 WHERE id = 1',
      'UPDATE types SET precise = 2.718281828459045 WHERE id = 1'
    ],
    ['types', 'UPDATE types SET raw = 0x00FF11 WHERE id = 1', 'UPDATE types SET raw = 0x00FF10 WHERE id = 1'],
    ['types', 'UPDATE types SET bin = NULL WHERE id = 3', "UPDATE types SET bin = '' WHERE id = 3"],
    ['types', "UPDATE types SET flags = b'10100' WHERE id = 1", "UPDATE types SET flags = b'10101' WHERE id = 1"],
    [
      'types',
      `UPDATE types SET doc = '{"b": [1, 2, {"c": null}], "a": "y"}' WHERE id = 1`,
      `UPDATE types SET doc = '{"b": [1, 2, {"c": null}], "a": "x"}' WHERE id = 1`
    ],
    [
      'types',
      "UPDATE types SET place = ST_GeomFromText('POINT(1.5 -2.26)') WHERE id = 1",
      "UPDATE types SET place = ST_GeomFromText('POINT(1.5 -2.25)') WHERE id = 1"
    ],
    ['types', "UPDATE types SET mood = 'ok' WHERE id = 1", "UPDATE types SET mood = 'happy' WHERE id = 1"],
    ['types', "UPDATE types SET tags = 'a,b' WHERE id = 1", "UPDATE types SET tags = 'a,c' WHERE id = 1"],
    ['types', 'UPDATE types SET code = NULL WHERE id = 3', "UPDATE types SET code = '' WHERE id = 3"],
    ['types', 'UPDATE types SET big = 1 WHERE id = 3', 'UPDATE types SET big = 0 WHERE id = 3'],
    [
      'types',
      "UPDATE types SET duration = '-838:59:58.999' WHERE id = 1",
      "UPDATE types SET duration = '-838:59:59.000' WHERE id = 1"
    ],
    [
      'nokey',
      'UPDATE nokey SET a = 2, b = NULL WHERE a = 1 LIMIT 1',
      "UPDATE nokey SET a = 1, b = 'x' WHERE a = 2 AND b IS NULL LIMIT 1"
    ],
    ['measurements', 'UPDATE measurements SET value = 1.25 WHERE id = 1', 'UPDATE measurements SET value = 1.5 WHERE id = 1'],
    [
      'invoice',
      'UPDATE invoice SET total = 10.51 WHERE customer_id = 1 AND line_no = 1',
      'UPDATE invoice SET total = 10.50 WHERE customer_id = 1 AND line_no = 1'
    ]
  ]
  for (const [name, change, revert] of changes) {
    const key = tableKey({ schema: database, name })
    await cleanroom.sql(change, copy)
    try {
      const changed = await figuresOf(restored)
      assert.equal(changed.get(key)!.rows, baseline.get(key)!.rows, change)
      assert.notEqual(changed.get(key)!.checksum, baseline.get(key)!.checksum, `${change} changes ${name}'s checksum`)
      for (const [other, figures] of changed)
        if (other !== key) assert.deepEqual(figures, baseline.get(other), `${change}: ${other}`)
    } finally {
      await cleanroom.sql(revert, copy)
    }
    assert.deepEqual((await figuresOf(restored, name)).get(key), baseline.get(key), `${revert} restores ${name}`)
  }
})

test('a missing row and a changed cell are pinned by primary key', async () => {
  const [invoice] = (await prod.listTables()).filter(table => table.name === 'invoice')
  const keys = await prod.primaryKeys()
  assert.deepEqual(keys.get(tableKey(invoice)), ['customer_id', 'line_no'])
  await cleanroom.sql(
    'DELETE FROM invoice WHERE customer_id = 1 AND line_no = 2; UPDATE invoice SET total = 100.00 WHERE customer_id = 2',
    copy
  )
  try {
    const [figures] = await restored.tablesFigures([invoice], true, false)
    assert.equal(figures.rows, 3)
    const key = keys.get(tableKey(invoice))
    const differences = await pinDifferingRows(
      mysql.rowDiffSide(prod, invoice, key),
      mysql.rowDiffSide(restored, invoice, key),
      key,
      { maxRows: 10, showValues: true }
    )
    assert.deepEqual(differences, {
      missing: 1,
      extra: 0,
      changed: 1,
      keys: [
        { change: 'missing', key: '(customer_id, line_no)=(1, 2)', production: '(1, 2, 250.00)' },
        { change: 'changed', key: '(customer_id, line_no)=(2, 1)', production: '(2, 1, 99.99)', restored: '(2, 1, 100.00)' }
      ],
      notListed: 0
    })
  } finally {
    await cleanroom.sql('INSERT INTO invoice VALUES (1, 2, 250.00); UPDATE invoice SET total = 99.99 WHERE customer_id = 2', copy)
  }
})

test('a table without a key gets its differing rows counted, duplicates included', async () => {
  const [nokey] = (await prod.listTables()).filter(table => table.name === 'nokey')
  assert.equal((await prod.primaryKeys()).has(tableKey(nokey)), false)
  await cleanroom.sql("DELETE FROM nokey WHERE a = 1 LIMIT 1; INSERT INTO nokey VALUES (3, 'y')", copy)
  try {
    const differences = await pinDifferingRows(
      mysql.rowDiffSide(prod, nokey, undefined),
      mysql.rowDiffSide(restored, nokey, undefined),
      undefined,
      { maxRows: 10, showValues: false }
    )
    assert.deepEqual({ ...differences, keys: [] }, { missing: 1, extra: 1, changed: 0, keys: [], notListed: 0 })
  } finally {
    await cleanroom.sql("DELETE FROM nokey WHERE a = 3; INSERT INTO nokey VALUES (1, 'x')", copy)
  }
})

test('one changed index, column, constraint, view, routine, trigger, event or partition is a schema difference naming it', async () => {
  const baseline = await prod.readSchema()
  const changes: [change: string, revert: string, expected: [kind: string, name: string][]][] = [
    [
      'ALTER TABLE customer DROP INDEX email_unique, ADD INDEX email_plain (email)',
      'ALTER TABLE customer DROP INDEX email_plain, ADD UNIQUE INDEX email_unique (email)',
      [
        ['constraint', 'customer.email_unique'],
        ['index', 'customer.email_plain'],
        ['index', 'customer.email_unique']
      ]
    ],
    [
      'ALTER TABLE types ALTER INDEX by_moment IGNORED',
      'ALTER TABLE types ALTER INDEX by_moment NOT IGNORED',
      [['index', 'types.by_moment']]
    ],
    [
      'ALTER TABLE invoice ALTER total SET DEFAULT 1.00',
      'ALTER TABLE invoice ALTER total SET DEFAULT 0.00',
      [['column', 'invoice.total']]
    ],
    [
      'ALTER TABLE `order` MODIFY note TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
      'ALTER TABLE `order` MODIFY note TEXT NULL',
      [['column', 'order.note']]
    ],
    [
      'ALTER TABLE invoice DROP FOREIGN KEY invoice_customer; ALTER TABLE invoice ADD CONSTRAINT invoice_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE RESTRICT ON UPDATE RESTRICT',
      'ALTER TABLE invoice DROP FOREIGN KEY invoice_customer; ALTER TABLE invoice ADD CONSTRAINT invoice_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE ON UPDATE RESTRICT',
      [['constraint', 'invoice.invoice_customer']]
    ],
    [
      'ALTER TABLE types DROP CONSTRAINT positive_amount, ADD CONSTRAINT positive_amount CHECK (amount IS NULL OR amount > -1)',
      'ALTER TABLE types DROP CONSTRAINT positive_amount, ADD CONSTRAINT positive_amount CHECK (amount IS NULL OR amount >= 0)',
      [['constraint', 'types.positive_amount']]
    ],
    [
      'CREATE OR REPLACE VIEW big_invoices AS SELECT i.customer_id, i.total, c.email FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.total > 101',
      'CREATE OR REPLACE VIEW big_invoices AS SELECT i.customer_id, i.total, c.email FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.total > 100',
      [['view', 'big_invoices']]
    ],
    [
      'DROP FUNCTION twice; CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC NO SQL RETURN x * 3',
      'DROP FUNCTION twice; CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC NO SQL RETURN x * 2',
      [['function', 'twice']]
    ],
    [
      "DROP TRIGGER order_audit; CREATE TRIGGER order_audit BEFORE INSERT ON `order` FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.`select`))",
      "DROP TRIGGER order_audit; CREATE TRIGGER order_audit AFTER INSERT ON `order` FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.`select`))",
      [['trigger', 'order_audit']]
    ],
    ['ALTER EVENT nightly ENABLE', 'ALTER EVENT nightly DISABLE', [['event', 'nightly']]],
    [
      'ALTER TABLE measurements REORGANIZE PARTITION pmax INTO (PARTITION p2025 VALUES LESS THAN (2026), PARTITION pmax VALUES LESS THAN MAXVALUE)',
      'ALTER TABLE measurements REORGANIZE PARTITION p2025, pmax INTO (PARTITION pmax VALUES LESS THAN MAXVALUE)',
      [['table', 'measurements']]
    ],
    ["ALTER TABLE `order` COMMENT = 'changed'", "ALTER TABLE `order` COMMENT = 'reserved and quoted names'", [['table', 'order']]]
  ]
  for (const [change, revert, expected] of changes) {
    await cleanroom.sql(change, copy)
    try {
      const differences = mysql.diffSchema(baseline, await restored.readSchema())
      assert.deepEqual(
        differences.map(difference => [difference.kind, difference.name]),
        expected,
        change
      )
      for (const difference of differences) assert.notEqual(difference.production, difference.restored)
    } finally {
      await cleanroom.sql(revert, copy)
    }
  }
  assert.deepEqual(mysql.diffSchema(baseline, await restored.readSchema()), [], 'every change reverted')
})

test('a collation the sanitizer rewrote counts as the same; a routine body one side cannot read is not compared', () => {
  const production = [{ kind: 'column', name: 't.c', definition: 'type: varchar(5); collation: utf8mb4_0900_ai_ci; position: 1' }]
  const restoredSchema = [
    { kind: 'column', name: 't.c', definition: 'type: varchar(5); collation: utf8mb4_uca1400_ai_ci; position: 1' }
  ]
  assert.equal(mysql.diffSchema(production, restoredSchema).length, 1)
  assert.deepEqual(mysql.diffSchema(production, restoredSchema, new Map([['utf8mb4_0900_ai_ci', 'utf8mb4_uca1400_ai_ci']])), [])
  const routine = (body: string, security = 'DEFINER') => [
    { kind: 'procedure', name: 'p', definition: `parameters: ; body: ${JSON.stringify(body)}; security: ${security}` }
  ]
  assert.deepEqual(mysql.diffSchema(routine('(not readable by this account)'), routine('BEGIN END')), [])
  assert.equal(mysql.diffSchema(routine('(not readable by this account)'), routine('BEGIN END', 'INVOKER')).length, 1)
  assert.equal(mysql.diffSchema(routine('BEGIN SELECT 1; END'), routine('BEGIN END')).length, 1)
})

test('a counter moved on the copy is a difference; production moving during the dump is not', async () => {
  const before = await prod.readCounters()
  await cleanroom.sql('ALTER TABLE audit AUTO_INCREMENT = 100', copy)
  try {
    const differences = compareSequences(before, before, await restored.readCounters(), await restored.countersBehindData())
    assert.deepEqual(
      differences.map(difference => difference.name),
      ['audit.id']
    )
    const moved = before.map(counter => (counter.name === 'audit.id' ? { ...counter, lastValue: '120' } : counter))
    assert.deepEqual(compareSequences(before, moved, await restored.readCounters(), []), [])
  } finally {
    await cleanroom.sql('DELETE FROM audit WHERE id > 4; ALTER TABLE audit AUTO_INCREMENT = 1', copy)
  }
  assert.deepEqual((await restored.readCounters()).find(counter => counter.name === 'audit.id')?.lastValue, '5')
})

test("the drill's catalog, read in production's snapshot, offers every operator a target that the verification names", async () => {
  const counts = new Map([...(await figuresOf(prod))].map(([key, figures]) => [key, figures.rows ?? 0]))
  const catalog = await mysql.readDrillCatalog(prod, counts)
  const types = catalog.tables.find(entry => entry.table.name === 'types')!
  assert.deepEqual(types.key, ['id'])
  assert.equal(types.rows, 3)
  // Generated columns are computed on restore, never written by the dump: no operator aims at them.
  assert.ok(!types.columns.includes('halved') && !types.columns.includes('label_length'))
  assert.ok(types.columns.includes('doc'))
  assert.ok(catalog.indexes.some(index => index.table === 'types' && index.name === 'by_moment' && !index.unique))
  assert.deepEqual(
    catalog.constraints.map(constraint => `${constraint.type} ${constraint.table}.${constraint.name}`).sort(),
    [
      'CHECK types.positive_amount',
      'FOREIGN KEY invoice.invoice_customer',
      'UNIQUE customer.email_unique',
      'UNIQUE order.by name'
    ].sort()
  )
  assert.deepEqual(
    catalog.counters.map(counter => `${counter.table}.${counter.column}`),
    ['audit.id', 'order.select', 'types.id']
  )
  const schemaNames = new Set((await prod.readSchema()).map(object => `${object.kind} ${object.name}`))
  const counterNames = new Set((await prod.readCounters()).map(counter => `sequence ${counter.name}`))
  for (const operator of mysql.drillOperators) {
    const plan = mysql.planDrill(operator, catalog)
    if ('noTarget' in plan) assert.fail(`${operator}: ${plan.noTarget}`)
    if (plan.object) {
      const name = `${plan.object.kind} ${plan.object.name}`
      assert.ok(schemaNames.has(name) || counterNames.has(name), `${operator}: ${name} is what the verification reports`)
    } else assert.ok(plan.table && counts.has(tableKey(plan.table)), operator)
  }
})
