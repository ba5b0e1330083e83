import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { mysql } from '../../../../src/engines/mysql/index.js'
import type { MysqlQueryable } from '../../../../src/engines/mysql/queryable.js'
import { buildSedProgram } from '../../../../src/engines/mysql/sanitize-rules.js'
import { readSchema } from '../../../../src/engines/mysql/schema-queries.js'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from '../../../support/mariadb.js'
import {
  MARIADB_1011,
  MARIADB_SCHEMA_SQL,
  MYSQL_80,
  MYSQL_8_DUMP,
  type Row,
  type ServerRows
} from '../../../support/mysql-schema-rows.js'
import { uniqueName } from '../../../support/shared-servers.js'

// The schema comparison across flavours, on real MariaDB servers: the MariaDB rows of the unit
// tests are what MariaDB 10.11 really returns, and a MySQL 8 production's dump, sanitized for a
// MariaDB clean room and restored there, compares equal to the MySQL 8 production it came from.

let production: MariadbServer
let cleanroom: MariadbServer
const database = uniqueName('mysql_presentation')
const restoredDatabase = uniqueName('mysql_from_mysql8')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-presentation-'))

before(async () => {
  ;[production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  await production.sql(`CREATE DATABASE \`${database}\``)
  await production.sql(MARIADB_SCHEMA_SQL, database)
  await cleanroom.sql(`CREATE DATABASE \`${restoredDatabase}\``)
})

after(async () => {
  await production?.sql(`DROP DATABASE IF EXISTS \`${database}\``)
  await cleanroom?.sql(`DROP DATABASE IF EXISTS \`${restoredDatabase}\``)
  fs.rmSync(work, { recursive: true, force: true })
})

/** What a server of those rows answers readSchema (as in the unit tests). */
function serverOf(rows: ServerRows): MysqlQueryable {
  return {
    async query<T>(sql: string): Promise<T[]> {
      const answer = (list: Row[]) => list as unknown as T[]
      if (/VERSION\(\)/.test(sql)) return answer([{ version: rows.version }])
      if (/TABLE_SCHEMA = 'information_schema'/.test(sql)) {
        return answer(rows.optional.map(name => ({ t: name.split('.')[0], c: name.split('.')[1] })))
      }
      const from = /FROM information_schema\.(\w+)/.exec(sql)?.[1] ?? ''
      const lists: Record<string, Row[] | undefined> = {
        TABLES: rows.tables,
        COLUMNS: rows.columns,
        STATISTICS: rows.statistics,
        TABLE_CONSTRAINTS: rows.constraints,
        KEY_COLUMN_USAGE: rows.constraints,
        VIEWS: rows.views,
        PARAMETERS: rows.parameters,
        ROUTINES: rows.routines,
        GEOMETRY_COLUMNS: rows.geometry ?? [],
        EVENTS: rows.events ?? []
      }
      return answer(lists[from] ?? [])
    }
  }
}

async function readReal(server: MariadbServer, name: string, reportAs = name) {
  const target = mysql.withDatabase(mysql.parseUrl('cleanroom-url', server.url('mysql')), name, reportAs)
  const session = await mysql.openRead(target, 'cleanroom')
  try {
    return await session.readSchema()
  } finally {
    await session.close()
  }
}

test("the unit tests' MariaDB rows are what MariaDB returns for that schema, and it compares equal to MySQL 8's", async () => {
  const real = await readReal(production, database)
  const version = (await production.sql('SELECT VERSION()')).split('\n')[1]
  const tabled = await readSchema(serverOf({ ...MARIADB_1011, version }), 'mariadb', 'shop', '')
  assert.deepEqual(mysql.diffSchema(tabled, real), [])
  assert.deepEqual(mysql.diffSchema(real, tabled), [])
  const mysql80 = await readSchema(serverOf(MYSQL_80), 'mysql', 'shop', '')
  assert.deepEqual(mysql.diffSchema(mysql80, real), [], 'MySQL 8 production, MariaDB copy')
  assert.deepEqual(mysql.diffSchema(real, mysql80), [], 'MariaDB production, MySQL 8 copy')
})

test("a MySQL 8 production's dump, sanitized for MariaDB and restored there, compares equal to production; a changed copy does not", async () => {
  const collations = (
    await cleanroom.sql('SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY')
  )
    .split('\n')
    .slice(1)
    .filter(Boolean)
  const version = (await cleanroom.sql('SELECT VERSION()')).split('\n')[1]
  const program = path.join(work, 'sanitize.sed')
  fs.writeFileSync(
    program,
    buildSedProgram({
      clientFlavour: 'mariadb',
      clientKnowsSandbox: true,
      cleanroom: { flavour: 'mariadb', version, collations },
      removedLinesFile: path.join(work, 'removed'),
      markerFile: path.join(work, 'marker'),
      linesFile: path.join(work, 'lines')
    })
  )
  const sanitized = spawnSync('sed', ['-n', '-E', '-f', program], {
    input: MYSQL_8_DUMP,
    env: { ...process.env, LC_ALL: 'C' },
    encoding: 'utf8'
  })
  assert.equal(sanitized.status, 0, sanitized.stderr)
  assert.match(sanitized.stdout, /KEY `by_created` \(`created`\) IGNORED/)
  await cleanroom.sql(sanitized.stdout, restoredDatabase)

  const mysql8 = await readSchema(serverOf(MYSQL_80), 'mysql', 'shop', '')
  const restored = await readReal(cleanroom, restoredDatabase, 'shop')
  assert.deepEqual(mysql.diffSchema(mysql8, restored), [])

  // A real difference on the copy still shows, across flavours.
  const changes: [change: string, revert: string, expected: string][] = [
    [
      "ALTER TABLE orders ALTER status SET DEFAULT 'done'",
      "ALTER TABLE orders ALTER status SET DEFAULT 'new'",
      'column orders.status'
    ],
    [
      'ALTER TABLE orders MODIFY qty INT UNSIGNED NOT NULL DEFAULT 1',
      'ALTER TABLE orders MODIFY qty SMALLINT UNSIGNED NOT NULL DEFAULT 1',
      'column orders.qty'
    ],
    [
      'ALTER TABLE orders DROP CONSTRAINT qty_positive, ADD CONSTRAINT qty_positive CHECK (qty > 0 AND qty < 100)',
      'ALTER TABLE orders DROP CONSTRAINT qty_positive, ADD CONSTRAINT qty_positive CHECK (qty > 0 AND qty < 1000)',
      'constraint orders.qty_positive'
    ],
    [
      'CREATE OR REPLACE VIEW big AS SELECT id FROM orders WHERE (qty > 1 AND flag = 1) OR yr IS NULL',
      'CREATE OR REPLACE VIEW big AS SELECT id FROM orders WHERE qty > 1 AND (flag = 1 OR yr IS NULL)',
      'view big'
    ],
    [
      'ALTER TABLE orders ALTER INDEX by_created NOT IGNORED',
      'ALTER TABLE orders ALTER INDEX by_created IGNORED',
      'index orders.by_created'
    ],
    [
      "ALTER TABLE orders MODIFY note VARCHAR(20) CHARACTER SET utf8mb4 NULL DEFAULT 'it''s \\\\ ok'",
      "ALTER TABLE orders MODIFY note VARCHAR(20) CHARACTER SET utf8mb3 NULL DEFAULT 'it''s \\\\ ok'",
      'column orders.note'
    ],
    [
      // A column CHECK goes with its column's definition (MariaDB cannot DROP CONSTRAINT it).
      'ALTER TABLE orders MODIFY doc LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
      'ALTER TABLE orders MODIFY doc JSON NULL',
      'column orders.doc'
    ]
  ]
  for (const [change, revert, expected] of changes) {
    await cleanroom.sql(change, restoredDatabase)
    try {
      const differences = mysql.diffSchema(mysql8, await readReal(cleanroom, restoredDatabase, 'shop'))
      assert.deepEqual(
        differences.map(d => `${d.kind} ${d.name}`),
        [expected],
        change
      )
    } finally {
      await cleanroom.sql(revert, restoredDatabase)
    }
  }
  assert.deepEqual(mysql.diffSchema(mysql8, await readReal(cleanroom, restoredDatabase, 'shop')), [], 'every change reverted')
})

test('across flavours, a view whose grouping differs is a difference: LIKE, IN, BETWEEN bind tighter than =, as MariaDB prints them', async () => {
  // MySQL 8 prints every operation in parentheses; MariaDB only those its precedence needs, and
  // in both LIKE/IN/REGEXP bind tighter than BETWEEN, which binds tighter than = (MariaDB
  // sql/item.h enum precedence; MySQL sql_yacc.yy: predicate under bool_pri). So MariaDB prints
  // `a = (b LIKE c)` as `a = b like c`, which is not MySQL's `((a = b) like c)`.
  const name = uniqueName('mysql_grouping')
  await production.sql(`CREATE DATABASE \`${name}\``)
  try {
    await production.sql(MARIADB_SCHEMA_SQL, name)
    const cases: [mysql8: string, mariadb: string, same: boolean][] = [
      ["((`flag` = `qty`) like '1')", "(flag = qty) LIKE '1'", true],
      ["(`flag` = (`qty` like '1'))", "flag = (qty LIKE '1')", true],
      ["((`flag` = `qty`) like '1')", "flag = (qty LIKE '1')", false],
      ["((`flag` = `qty`) not like '1')", "flag = (qty NOT LIKE '1')", false],
      ['((`flag` = `qty`) in (0,1))', 'flag = (qty IN (0,1))', false],
      ['((`flag` = `qty`) between 0 and 1)', 'flag = (qty BETWEEN 0 AND 1)', false],
      ['((`flag` between 0 and 1) = `qty`)', '(flag BETWEEN 0 AND 1) = qty', true],
      ['(`flag` between 0 and (`qty` = 1))', '(flag BETWEEN 0 AND qty) = 1', false],
      ['(`flag` not like (`qty` = 1))', 'flag NOT LIKE (qty = 1)', true],
      ['(`flag` not like (`qty` = 1))', '(flag NOT LIKE qty) = 1', false],
      ['(`flag` not regexp (`qty` = 1))', '(flag NOT REGEXP qty) = 1', false]
    ]
    const wrong: string[] = []
    for (const [printed, definition, same] of cases) {
      await production.sql(`CREATE OR REPLACE VIEW grouped AS SELECT ${definition} AS x FROM orders`, name)
      const mysql8: ServerRows = {
        ...MYSQL_80,
        views: [
          ...MYSQL_80.views,
          {
            ...MYSQL_80.views[0],
            v: 'grouped',
            updatable: 'NO',
            definition: `select ${printed.replace(/`(flag|qty)`/g, '`shop`.`orders`.`$1`')} AS \`x\` from \`shop\`.\`orders\``
          }
        ]
      }
      const differences = mysql.diffSchema(
        await readSchema(serverOf(mysql8), 'mysql', 'shop', ''),
        await readReal(production, name, 'shop')
      )
      const found = differences.map(d => `${d.kind} ${d.name}`)
      if (found.join() !== (same ? '' : 'view grouped'))
        wrong.push(`MySQL 8 ${printed}, MariaDB ${definition}: ${JSON.stringify(differences)}`)
    }
    assert.deepEqual(wrong, [])
  } finally {
    await production.sql(`DROP DATABASE IF EXISTS \`${name}\``)
  }
})

test("across flavours, an event the sanitizer restored DISABLE ON SLAVE matches production's ENABLED; a disabled one does not", async () => {
  // The sanitizer restores every ENABLEd event DISABLE ON SLAVE (restored-status.ts); across
  // flavours the comparison reads each object's portable form, which must say ENABLED too.
  const name = uniqueName('mysql_event')
  await production.sql(`CREATE DATABASE \`${name}\``)
  try {
    await production.sql(MARIADB_SCHEMA_SQL, name)
    const event = (status: string) =>
      `SET time_zone = '+00:00'; SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';
       CREATE OR REPLACE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
       ON COMPLETION PRESERVE ${status} DO SELECT 1`
    const mysql8 = await readSchema(
      serverOf({
        ...MYSQL_80,
        events: [
          {
            name: 'nightly',
            body: 'SELECT 1',
            type: 'RECURRING',
            at: null,
            every: '1',
            unit: 'DAY',
            starts: '2030-01-01 00:00:00',
            ends: null,
            status: 'ENABLED',
            completion: 'PRESERVE',
            sql_mode: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION',
            zone: '+00:00',
            comment: ''
          }
        ]
      }),
      'mysql',
      'shop',
      ''
    )
    const disabled = [{ kind: 'event', name: 'nightly' }]
    await production.sql(event('DISABLE ON SLAVE'), name)
    assert.deepEqual(mysql.diffSchema(mysql8, await readReal(production, name, 'shop'), undefined, disabled), [])
    // Restored DISABLE (not the sanitizer's doing), or without the sanitizer's record: a difference.
    assert.deepEqual(
      mysql.diffSchema(mysql8, await readReal(production, name, 'shop')).map(d => `${d.kind} ${d.name}`),
      ['event nightly']
    )
    await production.sql(event('DISABLE'), name)
    assert.deepEqual(
      mysql.diffSchema(mysql8, await readReal(production, name, 'shop'), undefined, disabled).map(d => `${d.kind} ${d.name}`),
      ['event nightly']
    )
  } finally {
    await production.sql(`DROP DATABASE IF EXISTS \`${name}\``)
  }
})

test("a literal default that holds text like a sequence's qualified name is compared as it is (only an expression's qualifier goes)", async () => {
  // The sanitizer takes `db`. out of `nextval(`db`.`s`)` on a CREATE TABLE's lines, in a string
  // too (sanitize-rules.ts, rule database-name): the schema comparison must then show the changed literal.
  const source = uniqueName('mysql_literal')
  const copy = uniqueName('mysql_literal_copy')
  await production.sql(`CREATE DATABASE \`${source}\``)
  await cleanroom.sql(`CREATE DATABASE \`${copy}\``)
  try {
    await production.sql(`CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(100) DEFAULT 'nextval(\`${source}\`.\`s\`)')`, source)
    await cleanroom.sql("CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(100) DEFAULT 'nextval(`s`)')", copy)
    const differences = mysql.diffSchema(await readReal(production, source, 'shop'), await readReal(cleanroom, copy, 'shop'))
    assert.deepEqual(
      differences.map(d => `${d.kind} ${d.name}`),
      ['column t.note']
    )
    // A sequence's own name in an expression default is still read without production's database.
    await production.sql(`CREATE SEQUENCE s; ALTER TABLE t ALTER note SET DEFAULT (nextval(\`${source}\`.s))`, source)
    await cleanroom.sql('CREATE SEQUENCE s; ALTER TABLE t ALTER note SET DEFAULT (nextval(s))', copy)
    assert.deepEqual(mysql.diffSchema(await readReal(production, source, 'shop'), await readReal(cleanroom, copy, 'shop')), [])
  } finally {
    await production.sql(`DROP DATABASE IF EXISTS \`${source}\``)
    await cleanroom.sql(`DROP DATABASE IF EXISTS \`${copy}\``)
  }
})
