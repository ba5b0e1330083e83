import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { describe, parseMysqlUrl, withDatabase } from '../../../../src/engines/mysql/connection.js'
import { UserError } from '../../../../src/util/errors.js'

test('a MySQL URL gives user, host, port, database and the password apart from the description', () => {
  const target = parseMysqlUrl('production-url', 'mysql://app:s%40cret@db.example:3307/shop')
  assert.equal(target.scheme, 'mysql')
  assert.equal(target.user, 'app')
  assert.equal(target.password, 's@cret')
  assert.equal(target.host, 'db.example')
  assert.equal(target.port, 3307)
  assert.equal(target.database, 'shop')
  assert.equal(target.reportAs, 'shop')
  assert.deepEqual(target.tls, { mode: 'preferred' })
  assert.equal(describe(target), 'app@db.example:3307/shop')
  // Every form of the password is a secret: decoded, encoded as written, and the whole URL.
  for (const secret of ['s@cret', 's%40cret', 'mysql://app:s%40cret@db.example:3307/shop']) {
    assert.ok(target.secrets.includes(secret), secret)
  }
})

test('mariadb:// is the same engine; the port defaults to 3306; IPv6 hosts go in brackets', () => {
  const target = parseMysqlUrl('cleanroom-url', 'mariadb://root@[::1]/scratch')
  assert.equal(target.scheme, 'mariadb')
  assert.equal(target.host, '::1')
  assert.equal(target.port, 3306)
  assert.equal(describe(target), 'root@[::1]:3306/scratch')
  assert.equal(target.password, undefined)
  assert.deepEqual(target.secrets, [])
})

test('the password input is used when the URL has none, and the URL password wins over it', () => {
  const fromInput = parseMysqlUrl('production-url', 'mysql://app@db/shop', 'in-put')
  assert.equal(fromInput.password, 'in-put')
  assert.ok(fromInput.secrets.includes('in-put'))
  assert.equal(parseMysqlUrl('production-url', 'mysql://app:url@db/shop', 'in-put').password, 'url')
})

test('a password with an unencoded @ still parses (the userinfo ends at the last @ before the path)', () => {
  const target = parseMysqlUrl('production-url', 'mysql://app:p@ss@db:3306/shop')
  assert.equal(target.password, 'p@ss')
  assert.equal(target.host, 'db')
})

test("withDatabase points at another database of the same server, reporting its tables under production's name", () => {
  const cleanroom = parseMysqlUrl('cleanroom-url', 'mysql://root:pw@clean:3306/mysql')
  const scratch = withDatabase(cleanroom, 'lazarus_abc_verify', 'shop')
  assert.equal(scratch.database, 'lazarus_abc_verify')
  assert.equal(scratch.reportAs, 'shop')
  assert.equal(scratch.host, 'clean')
  assert.equal(scratch.password, 'pw')
  assert.equal(withDatabase(cleanroom, 'other').reportAs, 'other')
})

test('ssl-mode and ssl-ca are vetted; the CA path is made absolute', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-mysql-url-'))
  try {
    const ca = path.join(dir, 'ca.pem')
    writeFileSync(ca, 'not checked here')
    const target = parseMysqlUrl(
      'production-url',
      `mysql://app@db/shop?ssl-mode=VERIFY-IDENTITY&ssl-ca=${encodeURIComponent(ca)}`
    )
    assert.deepEqual(target.tls, { mode: 'verify-identity', ca })
    assert.deepEqual(parseMysqlUrl('production-url', 'mysql://app@db/shop?ssl-mode=disable').tls, { mode: 'disable' })
    assert.throws(
      () => parseMysqlUrl('production-url', `mysql://app@db/shop?ssl-mode=disable&ssl-ca=${ca}`),
      oneLine("Input 'production-url' has ssl-ca with ssl-mode=disable: remove one of them.")
    )
    assert.throws(
      () => parseMysqlUrl('production-url', `mysql://app@db/shop?ssl-ca=${dir}`),
      oneLine(`Input 'production-url' has ssl-ca=${dir}, which is not a file: give the path of the CA certificate file.`)
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** Asserts a UserError of exactly this one line. */
function oneLine(message: string | RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof UserError, `a UserError, got ${String(error)}`)
    assert.doesNotMatch(error.message, /\n/)
    if (typeof message === 'string') assert.equal(error.message, message)
    else assert.match(error.message, message)
    return true
  }
}

test('bad URLs fail in one line naming the input and what to fix', () => {
  const cases: [string, string | RegExp][] = [
    ['postgres://app@db/shop', "Input 'production-url' must start with mysql:// or mariadb:// (got 'postgres://')."],
    ['db.example:3306/shop', "Input 'production-url' is not a URL: write it as mysql://user@host:3306/database."],
    ['mysql://db.example/shop', "Input 'production-url' names no user: write it as mysql://user@host:3306/database."],
    ['mysql://app@/shop', "Input 'production-url' names no host: write it as mysql://user@host:3306/database."],
    ['mysql://app@db:0/shop', "Input 'production-url' has an invalid port '0': give a number from 1 to 65535."],
    ['mysql://app@db:70000/shop', "Input 'production-url' has an invalid port '70000': give a number from 1 to 65535."],
    ['mysql://app@db:33x/shop', "Input 'production-url' has an invalid port '33x': give a number from 1 to 65535."],
    [
      'mysql://app@db1,db2/shop',
      /^Input 'production-url' names several hosts \('db1,db2'\): Lazarus connects to exactly one server/
    ],
    ['mysql://app@db:3306', /^Input 'production-url' names no database: end it with \/<database>/],
    ['mysql://app@db:3306/', /^Input 'production-url' names no database/],
    ['mysql://app@db/shop/extra', /^Input 'production-url' names more than a database \('shop\/extra'\)/],
    ['mysql://app@db/' + 'x'.repeat(65), /which MySQL cannot have: at most 64 characters/],
    [
      'mysql://app@db/shop?sslmode=require',
      /^Input 'production-url' has parameter 'sslmode', which Lazarus does not know: remove it \(accepted: ssl-mode, ssl-ca\)\.$/
    ],
    [
      'mysql://app@db/shop?ssl-mode=on',
      "Input 'production-url' has ssl-mode=on: use one of disable, preferred, required, verify-ca, verify-identity."
    ],
    [
      'mysql://app@db/shop?ssl-mode',
      "Input 'production-url' has a malformed parameter 'ssl-mode': write each as name=value, joined by &."
    ],
    [
      'mysql://app@db/shop?ssl-mode=required&ssl-mode=disable',
      "Input 'production-url' has parameter 'ssl-mode' twice: give it once."
    ],
    ['mysql://app@db/shop?ssl-ca=/no/such/ca.pem', /has ssl-ca=\/no\/such\/ca\.pem, which does not exist/],
    ['mysql://app@db/sh%ZZop', /^Input 'production-url' has an invalid database name: percent-encode special characters/],
    ['mysql://app@db/shop#x', /has a fragment/],
    ['mysql://app@d b/shop', "Input 'production-url' has an invalid host 'd b': give a host name or an IP address."]
  ]
  for (const [url, message] of cases) {
    assert.throws(() => parseMysqlUrl('production-url', url), oneLine(message), url)
  }
})

test('a malformed URL never echoes any part of the password in its error', () => {
  for (const url of [
    'mysql://app:pa/ss!word@db/shop',
    'mysql://app:pa?ss!word@db/shop',
    'mysql://app:pa#ss!word@db/shop',
    'mysql://app:%ZZss!word@db/shop'
  ]) {
    assert.throws(
      () => parseMysqlUrl('production-url', url),
      (error: unknown) => {
        assert.ok(error instanceof UserError)
        assert.doesNotMatch(error.message, /\bpa\b|ss!word|%ZZ/, url)
        assert.match(error.message, /percent-encode special characters .*'production-password'/)
        return true
      },
      url
    )
  }
})
