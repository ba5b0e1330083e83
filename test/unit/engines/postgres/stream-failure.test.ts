import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as os from 'node:os'
import * as path from 'node:path'
import { lostSnapshot, streamFault } from '../../../../src/engines/postgres/stream-failure.js'
import { UserError } from '../../../../src/util/errors.js'

// What a failed fresh stream means beyond the backup (the neutral outcome's `fault` and
// `snapshotLost`): which failure the run raises as it is, and when psql's stop is the backup's.

const stage = { exitCode: 1, seconds: 1 }
const full = 'tee: /backups/shop.sql: No space left on device'
const tmp = os.tmpdir()

test("pg_dump's lost snapshot is told apart from its other failures, and only pg_dump's", () => {
  for (const error of [
    'pg_dump: error: query failed: ERROR:  could not import the requested snapshot',
    'ERROR:  invalid snapshot identifier: "00000003-0000001B-1"'
  ]) {
    assert.equal(lostSnapshot({ ok: false, stage: 'dump', error, dump: stage }), true, error)
    assert.equal(lostSnapshot({ ok: false, stage: 'restore', error, restore: stage }), false, error)
  }
  assert.equal(lostSnapshot({ ok: false, stage: 'dump', error: 'pg_dump: error: connection lost', dump: stage }), false)
})

test('a full disk under the kept backup names it and the input to change: backup-dir, or RUNNER_TEMP for upload-dump', () => {
  const keep = { format: 'plain' as const, path: path.join(tmp, 'shop.sql'), compress: '0', jobs: 1 }
  const kept = streamFault({ ok: false, stage: 'keep', error: full, keep: stage }, { ...keep, persistent: true }, undefined)
  assert.ok(kept instanceof UserError)
  assert.match(
    kept.message,
    new RegExp(`^The disk filled up while tee was writing the kept backup to ${tmp} \\(No space left on device`)
  )
  assert.match(kept.message, /point input 'backup-dir' at a volume with room for it\.$/)
  const uploaded = streamFault(
    { ok: false, stage: 'dump', error: full, dump: stage },
    { ...keep, format: 'directory' },
    undefined
  )
  assert.match(
    uploaded?.message ?? '',
    /while pg_dump was writing the kept backup to .*shop\.sql .*point RUNNER_TEMP \(upload-dump keeps/
  )
  // Without a kept backup, pg_dump's failure is raised as it said it.
  assert.deepEqual(streamFault({ ok: false, stage: 'dump', error: full, dump: stage }, undefined, undefined), new Error(full))
})

test("a server's or the setup's failure, and sed's full copy of the dump, are raised; psql stopping on the dump is the backup's", () => {
  const environmentError = new UserError('psql could not connect to the clean room')
  assert.equal(
    streamFault({ ok: false, stage: 'restore', error: 'x', environmentError, restore: stage }, undefined, undefined),
    environmentError
  )
  const copy = path.join(tmp, 'backup.sql')
  const sed = streamFault(
    { ok: false, stage: 'sanitize', error: `sed: couldn't write: No space left on device`, sanitize: stage },
    undefined,
    copy
  )
  assert.ok(sed instanceof UserError)
  assert.match(sed.message, /^The disk filled up while sed was writing the copy of the dump to /)
  assert.deepEqual(
    streamFault({ ok: false, stage: 'sanitize', error: 'sed: -e expression #1', sanitize: stage }, undefined, copy),
    new Error('sed: -e expression #1')
  )
  assert.equal(
    streamFault(
      { ok: false, stage: 'restore', error: 'ERROR:  relation "notes" already exists', restore: stage },
      undefined,
      copy
    ),
    undefined
  )
})
