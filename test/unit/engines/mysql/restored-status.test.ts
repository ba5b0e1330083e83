import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mysql } from '../../../../src/engines/mysql/index.js'
import type { SchemaObject } from '../../../../src/engines/types.js'

// Events the sanitizer restored DISABLE ON SLAVE (issue 15): their restored status counts as the
// ENABLE the dump wrote, and only theirs, so that production's status is still compared.

const event = (name: string, status: string): SchemaObject => ({
  kind: 'event',
  name,
  definition: `type: RECURRING; every: 1 DAY; starts: 2030-01-01 00:00:00; status: ${status}; on completion: PRESERVE; body: "SELECT 1"`
})

test("an event the sanitizer disabled matches production's ENABLED; one it did not disable is compared as it is", () => {
  const production = [event('nightly', 'ENABLED'), event('`we ird`', 'ENABLED'), event('off', 'DISABLED')]
  const restored = [event('nightly', 'SLAVESIDE_DISABLED'), event('`we ird`', 'REPLICA_SIDE_DISABLED'), event('off', 'DISABLED')]
  const disabled = [
    { kind: 'event', name: 'nightly' },
    { kind: 'event', name: '`we ird`' }
  ]
  assert.deepEqual(mysql.diffSchema(production, restored, undefined, disabled), [])
  // Without the sanitizer's record, the restored status differs: it is compared, not ignored.
  assert.deepEqual(
    mysql.diffSchema(production, restored).map(difference => difference.name),
    ['`we ird`', 'nightly']
  )
})

test("a backup that lost an event's status still shows, with the restored copy's definition as it is", () => {
  // Production has it DISABLE ON SLAVE; the dump said ENABLE (so the sanitizer disabled it): a difference.
  const production = [event('e', 'SLAVESIDE_DISABLED')]
  const restored = [event('e', 'SLAVESIDE_DISABLED')]
  const differences = mysql.diffSchema(production, restored, undefined, [{ kind: 'event', name: 'e' }])
  assert.equal(differences.length, 1)
  assert.match(differences[0].production!, /status: SLAVESIDE_DISABLED/)
  assert.match(differences[0].restored!, /status: SLAVESIDE_DISABLED/)
  // Production ENABLED, the dump DISABLE: not rewritten, and the difference shows.
  assert.equal(mysql.diffSchema([event('e', 'ENABLED')], [event('e', 'DISABLED')], undefined, []).length, 1)
  // Only events: a table of the same name is not touched.
  const table = { kind: 'table', name: 'e', definition: 'status: SLAVESIDE_DISABLED' }
  assert.equal(
    mysql.diffSchema([{ ...table, definition: 'status: ENABLED' }], [table], undefined, [{ kind: 'event', name: 'e' }]).length,
    1
  )
})
