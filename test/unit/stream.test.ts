import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeStream } from '../../src/pg-tools.js'

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
