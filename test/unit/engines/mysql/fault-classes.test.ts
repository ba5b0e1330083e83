import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cleanroomClientError } from '../../../../src/engines/mysql/fault-classes.js'

// Which failures of MySQL's restoring client are the clean room's (engines/mysql/fault-classes.ts):
// never judged as a backup that does not restore, nor as a drill copy's corruption caught.

const where = "the clean room (lazarus@db:3306/lazarus_x_backup, 'cleanroom-url')"

test("the clean room's failures are named as its own, with what to do: connection, disk, resources, rights, a lost database, a kill, a limit", () => {
  const cases: [string, RegExp][] = [
    ['ERROR 2013 (HY000) at line 40: Lost connection to server during query', /stays up and reachable/],
    ["ERROR 2002 (HY000): Can't connect to server on 'db' (115)", /stays up and reachable/],
    ["ERROR 1114 (HY000) at line 9: The table 'orders' is full", /more disk/],
    ['ERROR 3 (HY000) at line 9: Error writing file (Errcode: 28 "No space left on device")', /more disk/],
    ['ERROR 1040 (HY000): Too many connections', /more connections or memory/],
    [
      "ERROR 1142 (42000) at line 30: TRIGGER command denied to user 'lazarus'@'%' for table `t`",
      /privileges docs\/mysql\.md lists/
    ],
    ["ERROR 1049 (42000): Unknown database 'lazarus_x_backup'", /drops databases/],
    ['ERROR 1927 (70100) at line 12: Connection was killed', /restarts the clean room or kills its sessions/],
    ['ERROR 1205 (HY000) at line 12: Lock wait timeout exceeded; try restarting transaction', /time limits/]
  ]
  for (const [stderr, hint] of cases) {
    const error = cleanroomClientError(1, stderr, where)
    assert.ok(error, stderr)
    assert.equal(error.message.split('\n').length, 1, 'one line')
    assert.ok(error.message.startsWith(`The restore stopped on an error of ${where}, not of the backup: `), error.message)
    assert.match(error.message, hint)
  }
})

test('a client stopped from outside is the clean room side, not the backup', () => {
  assert.match(
    cleanroomClientError(null, '', where)?.message ?? '',
    /stopped from outside \(the client ended without an exit status\)/
  )
  assert.match(cleanroomClientError(137, '', where)?.message ?? '', /with status 137/)
})

test("the dump's own errors are the backup's: syntax, a duplicate key, a missing table, an unknown collation", () => {
  for (const stderr of [
    "ERROR 1064 (42000) at line 12: You have an error in your SQL syntax near 'x'",
    "ERROR 1062 (23000) at line 80: Duplicate entry '7' for key 'PRIMARY'",
    "ERROR 1146 (42S02) at line 90: Table 'lazarus_x_backup.t' doesn't exist",
    "ERROR 1273 (HY000) at line 20: Unknown collation: 'utf8mb4_0900_ai_ci'",
    ''
  ]) {
    assert.equal(cleanroomClientError(1, stderr, where), undefined, stderr)
  }
})
