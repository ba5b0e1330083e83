import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bucketBits, compareKeys, diffMultisets, formatKey } from '../../../src/verification/row-diff.js'

test('keys are shown as PostgreSQL shows them, names quoted where needed', () => {
  assert.equal(formatKey(['id'], ['42']), '(id)=(42)')
  assert.equal(formatKey(['order_id', 'line_no'], ['7', '2']), '(order_id, line_no)=(7, 2)')
  assert.equal(formatKey(['Customer Key', 'x"y'], [`O'Brien, Jr.`, '日本']), `("Customer Key", "x""y")=(O'Brien, Jr., 日本)`)
  assert.equal(formatKey(['id', 'at'], [null, '2024-01-01 00:00:00+00']), '(id, at)=(null, 2024-01-01 00:00:00+00)')
  // A `$` needs no quotes in PostgreSQL's messages; a capital does.
  assert.equal(formatKey(['price$usd', 'Id'], ['1', '2']), '(price$usd, "Id")=(1, 2)')
})

test('about one bucket per thousand rows, in powers of two, one bucket at least, 65,536 at most', () => {
  assert.equal(bucketBits(0), 0)
  assert.equal(bucketBits(1000), 0)
  assert.equal(bucketBits(1001), 1)
  assert.equal(bucketBits(50_000), 6)
  assert.equal(bucketBits(1_000_000), 10)
  assert.equal(bucketBits(1e12), 16)
  assert.equal(bucketBits(Number.NaN), 0)
})

test('keys order integers by value before other text, text byte by byte, NULL last', () => {
  const keys: (string | null)[][] = [['b'], ['10'], [null], ['-3'], ['9'], ['B'], ['é'], ['z'], ['007'], ['7']]
  assert.deepEqual(keys.sort(compareKeys), [['-3'], ['007'], ['7'], ['9'], ['10'], ['B'], ['b'], ['z'], ['é'], [null]])
  assert.ok(compareKeys(['7', '10'], ['7', '9']) > 0)
  assert.ok(compareKeys(['7', 'a'], ['8', '0']) < 0)
  assert.equal(compareKeys(['12345678901234567890123'], ['12345678901234567890123']), 0)
  assert.ok(compareKeys(['12345678901234567890123'], ['12345678901234567890124']) < 0)
})

test('multiset difference counts copies: a doubled row is one extra', () => {
  const bag = (...hashes: string[]) => {
    const counts = new Map<string, number>()
    for (const hash of hashes) counts.set(hash, (counts.get(hash) ?? 0) + 1)
    return counts
  }
  assert.deepEqual(diffMultisets(bag('a', 'b', 'c'), bag('a', 'b', 'b')), { missing: bag('c'), extra: bag('b') })
  assert.deepEqual(diffMultisets(bag('a', 'a', 'a'), bag('a')), { missing: bag('a', 'a'), extra: bag() })
  assert.deepEqual(diffMultisets(bag('a', 'b'), bag('b', 'a')), { missing: bag(), extra: bag() })
})
