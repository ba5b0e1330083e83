import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MysqlDrillCatalog } from '../../../../src/engines/mysql/drill-catalog.js'
import { MYSQL_DRILL_OPERATORS, planMysqlDrill } from '../../../../src/engines/mysql/drill-plan.js'

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
  const plans = Object.fromEntries(MYSQL_DRILL_OPERATORS.map(operator => [operator, planMysqlDrill(operator, catalog)]))
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

test('an operator with nothing to aim at is not planned', () => {
  const bare: MysqlDrillCatalog = {
    tables: [{ table: { schema: 'shop', name: 'orders' }, rows: 0, key: ['id'], columns: ['id'] }],
    indexes: [],
    constraints: [],
    counters: []
  }
  for (const operator of MYSQL_DRILL_OPERATORS) assert.equal(planMysqlDrill(operator, bare), undefined, operator)
  assert.equal(planMysqlDrill('rogue-row', catalog), undefined)
})
