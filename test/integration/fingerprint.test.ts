import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseSession } from '../../src/database.js'
import { parseConnectionUrl } from '../../src/connection.js'
import { productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'

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
async function checksumOf(rows: string[], settings: string[] = []): Promise<string | undefined> {
  const name = uniqueName('fingerprint')
  await cluster.createDatabase(name, `${ITEMS}\nINSERT INTO public.items VALUES ${rows.join(',\n')};`)
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
