import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  databaseMatches,
  grantedRoles,
  mayCreateAndDrop,
  parsePrivilegeGrant,
  parseRoleGrant
} from '../../../../src/engines/mysql/grants.js'

// Whether the clean room's account may create Lazarus's scratch databases, read from SHOW GRANTS
// as MySQL 8 (active roles expanded) and MariaDB (user, current role, enabled roles) write it.

const NAME = 'lazarus_0_probe'

test('privilege lines: ALL, lists, columns, routines, dynamic privileges, either quoting', () => {
  assert.deepEqual(parsePrivilegeGrant('GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION'), {
    privileges: ['ALL'],
    database: '*',
    object: '*'
  })
  assert.deepEqual(parsePrivilegeGrant("GRANT CREATE, DROP ON `lazarus\\_%`.* TO 'u'@'%'"), {
    privileges: ['CREATE', 'DROP'],
    database: 'lazarus\\_%',
    object: '*'
  })
  assert.deepEqual(parsePrivilegeGrant('GRANT SELECT (`a`, `b ON c`), INSERT (`c`) ON `db`.`t` TO `u`@`%`'), {
    privileges: ['SELECT', 'INSERT'],
    database: 'db',
    object: 't'
  })
  assert.deepEqual(parsePrivilegeGrant('GRANT EXECUTE ON PROCEDURE `db`.`p` TO `u`@`%`'), {
    privileges: ['EXECUTE'],
    database: 'db',
    object: 'p'
  })
  assert.deepEqual(
    parsePrivilegeGrant('GRANT APPLICATION_PASSWORD_ADMIN,AUDIT_ADMIN,BACKUP_ADMIN ON *.* TO `admin`@`%`')?.privileges,
    ['APPLICATION_PASSWORD_ADMIN', 'AUDIT_ADMIN', 'BACKUP_ADMIN']
  )
  assert.deepEqual(
    parsePrivilegeGrant(
      "GRANT SELECT, CREATE TEMPORARY TABLES, SHOW VIEW ON *.* TO `u`@`127.0.0.1` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
    )?.privileges,
    ['SELECT', 'CREATE TEMPORARY TABLES', 'SHOW VIEW']
  )
  // Role grants, REVOKE lines of partial revokes and PROXY give no privilege.
  assert.equal(parsePrivilegeGrant('GRANT `r1`@`%`,`r2`@`%` TO `u`@`%`'), undefined)
  assert.equal(parsePrivilegeGrant('REVOKE CREATE ON `mysql`.* FROM `u`@`%`'), undefined)
  assert.equal(parsePrivilegeGrant("GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION"), undefined)
})

test('role lines: MySQL (role@host, several) and MariaDB (a bare role), either quoting', () => {
  assert.deepEqual(parseRoleGrant('GRANT `builder`@`%`,`reader`@`localhost` TO `lazarus`@`%`'), ['builder@%', 'reader@localhost'])
  assert.deepEqual(parseRoleGrant('GRANT `builder` TO `lazarus`@`%` WITH ADMIN OPTION'), ['builder'])
  assert.deepEqual(parseRoleGrant("GRANT 'builder' TO 'lazarus'@'%'"), ['builder'])
  assert.deepEqual(parseRoleGrant('GRANT CREATE, DROP ON *.* TO `builder`'), [])
  assert.deepEqual(grantedRoles(['GRANT USAGE ON *.* TO `u`@`%`', 'GRANT `b`@`%` TO `u`@`%`', 'GRANT `b`@`%` TO `u`@`%`']), [
    'b@%'
  ])
})

test('database patterns are LIKE patterns: _ and % wildcards, \\_ a literal underscore', () => {
  assert.equal(databaseMatches('*', NAME), true)
  assert.equal(databaseMatches('lazarus\\_%', NAME), true)
  assert.equal(databaseMatches('lazarus_%', NAME), true)
  assert.equal(databaseMatches('lazarus\\_%', 'lazarusX0'), false)
  assert.equal(databaseMatches('lazarusX%', NAME), false)
  assert.equal(databaseMatches('app', NAME), false)
  assert.equal(databaseMatches('%', NAME), true)
  // _ is any one character, \\_ only an underscore.
  assert.equal(databaseMatches('lazarus_0_prob_', NAME), true)
  assert.equal(databaseMatches('lazarus\\_0\\_prob\\_', NAME), false)
})

test('CREATE and DROP, directly or through active roles, globally or on a matching pattern, possibly on separate lines', () => {
  // MySQL 8: SHOW GRANTS with an active role lists the role's privileges among the user's.
  const mysqlWithRole = [
    'GRANT USAGE ON *.* TO `lazarus`@`%`',
    'GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON *.* TO `lazarus`@`%`',
    'GRANT `builder`@`%` TO `lazarus`@`%`'
  ]
  assert.equal(mayCreateAndDrop(mysqlWithRole, NAME), true)
  // The same account with the role granted but inactive: only the role line.
  const inactive = ['GRANT USAGE ON *.* TO `lazarus`@`%`', 'GRANT `builder`@`%` TO `lazarus`@`%`']
  assert.equal(mayCreateAndDrop(inactive, NAME), false)
  assert.deepEqual(grantedRoles(inactive), ['builder@%'])
  // MariaDB: the user's grants, then the enabled role's.
  const mariadb = [
    "GRANT USAGE ON *.* TO `lazarus`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
    'GRANT `builder` TO `lazarus`@`%`',
    'GRANT CREATE ON *.* TO `builder`',
    'GRANT DROP ON `lazarus\\_%`.* TO `builder`'
  ]
  assert.equal(mayCreateAndDrop(mariadb, NAME), true)
  assert.equal(mayCreateAndDrop(mariadb.slice(0, 3), NAME), false, 'CREATE without DROP')
  assert.equal(mayCreateAndDrop(['GRANT ALL PRIVILEGES ON `app`.* TO `u`@`%`'], NAME), false, 'another database only')
  assert.equal(mayCreateAndDrop(['GRANT CREATE, DROP ON `lazarus\\_%`.`t` TO `u`@`%`'], NAME), false, 'a table level')
  assert.equal(mayCreateAndDrop(['GRANT ALL ON *.* TO PUBLIC'], NAME), true)
})
