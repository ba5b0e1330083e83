import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { classifyHead, detectBackup, hasPlainFooter } from '../../../src/engines/postgres/backup-format.js'
import {
  clientMajorReading,
  dumpedFromMajor,
  judgePipeline,
  newestArchiveVersionRead,
  unreadableArchive,
  parseTocListing,
  splitDataEntries,
  standardConformingStringsOf
} from '../../../src/engines/postgres/pg-restore.js'
import { judgeTablesUnproven } from '../../../src/run/stored-pipeline.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-stored-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const PLAIN =
  '--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 13.23\n\nSET standard_conforming_strings = on;\n' +
  'CREATE TABLE t (id int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n'

function file(name: string, content: string | Buffer): string {
  const at = path.join(dir, name)
  writeFileSync(at, content)
  return at
}

function tarHeader(): Buffer {
  const block = Buffer.alloc(512)
  block.write('toc.dat', 0)
  block.write('ustar', 257)
  return block
}

test('backups are told by their content, never by their name', () => {
  assert.deepEqual(classifyHead(Buffer.from('PGDMP\x01\x0e\x00')), { kind: 'custom' })
  assert.deepEqual(classifyHead(gzipSync('x')), { kind: 'gzip' })
  assert.deepEqual(classifyHead(tarHeader()), { kind: 'tar' })
  assert.deepEqual(classifyHead(Buffer.from(PLAIN)), { kind: 'plain' })
  // Named like a plain dump, but an archive; named like an archive, but SQL.
  assert.equal(detectBackup(file('looks-plain.sql', Buffer.from('PGDMP\x01\x0e\x00rest'))).format, 'custom')
  assert.equal(detectBackup(file('looks-custom.dump', PLAIN)).format, 'plain')
  const gz = detectBackup(file('no-extension', gzipSync(PLAIN)))
  assert.deepEqual([gz.format, gz.gzip], ['plain', true])
  assert.equal(detectBackup(file('archive.sql', Buffer.concat([tarHeader(), Buffer.alloc(1024)]))).format, 'tar')
})

test('a directory archive is recognised by its toc.dat, and a directory without one is not a backup', () => {
  const archive = path.join(dir, 'archive-dir')
  mkdirSync(archive)
  writeFileSync(path.join(archive, 'toc.dat'), Buffer.from('PGDMP\x01\x0e\x00'))
  writeFileSync(path.join(archive, '3001.dat.gz'), Buffer.alloc(100))
  const backup = detectBackup(archive)
  assert.equal(backup.format, 'directory')
  assert.equal(backup.bytes, 108)
  const empty = path.join(dir, 'empty-dir')
  mkdirSync(empty)
  assert.throws(() => detectBackup(empty), /is '.*empty-dir': it is a directory without pg_dump's toc\.dat/)
  const damaged = path.join(dir, 'damaged-dir')
  mkdirSync(damaged)
  writeFileSync(path.join(damaged, 'toc.dat'), 'not an archive')
  assert.throws(() => detectBackup(damaged), /toc\.dat is not pg_dump's/)
})

test('what is not a backup Lazarus can restore is one error naming the file and the cause', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['empty', '', /it is empty/],
    ['notes.txt', 'hello, world\n', /not a PostgreSQL backup/],
    ['binary', Buffer.from([0, 1, 2, 3, 4, 5]), /not a PostgreSQL backup/],
    ['cluster.sql', '--\n-- PostgreSQL database cluster dump\n--\n', /pg_dumpall's dump of a whole cluster/],
    ['cut.sql', PLAIN.slice(0, PLAIN.indexOf('--\n-- PostgreSQL database dump complete')), /truncated/],
    ['bad.gz', Buffer.from([0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /gzip error/],
    ['text.gz', gzipSync('just some text\n'), /gzip-compressed, and inside is not a PostgreSQL backup/],
    ['custom.gz', gzipSync(Buffer.from('PGDMP\x01\x0e\x00')), /gzip-compressed custom archive.*decompress it/],
    ['backup.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), /zstd-compressed/]
  ]
  for (const [name, content, cause] of cases) {
    const at = file(name, content)
    assert.throws(
      () => detectBackup(at),
      (error: Error) => {
        assert.equal(error.name, 'UserError', name)
        assert.match(error.message, new RegExp(`^Input 'backup-path' is '${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': `), name)
        assert.match(error.message, cause, name)
        assert.ok(!error.message.includes('\n'), `${name}: one line`)
        return true
      }
    )
  }
  assert.throws(() => detectBackup(path.join(dir, 'missing.dump')), /missing\.dump': it cannot be read \(ENOENT/)
})

test('an archive of a newer pg_dump names the file, its archive version and the client major that reads it', () => {
  assert.equal(clientMajorReading('1.14'), 12)
  assert.equal(clientMajorReading('1.15'), 16)
  assert.equal(clientMajorReading('1.16'), 17)
  assert.equal(clientMajorReading('1.17'), undefined)
  assert.equal(newestArchiveVersionRead(15), '1.14')
  assert.equal(newestArchiveVersionRead(16), '1.15')
  assert.equal(newestArchiveVersionRead(18), '1.16')
  const pgRestore = { path: '/usr/lib/postgresql/15/bin/pg_restore', version: '15.14', major: 15 }
  const stderr = 'pg_restore: error: unsupported version (1.16) in file header\n'
  const error = unreadableArchive({ path: '/backups/shop.dump', format: 'custom', gzip: false, bytes: 10 }, stderr, pgRestore)
  assert.equal(
    error.message,
    "The backup '/backups/shop.dump' (custom archive) has archive version 1.16, written by pg_dump 17 or newer; " +
      'pg_restore 15.14 (/usr/lib/postgresql/15/bin/pg_restore) reads archive versions up to 1.14, so it cannot read it: ' +
      'install the PostgreSQL 17 client or newer (postgresql-client-17) and point postgres-bin-dir at its bin directory ' +
      '(/usr/lib/postgresql/17/bin on Debian and Ubuntu).'
  )
  const unknown = unreadableArchive(
    { path: '/backups/d', format: 'directory', gzip: false, bytes: 10 },
    'pg_restore: error: unsupported version (1.17) in file header',
    pgRestore
  )
  assert.match(
    unknown.message,
    /^The backup '\/backups\/d' \(directory archive\) has archive version 1\.17, written by a pg_dump newer than this Lazarus knows \(PostgreSQL 17 and later write 1\.16\); .*install the newest PostgreSQL client/
  )
  // Other refusals keep pg_restore's own words.
  const damaged = unreadableArchive(
    { path: '/backups/x.dump', format: 'custom', gzip: false, bytes: 10 },
    'pg_restore: error: could not read from input file: end of file\n',
    pgRestore
  )
  assert.equal(
    damaged.message,
    "The backup '/backups/x.dump' (custom archive) cannot be read: pg_restore: error: could not read from input file: end of file."
  )
})

test("a plain dump's closing line may be followed only by its comment frame and \\unrestrict", () => {
  assert.ok(hasPlainFooter('...\n--\n-- PostgreSQL database dump complete\n--\n\n'))
  assert.ok(hasPlainFooter('--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abcDEF123\n\n'))
  assert.ok(!hasPlainFooter('-- PostgreSQL database dump complete\n--\n\nCREATE TABLE late (id int);\n'))
  assert.ok(!hasPlainFooter('COPY t (id) FROM stdin;\n1\n'))
})

test("pg_restore -l's listing splits into header fields and entries", () => {
  const listing = [
    ';',
    '; Archive created at 2026-11-30 05:00:00 UTC',
    ';     dbname: shop',
    ';     Format: CUSTOM',
    ';     Dumped from database version: 13.23',
    ';     Dumped by pg_dump version: 15.14 (Debian 15.14-0+deb12u1)',
    ';',
    '; Selected TOC Entries:',
    ';',
    '3345; 0 16390 TABLE DATA public orders postgres',
    '3346; 0 16395 TABLE DATA public customers postgres',
    ''
  ].join('\n')
  const parsed = parseTocListing(listing)
  assert.equal(parsed.header.Format, 'CUSTOM')
  assert.equal(parsed.header['Dumped from database version'], '13.23')
  assert.equal(parsed.header.dbname, 'shop')
  assert.deepEqual(parsed.entries, [
    '3345; 0 16390 TABLE DATA public orders postgres',
    '3346; 0 16395 TABLE DATA public customers postgres'
  ])
  assert.equal(dumpedFromMajor('; Dumped from database version: 13.23'), 13)
  assert.equal(dumpedFromMajor('-- Dumped from database version 18.1'), 18)
  assert.equal(dumpedFromMajor('-- Dumped by pg_dump version 15'), undefined)
})

test('data entries split over the pipelines, largest first onto the least loaded, each list in archive order', () => {
  const entries = ['1; a', '2; b', '3; c', '4; d']
  const sizes: Record<string, number> = { '1; a': 10, '2; b': 100, '3; c': 50, '4; d': 45 }
  const lists = splitDataEntries(entries, 2, entry => sizes[entry])
  assert.deepEqual(lists, [['2; b'], ['1; a', '3; c', '4; d']])
  // Sizes unknown (a custom archive): round robin, in order.
  assert.deepEqual(
    splitDataEntries(entries, 3, () => undefined),
    [['1; a', '4; d'], ['2; b'], ['3; c']]
  )
  // More pipelines than entries: no empty list.
  assert.deepEqual(
    splitDataEntries(['1; a'], 4, () => 5),
    [['1; a']]
  )
  assert.deepEqual(
    splitDataEntries([], 2, () => 5),
    []
  )
})

test("the dump's preamble says how strings are quoted; on unless it says off", () => {
  assert.equal(standardConformingStringsOf("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = off;\n"), false)
  assert.equal(standardConformingStringsOf('SET standard_conforming_strings = on;\n'), true)
  assert.equal(standardConformingStringsOf(''), true)
})

const backup = { path: '/backups/shop.dump', format: 'custom' as const, gzip: false }
const at = (exitCode: number, time: number) => ({ exitCode, at: time })

test("a stored backup's pipeline: whoever failed first decides", () => {
  assert.deepEqual(judgePipeline({ read: at(0, 1), sanitize: at(0, 2), restore: at(0, 3) }, '', backup, 'toc'), { ok: true })
  const unreadable = judgePipeline(
    { read: at(1, 1), sanitize: at(0, 2), restore: at(0, 3) },
    'pg_restore: error: could not read from input file: end of file',
    backup,
    'toc'
  )
  assert.equal(!unreadable.ok && unreadable.stage, 'read')
  assert.equal(
    !unreadable.ok && unreadable.error,
    "The backup '/backups/shop.dump' (custom archive) cannot be read: pg_restore: error: could not read from input file: end of file"
  )
  const failed = judgePipeline(
    { restore: at(3, 1), sanitize: at(4, 1.1), read: at(1, 1.2) },
    'psql:<stdin>:12: ERROR:  syntax error\npg_restore: error: could not write to output file: Broken pipe',
    backup,
    'toc'
  )
  assert.equal(!failed.ok && failed.stage, 'restore')
  assert.equal(!failed.ok && failed.error, 'psql:<stdin>:12: ERROR:  syntax error')
  // A source killed by the broken pipe (141) lost its reader: not the failure, whenever it recorded it.
  const piped = judgePipeline({ read: at(141, 1), restore: at(3, 2) }, 'psql:<stdin>:3: ERROR:  boom', backup, 'toc')
  assert.equal(!piped.ok && piped.stage, 'restore')
  const gzip = judgePipeline(
    { read: at(1, 1), sanitize: at(0, 1.1), restore: at(0, 1.2) },
    'gzip: /backups/shop.sql.gz: unexpected end of file',
    { path: '/backups/shop.sql.gz', format: 'plain', gzip: true },
    'toc'
  )
  assert.match(
    !gzip.ok ? gzip.error : '',
    /^The backup '\/backups\/shop\.sql\.gz' \(gzip-compressed plain dump\) cannot be read: gzip: .*unexpected end of file$/
  )
})

test('without a manifest, tables on both sides restored whatever their counts; one side only is a mismatch', () => {
  const side = (name: string, rows?: number, extra = {}) => ({
    schema: 'public',
    name,
    figures: rows === undefined ? {} : { rows },
    ...extra
  })
  const tables = judgeTablesUnproven(
    [side('orders', 120), side('customers', 10), side('gone', 5), side('mv', undefined, { derived: true })],
    [side('orders', 100), side('customers', 10), side('added', 1), side('mv', undefined, { derived: true })]
  )
  const byName = new Map(tables.map(table => [table.name, table]))
  assert.equal(byName.get('orders')!.match, true)
  assert.match(byName.get('orders')!.unproven!, /100 rows, production has 120 now.*content not proven/)
  assert.equal(byName.get('orders')!.difference, undefined)
  assert.match(byName.get('customers')!.unproven!, /same row count/)
  assert.equal(byName.get('gone')!.match, false)
  assert.equal(byName.get('gone')!.difference, 'missing from the restored copy')
  assert.equal(byName.get('added')!.match, false)
  assert.equal(byName.get('mv')!.match, true)
})

test('restored passes the step, and the summary says the content was not proven', async () => {
  const { failureMessage, reportOutputs } = await import('../../../src/report/report.js')
  const { renderSummary } = await import('../../../src/report/summary.js')
  const { historyRun } = await import('../../../src/report/history.js')
  const report = {
    result: 'restored' as const,
    verify: 'checksums' as const,
    production: { server: 'db:5432', database: 'shop', serverVersion: '13.23' },
    cleanroom: { server: 'localhost:5433', serverVersion: '13.23' },
    tools: { pg_restore: { path: '/usr/bin/pg_restore', version: '15.14' }, psql: { path: '/usr/bin/psql', version: '15.14' } },
    backup: { path: '/backups/shop.dump', format: 'custom' as const, gzip: false, bytes: 2048, contentProven: false },
    sanitized: [],
    tables: judgeTablesUnproven(
      [{ schema: 'public', name: 'orders', figures: { rows: 120 } }],
      [{ schema: 'public', name: 'orders', figures: { rows: 100 } }]
    ),
    schema: [],
    sabotage: [],
    timings: { restore: 1.5 },
    startedAt: new Date().toISOString()
  }
  assert.equal(failureMessage(report), undefined)
  assert.equal(reportOutputs(report, '/r.json').result, 'restored')
  assert.equal(reportOutputs(report, '/r.json')['mismatched-tables'], '0')
  const summary = renderSummary(report)
  assert.match(summary, /Lazarus: restored/)
  assert.match(summary, /content was not proven/)
  assert.match(summary, /Production rows \(now\)/)
  assert.match(summary, /100 rows, production has 120 now/)
  assert.match(summary, /shop\.dump<\/code> \(custom archive, 2\.0 KiB\): no manifest/)
  assert.match(summary, /pg_restore/)
  assert.equal(historyRun(report).result, 'restored')
})

test('production-url is optional with backup-path (a manifest may prove the backup alone), required otherwise', async () => {
  const { readSettings, requireProduction } = await import('../../../src/run/settings.js')
  const { postgres } = await import('../../../src/engines/postgres/index.js')
  const read = (values: Record<string, string>) =>
    readSettings(postgres, name => values[name] ?? '', { GITHUB_WORKSPACE: '/work/space' })
  const stored = read({ 'cleanroom-url': 'postgresql://b@h/postgres', 'backup-path': 'backups/shop.dump' })
  assert.equal(stored.production, undefined)
  assert.equal(stored.backupPath, '/work/space/backups/shop.dump')
  assert.throws(
    () => requireProduction(stored, 'to restore-test a stored backup without its manifest'),
    /^UserError: Input 'production-url' is required to restore-test a stored backup without its manifest: set it/
  )
  assert.throws(() => read({ 'cleanroom-url': 'postgresql://b@h/postgres' }), /Input 'production-url' is required/)
  const both = read({
    'production-url': 'postgresql://a@h/db',
    'cleanroom-url': 'postgresql://b@h/postgres',
    'backup-path': '/abs/shop.dump',
    'manifest-path': 'evidence/m.json'
  })
  assert.equal(both.production?.database, 'db')
  assert.equal(both.backupPath, '/abs/shop.dump')
  assert.equal(both.manifestPath, '/work/space/evidence/m.json')
})

test('a pipe, socket or device is not a backup: refused before anything reads it (a read would block)', () => {
  const fifo = path.join(dir, 'backup.fifo')
  execFileSync('mkfifo', [fifo])
  assert.throws(
    () => detectBackup(fifo),
    /^UserError: Input 'backup-path' is '.*backup\.fifo': it is neither a file nor a directory/
  )
  const archive = path.join(dir, 'fifo-dir')
  mkdirSync(archive)
  execFileSync('mkfifo', [path.join(archive, 'toc.dat')])
  assert.throws(() => detectBackup(archive), /its toc\.dat is not a file/)
})
