import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeDumpText } from '../../../../src/engines/postgres/dump-encoding.js'
import {
  mutateFirstCharacter,
  mutateLastDigit,
  parseCopyHeader,
  parseCreateIndex,
  parseSetval
} from '../../../../src/engines/postgres/dump-lines.js'
import {
  DRILL_OPERATORS,
  chooseRogueRowTarget,
  explainNoTarget,
  planDrill,
  type ColumnInfo,
  type ConstraintInfo,
  type IndexInfo,
  type DrillCatalog,
  type TableShape
} from '../../../../src/engines/postgres/drill-plan.js'
import {
  dropConstraintRewriter,
  dropIndexRewriter,
  dropRowRewriter,
  duplicateRowRewriter,
  mutateCellRewriter,
  mutateFunctionRewriter,
  nullToEmptyRewriter,
  rogueRowRewriter,
  sequenceResetRewriter,
  swapValuesRewriter,
  truncateRewriter,
  type DumpRewriter
} from '../../../../src/engines/postgres/drill-rewriters.js'
import { postgres } from '../../../../src/engines/postgres/index.js'

const int4 = (name: string): ColumnInfo => ({ name, type: 'int4', typtype: 'b', typmod: -1, generated: false })
const text = (name: string): ColumnInfo => ({ name, type: 'text', typtype: 'b', typmod: -1, generated: false })
const nullableText = (name: string, nullFraction?: number): ColumnInfo => ({ ...text(name), notNull: false, nullFraction })
const PK = [{ primary: true, expression: false, columns: ['id'] }]

function shape(partial: Partial<TableShape> & { name: string }): TableShape {
  return { schema: 'public', rows: 10, columns: [int4('id'), text('body')], uniqueIndexes: [], constraints: [], ...partial }
}

function catalog(partial: Partial<DrillCatalog>): DrillCatalog {
  return { tables: [], indexes: [], constraints: [], sequences: [], ...partial }
}

function rewrite(rewriter: DumpRewriter, dump: string[]): string[] {
  return dump.flatMap(line => rewriter.push(line))
}

/** A small plain dump: two tables' data, an index, a foreign key, a sequence. */
const DUMP = [
  'CREATE TABLE public.orders (',
  '    id integer NOT NULL,',
  '    note text',
  ');',
  'COPY public.customers (id, name) FROM stdin;',
  '1\tAda',
  '\\.',
  'COPY public.orders (id, note, total) FROM stdin;',
  '10\t\\\\N not null\t12.50',
  '11\t\\N\t3',
  '12\tplain\t3',
  '\\.',
  "SELECT pg_catalog.setval('public.orders_id_seq', 12, true);",
  'ALTER TABLE ONLY public.orders',
  '    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);',
  'CREATE INDEX orders_note_idx ON public.orders USING btree (note);',
  'ALTER TABLE ONLY public.orders',
  '    ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer) REFERENCES public.customers(id);'
]

test('operators are those of the full drill', () => {
  assert.deepEqual(
    [...DRILL_OPERATORS].sort(),
    [
      'change-owner',
      'drop-constraint',
      'drop-grant',
      'drop-index',
      'drop-row',
      'duplicate-row',
      'mutate-cell',
      'mutate-function',
      'mutate-large-object',
      'null-to-empty',
      'rogue-row',
      'sequence-reset'
    ].concat(['swap-values', 'truncate'])
  )
})

test('parses COPY headers with quoted, mixed-case and spaced identifiers', () => {
  assert.deepEqual(parseCopyHeader('COPY public.orders (id, "Total", "odd ""name""") FROM stdin;'), {
    schema: 'public',
    name: 'orders',
    columns: ['id', 'Total', 'odd "name"']
  })
  assert.deepEqual(parseCopyHeader('COPY "Inventory"."Stock Levels" ("ItemId") FROM stdin;'), {
    schema: 'Inventory',
    name: 'Stock Levels',
    columns: ['ItemId']
  })
  assert.deepEqual(parseCopyHeader('COPY public.empty  FROM stdin;'), { schema: 'public', name: 'empty', columns: [] })
  assert.equal(parseCopyHeader('CREATE TABLE public.x ();'), undefined)
})

test('parses CREATE INDEX and setval lines as pg_dump writes them', () => {
  assert.deepEqual(parseCreateIndex('CREATE INDEX orders_customer_idx ON ONLY sales.orders USING btree (customer_id);'), {
    schema: 'sales',
    table: 'orders',
    name: 'orders_customer_idx'
  })
  assert.deepEqual(parseCreateIndex('CREATE UNIQUE INDEX "Odd Idx" ON "Inventory"."Stock Levels" USING btree ("ItemId");'), {
    schema: 'Inventory',
    table: 'Stock Levels',
    name: 'Odd Idx'
  })
  assert.equal(parseCreateIndex('CREATE TABLE public.x ();'), undefined)
  assert.deepEqual(parseSetval(`SELECT pg_catalog.setval('sales."order notes_id_seq"', 61, true);`), {
    schema: 'sales',
    name: 'order notes_id_seq',
    literal: 'sales."order notes_id_seq"',
    value: '61',
    called: true
  })
  assert.equal(parseSetval(`SELECT pg_catalog.setval('"it''s"."s"', 1, false);`)?.schema, "it's")
  assert.equal(parseSetval('SELECT 1;'), undefined)
})

test('prefers a table with a primary key and gives its key a fresh value', () => {
  const target = chooseRogueRowTarget([shape({ name: 'log' }), shape({ name: 'orders', uniqueIndexes: PK })])
  assert.deepEqual(target, {
    schema: 'public',
    name: 'orders',
    freshColumns: [{ name: 'id', kind: 'integer', maxLength: undefined }]
  })
})

test('skips tables where a fresh key could break the restore', () => {
  const foreignKey = shape({ name: 'a', uniqueIndexes: PK, constraints: [{ type: 'f', columns: ['id'] }], columns: [int4('id')] })
  assert.equal(chooseRogueRowTarget([foreignKey]), undefined)
  assert.equal(
    chooseRogueRowTarget([shape({ name: 'b', uniqueIndexes: [{ primary: false, expression: true, columns: [] }] })]),
    undefined
  )
  assert.equal(
    chooseRogueRowTarget([shape({ name: 'c', uniqueIndexes: PK, constraints: [{ type: 'x', columns: ['body'] }] })]),
    undefined
  )
  assert.equal(chooseRogueRowTarget([shape({ name: 'd', uniqueIndexes: PK, rows: 0 })]), undefined)
  const date: ColumnInfo = { name: 'id', type: 'date', typtype: 'b', typmod: -1, generated: false }
  assert.equal(chooseRogueRowTarget([shape({ name: 'e', uniqueIndexes: PK, columns: [date] })]), undefined)
  assert.equal(chooseRogueRowTarget([shape({ name: 'f', uniqueIndexes: PK, partition: true })]), undefined)
})

test('a keyless table gets one unconstrained column changed', () => {
  const target = chooseRogueRowTarget([shape({ name: 'log', constraints: [{ type: 'c', columns: ['id'] }] })])
  assert.deepEqual(
    target?.freshColumns.map(column => column.name),
    ['body']
  )
})

test('injects one new row at the end of the target COPY block only', () => {
  const rewriter = rogueRowRewriter({ schema: 'public', name: 'orders', freshColumns: [{ name: 'id', kind: 'integer' }] })
  const dump = [
    'COPY public.other (id, note) FROM stdin;',
    '1\tx',
    '\\.',
    'COPY public.orders (note, id) FROM stdin;',
    'first\t7',
    'second\t41',
    'third\t\\N',
    '\\.',
    'SELECT 1;'
  ]
  assert.deepEqual(rewrite(rewriter, dump), [...dump.slice(0, 7), 'first\t42', '\\.', 'SELECT 1;'])
  assert.deepEqual(rewriter.result(), { evidence: '(id)=(42)' })
})

test('reports nothing when the target has no data in the dump', () => {
  const rewriter = rogueRowRewriter({ schema: 'public', name: 'orders', freshColumns: [{ name: 'id', kind: 'integer' }] })
  const dump = ['COPY public.orders (id) FROM stdin;', '\\.']
  assert.deepEqual(rewrite(rewriter, dump), dump)
  assert.equal(rewriter.result(), undefined)
})

test('a row that reads like a COPY header is data, not a block of its own', () => {
  const rewriter = dropRowRewriter({ schema: 'public', name: 'orders' })
  const dump = ['COPY public.notes (body) FROM stdin;', 'COPY public.orders (id) FROM stdin;', '1', '\\.']
  assert.deepEqual(rewrite(rewriter, dump), dump)
  assert.equal(rewriter.result(), undefined)
})

test('text and uuid keys get fresh values that fit the column', () => {
  const rewriter = rogueRowRewriter({
    schema: 's',
    name: 't',
    freshColumns: [
      { name: 'code', kind: 'text', maxLength: 12 },
      { name: 'uid', kind: 'uuid' }
    ]
  })
  const out = rewrite(rewriter, ['COPY s.t (code, uid) FROM stdin;', 'abc\t00000000-0000-0000-0000-000000000001', '\\.'])
  const [code, uid] = out[2].split('\t')
  assert.ok(code.length <= 12 && code !== 'abc', code)
  assert.match(uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('drop-row removes the first row and names it by its key', () => {
  const rewriter = dropRowRewriter({ schema: 'public', name: 'orders' }, ['id'])
  assert.deepEqual(
    rewrite(rewriter, DUMP),
    DUMP.filter((_, i) => i !== 8)
  )
  assert.deepEqual(rewriter.result(), { evidence: 'row (id)=(10) removed' })
  const keyless = dropRowRewriter({ schema: 'public', name: 'orders' })
  rewrite(keyless, DUMP)
  assert.deepEqual(keyless.result(), { evidence: 'row 1 of the data removed' })
})

test('keys in evidence are decoded from COPY text, then from the dump encoding', () => {
  const rewriter = dropRowRewriter({ schema: 'public', name: 't' }, ['code', 'n'])
  const utf8AsLatin1 = Buffer.from('Zoë', 'utf8').toString('latin1')
  rewrite(rewriter, ['COPY public.t (code, n) FROM stdin;', `${utf8AsLatin1}\\ttab\t\\N`, '\\.'])
  const evidence = rewriter.result()!.evidence
  assert.equal(evidence, `row (code, n)=(${utf8AsLatin1}\ttab, NULL) removed`, 'the rewriter speaks bytes')
  assert.equal(decodeDumpText(evidence, 'UTF8'), 'row (code, n)=(Zoë\ttab, NULL) removed')
  // An octal escape is a byte too: \303\253 is ë in UTF-8.
  const escaped = dropRowRewriter({ schema: 'public', name: 't' }, ['code'])
  rewrite(escaped, ['COPY public.t (code) FROM stdin;', 'Zo\\303\\253', '\\.'])
  assert.equal(decodeDumpText(escaped.result()!.evidence, 'UTF8'), 'row (code)=(Zoë) removed')
})

test('dump text decodes in the dump encoding, and stays bytes when it cannot', () => {
  const bytes = (text: string, encoding: BufferEncoding) => Buffer.from(text, encoding).toString('latin1')
  assert.equal(decodeDumpText(bytes('prénom', 'utf8'), 'UTF8'), 'prénom')
  assert.equal(decodeDumpText(bytes('prénom', 'latin1'), 'LATIN1'), 'prénom')
  assert.equal(decodeDumpText(bytes('prénom', 'utf8'), 'SQL_ASCII'), 'prénom')
  assert.equal(decodeDumpText('\xe9\xeb', 'SQL_ASCII'), '\xe9\xeb', 'not UTF-8: the bytes as they are')
  assert.equal(decodeDumpText('\xa4\xa2', 'EUC_JP'), 'あ')
  assert.equal(decodeDumpText('\xe9', 'WIN1252'), 'é')
  assert.equal(decodeDumpText('plain', 'EUC_JP'), 'plain')
  assert.equal(decodeDumpText('\xff\xfe', 'UTF8'), '\xff\xfe', 'invalid UTF-8 stays bytes')
})

test('mutate-cell changes one plain character, never an escape, and keeps the length', () => {
  assert.equal(mutateFirstCharacter('\\\\N not null'), '\\\\O not null')
  assert.equal(mutateFirstCharacter('\\t\\n\\\\z'), '\\t\\n\\\\y')
  assert.equal(mutateFirstCharacter('\\101\\x41é'), undefined)
  assert.equal(mutateFirstCharacter('\\N'), undefined)
  assert.equal(mutateFirstCharacter('— ✓'), undefined)
  assert.equal(mutateFirstCharacter('Z9'), 'Y9')
  assert.equal(mutateLastDigit('12.50'), '12.51')
  assert.equal(mutateLastDigit('32767'), '32766')
  assert.equal(mutateLastDigit('-2147483648'), '-2147483647')
  assert.equal(mutateLastDigit('NaN'), undefined)
  assert.equal(mutateLastDigit('\\N'), undefined)

  const rewriter = mutateCellRewriter(
    { schema: 'public', name: 'orders' },
    [
      { name: 'total', digitsOnly: true },
      { name: 'note', digitsOnly: false }
    ],
    ['id']
  )
  const out = rewrite(rewriter, DUMP)
  assert.deepEqual(out, [...DUMP.slice(0, 8), '10\t\\\\N not null\t12.51', ...DUMP.slice(9)])
  assert.deepEqual(rewriter.result(), { evidence: 'one character of column total changed in row (id)=(10)' })
})

test('mutate-cell skips rows with nothing to change', () => {
  const rewriter = mutateCellRewriter({ schema: 'public', name: 'orders' }, [{ name: 'note', digitsOnly: false }])
  const dump = ['COPY public.orders (note) FROM stdin;', '\\N', '\\\\', 'ok', '\\.']
  assert.deepEqual(rewrite(rewriter, dump), [...dump.slice(0, 3), 'pk', '\\.'])
  assert.deepEqual(rewriter.result(), { evidence: 'one character of column note changed in row 3 of the data' })
})

test('swap-values exchanges a column between two rows that differ elsewhere too', () => {
  const rewriter = swapValuesRewriter({ schema: 'public', name: 'orders' }, ['total', 'note'], ['id'])
  const out = rewrite(rewriter, DUMP)
  // Row 10 waits for its partner; row 11 differs in total, so they exchange it.
  assert.deepEqual(rewriter.result(), { evidence: 'column total exchanged between row (id)=(10) and row (id)=(11)' })
  assert.deepEqual(out.slice(8, 11), ['10\t\\\\N not null\t3', '11\t\\N\t12.50', '12\tplain\t3'])
  assert.equal(out.length, DUMP.length)

  // Rows that differ only in the swapped column would come out the same: never chosen.
  const same = swapValuesRewriter({ schema: 's', name: 't' }, ['b'])
  const dump = ['COPY s.t (a, b) FROM stdin;', 'x\t1', 'x\t2', 'y\t3', '\\.']
  assert.deepEqual(rewrite(same, dump), [dump[0], 'x\t2', 'x\t3', 'y\t1', '\\.'])
  assert.deepEqual(same.result(), { evidence: 'column b exchanged between row 1 of the data and row 3 of the data' })

  // No partner: the held first row is written back unchanged.
  const alone = swapValuesRewriter({ schema: 's', name: 't' }, ['b'])
  const single = ['COPY s.t (a, b) FROM stdin;', 'x\t1', 'x\t1', '\\.']
  assert.deepEqual(rewrite(alone, single), single)
  assert.equal(alone.result(), undefined)
})

test('duplicate-row writes the first row twice', () => {
  const rewriter = duplicateRowRewriter({ schema: 'public', name: 'customers' })
  assert.deepEqual(rewrite(rewriter, DUMP), [...DUMP.slice(0, 6), DUMP[5], ...DUMP.slice(6)])
  assert.deepEqual(rewriter.result(), { evidence: 'row 1 of the data written twice' })
})

test("null-to-empty turns a real NULL into '', not an escaped backslash-N", () => {
  const rewriter = nullToEmptyRewriter({ schema: 'public', name: 'orders' }, ['note'], ['id'])
  assert.deepEqual(rewrite(rewriter, DUMP), [...DUMP.slice(0, 9), '11\t\t3', ...DUMP.slice(10)])
  assert.deepEqual(rewriter.result(), { evidence: "NULL in column note turned into '' in row (id)=(11)" })
})

test('truncate keeps the first rows of the block and drops everything after', () => {
  const rewriter = truncateRewriter({ schema: 'public', name: 'orders' }, 2)
  assert.deepEqual(rewrite(rewriter, DUMP), DUMP.slice(0, 10))
  assert.deepEqual(rewriter.result(), {
    evidence: `dump cut after 2 row(s) of public.orders's data, at line 11: ${DUMP.length - 10} line(s) lost`
  })
  const missing = truncateRewriter({ schema: 'public', name: 'absent' }, 1)
  assert.deepEqual(rewrite(missing, DUMP), DUMP)
  assert.equal(missing.result(), undefined)
})

test('drop-index removes only its own CREATE INDEX statement', () => {
  const rewriter = dropIndexRewriter({ schema: 'public', table: 'orders', name: 'orders_note_idx' })
  assert.deepEqual(
    rewrite(rewriter, DUMP),
    DUMP.filter((_, i) => i !== 15)
  )
  assert.match(rewriter.result()?.evidence ?? '', /^CREATE INDEX orders_note_idx removed from the dump \(line 16\)$/)
  const elsewhere = dropIndexRewriter({ schema: 'other', table: 'orders', name: 'orders_note_idx' })
  assert.deepEqual(rewrite(elsewhere, DUMP), DUMP)
  assert.equal(elsewhere.result(), undefined)
})

test('drop-constraint removes both lines of its ALTER TABLE and keeps the others', () => {
  const rewriter = dropConstraintRewriter({ schema: 'public', table: 'orders', name: 'orders_customer_fkey', type: 'f' })
  assert.deepEqual(rewrite(rewriter, DUMP), DUMP.slice(0, 16))
  assert.deepEqual(rewriter.result(), {
    evidence: 'ADD CONSTRAINT orders_customer_fkey (FOREIGN KEY) removed from the dump (lines 17-18)'
  })

  // pg_dump writes no ONLY for a partitioned table's foreign key; a line break may split a check.
  const partitioned = dropConstraintRewriter({ schema: 'sales', table: 'Orders', name: 'c' })
  const dump = ['ALTER TABLE sales."Orders"', "    ADD CONSTRAINT c CHECK ((note <> 'a", "b'::text)) NOT VALID;", 'SELECT 1;']
  assert.deepEqual(rewrite(partitioned, dump), ['SELECT 1;'])
})

test('sequence-reset sets its sequence back to the start, as never called', () => {
  const rewriter = sequenceResetRewriter({ schema: 'public', name: 'orders_id_seq', startValue: '1' })
  const out = rewrite(rewriter, DUMP)
  assert.deepEqual(out, [...DUMP.slice(0, 12), "SELECT pg_catalog.setval('public.orders_id_seq', 1, false);", ...DUMP.slice(13)])
  assert.deepEqual(rewriter.result(), { evidence: 'setval of public.orders_id_seq changed from 12 to 1 (not called)' })
})

test('planning: drop-row only where no foreign key points', () => {
  const referenced = shape({ name: 'a', uniqueIndexes: PK, referencedBy: ['public.b.b_a_fkey'] })
  const free = shape({ name: 'b', uniqueIndexes: PK, referencedBy: [] })
  const keyless = shape({ name: 'aa', referencedBy: [] })
  const plan = planDrill('drop-row', catalog({ tables: [keyless, referenced, free] }))
  assert.equal(plan?.target, 'public.b')
  assert.deepEqual(plan?.targetTable, { schema: 'public', name: 'b' })
  assert.deepEqual(plan?.caughtBy, ['counts', 'checksums'])
  assert.equal(plan?.invisibleToCounts, undefined)
  // Unknown incoming foreign keys count as some.
  assert.equal(planDrill('drop-row', catalog({ tables: [shape({ name: 'c' })] })), undefined)
})

test('planning: value changes stay out of keys, foreign keys, checks, partition keys, domains and enums', () => {
  const locked = shape({
    name: 'locked',
    uniqueIndexes: [...PK, { primary: false, expression: true, columns: ['lowered'] }],
    columns: [
      int4('id'),
      text('lowered'),
      text('fk'),
      text('checked'),
      text('routed'),
      { ...text('mail'), typtype: 'd' },
      { ...text('state'), type: 'order_status', typtype: 'e' },
      { ...text('computed'), generated: true }
    ],
    constraints: [
      { type: 'f', columns: ['fk'] },
      { type: 'c', columns: ['checked'] }
    ],
    partitionKey: ['routed']
  })
  const tables = [locked]
  assert.equal(planDrill('mutate-cell', catalog({ tables })), undefined)
  assert.equal(planDrill('null-to-empty', catalog({ tables })), undefined)
  // Swapping moves values that were valid in that column, so domains and enums may take part.
  const swap = planDrill('swap-values', catalog({ tables }))
  const out = rewrite(swap!.rewriter, [
    'COPY public.locked (id, lowered, fk, checked, routed, mail, state) FROM stdin;',
    '1\ta\tb\tc\td\te@x\tpaid',
    '2\ta\tb\tc\td\tf@x\tpaid',
    '\\.'
  ])
  assert.deepEqual(out.slice(1, 3), ['1\ta\tb\tc\td\tf@x\tpaid', '2\ta\tb\tc\td\te@x\tpaid'])
  assert.equal(swap?.invisibleToCounts !== undefined, true)
  assert.deepEqual(swap?.caughtBy, ['checksums'])
})

test('planning: null-to-empty prefers a column the statistics say holds NULLs', () => {
  const tables = [
    shape({ name: 'a', uniqueIndexes: PK, columns: [int4('id'), nullableText('never', 0)] }),
    shape({ name: 'b', uniqueIndexes: PK, columns: [int4('id'), nullableText('full', 0), nullableText('some', 0.25)] }),
    shape({ name: 'c', uniqueIndexes: PK, columns: [int4('id'), text('required')] })
  ]
  const plan = planDrill('null-to-empty', catalog({ tables }))
  assert.equal(plan?.target, 'public.b')
  rewrite(plan!.rewriter, ['COPY public.b (id, full, some) FROM stdin;', '1\t\\N\t\\N', '\\.'])
  assert.deepEqual(plan?.rewriter.result(), { evidence: "NULL in column some turned into '' in row (id)=(1)" })
  // A NOT NULL column, or one whose nullability is unknown, never gets an empty string in a NULL's place.
  assert.equal(planDrill('null-to-empty', catalog({ tables: [tables[2], shape({ name: 'd' })] })), undefined)
})

test('planning: duplicate-row needs a table no unique index or exclusion constraint guards', () => {
  const tables = [
    shape({ name: 'a', uniqueIndexes: PK }),
    shape({ name: 'b', constraints: [{ type: 'x', columns: ['body'] }] }),
    shape({ name: 'c', rows: 0 }),
    shape({ name: 'd' })
  ]
  assert.equal(planDrill('duplicate-row', catalog({ tables }))?.target, 'public.d')
})

test('planning: truncate cuts the biggest table in half', () => {
  const tables = [shape({ name: 'small', rows: 3 }), shape({ name: 'big', rows: 101 })]
  const plan = planDrill('truncate', catalog({ tables }))!
  assert.equal(plan.target, 'public.big')
  assert.deepEqual(plan.caughtBy, ['restore', 'counts', 'checksums'])
  const rows = Array.from({ length: 101 }, (_, i) => String(i))
  const out = rewrite(plan.rewriter, ['COPY public.big (id, body) FROM stdin;', ...rows, '\\.', 'SELECT 1;'])
  assert.equal(out.length, 1 + 50)
})

const index = (partial: Partial<IndexInfo> & { name: string }): IndexInfo => ({
  schema: 'public',
  table: 't',
  unique: false,
  backsConstraint: false,
  usedByForeignKey: false,
  partitioned: false,
  namedElsewhere: false,
  ...partial
})

test('planning: drop-index leaves constraint, foreign-key, partition and otherwise named indexes alone', () => {
  const indexes = [
    index({ name: 'a_pkey', backsConstraint: true }),
    index({ name: 'b_key', unique: true, usedByForeignKey: true }),
    index({ name: 'c_idx', partitioned: true }),
    index({ name: 'd_idx', namedElsewhere: true }),
    index({ name: 'z_unique_idx', unique: true }),
    index({ name: 'y_idx' })
  ]
  const plan = planDrill('drop-index', catalog({ indexes }))
  assert.equal(plan?.target, 'index public.y_idx')
  assert.deepEqual(plan?.targetObject, { kind: 'index', schema: 'public', table: 't', name: 'y_idx' })
  assert.deepEqual(plan?.caughtBy, ['schema'])
  assert.equal(plan?.targetTable, undefined)
  assert.equal(planDrill('drop-index', catalog({ indexes: indexes.slice(0, 4) })), undefined)
})

const constraint = (partial: Partial<ConstraintInfo> & { name: string; type: ConstraintInfo['type'] }): ConstraintInfo => ({
  schema: 'public',
  table: 't',
  local: true,
  separate: true,
  inTree: false,
  usedByForeignKey: false,
  namedElsewhere: false,
  ...partial
})

test('planning: drop-constraint picks a foreign key first, never a primary key or one the restore needs', () => {
  const constraints = [
    constraint({ name: 'a_pkey', type: 'p' }),
    constraint({ name: 'b_key', type: 'u', usedByForeignKey: true }),
    constraint({ name: 'c_key', type: 'u', inTree: true }),
    constraint({ name: 'd_check', type: 'c', separate: false }),
    constraint({ name: 'e_fkey', type: 'f', local: false }),
    constraint({ name: 'f_fkey', type: 'f', namedElsewhere: true }),
    constraint({ name: 'g_check', type: 'c' }),
    constraint({ name: 'h_key', type: 'u' }),
    constraint({ name: 'Z_fkey', type: 'f', table: 'Mixed', inTree: true })
  ]
  const plan = planDrill('drop-constraint', catalog({ constraints }))
  assert.equal(plan?.target, 'constraint "Z_fkey" on public."Mixed"')
  assert.deepEqual(plan?.targetObject, { kind: 'constraint', schema: 'public', table: 'Mixed', name: 'Z_fkey' })
  assert.equal(
    planDrill('drop-constraint', catalog({ constraints: constraints.slice(0, 8) }))?.target,
    'constraint h_key on public.t'
  )
  assert.equal(
    planDrill('drop-constraint', catalog({ constraints: constraints.slice(0, 7) }))?.target,
    'constraint g_check on public.t'
  )
  assert.equal(planDrill('drop-constraint', catalog({ constraints: constraints.slice(0, 6) })), undefined)
})

test('planning: sequence-reset picks a used sequence, one whose table has rows first', () => {
  const sequences = [
    { schema: 'public', name: 'a_seq', lastValue: null, startValue: '1', ownerRows: 5 },
    { schema: 'public', name: 'b_seq', lastValue: '7', startValue: '1', ownerRows: 0 },
    { schema: 'public', name: 'c_seq', lastValue: '9', startValue: '100', ownerRows: 3, ownedBy: { schema: 'public', name: 'c' } }
  ]
  const plan = planDrill('sequence-reset', catalog({ sequences }))!
  assert.equal(plan.target, 'sequence public.c_seq')
  assert.deepEqual(plan.targetObject, { kind: 'sequence', schema: 'public', name: 'c_seq' })
  assert.deepEqual(plan.caughtBy, ['sequences', 'schema'])
  assert.deepEqual(rewrite(plan.rewriter, ["SELECT pg_catalog.setval('public.c_seq', 9, true);"]), [
    "SELECT pg_catalog.setval('public.c_seq', 100, false);"
  ])
  assert.equal(planDrill('sequence-reset', catalog({ sequences: sequences.slice(0, 1) })), undefined)
})

test('every operator plans nothing on an empty catalog', () => {
  for (const operator of DRILL_OPERATORS) assert.equal(planDrill(operator, catalog({})), undefined, operator)
})

test('planning: mutate-cell leaves alone what generated columns and expression or partial indexes compute from', () => {
  const base = shape({
    name: 'priced',
    uniqueIndexes: PK,
    columns: [int4('id'), int4('price'), int4('quantity'), text('code'), { ...int4('total'), generated: true }, text('note')],
    // total = price * quantity; an index on (code::int); a partial index WHERE note <> ''.
    derivedFrom: ['price', 'quantity', 'code', 'note']
  })
  assert.equal(planDrill('mutate-cell', catalog({ tables: [base] })), undefined)
  assert.equal(planDrill('swap-values', catalog({ tables: [base] })), undefined)
  const free = planDrill('mutate-cell', catalog({ tables: [{ ...base, derivedFrom: ['price', 'quantity', 'code'] }] }))
  const out = rewrite(free!.rewriter, [
    'COPY public.priced (id, price, quantity, code, note) FROM stdin;',
    '1\t2\t3\t44\tabc',
    '\\.'
  ])
  assert.deepEqual(out[1], '1\t2\t3\t44\tbbc', 'only the column nothing is computed from changes')
})

test('an operator that cannot apply says why, for every operator', () => {
  const keyed = shape({ name: 'keyed', uniqueIndexes: PK, referencedBy: ['public.child.child_keyed_fkey'] })
  const reasons = new Map(DRILL_OPERATORS.map(operator => [operator, explainNoTarget(operator, catalog({ tables: [keyed] }))]))
  for (const [operator, reason] of reasons) assert.ok(reason.length > 20, `${operator}: ${reason}`)
  assert.match(reasons.get('duplicate-row')!, /primary key, a unique index or an exclusion constraint/)
  assert.match(reasons.get('drop-row')!, /referenced by a foreign key/)
  assert.match(reasons.get('sequence-reset')!, /no sequence/)
  assert.match(reasons.get('mutate-function')!, /function/)
  assert.match(explainNoTarget('mutate-cell', catalog({ tables: [{ ...keyed, rows: 0 }] })), /no table holds any rows/)
})

/** What pg_dump 15 writes for functions: the header, options, then the body in dollar quotes. */
const FUNCTIONS = [
  'CREATE FUNCTION public.total(p_id bigint, p_rate numeric DEFAULT 1.5) RETURNS numeric',
  '    LANGUAGE plpgsql STABLE',
  '    AS $$',
  'begin',
  '  return p_id * 2;',
  'end',
  '$$;',
  '',
  'CREATE FUNCTION public.total(p_id integer) RETURNS integer',
  '    LANGUAGE sql IMMUTABLE',
  '    AS $_$select $1 + 40$_$;',
  '',
  'CREATE PROCEDURE public."Refresh"()',
  '    LANGUAGE plpgsql',
  '    AS $$begin perform 1; end$$;'
]

test('mutate-function changes one character of the named overload only, digits first', () => {
  const plpgsql = mutateFunctionRewriter({
    schema: 'public',
    name: 'total',
    arguments: 'p_id bigint, p_rate numeric DEFAULT 1.5'
  })
  const out = rewrite(plpgsql, FUNCTIONS)
  assert.deepEqual(out.map((line, i) => (line === FUNCTIONS[i] ? '' : line)).filter(Boolean), ['  return p_id * 3;'])
  assert.equal(
    plpgsql.result()?.evidence,
    'one character of the body of function public.total(p_id bigint, p_rate numeric DEFAULT 1.5) changed (line 5)'
  )

  const sql = mutateFunctionRewriter({ schema: 'public', name: 'total', arguments: 'p_id integer' })
  assert.deepEqual(rewrite(sql, FUNCTIONS)[10], '    AS $_$select $2 + 40$_$;')
  const procedure = mutateFunctionRewriter({ schema: 'public', name: 'Refresh', arguments: '' })
  assert.deepEqual(rewrite(procedure, FUNCTIONS)[14], '    AS $$begin perform 2; end$$;')
  const absent = mutateFunctionRewriter({ schema: 'public', name: 'total', arguments: 'text' })
  assert.deepEqual(rewrite(absent, FUNCTIONS), FUNCTIONS)
  assert.equal(absent.result(), undefined)
})

test('planning: mutate-function aims at the first function and names it as the schema fingerprint does', () => {
  const functions = [{ schema: 'public', name: 'total', arguments: 'p_id integer', signature: 'public.total(integer)' }]
  const plan = planDrill('mutate-function', catalog({ functions }))!
  assert.equal(plan.target, 'function public.total(p_id integer)')
  assert.deepEqual(plan.targetObject, {
    kind: 'function',
    schema: 'public',
    name: 'total',
    signature: 'public.total(integer)'
  })
  assert.deepEqual(plan.caughtBy, ['schema'])
  assert.equal(planDrill('mutate-function', catalog({ functions: [] })), undefined)
})

test('names beyond ASCII are matched in the dump by their bytes in its encoding', () => {
  const utf8 = (name: string) => Buffer.from(name, 'utf8').toString('latin1')
  const table = shape({
    name: 'ü',
    schema: 'café',
    uniqueIndexes: [{ primary: true, expression: false, columns: ['clé'] }],
    columns: [int4('clé'), text('prénom')]
  })
  const dumpNames = new Map(['ü', 'café', 'clé', 'prénom'].map(name => [name, utf8(name)]))
  const dump = [
    `COPY ${utf8('café')}."${utf8('ü')}" ("${utf8('clé')}", "${utf8('prénom')}") FROM stdin;`,
    `1\t${utf8('Zoë')}`,
    '\\.'
  ]
  const plan = planDrill('mutate-cell', catalog({ tables: [table], dumpNames }))!
  assert.equal(plan.target, '"café"."ü"', 'the target reads as text')
  assert.deepEqual(rewrite(plan.rewriter, dump)[1], `1\t${utf8('Yoë')}`)
  assert.equal(
    decodeDumpText(plan.rewriter.result()!.evidence, 'UTF8'),
    'one character of column prénom changed in row (clé)=(1)'
  )
  // Without the byte spellings, nothing is found: the names read differently in the dump.
  const unspelled = planDrill('mutate-cell', catalog({ tables: [table] }))!
  rewrite(unspelled.rewriter, dump)
  assert.equal(unspelled.rewriter.result(), undefined)
})

test("the engine's drill: its operators, each aimed with the judge's aim, or the planner's own reason why not", () => {
  assert.deepEqual(postgres.drillOperators, DRILL_OPERATORS)
  const keyed = shape({ name: 'keyed', uniqueIndexes: PK, referencedBy: ['public.child.child_keyed_fkey'] })
  const free = shape({ name: 'free', referencedBy: [] })
  const aimed = postgres.planDrill('drop-row', catalog({ tables: [keyed, free] }))
  assert.ok(!('noTarget' in aimed), JSON.stringify(aimed))
  // The same plan as the planner's, carried whole as the aim the judge reads, with its table for the seam.
  const planned = planDrill('drop-row', catalog({ tables: [keyed, free] }))!
  assert.equal(aimed.target, planned.target)
  assert.deepEqual(aimed.table, { schema: 'public', name: 'free' })
  assert.deepEqual(aimed.aim.caughtBy, planned.caughtBy)
  assert.deepEqual(aimed.aim.targetTable, planned.targetTable)
  // Nothing fits: the reason is explainNoTarget's, word for word, for every operator.
  const empty = catalog({ tables: [{ ...keyed, rows: 0 }] })
  for (const operator of DRILL_OPERATORS) {
    assert.deepEqual(postgres.planDrill(operator, empty), { operator, noTarget: explainNoTarget(operator, empty) })
  }
  const unknown = postgres.planDrill('reset-auto-increment', catalog({ tables: [free] }))
  assert.ok('noTarget' in unknown && /no operator 'reset-auto-increment'/.test(unknown.noTarget))
})
