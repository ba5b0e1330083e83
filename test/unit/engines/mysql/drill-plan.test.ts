import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MysqlDrillCatalog } from '../../../../src/engines/mysql/drill-catalog.js'
import { MYSQL_DRILL_OPERATORS, planMysqlDrill } from '../../../../src/engines/mysql/drill-plan.js'

/** The plan, failing with the planner's reason when there is none. */
function planned(operator: string, catalog: MysqlDrillCatalog) {
  const plan = planMysqlDrill(operator, catalog)
  if ('noTarget' in plan) assert.fail(`${operator}: ${plan.noTarget}`)
  return plan
}

/** Why nothing was planned, failing when something was. */
function reason(operator: string, catalog: MysqlDrillCatalog): string {
  const plan = planMysqlDrill(operator, catalog)
  if (!('noTarget' in plan)) assert.fail(`${operator} was planned on ${plan.target}`)
  assert.equal(plan.operator, operator)
  return plan.noTarget
}

const catalog: MysqlDrillCatalog = {
  tables: [
    { table: { schema: 'shop', name: 'orders' }, rows: 3, key: ['id'], columns: ['id', 'total'] },
    { table: { schema: 'shop', name: 'empty' }, rows: 0, key: ['id'], columns: ['id', 'x'] },
    { table: { schema: 'shop', name: 'log' }, rows: 2, key: undefined, columns: ['line'] },
    { table: { schema: 'shop', name: 'keyonly' }, rows: 1, key: ['a'], columns: ['a'] }
  ],
  indexes: [
    { table: 'orders', name: 'customer_fk', unique: false },
    { table: 'orders', name: 'by total', unique: false },
    { table: 'orders', name: 'code_unique', unique: true }
  ],
  constraints: [
    { table: 'orders', name: 'code_unique', type: 'UNIQUE' },
    { table: 'orders', name: 'customer_fk', type: 'FOREIGN KEY' },
    { table: 'orders', name: 'positive', type: 'CHECK' }
  ],
  counters: [{ table: 'orders', column: 'id', next: '4' }]
}

test('each MySQL drill operator is aimed at an object that can take it, named as the verification reports it', () => {
  const plans = Object.fromEntries(MYSQL_DRILL_OPERATORS.map(operator => [operator, planned(operator, catalog)]))
  const aim = (operator: string) => {
    const plan = plans[operator]!
    return { target: plan.target, table: plan.table?.name, object: plan.object }
  }
  assert.deepEqual(aim('drop-row'), { target: 'table keyonly', table: 'keyonly', object: undefined })
  // A keyed row duplicated would fail the restore on its key: only a table without one takes it.
  assert.deepEqual(aim('duplicate-row'), { target: 'table log', table: 'log', object: undefined })
  // A column outside the key, of a keyed table with rows.
  assert.deepEqual(aim('mutate-cell'), { target: 'table orders, column total', table: 'orders', object: undefined })
  assert.deepEqual(aim('truncate'), { target: 'table keyonly', table: 'keyonly', object: undefined })
  // A plain index, not one that backs a constraint.
  assert.deepEqual(aim('drop-index'), {
    target: 'index orders.`by total`',
    table: undefined,
    object: { kind: 'index', name: 'orders.`by total`' }
  })
  assert.deepEqual(aim('drop-constraint'), {
    target: 'constraint orders.customer_fk',
    table: undefined,
    object: { kind: 'constraint', name: 'orders.customer_fk' }
  })
  assert.deepEqual(aim('reset-auto-increment'), {
    target: 'AUTO_INCREMENT of orders.id',
    table: undefined,
    object: { kind: 'sequence', name: 'orders.id' }
  })
  for (const plan of Object.values(plans)) assert.equal(typeof plan!.rewriter.push, 'function')
})

test('an operator with nothing to aim at is not planned, and says precisely why', () => {
  const table = (name: string, rows: number, key: string[] | undefined, columns: string[]) => ({
    table: { schema: 'shop', name },
    rows,
    key,
    columns
  })
  const bare: MysqlDrillCatalog = {
    tables: [table('orders', 0, ['id'], ['id', 'total'])],
    indexes: [],
    constraints: [],
    counters: []
  }
  const reasons = Object.fromEntries(MYSQL_DRILL_OPERATORS.map(operator => [operator, reason(operator, bare)]))
  assert.deepEqual(reasons, {
    'drop-row': 'no table holds any rows',
    'duplicate-row': 'no table holds any rows',
    'mutate-cell': 'no table holds any rows',
    truncate: 'no table holds any rows',
    'drop-index': 'the schema has no index besides primary keys',
    'drop-constraint':
      "the schema has no foreign key, unique or table-level check constraint (a primary key is its table's key, not a constraint the drill drops)",
    'reset-auto-increment': 'no table has an AUTO_INCREMENT column'
  })

  // Tables with rows, each of which rejects a twin row: by its key, or by a unique index that is not one (nullable).
  const keyed: MysqlDrillCatalog = {
    ...bare,
    tables: [table('orders', 2, ['id'], ['id']), table('tags', 1, undefined, ['label'])],
    indexes: [{ table: 'tags', name: 'label_unique', unique: true }]
  }
  assert.equal(
    reason('duplicate-row', keyed),
    'every table with rows has a primary key or a unique index, which would reject a twin row'
  )
  // A keyed table whose only other column is generated (not in `columns`), and a keyless one.
  assert.equal(
    reason('mutate-cell', keyed),
    'no table with rows has a column outside its key that the dump writes (generated columns are computed, not dumped)'
  )
  assert.equal(
    reason('mutate-cell', { ...keyed, tables: [table('tags', 1, undefined, ['label', 'note'])] }),
    'no table with rows has a key (a primary key, or a unique index over NOT NULL columns without prefixes)'
  )
  // Those with rows still take the data operators that need no more.
  for (const operator of ['drop-row', 'truncate']) assert.ok(!('noTarget' in planMysqlDrill(operator, keyed)), operator)
  assert.match(reason('rogue-row', catalog), /^rogue-row is not a drill operator of MySQL\/MariaDB \(drop-row, /)
})
