import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// Checksums are computed by the real server; these tests pin down what they must and must not see.
const ITEMS = `CREATE TABLE public.items (id int, label text, amount float8, at timestamptz, span interval,
                                          day date, blob bytea, cash money, note text);`
const ROW_1 = `(1, 'alpha', 0.1, '2024-03-01 12:00:00+00', '1 day 02:00', '2024-03-01', '\\x00ff', 12.5, NULL)`
const ROW_2 = `(2, 'beta', 1e-300, '2024-03-02 00:00:00+00', '-3 hours', '2024-03-02', '\\x', 0, '')`
const ROW_3 = `(3, 'gamma', 3.14159265358979, NULL, NULL, NULL, NULL, NULL, 'x')`

let cluster: Cluster
const sessions: DatabaseSession[] = []

before(async () => {
  cluster = await productionCluster()
})

after(async () => {
  for (const session of sessions) await session.close()
})

/** The checksum of `items` holding `rows` (in that physical order), in a database with `settings`. */
async function checksumOf(rows: string[], settings: string[] = [], ddl = ITEMS): Promise<string | undefined> {
  const name = uniqueName('figures')
  await cluster.createDatabase(name, `${ddl}\nINSERT INTO public.items VALUES ${rows.join(',\n')};`)
  for (const setting of settings) await cluster.query(`ALTER DATABASE ${name} SET ${setting}`)
  const session = await DatabaseSession.open(parseConnectionUrl('test', cluster.url(name)), 'cleanroom')
  sessions.push(session)
  await session.pinSettings()
  const [table] = await session.listTables()
  const figures = await session.tableFigures(table, true, false)
  assert.equal(figures.error, undefined)
  assert.equal(figures.rows, rows.length)
  return figures.checksum
}

test('the same rows give the same checksum whatever their order and the server settings', async () => {
  const reference = await checksumOf([ROW_1, ROW_2, ROW_3])
  const elsewhere = await checksumOf(
    [ROW_3, ROW_1, ROW_2],
    [
      "DateStyle = 'SQL, DMY'",
      "TimeZone = 'Asia/Tokyo'",
      'extra_float_digits = 0',
      "bytea_output = 'escape'",
      "IntervalStyle = 'iso_8601'"
    ]
  )
  assert.equal(elsewhere, reference)
})

test('one changed character in one cell changes the checksum', async () => {
  const reference = await checksumOf([ROW_1, ROW_2, ROW_3])
  assert.notEqual(await checksumOf([ROW_1, ROW_2, ROW_3.replace("'gamma'", "'gammb'")]), reference)
  assert.notEqual(await checksumOf([ROW_1.replace('0.1,', '0.1000000000000001,'), ROW_2, ROW_3]), reference)
})

test('a NULL turned into an empty string changes the checksum', async () => {
  assert.notEqual(await checksumOf([ROW_1]), await checksumOf([ROW_1.replace(/NULL\)$/, "'')")]))
})

test('a duplicated row in place of another changes the checksum though the count stays', async () => {
  assert.notEqual(await checksumOf([ROW_1, ROW_2, ROW_2]), await checksumOf([ROW_1, ROW_2, ROW_3]))
  // XOR of row hashes would see [1, 2, 2, 2] as [1, 2]: the sum does not.
  assert.notEqual(await checksumOf([ROW_1, ROW_1, ROW_1, ROW_2]), await checksumOf([ROW_1, ROW_1, ROW_2, ROW_2]))
})

// Columns of the types hashed by their own hash function (not their text), with traps: a
// case-insensitive collation, char(n) padding and values that equal types would hash alike.
const TYPED = `CREATE COLLATION IF NOT EXISTS public.case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE public.items (small int2, id int4, big int8, flag bool, label text, name varchar(20) COLLATE public.case_insensitive,
                           code char(4), local_at timestamp, at timestamptz, clock time, ref uuid, other int4);`
const TYPED_1 = `(1, 10, 100, true, 'alpha', 'Alpha', 'ab', '2024-03-01 12:00', '2024-03-01 12:00+00', '12:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 7)`
const TYPED_2 = `(2, 20, 200, false, 'beta', 'Beta', 'cd', '2024-03-02 00:00', '2024-03-02 00:00+00', '00:00', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 8)`

/** Checks that each edit of the first row (its text `from` replaced by `to`) changes the checksum; returns the unedited one. */
async function assertEditsChangeChecksum(
  ddl: string,
  [first, second]: [string, string],
  edits: Array<[what: string, from: string, to: string]>
): Promise<string | undefined> {
  const reference = await checksumOf([first, second], [], ddl)
  for (const [what, from, to] of edits) {
    const row = first.replace(from, to)
    assert.notEqual(row, first, what)
    assert.notEqual(await checksumOf([row, second], [], ddl), reference, what)
  }
  return reference
}

test('typed columns: one changed value, a NULL, or a value moved to another row or column changes the checksum', async () => {
  const reference = await assertEditsChangeChecksum(
    TYPED,
    [TYPED_1, TYPED_2],
    [
      ['int2', '(1,', '(3,'],
      ['int4', ' 10,', ' 11,'],
      ['int8', ' 100,', ' 101,'],
      ['bool', 'true', 'false'],
      ['text', "'alpha'", "'alphb'"],
      ['case only, under a case-insensitive collation', "'Alpha'", "'alpha'"],
      ['char(n)', "'ab'", "'ac'"],
      ['timestamp', "'2024-03-01 12:00'", "'2024-03-01 12:00:00.000001'"],
      ['timestamptz', "'2024-03-01 12:00+00'", "'2024-03-01 12:00+01'"],
      ['time', "'12:00'", "'12:01'"],
      ['uuid', "'a0eebc99", "'a1eebc99"],
      ['int4 to NULL', ', 7)', ', NULL)'],
      ['text to NULL', "'alpha'", 'NULL']
    ]
  )
  const columnsSwapped = TYPED_1.replace(' 10,', ' 7,').replace(/, 7\)$/, ', 10)')
  assert.notEqual(await checksumOf([columnsSwapped, TYPED_2], [], TYPED), reference, 'values exchanged between two int4 columns')
  // Row 1's and row 2's id exchanged: every column holds the same values as before, in other rows.
  const swapped = [TYPED_1.replace(' 10,', ' 20,'), TYPED_2.replace(' 20,', ' 10,')]
  assert.notEqual(await checksumOf(swapped, [], TYPED), reference, 'values exchanged between rows')
  // A NULL is not the value whose hash it might be mistaken for: zero, false, the empty string.
  const zero = await checksumOf([TYPED_1.replace(', 7)', ', 0)'), TYPED_2], [], TYPED)
  assert.notEqual(await checksumOf([TYPED_1.replace(', 7)', ', NULL)'), TYPED_2], [], TYPED), zero)
})

test('typed columns: the same rows give the same checksum whatever the time zone and row order', async () => {
  const reference = await checksumOf([TYPED_1, TYPED_2], [], TYPED)
  assert.equal(await checksumOf([TYPED_2, TYPED_1], ["TimeZone = 'America/St_Johns'"], TYPED), reference)
})

// Columns hashed one by one through their text output: values their types call equal but print
// differently must still change the checksum.
const PRINTED = `CREATE TABLE public.items (amount numeric, score float8, day date, span interval, doc jsonb, raw json,
                                          blob bytea, tags int[], names text[], cash money, at timetz);`
const PRINTED_1 = `(1.0, 0, '2024-03-01', '1 day', '{"a": 1.0}', '{"a": 1}', '\\x00ff', '{1,2}', '{a,b}', 12.5, '12:00+00')`
const PRINTED_2 = `(2.5, 1.5, '2024-03-02', '2 hours', '{"b": [1, 2]}', '[1, 2]', '\\x', '{3}', '{c}', 0, '00:00+02')`

test('columns hashed by their text output: a value printed differently changes the checksum, though its type calls it equal', async () => {
  await assertEditsChangeChecksum(
    PRINTED,
    [PRINTED_1, PRINTED_2],
    [
      ['numeric scale', '(1.0,', '(1.00,'],
      ['float zero sign', ', 0,', ", '-0',"],
      ['date', "'2024-03-01'", "'2024-03-02'"],
      ['interval in other units', "'1 day'", "'24 hours'"],
      ['jsonb number scale', '{"a": 1.0}', '{"a": 1.00}'],
      ['json spacing', '{"a": 1}', '{"a":1}'],
      ['bytea byte', '\\x00ff', '\\x00fe'],
      ['array lower bound', "'{1,2}'", "'[0:1]={1,2}'"],
      ['array element case', "'{a,b}'", "'{A,b}'"],
      ['money', '12.5,', '12.51,'],
      ['timetz offset', "'12:00+00'", "'13:00+01'"],
      ['empty array for NULL', "'{1,2}'", 'NULL']
    ]
  )
  assert.notEqual(
    await checksumOf([PRINTED_1.replace("'{1,2}'", "'{}'"), PRINTED_2], [], PRINTED),
    await checksumOf([PRINTED_1.replace("'{1,2}'", 'NULL'), PRINTED_2], [], PRINTED),
    'an empty array is not NULL'
  )
})
