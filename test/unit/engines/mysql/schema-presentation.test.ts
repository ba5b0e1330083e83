import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MysqlQueryable } from '../../../../src/engines/mysql/queryable.js'
import {
  canonicalCharset,
  canonicalDefault,
  canonicalExtra,
  canonicalType,
  portableExpression,
  portableType,
  presentationOf
} from '../../../../src/engines/mysql/schema-presentation.js'
import { diffSchema, readSchema } from '../../../../src/engines/mysql/schema-queries.js'
import { MARIADB_1011, MYSQL_57, MYSQL_80, type Row, type ServerRows } from '../../../support/mysql-schema-rows.js'

/** What a session of that server answers to readSchema's statements. */
function serverOf(rows: ServerRows): MysqlQueryable {
  return {
    async query<T>(sql: string): Promise<T[]> {
      const answer = (list: Row[]) => list as unknown as T[]
      if (/VERSION\(\)/.test(sql)) return answer([{ version: rows.version }])
      if (/TABLE_SCHEMA = 'information_schema'/.test(sql)) {
        return answer(rows.optional.map(name => ({ t: name.split('.')[0], c: name.split('.')[1] })))
      }
      const from = /FROM information_schema\.(\w+)/.exec(sql)?.[1]
      switch (from) {
        case 'TABLES':
          return answer(rows.tables)
        case 'COLUMNS':
          return answer(rows.columns)
        case 'STATISTICS':
          return answer(rows.statistics)
        case 'KEY_COLUMN_USAGE': // the constraints' statement reads it first, in a subquery
        case 'TABLE_CONSTRAINTS':
          return answer(rows.constraints)
        case 'VIEWS':
          return answer(rows.views)
        case 'PARAMETERS':
          return answer(rows.parameters)
        case 'ROUTINES':
          return answer(rows.routines)
        case 'GEOMETRY_COLUMNS':
          return answer(rows.geometry ?? [])
        case 'PARTITIONS':
        case 'TRIGGERS':
        case 'EVENTS':
          return []
        default:
          throw new Error(`unexpected statement: ${sql}`)
      }
    }
  }
}

const fingerprint = (rows: ServerRows, database = 'shop') => readSchema(serverOf(rows), rows.flavour, database, '')

/** The rows with one changed: `change(row)` for the row `which` picks in `list`. */
function changed(rows: ServerRows, list: keyof ServerRows, which: (row: Row) => boolean, change: Row): ServerRows {
  return { ...rows, [list]: (rows[list] as Row[]).map(row => (which(row) ? { ...row, ...change } : row)) }
}

test('one schema as MySQL 8.0, MySQL 5.7 and MariaDB 10.11 present it: no difference, either way', async () => {
  const [mysql80, mariadb, mysql57] = await Promise.all([fingerprint(MYSQL_80), fingerprint(MARIADB_1011), fingerprint(MYSQL_57)])
  assert.deepEqual(diffSchema(mysql80, mariadb), [])
  assert.deepEqual(diffSchema(mariadb, mysql80), [])
  // 5.7 has no CHECK, no invisible index and no SRID: only those differ from 8.0.
  const without57 = (list: typeof mysql80) =>
    list.filter(object => !['orders.qty_positive', 'orders.by_created', 'orders.pos'].includes(object.name))
  assert.deepEqual(diffSchema(without57(mysql57), without57(mysql80)), [])
  assert.deepEqual(diffSchema(without57(mariadb), without57(mysql57)), [])
  assert.deepEqual(
    diffSchema(mysql57, mysql80).map(d => [d.kind, d.name]),
    [
      ['column', 'orders.pos'],
      ['constraint', 'orders.qty_positive'],
      ['index', 'orders.by_created']
    ],
    'what 5.7 lacks is a difference, not a pass'
  )
})

test('the canonical definitions say the same thing in one form', async () => {
  const byName = new Map((await fingerprint(MARIADB_1011)).map(object => [`${object.kind} ${object.name}`, object.definition]))
  const mysql = new Map((await fingerprint(MYSQL_80)).map(object => [`${object.kind} ${object.name}`, object.definition]))
  assert.equal(byName.get('column orders.id'), 'type: int; not null: yes; extra: auto_increment; position: 1')
  assert.equal(
    byName.get('column orders.note'),
    'type: varchar(20); default: "it\'s \\\\ ok"; charset: utf8mb3; collation: utf8mb3_general_ci; position: 3'
  )
  assert.equal(
    byName.get('column orders.created'),
    'type: timestamp(3); not null: yes; default expression: "current_timestamp(3)"; extra: on update current_timestamp(3); position: 5'
  )
  assert.equal(byName.get('column orders.doc'), 'type: json; position: 8')
  assert.equal(byName.get('constraint orders.doc'), undefined, "MariaDB's JSON CHECK is its JSON type")
  assert.equal(byName.get('index orders.by_created'), mysql.get('index orders.by_created'))
  // Everything but the expressions each server prints its own way reads the same, canonically.
  const reprinted = ['view big', 'column orders.total', 'column orders.label', 'constraint orders.qty_positive']
  for (const [key, definition] of mysql) if (!reprinted.includes(key)) assert.equal(definition, byName.get(key), key)
  for (const key of reprinted) assert.notEqual(mysql.get(key), byName.get(key), key)
})

test('a real difference is still caught, on one flavour and across flavours', async () => {
  const cases: [what: string, change: (rows: ServerRows) => ServerRows, expected: string][] = [
    [
      'a changed type',
      rows =>
        changed(rows, 'columns', row => row.c === 'qty', {
          type: rows.flavour === 'mysql' ? 'int unsigned' : 'int(10) unsigned'
        }),
      'column orders.qty'
    ],
    [
      'a changed literal default',
      rows => changed(rows, 'columns', row => row.c === 'status', { default: rows.flavour === 'mysql' ? 'done' : "'done'" }),
      'column orders.status'
    ],
    ['a default dropped', rows => changed(rows, 'columns', row => row.c === 'qty', { default: null }), 'column orders.qty'],
    [
      'a literal instead of an expression',
      rows =>
        changed(
          rows,
          'columns',
          row => row.c === 'created',
          rows.flavour === 'mysql'
            ? { default: '2024-01-01 00:00:00.000', extra: 'on update CURRENT_TIMESTAMP(3)' }
            : { default: "'2024-01-01 00:00:00.000'" }
        ),
      'column orders.created'
    ],
    [
      'a collation the sanitizer did not rewrite',
      rows => changed(rows, 'columns', row => row.c === 'status', { collation: 'utf8mb4_unicode_ci' }),
      'column orders.status'
    ],
    [
      'a character set',
      rows => changed(rows, 'columns', row => row.c === 'note', { charset: 'latin1', collation: 'latin1_swedish_ci' }),
      'column orders.note'
    ],
    [
      'nullability',
      rows => changed(rows, 'columns', row => row.c === 'yr', { nullable: 'NO', default: null }),
      'column orders.yr'
    ],
    [
      'a generation expression',
      rows =>
        changed(rows, 'columns', row => row.c === 'total', {
          generated: rows.flavour === 'mysql' ? '(`qty` * 3.5)' : '`qty` * 3.5'
        }),
      'column orders.total'
    ],
    [
      'a CHECK',
      rows =>
        changed(rows, 'constraints', row => row.name === 'qty_positive', {
          clause: rows.flavour === 'mysql' ? '((`qty` > 0) and (`qty` < 100))' : '`qty` > 0 and `qty` < 100'
        }),
      'constraint orders.qty_positive'
    ],
    [
      'a view regrouped',
      rows =>
        changed(rows, 'views', () => true, {
          definition:
            rows.flavour === 'mysql'
              ? 'select `shop`.`orders`.`id` AS `id` from `shop`.`orders` where (((`shop`.`orders`.`qty` > 1) and (`shop`.`orders`.`flag` = 1)) or (`shop`.`orders`.`yr` is null))'
              : 'select `shop`.`orders`.`id` AS `id` from `shop`.`orders` where `shop`.`orders`.`qty` > 1 and `shop`.`orders`.`flag` = 1 or `shop`.`orders`.`yr` is null'
        }),
      'view big'
    ],
    [
      'a NOT ENFORCED CHECK',
      rows =>
        rows.flavour === 'mysql'
          ? changed(rows, 'constraints', row => row.name === 'qty_positive', { enforced: 'NO' })
          : { ...rows, constraints: rows.constraints.filter(row => row.name !== 'qty_positive') },
      'constraint orders.qty_positive'
    ],
    [
      'a visible index',
      rows =>
        changed(
          rows,
          'statistics',
          row => row.i === 'by_created',
          rows.flavour === 'mysql' ? { visible: 'YES' } : { ignored: 'NO' }
        ),
      'index orders.by_created'
    ],
    [
      'an SRID',
      rows =>
        rows.flavour === 'mysql'
          ? changed(rows, 'columns', row => row.c === 'pos', { srid: '3857' })
          : changed(rows, 'geometry', () => true, { srid: '3857' }),
      'column orders.pos'
    ],
    [
      'no SRID',
      rows =>
        rows.flavour === 'mysql' ? changed(rows, 'columns', row => row.c === 'pos', { srid: null }) : { ...rows, geometry: [] },
      'column orders.pos'
    ],
    ['a routine body', rows => changed(rows, 'routines', () => true, { body: 'RETURN x * 3' }), 'function twice'],
    ['a sql_mode', rows => changed(rows, 'routines', () => true, { sql_mode: 'STRICT_TRANS_TABLES' }), 'function twice'],
    ['a parameter type', rows => changed(rows, 'parameters', () => true, { dtd: 'bigint' }), 'function twice'],
    [
      'JSON restored as plain LONGTEXT',
      rows =>
        rows.flavour === 'mysql'
          ? changed(rows, 'columns', row => row.c === 'doc', { type: 'longtext', charset: 'utf8mb4', collation: 'utf8mb4_bin' })
          : { ...rows, constraints: rows.constraints.filter(row => row.name !== 'doc') },
      'column orders.doc'
    ]
  ]
  for (const [what, change, expected] of cases) {
    for (const [production, restored] of [
      [MYSQL_80, MYSQL_80],
      [MARIADB_1011, MARIADB_1011],
      [MYSQL_80, MARIADB_1011],
      [MARIADB_1011, MYSQL_80]
    ]) {
      const differences = diffSchema(await fingerprint(production), await fingerprint(change(restored)))
      assert.ok(
        differences.some(d => `${d.kind} ${d.name}` === expected),
        `${what}, ${production.flavour} into ${restored.flavour}: ${JSON.stringify(differences)}`
      )
    }
  }
})

test('on one flavour and version, a non-default display width is compared; across, it cannot be and is not', async () => {
  const narrow = (rows: ServerRows, type: string) => changed(rows, 'columns', row => row.c === 'id', { type })
  const mariadb = await fingerprint(MARIADB_1011)
  assert.deepEqual(
    diffSchema(mariadb, await fingerprint(narrow(MARIADB_1011, 'int(5)'))).map(d => d.name),
    ['orders.id']
  )
  assert.deepEqual(
    diffSchema(await fingerprint(narrow(MYSQL_57, 'int(5)')), await fingerprint(MYSQL_57)).map(d => d.name),
    ['orders.id']
  )
  // MySQL 8.0.19+ shows no width: MariaDB's int(5) restored there reads `int`.
  assert.deepEqual(diffSchema(await fingerprint(narrow(MARIADB_1011, 'int(5)')), await fingerprint(MYSQL_80)), [])
  // ZEROFILL keeps its width everywhere, and is compared.
  assert.equal(
    diffSchema(
      await fingerprint(narrow(MARIADB_1011, 'int(5) unsigned zerofill')),
      await fingerprint(narrow(MYSQL_80, 'int(6) unsigned zerofill'))
    ).length,
    1
  )
})

test('a CHECK the server named pairs across flavours by table and definition, and only then', async () => {
  // MariaDB production: an unnamed column CHECK is named after its column; MySQL names the restored one orders_chk_1.
  const mariadb = {
    ...MARIADB_1011,
    constraints: [
      ...MARIADB_1011.constraints,
      {
        t: 'orders',
        name: 'note',
        type: 'CHECK',
        clause: "`note` <> ''",
        on_update: null,
        on_delete: null,
        match_option: null,
        columns: null
      }
    ]
  }
  const check = (clause: string) => ({
    ...MYSQL_80,
    constraints: [
      ...MYSQL_80.constraints,
      {
        t: 'orders',
        name: 'orders_chk_1',
        type: 'CHECK',
        clause,
        on_update: null,
        on_delete: null,
        match_option: null,
        enforced: 'YES',
        columns: null
      }
    ]
  })
  assert.deepEqual(diffSchema(await fingerprint(mariadb), await fingerprint(check("(`note` <> _utf8mb4\\'\\')"))), [])
  assert.deepEqual(
    diffSchema(await fingerprint(mariadb), await fingerprint(check("(`note` <> _utf8mb4\\'x\\')"))).map(d => d.name),
    ['orders.note', 'orders.orders_chk_1']
  )
  // On one flavour, names are compared as they are.
  const renamed = {
    ...mariadb,
    constraints: mariadb.constraints.map(row => (row.name === 'note' ? { ...row, name: 'CONSTRAINT_1' } : row))
  }
  assert.equal(diffSchema(await fingerprint(mariadb), await fingerprint(renamed)).length, 2)
})

test('presentations: MySQL 8.0.19+ hides integer widths, 8.0.18, 5.7 and MariaDB show them', () => {
  assert.equal(presentationOf('mysql', '8.0.19').showsIntegerWidths, false)
  assert.equal(presentationOf('mysql', '8.4.3').showsIntegerWidths, false)
  assert.equal(presentationOf('mysql', '8.0.18').showsIntegerWidths, true)
  assert.equal(presentationOf('mysql', '5.7.44-log').showsIntegerWidths, true)
  assert.equal(presentationOf('mariadb', '11.4.2-MariaDB').showsIntegerWidths, true)
  assert.equal(presentationOf('mysql', '8.0.36').key, presentationOf('mysql', '8.4.0').key)
  assert.notEqual(presentationOf('mysql', '5.7.44').key, presentationOf('mysql', '8.4.0').key)
  assert.notEqual(presentationOf('mariadb', '10.6.1').key, presentationOf('mysql', '5.7.44').key)
})

test('the pure rules, one by one', () => {
  assert.equal(canonicalCharset('utf8'), 'utf8mb3')
  assert.equal(canonicalCharset('utf8_general_ci'), 'utf8mb3_general_ci')
  assert.equal(canonicalCharset('utf8mb4_general_ci'), 'utf8mb4_general_ci')
  assert.equal(canonicalCharset('utf8mb3_bin'), 'utf8mb3_bin')
  assert.deepEqual(
    ['int(11)', 'int(10) unsigned', 'bigint(20) unsigned', 'tinyint(4)', 'tinyint(3) unsigned', 'mediumint(9)', 'year(4)'].map(
      canonicalType
    ),
    ['int', 'int unsigned', 'bigint unsigned', 'tinyint', 'tinyint unsigned', 'mediumint', 'year']
  )
  assert.deepEqual(['tinyint(1)', 'int(5)', 'int(10) unsigned zerofill', 'varchar(11)'].map(canonicalType), [
    'tinyint(1)',
    'int(5)',
    'int(10) unsigned zerofill',
    'varchar(11)'
  ])
  assert.deepEqual(['int(5)', 'tinyint(1)', 'int(5) zerofill'].map(portableType), ['int', 'tinyint(1)', 'int(5) zerofill'])
  // MariaDB 10.2.7+: quoted literals, NULL text, bare numbers and bits, expressions.
  assert.deepEqual(canonicalDefault('mariadb', "'a''b\\\\c\\n'", '', 'varchar(5)'), { literal: "a'b\\c\n" })
  assert.deepEqual(canonicalDefault('mariadb', "''", '', 'varchar(5)'), { literal: '' })
  assert.equal(canonicalDefault('mariadb', 'NULL', '', 'int(11)'), undefined)
  assert.equal(canonicalDefault('mariadb', null, '', 'int(11)'), undefined)
  assert.deepEqual(canonicalDefault('mariadb', '-1.50', '', 'decimal(5,2)'), { literal: '-1.50' })
  assert.deepEqual(canonicalDefault('mariadb', "b'101'", '', 'bit(3)'), { literal: "b'101'" })
  assert.deepEqual(canonicalDefault('mariadb', 'current_timestamp()', '', 'datetime'), { expression: 'current_timestamp()' })
  assert.deepEqual(canonicalDefault('mariadb', 'uuid()', '', 'char(36)'), { expression: 'uuid()' })
  assert.deepEqual(canonicalDefault('mariadb', "'NULL'", '', 'varchar(5)'), { literal: 'NULL' })
  // MySQL: bare literals, DEFAULT_GENERATED for expressions, 5.7's unmarked CURRENT_TIMESTAMP.
  assert.deepEqual(canonicalDefault('mysql', 'NULL', '', 'varchar(5)'), { literal: 'NULL' })
  assert.deepEqual(canonicalDefault('mysql', 'CURRENT_TIMESTAMP', 'DEFAULT_GENERATED', 'timestamp'), {
    expression: 'current_timestamp()'
  })
  assert.deepEqual(canonicalDefault('mysql', 'CURRENT_TIMESTAMP', '', 'timestamp'), { expression: 'current_timestamp()' })
  assert.deepEqual(canonicalDefault('mysql', 'CURRENT_TIMESTAMP', '', 'varchar(20)'), { literal: 'CURRENT_TIMESTAMP' })
  assert.deepEqual(canonicalDefault('mysql', 'uuid()', 'DEFAULT_GENERATED', 'char(36)'), { expression: 'uuid()' })
  // DEFAULT ('abc') on a TEXT column (MySQL 8.0.13+) is the literal MariaDB shows as 'abc'.
  assert.deepEqual(canonicalDefault('mysql', "_utf8mb4\\'abc\\'", 'DEFAULT_GENERATED', 'text'), { literal: 'abc' })
  assert.deepEqual(canonicalDefault('mysql', "(_utf8mb4'a''b')", 'DEFAULT_GENERATED', 'text'), { literal: "a'b" })
  assert.deepEqual(canonicalDefault('mariadb', "'abc'", '', 'text'), { literal: 'abc' })
  assert.deepEqual(canonicalDefault('mysql', "concat(_utf8mb4\\'a\\',_utf8mb4\\'b\\')", 'DEFAULT_GENERATED', 'text'), {
    expression: "concat(_utf8mb4\\'a\\',_utf8mb4\\'b\\')"
  })
  assert.equal(canonicalExtra('DEFAULT_GENERATED on update CURRENT_TIMESTAMP'), 'on update current_timestamp()')
  assert.equal(canonicalExtra('on update current_timestamp(6)'), 'on update current_timestamp(6)')
  assert.equal(canonicalExtra('DEFAULT_GENERATED'), null)
  assert.equal(canonicalExtra('STORED GENERATED INVISIBLE'), 'stored generated invisible')
})

test('expressions: how each server prints the same one compares the same; a different grouping does not', () => {
  const same: [mysql: string, mariadb: string][] = [
    ['(`qty` * 2.5)', '`qty` * 2.5'],
    ['((`a` > 1) and (`b` < 2))', '`a` > 1 and `b` < 2'],
    ["(`note` <> _utf8mb4\\'\\')", "`note` <> ''"],
    ["concat(`a`,_utf8mb4\\' \\',`b`)", "concat(`a`,' ',`b`)"],
    ['((`amount` is null) or (`amount` >= 0))', '`amount` is null or `amount` >= 0'],
    ['(`a` in (1,2,3))', '`a` in (1,2,3)'],
    ['(-((`a` + 1)))', '-(`a` + 1)'],
    ['(not((`a` = 1)))', '!(`a` = 1)'.replace('!', 'not ')],
    [
      'select `t`.`a` AS `a` from (`t` join `u` on((`u`.`id` = `t`.`id`))) where (`t`.`a` > 1)',
      'select `t`.`a` AS `a` from `t` join `u` on(`u`.`id` = `t`.`id`) where `t`.`a` > 1'
    ],
    ['year(`taken`)', 'year(`taken`)'],
    ['(now() + interval 1 day)', 'current_timestamp() + interval 1 day'],
    ['now(6)', 'current_timestamp(6)'],
    ['select count(0) AS `n` from `t`', 'select count(*) AS `n` from `t`'],
    ['CURRENT_TIMESTAMP', 'current_timestamp'],
    // LIKE/IN bind tighter than BETWEEN, which binds tighter than = (MariaDB prints by that).
    ['(`a` = (`b` like `c`))', '`a` = `b` like `c`'],
    ['((`a` between 0 and 1) = `b`)', '`a` between 0 and 1 = `b`']
  ]
  for (const [a, b] of same) assert.equal(portableExpression(a), portableExpression(b), `${a} ~ ${b}`)
  const different: [string, string][] = [
    ['((`a` + `b`) * 2)', '`a` + `b` * 2'],
    ['(`a` - (`b` - `c`))', '`a` - `b` - `c`'],
    ['(not((`a` and `b`)))', 'not `a` and `b`'],
    ["(`note` <> _utf8mb4\\'x\\')", "`note` <> ''"],
    ["'A'", "'a'"],
    ['`A`', '`a`'],
    ['(`a` > 1)', '`a` >= 1'],
    ['select count(`x`) AS `n` from `t`', 'select count(*) AS `n` from `t`'],
    ['now(3)', 'current_timestamp(6)'],
    ['((`a` = `b`) like `c`)', '`a` = `b` like `c`'],
    ['((`a` = `b`) not in (1,2))', '`a` = `b` not in (1,2)'],
    ['((`a` = `b`) between 0 and 1)', '`a` = `b` between 0 and 1'],
    ['(`a` between 0 and (`b` = 1))', '`a` between 0 and `b` = 1'],
    ['(`a` not like (`b` = 1))', '`a` not like `b` = 1'],
    ['(`a` sounds like (`b` = 1))', '`a` sounds like `b` = 1']
  ]
  for (const [a, b] of different) assert.notEqual(portableExpression(a), portableExpression(b), `${a} !~ ${b}`)
})

test("a _0900_ collation the clean room knows as an alias (MariaDB 11.4.5+) is that collation; the sanitizer's rewrite still counts", async () => {
  const in0900 = changed(MYSQL_80, 'columns', row => row.c === 'status', { collation: 'utf8mb4_0900_ai_ci' })
  const uca = (name: string) => changed(MARIADB_1011, 'columns', row => row.c === 'status', { collation: name })
  assert.deepEqual(diffSchema(await fingerprint(in0900), await fingerprint(uca('utf8mb4_uca1400_nopad_ai_ci'))), [])
  assert.equal(
    diffSchema(await fingerprint(in0900), await fingerprint(uca('utf8mb4_uca1400_ai_ci'))).length,
    1,
    'PAD SPACE is another collation'
  )
  assert.deepEqual(
    diffSchema(
      await fingerprint(in0900),
      await fingerprint(uca('utf8mb4_unicode_520_nopad_ci')),
      new Map([['utf8mb4_0900_ai_ci', 'utf8mb4_unicode_520_nopad_ci']])
    ),
    []
  )
  // One flavour: names compared as they are.
  assert.equal(diffSchema(await fingerprint(in0900), await fingerprint(MYSQL_80)).length, 1)
})
