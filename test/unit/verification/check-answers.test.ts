import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareCheck, type CheckAnswer } from '../../../src/verification/check-answers.js'
import { parseRecordText } from '../../../src/engines/postgres/check-queries.js'
import type { CheckDefinition } from '../../../src/verification/checks-file.js'
import { judgeVerified, failureMessage, type Report } from '../../../src/report/report.js'
import { renderSummary } from '../../../src/report/summary.js'

const check = (extra: Partial<CheckDefinition> = {}): CheckDefinition => ({
  name: 'revenue',
  sql: 'SELECT 1',
  ordered: false,
  timeoutSeconds: 300,
  line: 1,
  ...extra
})

const answer = (extra: Partial<CheckAnswer> = {}): CheckAnswer => ({
  rows: 1,
  columns: ['sum numeric'],
  multisetHash: 'aaaa',
  orderedHash: 'bbbb',
  sample: ['(1042.50)'],
  asExpected: false,
  ...extra
})

const hidden = { showValues: false, maxRows: 20, rowValues: parseRecordText }
const shown = { showValues: true, maxRows: 20, rowValues: parseRecordText }

test('record text splits into fields as record_out writes them', () => {
  assert.deepEqual(parseRecordText('(1,"a b",,"","say ""hi"" \\\\ there")'), ['1', 'a b', null, '', 'say "hi" \\ there'])
  assert.deepEqual(parseRecordText('()'), [])
  assert.deepEqual(parseRecordText('("(1,2)")'), ['(1,2)'])
})

test('equal answers match; the values stay out of the report unless show-values allows them', () => {
  const same = compareCheck(check(), answer(), answer(), hidden)
  assert.equal(same.match, true)
  assert.equal(same.difference, undefined)
  assert.deepEqual(same.production, { rows: 1, columns: ['sum numeric'], hash: 'aaaa' })
  assert.equal(JSON.stringify(same).includes('1042'), false)
  const withValues = compareCheck(check(), answer(), answer(), shown)
  assert.deepEqual(withValues.production.values, ['1042.50'])
})

test('different answers name both, or only counts and hashes without show-values', () => {
  const restored = answer({ multisetHash: 'cccc', orderedHash: 'dddd', sample: ['(1041.50)'] })
  const hiddenResult = compareCheck(check(), answer(), restored, hidden)
  assert.equal(hiddenResult.match, false)
  assert.equal(hiddenResult.error, undefined)
  assert.equal(
    hiddenResult.difference,
    'the rows differ (1 on each side) — production 1 row(s), hash aaaa; restored 1 row(s), hash cccc'
  )
  assert.equal(JSON.stringify(hiddenResult).includes('1041'), false)
  const shownResult = compareCheck(check(), answer(), restored, shown)
  assert.equal(shownResult.difference, 'the rows differ (1 on each side) — production 1042.50; restored 1041.50')
  const fewer = compareCheck(check(), answer({ rows: 3 }), answer({ rows: 2 }), hidden)
  assert.match(fewer.difference!, /^production returned 3 row\(s\), the restored copy 2/)
})

test('an ordered check tells a reordering from different rows; a multiset ignores order', () => {
  const reordered = answer({ orderedHash: 'eeee' })
  assert.equal(compareCheck(check(), answer(), reordered, hidden).match, true)
  const ordered = compareCheck(check({ ordered: true }), answer(), reordered, hidden)
  assert.equal(ordered.match, false)
  assert.match(ordered.difference!, /^the same rows in a different order/)
  assert.equal(ordered.production.hash, 'bbbb')
})

test('columns must agree by name and type', () => {
  const result = compareCheck(check(), answer(), answer({ columns: ['sum text'] }), hidden)
  assert.match(result.difference!, /^columns differ: production \(sum numeric\), restored \(sum text\)/)
})

test('-- expect: both sides must return exactly that one value', () => {
  const expecting = check({ expect: '1042.50' })
  assert.equal(compareCheck(expecting, answer({ asExpected: true }), answer({ asExpected: true }), hidden).match, true)
  const wrong = compareCheck(expecting, answer({ asExpected: true }), answer({ asExpected: false }), hidden)
  assert.match(wrong.difference!, /the restored copy did not return the expected 1042\.50/)
  assert.doesNotMatch(wrong.difference!, /production did not/)
  // Both sides agree, but not with the file: still a mismatch, on both sides.
  const both = compareCheck(expecting, answer(), answer(), hidden)
  assert.match(both.difference!, /production did not return the expected 1042\.50.*the restored copy did not/)
  // Two columns, or two rows, never satisfy an expectation even if the server compared equal.
  const twoColumns = answer({ asExpected: true, columns: ['a int4', 'b int4'] })
  assert.equal(compareCheck(expecting, twoColumns, twoColumns, hidden).match, false)
  const twoRows = answer({ asExpected: true, rows: 2 })
  assert.equal(compareCheck(expecting, twoRows, twoRows, hidden).match, false)
  assert.match(compareCheck(check({ expect: null }), answer(), answer(), hidden).difference!, /expected NULL/)
})

test('a check that cannot run is an error naming the side and the server message', () => {
  const result = compareCheck(check(), answer({ error: 'relation "nope" does not exist' }), answer({ error: 'x' }), hidden)
  assert.equal(result.match, false)
  assert.equal(result.error, true)
  assert.equal(
    result.difference,
    'could not run on production: relation "nope" does not exist; could not run on the restored copy: x'
  )
  assert.deepEqual(result.production, { error: 'relation "nope" does not exist' })
})

test('the verdict: a differing check is a mismatch, a failing one an error, and the summary shows both', () => {
  const base: Report = {
    result: 'error',
    verify: 'checksums',
    production: { server: 'p', database: 'd' },
    cleanroom: { server: 'c' },
    sanitized: [],
    tables: [],
    schema: [],
    sabotage: [],
    timings: {},
    startedAt: ''
  }
  const good = compareCheck(check({ name: 'fine' }), answer(), answer(), hidden)
  const bad = compareCheck(check({ name: 'totals <b>' }), answer(), answer({ multisetHash: 'ffff' }), hidden)
  const broken = compareCheck(check({ name: 'broken' }), answer({ error: 'syntax error at or near "FORM"' }), answer(), hidden)
  assert.deepEqual(judgeVerified({ ...base, checks: [good] }), { result: 'verified' })
  const failed = judgeVerified({ ...base, checks: [good, broken] })
  assert.equal(failed.result, 'error')
  assert.equal(failed.error, 'Check \'broken\' could not run on production: syntax error at or near "FORM"')
  const mismatch: Report = { ...base, checks: [good, bad, broken] }
  Object.assign(mismatch, judgeVerified(mismatch))
  assert.equal(mismatch.result, 'mismatch')
  const message = failureMessage(mismatch)!
  assert.match(message, /differs from production in 1 check\(s\): check 'totals <b>' \(the rows differ/)
  assert.match(message, /Check 'broken' could not run on production/)
  const summary = renderSummary(mismatch)
  assert.match(summary, /Checks: 1 of 3 answered alike/)
  assert.match(summary, /totals &#60;b&#62;/)
  assert.doesNotMatch(summary, /<b>/)
  assert.match(summary, /differs from production in 1 check\(s\)/)
  const corrupt: Report = {
    ...base,
    amcheck: {
      indexes: 3,
      tables: 2,
      heapChecked: true,
      findings: [{ kind: 'index', name: 'public.i', message: 'item order invariant violated' }]
    }
  }
  assert.equal(judgeVerified(corrupt).result, 'mismatch')
  assert.match(failureMessage({ ...corrupt, result: 'mismatch' })!, /index public\.i \(amcheck: item order invariant violated\)/)
  assert.match(
    renderSummary({ ...corrupt, result: 'mismatch' }),
    /amcheck: 1 finding\(s\) in 3 B-tree index\(es\) and 2 table\(s\)/
  )
})
