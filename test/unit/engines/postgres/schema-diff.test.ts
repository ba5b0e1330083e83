import { test } from 'node:test'
import assert from 'node:assert/strict'
import { diffSchema, type SchemaObject } from '../../../../src/engines/postgres/schema-fingerprint.js'
import { compareSequences, type SequenceBehindData, type SequenceValue } from '../../../../src/verification/sequence-check.js'

const object = (kind: SchemaObject['kind'], name: string, definition: string): SchemaObject => ({ kind, name, definition })

test('diffSchema names changed, missing and extra objects, sorted by kind then name', () => {
  const production = [
    object('index', 'public.b_idx', 'CREATE INDEX b_idx ON public.t USING btree (b)'),
    object('column', 'public.t.b', 'integer DEFAULT 0'),
    object('column', 'public.t.a', 'integer NOT NULL'),
    object('index', 'public.a_idx', 'CREATE INDEX a_idx ON public.t USING btree (a)'),
    object('comment', 'table public.t', 'the table')
  ]
  const restored = [
    object('column', 'public.t.a', 'integer NOT NULL'),
    object('column', 'public.t.b', 'integer DEFAULT 1'),
    object('comment', 'table public.t', 'the table'),
    object('index', 'public.c_idx', 'CREATE INDEX c_idx ON public.t USING btree (b)')
  ]
  assert.deepEqual(diffSchema(production, restored), [
    { kind: 'column', name: 'public.t.b', production: 'integer DEFAULT 0', restored: 'integer DEFAULT 1' },
    { kind: 'index', name: 'public.a_idx', production: 'CREATE INDEX a_idx ON public.t USING btree (a)', restored: null },
    { kind: 'index', name: 'public.b_idx', production: 'CREATE INDEX b_idx ON public.t USING btree (b)', restored: null },
    { kind: 'index', name: 'public.c_idx', production: null, restored: 'CREATE INDEX c_idx ON public.t USING btree (b)' }
  ])
})

test('diffSchema: identical schemas in any order have no difference; kind is part of the identity', () => {
  const production = [object('view', 'public.v', 'SELECT 1'), object('materialized view', 'public.v', 'SELECT 1')]
  assert.deepEqual(diffSchema(production, [...production].reverse()), [])
  assert.deepEqual(diffSchema(production, [object('view', 'public.v', 'SELECT 1')]), [
    { kind: 'materialized view', name: 'public.v', production: 'SELECT 1', restored: null }
  ])
})

test('diffSchema keeps every definition of objects that share a name', () => {
  const production = [object('constraint', 'public.t.c', 'CHECK (a > 0)'), object('constraint', 'public.t.c', 'CHECK (b > 0)')]
  assert.deepEqual(diffSchema(production, [...production].reverse()), [])
  assert.deepEqual(diffSchema(production, [object('constraint', 'public.t.c', 'CHECK (b > 0)')]), [
    { kind: 'constraint', name: 'public.t.c', production: 'CHECK (a > 0)\nCHECK (b > 0)', restored: 'CHECK (b > 0)' }
  ])
})

const at = (name: string, lastValue: number, isCalled = true, increment = 1): SequenceValue => ({
  name,
  lastValue: String(lastValue),
  isCalled,
  increment: String(increment)
})

test('compareSequences accepts any position production passed through during the dump, and only those', () => {
  const before = [at('s', 100)]
  const after = [at('s', 130)]
  for (const ok of [at('s', 100), at('s', 101, false), at('s', 117), at('s', 130)]) {
    assert.deepEqual(compareSequences(before, after, [ok], []), [], `${ok.lastValue} ${ok.isCalled}`)
  }
  assert.deepEqual(compareSequences(before, after, [at('s', 100, false)], []), [
    {
      kind: 'sequence',
      name: 's',
      production: 'last_value 100 (called) before the dump, last_value 130 (called) after',
      restored: 'last_value 100 (not called)'
    }
  ])
  assert.equal(compareSequences(before, after, [at('s', 131, false)], []).length, 1)
  assert.deepEqual(compareSequences([at('s', 120)], [at('s', 120)], [at('s', 1, false)], []), [
    { kind: 'sequence', name: 's', production: 'last_value 120 (called)', restored: 'last_value 1 (not called)' }
  ])
})

test('compareSequences mirrors the window for descending sequences and wraps it when production went back', () => {
  const down = (value: number, isCalled = true) => at('d', value, isCalled, -5)
  assert.deepEqual(compareSequences([down(-10)], [down(-40)], [down(-25)], []), [])
  assert.deepEqual(compareSequences([down(-10)], [down(-40)], [down(-15, false)], []), [])
  assert.equal(compareSequences([down(-10)], [down(-40)], [down(-5)], []).length, 1)
  assert.equal(compareSequences([down(-10)], [down(-40)], [down(-45)], []).length, 1)
  // A cycle (or a reset) during the dump: before 990, after 10.
  assert.deepEqual(compareSequences([at('c', 990)], [at('c', 10)], [at('c', 995)], []), [])
  assert.deepEqual(compareSequences([at('c', 990)], [at('c', 10)], [at('c', 3)], []), [])
  assert.equal(compareSequences([at('c', 990)], [at('c', 10)], [at('c', 500)], []).length, 1)
})

test('compareSequences: missing, extra, born or gone during the dump', () => {
  assert.deepEqual(compareSequences([at('gone', 5)], [at('gone', 5)], [], []), [
    { kind: 'sequence', name: 'gone', production: 'last_value 5 (called)', restored: null }
  ])
  assert.deepEqual(compareSequences([], [], [at('extra', 1, false)], []), [
    { kind: 'sequence', name: 'extra', production: null, restored: 'last_value 1 (not called)' }
  ])
  // Created after pg_dump's snapshot: rightly absent; dropped during the dump: may be either.
  assert.deepEqual(compareSequences([], [at('born', 3)], [], []), [])
  assert.deepEqual(compareSequences([], [at('born', 3)], [at('born', 2)], []), [])
  assert.deepEqual(compareSequences([at('died', 3)], [], [], []), [])
  assert.equal(compareSequences([], [at('born', 3)], [at('born', 4)], []).length, 1)
})

test('compareSequences reports a sequence behind its data, unless production is behind the same way', () => {
  const behind: SequenceBehindData[] = [{ name: 's', column: 'public.t.id', nextValue: '121', maxInColumn: '500' }]
  const values = [at('s', 120)]
  assert.deepEqual(compareSequences(values, values, values, behind), [
    {
      kind: 'sequence',
      name: 's',
      production: 'last_value 120 (called)',
      restored: 'last_value 120 (called): next value 121, but public.t.id already holds 500'
    }
  ])
  assert.deepEqual(compareSequences(values, values, values, behind, behind), [])
})
