import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_KEEP_COMPRESSION,
  compressArgument,
  describeCompressArgument,
  parseDumpCompression,
  requireCompressionSupport,
  type DumpCompression
} from '../../../../src/engines/postgres/dump-compression.js'
import { dumpArguments, type ClientTool } from '../../../../src/engines/postgres/pg-tools.js'
import { UserError } from '../../../../src/util/errors.js'
import { postgresRestorePoints } from '../../../../src/engines/postgres/restore-points.js'
import { readSettings } from '../../../../src/run/settings.js'
import { postgres } from '../../../../src/engines/postgres/index.js'

const INPUT = 'backup-compression'

test('backup-compression reads pg_dump 16 METHOD[:LEVEL] and pg_dump 15 bare levels', () => {
  const cases: [string, DumpCompression][] = [
    ['none', { method: 'none' }],
    [' NONE ', { method: 'none' }],
    ['gzip', { method: 'gzip', level: 6 }],
    ['gzip:1', { method: 'gzip', level: 1 }],
    ['gzip:9', { method: 'gzip', level: 9 }],
    ['gzip:level=4', { method: 'gzip', level: 4 }],
    ['0', { method: 'none' }],
    ['1', { method: 'gzip', level: 1 }],
    ['9', { method: 'gzip', level: 9 }],
    ['lz4', { method: 'lz4' }],
    ['lz4:1', { method: 'lz4', level: 1 }],
    ['LZ4:12', { method: 'lz4', level: 12 }],
    ['zstd', { method: 'zstd' }],
    ['zstd:1', { method: 'zstd', level: 1 }],
    ['zstd:level=22', { method: 'zstd', level: 22 }]
  ]
  for (const [raw, expected] of cases) assert.deepEqual(parseDumpCompression(raw, INPUT), expected, raw)
})

test('a bad backup-compression is one line naming the input and what it takes', () => {
  const cases: [string, RegExp][] = [
    [
      'brotli',
      /^Input 'backup-compression' is 'brotli': use none, gzip, gzip:1 to gzip:9, lz4 .* zstd:22 \(lz4 and zstd need pg_dump 16 or later\)\.$/
    ],
    ['gzip:0', /'gzip:0': gzip takes a level from 1 to 9 \(e\.g\. gzip:1\)\.$/],
    ['gzip:10', /'gzip:10': gzip takes a level from 1 to 9/],
    ['lz4:13', /'lz4:13': lz4 takes a level from 1 to 12/],
    ['zstd:23', /'zstd:23': zstd takes a level from 1 to 22/],
    ['zstd:-5', /'zstd:-5': zstd takes a level from 1 to 22/],
    ['none:1', /'none:1': none takes no level/],
    ['10', /'10': use none, gzip/],
    ['gzip:', /'gzip:': use none/],
    ['zstd:long', /'zstd:long': use none/],
    ['gzip:1,zstd', /use none/]
  ]
  for (const [raw, message] of cases) {
    assert.throws(
      () => parseDumpCompression(raw, INPUT),
      (error: unknown) => error instanceof UserError && message.test(error.message) && !error.message.includes('\n'),
      raw
    )
  }
})

test("pg_dump's --compress value per compression, and what the manifest records", () => {
  const cases: [string, string, string][] = [
    ['none', '0', 'none'],
    ['gzip', '6', 'gzip:6'],
    ['gzip:1', '1', 'gzip:1'],
    ['7', '7', 'gzip:7'],
    ['lz4', 'lz4', 'lz4'],
    ['lz4:3', 'lz4:3', 'lz4:3'],
    ['zstd', 'zstd', 'zstd'],
    ['zstd:19', 'zstd:19', 'zstd:19']
  ]
  for (const [raw, argument, recorded] of cases) {
    const compress = compressArgument(parseDumpCompression(raw, INPUT))
    assert.equal(compress, argument, raw)
    assert.equal(describeCompressArgument(compress), recorded, raw)
    for (const format of ['custom', 'directory'] as const) {
      const keep = { format, path: '/b/shop.dump', compress, jobs: 2 }
      assert.ok(dumpArguments(keep, false).includes(`--compress=${argument}`), `${format} ${raw}`)
      assert.equal(postgresRestorePoints.describeCompression(keep), recorded, `${format} ${raw}`)
    }
    // A plain backup is pg_dump's SQL, never compressed, whatever it was given.
    const plain = { format: 'plain' as const, path: '/b/shop.sql', compress: '0', jobs: 2 }
    assert.ok(!dumpArguments(plain, false).some(argument => argument.startsWith('--compress')))
    assert.equal(postgresRestorePoints.describeCompression(plain), 'none')
  }
  assert.deepEqual(DEFAULT_KEEP_COMPRESSION, parseDumpCompression('gzip:1', INPUT))
})

const tool = (version: string): ClientTool => ({
  path: `/usr/lib/postgresql/${version.split('.')[0]}/bin/pg_dump`,
  version,
  major: Number(version.split('.')[0])
})

test('lz4 and zstd are refused for a pg_dump before 16, naming its version and what to do', () => {
  for (const raw of ['lz4', 'zstd:3']) {
    const compression = parseDumpCompression(raw, INPUT)
    assert.throws(
      () => requireCompressionSupport(compression, tool('15.18'), INPUT),
      (error: unknown) =>
        error instanceof UserError &&
        !error.message.includes('\n') &&
        error.message.startsWith(`Input 'backup-compression' is '${raw}', which pg_dump writes from PostgreSQL 16 on; `) &&
        error.message.includes('pg_dump this run uses is 15.18 (/usr/lib/postgresql/15/bin/pg_dump)') &&
        error.message.includes('choose none or gzip (e.g. gzip:1), or install postgresql-client-16 or newer') &&
        error.message.includes('postgres-bin-dir'),
      raw
    )
    for (const newer of ['16.4', '17.0', '18.1']) requireCompressionSupport(compression, tool(newer), INPUT)
  }
  for (const raw of ['none', 'gzip', 'gzip:1', '9']) {
    requireCompressionSupport(parseDumpCompression(raw, INPUT), tool('13.20'), INPUT)
  }
})

const inputs = (values: Record<string, string>) => (name: string) => values[name] ?? ''
const base = { 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h/postgres' }

test('settings: backup-compression defaults per format, and is refused where it would change nothing', () => {
  const read = (values: Record<string, string>) => readSettings(postgres, inputs({ ...base, ...values }), {}).backupCompression
  assert.deepEqual(read({}), DEFAULT_KEEP_COMPRESSION)
  assert.deepEqual(read({ 'backup-dir': '/b' }), DEFAULT_KEEP_COMPRESSION)
  assert.deepEqual(read({ 'backup-dir': '/b', 'backup-format': 'directory' }), DEFAULT_KEEP_COMPRESSION)
  assert.deepEqual(read({ 'backup-dir': '/b', 'backup-format': 'plain' }), { method: 'none' })
  assert.deepEqual(read({ 'backup-dir': '/b', 'backup-compression': 'none' }), { method: 'none' })
  assert.deepEqual(read({ 'backup-dir': '/b', 'backup-compression': 'zstd:5' }), { method: 'zstd', level: 5 })
  assert.deepEqual(read({ 'upload-dump': 'true', 'backup-compression': 'gzip:9' }), { method: 'gzip', level: 9 })
  assert.deepEqual(read({ 'backup-dir': '/b', 'backup-format': 'plain', 'backup-compression': 'none' }), { method: 'none' })
  const refused: [Record<string, string>, RegExp][] = [
    [
      { 'backup-dir': '/b', 'backup-format': 'plain', 'backup-compression': 'gzip:1' },
      /^Input 'backup-compression' is 'gzip:1', but 'backup-format' is plain, which Lazarus keeps uncompressed .*: use backup-format custom or directory for a compressed backup, or remove backup-compression\.$/
    ],
    [{ 'backup-compression': 'none' }, /^Input 'backup-compression' is 'none', but this run keeps no backup: set 'backup-dir'/],
    [
      { 'backup-path': '/b/shop.dump', 'backup-compression': 'gzip' },
      /^Input 'backup-compression' is 'gzip', but 'backup-path' verifies a stored backup/
    ],
    [{ 'backup-dir': '/b', 'backup-compression': 'snappy' }, /^Input 'backup-compression' is 'snappy': use none, gzip/]
  ]
  for (const [values, message] of refused) {
    assert.throws(
      () => read(values),
      (error: unknown) => error instanceof UserError && message.test(error.message) && !error.message.includes('\n'),
      JSON.stringify(values)
    )
  }
})
