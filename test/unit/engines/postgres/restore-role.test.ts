import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import {
  decideRestoreRights,
  missingRightHint,
  restoreRoleName,
  scramVerifier,
  type CleanRoomRights,
  type RestoreRights
} from '../../../../src/engines/postgres/restore-role.js'
import { readSettings } from '../../../../src/run/settings.js'
import { postgres } from '../../../../src/engines/postgres/index.js'
import { superuserObjectsError } from '../../../../src/engines/postgres/superuser-objects.js'

const own = restoreRoleName('20261130052048_b959d4')
const rights = (overrides: Partial<CleanRoomRights>): CleanRoomRights => ({
  user: 'postgres',
  superuser: false,
  createRole: false,
  serverAccess: [],
  ...overrides
})

test('by default a superuser or CREATEROLE clean room restores as a role of its own, without superuser rights', () => {
  for (const facts of [
    rights({ superuser: true }),
    rights({ createRole: true }),
    rights({ createRole: true, serverAccess: ['pg_execute_server_program'] })
  ]) {
    const decided = decideRestoreRights('unprivileged', facts, own) as RestoreRights
    assert.equal(decided.role, own)
    assert.equal(decided.ownRole, true)
    assert.equal(decided.superuser, false)
    assert.match(decided.description, /without superuser rights/)
  }
})

test('a clean-room role that cannot create roles restores as itself, unless it may run programs or touch files', () => {
  const plain = decideRestoreRights('unprivileged', rights({ user: 'restorer' }), own) as RestoreRights
  assert.equal(plain.role, 'restorer')
  assert.equal(plain.ownRole, false)
  assert.equal(plain.superuser, false)
  for (const access of ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files']) {
    const refused = decideRestoreRights('unprivileged', rights({ user: 'restorer', serverAccess: [access] }), own)
    assert.ok('refuse' in refused)
    assert.match(refused.refuse, new RegExp(`${access}.*restore-role: superuser`))
    assert.doesNotMatch(refused.refuse, /\n/)
  }
})

test('restore-role: superuser restores as the clean-room role and says what that trusts', () => {
  const decided = decideRestoreRights('superuser', rights({ superuser: true }), own) as RestoreRights
  assert.equal(decided.role, 'postgres')
  assert.equal(decided.superuser, true)
  assert.equal(decided.ownRole, false)
  assert.match(decided.description, /postgres, a superuser \(restore-role: superuser\)/)
})

test('the restore role is named after the run and fits in an identifier', () => {
  assert.equal(own, 'lazarus_restore_20261130052048_b959d4')
  assert.ok(restoreRoleName('x'.repeat(80)).length <= 63)
})

test('the SCRAM verifier holds the keys the password derives, never the password', () => {
  const password = 'correct horse battery staple'
  const salt = Buffer.from('0123456789abcdef')
  const verifier = scramVerifier(password, salt, 4096)
  const match = /^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier)
  assert.ok(match, verifier)
  assert.equal(Buffer.from(match[1], 'base64').toString(), '0123456789abcdef')
  // RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
  const salted = pbkdf2Sync(password, salt, 4096, 32, 'sha256')
  const stored = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64')
  assert.equal(match[2], stored)
  assert.equal(match[3], createHmac('sha256', salted).update('Server Key').digest('base64'))
  assert.doesNotMatch(verifier, /horse/)
  assert.notEqual(scramVerifier(password), scramVerifier(password), 'a fresh salt each time')
})

test('restore-role is read as unprivileged by default, superuser when asked, and refused otherwise', () => {
  const read = (value?: string) =>
    readSettings(
      postgres,
      name =>
        ({ 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h2/postgres', 'restore-role': value ?? '' })[
          name
        ] ?? '',
      {}
    )
  assert.equal(read().restoreRole, 'unprivileged')
  assert.equal(read('superuser').restoreRole, 'superuser')
  assert.equal(read('Unprivileged').restoreRole, 'unprivileged')
  assert.throws(() => read('root'), /Input 'restore-role' is 'root': use one of unprivileged, superuser\./)
})

test('a dump that needs a superuser is refused in one line naming the objects and the input', () => {
  const objects = Array.from({ length: 11 }, (_, i) => ({ kind: 'event trigger', name: `t${i}` }))
  const message = superuserObjectsError(objects)
  assert.doesNotMatch(message, /\n/)
  assert.match(message, /event trigger t0, event trigger t1/)
  assert.match(message, /and 3 more/)
  assert.match(message, /set restore-role: superuser/)
})

test('a restore that failed for a missing right says which role ran it and what to set', () => {
  const unprivileged = decideRestoreRights('unprivileged', rights({ superuser: true }), own) as RestoreRights
  assert.match(
    missingRightHint('psql:-:12: ERROR:  permission denied for language c', unprivileged) ?? '',
    new RegExp(`${own} without superuser rights.*set restore-role: superuser`)
  )
  assert.equal(missingRightHint('ERROR:  duplicate key value violates unique constraint', unprivileged), undefined)
  const superuser = decideRestoreRights('superuser', rights({ superuser: true }), own) as RestoreRights
  assert.equal(missingRightHint('ERROR:  permission denied for table t', superuser), undefined)
})
