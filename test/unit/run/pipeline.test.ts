import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SeamDrillPlan } from '../../../src/engines/types.js'
import { copyRestoreError, judgeDrill, type JudgedCopy as CopyVerification } from '../../../src/run/drill-copies.js'
import { batchesOf } from '../../../src/run/pipeline.js'
import type { TableComparison } from '../../../src/verification/compare.js'

// The pure halves of the run: how a drill copy's verification is judged (a plan without an aim of its own), and how
// tables are shared out among the figure sessions.

const plan = (over: Partial<SeamDrillPlan> = {}): SeamDrillPlan => ({
  operator: 'drop-row',
  target: 'shop.orders',
  table: { schema: 'shop', name: 'orders' },
  rewriter: { push: line => [line], result: () => undefined },
  ...over
})

const table = (name: string, production: number, restored: number, sameContent = true): TableComparison => ({
  schema: 'shop',
  name,
  production: { rows: production, checksum: 'a' },
  restored: { rows: restored, checksum: sameContent ? 'a' : 'b' },
  match: production === restored && sameContent,
  ...(production === restored && sameContent
    ? {}
    : { difference: production !== restored ? 'row count differs' : 'content checksum differs' })
})

const verification = (over: Partial<CopyVerification> = {}): CopyVerification => ({ tables: [], schema: [], ...over })

test("a copy's failed restore says the engine's words for it, the right the restore role lacks, and where it stopped", () => {
  const error = 'psql:/work/sabotage-drop-row.sql:77: ERROR:  permission denied for schema audit'
  assert.equal(copyRestoreError({ restoreError: error }, undefined), error)
  assert.equal(copyRestoreError({ restoreError: error }, 'grant it USAGE'), `${error} | grant it USAGE`)
  assert.equal(
    copyRestoreError({ restoreError: error, failedAt: 'while restoring TABLE DATA public.orders' }, 'grant it USAGE'),
    `stopped while restoring TABLE DATA public.orders: ${error} | grant it USAGE`
  )
  assert.equal(copyRestoreError({ restoreError: '' }, undefined), 'the restore failed')
})

test('a drill copy that does not restore is caught by the restore', () => {
  const result = judgeDrill(plan(), 'removed row (id)=(3)', verification({ restoreError: 'ERROR 1062' }), 'checksums')
  assert.deepEqual(
    { detected: result.detected, detectedBy: result.detectedBy, applied: result.applied },
    { detected: true, detectedBy: 'restore', applied: true }
  )
  assert.match(result.evidence, /^removed row \(id\)=\(3\); restore failed: ERROR 1062$/)
})

test('a data drill is caught by the counts or the checksums of its own table only, with the rows pinned', () => {
  const counted = judgeDrill(plan(), 'removed a row', verification({ tables: [table('orders', 5, 4)] }), 'checksums')
  assert.equal(counted.detectedBy, 'counts')
  const mutated = judgeDrill(
    plan({ operator: 'mutate-cell' }),
    'changed a cell',
    verification({
      tables: [
        {
          ...table('orders', 5, 5, false),
          differences: { missing: 0, extra: 0, changed: 1, keys: [{ change: 'changed', key: '(id)=(2)' }], notListed: 0 }
        }
      ]
    }),
    'checksums'
  )
  assert.equal(mutated.detectedBy, 'checksums')
  assert.match(mutated.evidence, /content checksum differs \(changed \(id\)=\(2\)\)/)
  // Another table's difference is no catch of this drill's.
  const elsewhere = judgeDrill(plan(), 'removed a row', verification({ tables: [table('customers', 5, 4)] }), 'checksums')
  assert.equal(elsewhere.detected, false)
  assert.equal(elsewhere.expectedMiss, undefined, 'a miss under checksums is a real miss')
})

test('a schema drill is caught by the difference naming its object; a counter by the sequences', () => {
  const index = judgeDrill(
    plan({ operator: 'drop-index', table: undefined, object: { kind: 'index', name: 'orders.orders_placed' } }),
    'dropped the index',
    verification({ schema: [{ kind: 'index', name: 'orders.orders_placed', production: 'BTREE (placed_at)', restored: null }] }),
    'checksums'
  )
  assert.equal(index.detectedBy, 'schema')
  const counter = judgeDrill(
    plan({ operator: 'reset-auto-increment', table: undefined, object: { kind: 'sequence', name: 'orders.id' } }),
    'AUTO_INCREMENT=1',
    verification({ schema: [{ kind: 'sequence', name: 'orders.id', production: 'last_value 6', restored: 'last_value 1' }] }),
    'checksums'
  )
  assert.equal(counter.detectedBy, 'sequences')
  const otherObject = judgeDrill(
    plan({ operator: 'drop-index', table: undefined, object: { kind: 'index', name: 'orders.orders_placed' } }),
    'dropped the index',
    verification({ schema: [{ kind: 'index', name: 'orders.other', production: 'x', restored: null }] }),
    'checksums'
  )
  assert.equal(otherObject.detected, false)
})

test('under verify: counts, a data drill that keeps every count is an expected miss; a schema drill never is', () => {
  const content = judgeDrill(
    plan({ operator: 'mutate-cell' }),
    'changed a cell',
    verification({ tables: [table('orders', 5, 5)] }),
    'counts'
  )
  assert.equal(content.detected, false)
  assert.match(content.expectedMiss ?? '', /verify: counts/)
  const schema = judgeDrill(
    plan({ operator: 'drop-index', table: undefined, object: { kind: 'index', name: 'orders.i' } }),
    'dropped',
    verification(),
    'counts'
  )
  assert.equal(schema.expectedMiss, undefined)
})

test("a plan that states the judge's aim is judged by it: an owner's difference, not the table's figures", () => {
  const aim = {
    operator: 'change-owner',
    target: 'table public.orders',
    targetDifference: { kind: 'owner', name: 'table public.orders' },
    caughtBy: ['privileges'] as const
  }
  const owner = { kind: 'owner', name: 'table public.orders', production: 'shop', restored: 'lazarus_drill' }
  const caught = judgeDrill(
    plan({ operator: 'change-owner', aim }),
    'owner changed',
    verification({ schema: [owner] }),
    'checksums'
  )
  assert.equal(caught.detected, true)
  assert.equal(caught.detectedBy, 'privileges')
  // Without its aim the same plan would be judged by its table's figures, which did not change.
  const derived = judgeDrill(plan({ operator: 'change-owner' }), 'owner changed', verification({ schema: [owner] }), 'checksums')
  assert.equal(derived.detected, false)
})

test('tables are shared out in order, every one once, in batches that keep every session busy', () => {
  const tables = Array.from({ length: 237 }, (_, i) => i)
  for (const sessions of [1, 2, 3, 8]) {
    const batches = batchesOf(tables, sessions)
    assert.deepEqual(batches.flat(), tables, `${sessions} session(s): all tables, in order`)
    assert.ok(
      batches.every(batch => batch.length >= 1 && batch.length <= 50),
      `${sessions}: batches of 1 to 50`
    )
    assert.ok(batches.length >= Math.min(sessions, tables.length), `${sessions}: at least one batch per session`)
  }
  assert.deepEqual(batchesOf([1, 2, 3], 4), [[1], [2], [3]])
  assert.deepEqual(batchesOf([], 2), [])
})
