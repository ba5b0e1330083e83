import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeStream, streamStages } from '../../../../src/engines/postgres/pg-tools.js'

const ok = (seconds: number) => ({ exitCode: 0, seconds })
const failed = (seconds: number, exitCode = 1) => ({ exitCode, seconds })

test('a stream whose three programs all succeeded is ok', () => {
  assert.deepEqual(judgeStream({ dump: ok(1), sanitize: ok(1.1), restore: ok(2) }, ''), {
    ok: true,
    dump: ok(1),
    sanitize: ok(1.1),
    restore: ok(2)
  })
})

test('psql failing first is a backup that does not restore, though pg_dump then dies of the broken pipe', () => {
  const stderr =
    'psql:<stdin>:120: ERROR:  relation "x" does not exist\npg_dump: error: could not write to output file: Broken pipe'
  const outcome = judgeStream({ restore: failed(1, 3), sanitize: failed(1.1, 4), dump: failed(1.2) }, stderr)
  assert.equal(outcome.ok, false)
  assert.equal(!outcome.ok && outcome.stage, 'restore')
  assert.equal(!outcome.ok && outcome.error, 'psql:<stdin>:120: ERROR:  relation "x" does not exist')
})

test('pg_dump failing first is an error, even when psql committed the partial stream', () => {
  const stderr = 'pg_dump: error: query failed: ERROR:  permission denied for table secrets'
  const outcome = judgeStream({ dump: failed(1), sanitize: ok(1.1), restore: ok(1.5) }, stderr)
  assert.equal(!outcome.ok && outcome.stage, 'dump')
  assert.equal(
    !outcome.ok && outcome.error,
    'pg_dump failed: pg_dump: error: query failed: ERROR:  permission denied for table secrets'
  )
})

test('sed failing (a full disk for its copy) is an error, not a failed restore', () => {
  const stderr =
    "sed: couldn't write 61 items to /tmp/w/backup.sql: No space left on device\npsql:<stdin>:9: ERROR:  syntax error"
  const outcome = judgeStream({ dump: failed(2), sanitize: failed(1, 4), restore: failed(1.5, 3) }, stderr)
  assert.equal(!outcome.ok && outcome.stage, 'sanitize')
  assert.match(!outcome.ok ? outcome.error : '', /^sed failed: sed: couldn't write .+No space left on device$/)
})

test('a program that never reported its end counts as failed', () => {
  const outcome = judgeStream({ dump: ok(1), sanitize: ok(1) }, 'killed')
  assert.equal(!outcome.ok && outcome.stage, 'restore')
})

test('keeping a backup: tee and pg_restore are judged with the others, first failure first', () => {
  const expected = streamStages({ format: 'custom' })
  assert.deepEqual(expected, ['dump', 'keep', 'convert', 'sanitize', 'restore'])
  assert.deepEqual(streamStages({ format: 'plain' }), ['dump', 'keep', 'sanitize', 'restore'])
  assert.deepEqual(streamStages(), ['dump', 'sanitize', 'restore'])
  const all = { dump: ok(1), keep: ok(1.1), convert: ok(1.2), sanitize: ok(1.3), restore: ok(2) }
  assert.equal(judgeStream(all, '', expected).ok, true)
  // tee could not write the kept file (a full backup-dir): the restore went on, but nothing may be kept.
  const full = judgeStream({ ...all, keep: failed(1.1) }, 'tee: /backups/shop.dump: No space left on device', expected)
  assert.equal(full.ok, false)
  assert.equal(!full.ok && full.stage, 'keep')
  assert.equal(!full.ok && full.error, 'Writing the kept backup failed: tee: /backups/shop.dump: No space left on device')
  // pg_restore could not read the archive: tee and pg_dump then die of the broken pipe.
  const unread = judgeStream(
    { dump: failed(1.5), keep: failed(1.4), convert: failed(1), sanitize: ok(1.6), restore: ok(1.7) },
    'pg_restore: error: did not find magic string in file header',
    expected
  )
  assert.equal(!unread.ok && unread.stage, 'convert')
  assert.match(!unread.ok ? unread.error : '', /^pg_restore failed reading the archive: pg_restore: error: did not find magic/)
})
