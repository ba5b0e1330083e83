import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { postgres } from '../../../../src/engines/postgres/index.js'

// What only PostgreSQL does for each of the drill's copies (Engine.drillCopies), as the one drill
// (run/drill-copies.ts) asks for it.

const copies = postgres.drillCopies
assert.ok(copies, 'PostgreSQL has the drillCopies capability')
const utf8 = { characterSet: 'UTF8', collation: 'C', characterType: 'C' }

test("a rewriter's evidence, read as the dump's bytes, is decoded in the dump's encoding", () => {
  // "café" as UTF-8 bytes, one latin1 character each, as the rewriters read the dump.
  const bytes = Buffer.from('name = café', 'utf8').toString('latin1')
  assert.equal(copies.evidence(bytes, utf8), 'name = café')
  assert.equal(copies.evidence(bytes, { ...utf8, characterSet: 'LATIN1' }), bytes, 'a LATIN1 dump is its bytes')
  assert.equal(copies.evidence('(id)=(3)', utf8), '(id)=(3)')
})

test('the operators that corrupt owners and privileges are named, and only those', () => {
  assert.deepEqual([...copies.privilegeOperators].sort(), ['change-owner', 'drop-grant'])
  for (const operator of copies.privilegeOperators) assert.ok(postgres.drillOperators.includes(operator as never), operator)
})

test("a copy's restore options: the location check the run wrote, the dump's encoding, the limits, the replay", () => {
  const target = parseConnectionUrl('cleanroom-url', 'postgresql://lazarus@127.0.0.1:5433/lazarus_x_drill_drop_row')
  const checkFile = '/work/sabotage-drop-row.sql.check.sql'
  const limits = { lockTimeoutSeconds: 5, serverTimeoutSeconds: 60 }
  const replay = { standIns: new Map([['app', 'lazarus_x_app']]), restoreRole: 'lazarus_x_restore', encoding: 'UTF8' }
  const options = copies.restoreOptions({ target, checkFile, defaults: utf8, limits, replay })
  assert.deepEqual(options, { checkFile, encoding: 'UTF8', limits, replay: { plan: replay, as: target } })
  // The dump's encoding is production's database's, whatever it is.
  assert.equal(
    copies.restoreOptions({ target, checkFile, defaults: { ...utf8, characterSet: 'EUC_JP' }, limits }).encoding,
    'EUC_JP'
  )
  // Without owners and privileges to replay, none is asked for.
  assert.equal('replay' in copies.restoreOptions({ target, checkFile, defaults: utf8, limits }), false)
  // psql never restores a copy unchecked.
  assert.throws(() => copies.restoreOptions({ target, defaults: utf8, limits }), /needs its location check/)
})
