import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { conninfo, parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { UserError } from '../../../../src/util/errors.js'
import { restoreLocationCheckSql } from '../../../../src/engines/postgres/guards.js'

// Issue 16 §1: every parameter of a URI is vetted, and every program connects with one description.

const oneLineError = (pattern: RegExp) => (error: unknown) =>
  error instanceof UserError && pattern.test(error.message) && !error.message.includes('\n')

test('parameters that would send a program elsewhere are refused, naming the parameter and the input', () => {
  const cases: [string, RegExp][] = [
    [
      'postgresql://app@cleanroom:5432/postgres?hostaddr=10.0.0.9',
      /'cleanroom-url' has parameter 'hostaddr', which Lazarus refuses: .*put the address in the host/
    ],
    ['postgresql://app@cleanroom:5432/postgres?dbname=shop', /'cleanroom-url' has parameter 'dbname', which Lazarus refuses/],
    ['postgresql://app@cleanroom:5432/postgres?service=prod', /'cleanroom-url' has parameter 'service', which Lazarus refuses/],
    ['postgresql://app@cleanroom:5432/postgres?passfile=/tmp/p', /'cleanroom-url' has parameter 'passfile'/],
    ['postgresql://app@cleanroom:5432/postgres?replication=database', /'cleanroom-url' has parameter 'replication'/],
    ['postgresql://app@a:5432,b:5433/postgres', /'cleanroom-url' names several hosts \('a,b', ports '5432,5433'\)/],
    ['postgresql://app@/postgres?host=a,b', /'cleanroom-url' names several hosts/],
    ['postgresql://app@h/postgres?port=5432,5433', /'cleanroom-url' names several hosts/],
    [
      'postgresql://app@h/postgres?sslmode=verify-everything',
      /sslmode=verify-everything: use one of disable, allow, prefer, require, verify-ca, verify-full/
    ],
    ['postgresql://app@h/postgres?hostadr=1.2.3.4', /'cleanroom-url' has parameter 'hostadr', which libpq does not know/],
    ['postgresql://app@h/postgres?HOSTADDR=1.2.3.4', /parameter 'HOSTADDR', which libpq does not know/],
    ['postgresql://app@h/postgres?%68ostaddr=1.2.3.4', /parameter 'hostaddr', which Lazarus refuses/],
    ['postgresql://app@h/postgres?constructor=x', /parameter 'constructor', which libpq does not know/],
    ['postgresql://app@h/postgres?sslpassword=x', /parameter 'sslpassword', which Lazarus refuses/],
    ['postgresql://app@h/postgres?client_encoding=LATIN1', /parameter 'client_encoding'/],
    ['postgresql://app@h/postgres?connect_timeout=0', /connect_timeout=0: use a whole number of seconds, at least 1/],
    ['postgresql://app@h/postgres?gssencmode=require', /gssencmode=require: use one of disable, prefer/],
    ['postgresql://app@h/postgres?ssl=false', /ssl=false: libpq accepts only ssl=true/],
    ['postgresql://app@h/postgres?sslmode', /malformed parameter 'sslmode'/],
    [
      'postgresql://app@h/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt',
      /sslrootcert=\/nonexistent\/ca.crt, which is not a file/
    ],
    ['postgresql://app@h/postgres?sslrootcert=system', /sslrootcert=system/],
    ['postgresql://app@h/post%zzgres', /'cleanroom-url' is not a valid URI/],
    ['host=h dbname=postgres', /'cleanroom-url' is a key=value connection string: write it as a URI/]
  ]
  for (const [uri, pattern] of cases) {
    assert.throws(() => parseConnectionUrl('cleanroom-url', uri), oneLineError(pattern), uri)
  }
})

test('percent-encoding is decoded once, as libpq does, and reaches every program intact', () => {
  const target = parseConnectionUrl(
    'production-url',
    'postgresql://app@db.internal:5432/sh%20op?options=-c%20statement_timeout%3D0&application_name=a+b%26c'
  )
  assert.equal(target.options, '-c statement_timeout=0')
  assert.equal(target.applicationName, 'a+b&c', "'+' is a plus in a libpq URI, not a space")
  assert.equal(target.database, 'sh op')
  const info = conninfo(target)
  assert.match(info, / options='-c statement_timeout=0'( |$)/)
  assert.match(info, / dbname='sh op' /)
  assert.match(info, / application_name='a\+b&c' /)
  // Lazarus's own read-only option comes after the user's, so it wins.
  assert.match(
    conninfo(target, '-c default_transaction_read_only=on'),
    / options='-c statement_timeout=0 -c default_transaction_read_only=on'/
  )
})

test('the description is explicit and quoted, so a hostile value stays one value', () => {
  const target = parseConnectionUrl('production-url', "postgresql://o'brien@h:5432/d%27b%5C?application_name=x%27%20host%3Devil")
  const info = conninfo(target)
  assert.match(info, /user='o\\'brien'/)
  assert.match(info, /dbname='d\\'b\\\\'/)
  assert.match(info, / application_name='x\\' host=evil' /)
})

test('accepted parameters land in the description: TLS, timeouts, keepalives, target_session_attrs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-conn-'))
  try {
    const ca = path.join(dir, 'ca.crt')
    const key = path.join(dir, 'client.key')
    const cert = path.join(dir, 'client.crt')
    for (const file of [ca, key, cert]) writeFileSync(file, 'x', { mode: 0o600 })
    const target = parseConnectionUrl(
      'production-url',
      `postgresql://app@[::1]:6432/shop?sslmode=verify-ca&sslrootcert=${ca}&sslcert=${cert}&sslkey=${key}` +
        '&connect_timeout=3&keepalives_idle=30&keepalives_count=4&tcp_user_timeout=9000&target_session_attrs=read-write&ssl_min_protocol_version=TLSv1.3'
    )
    assert.equal(target.host, '::1')
    assert.equal(target.port, 6432)
    assert.deepEqual(target.tls, {
      mode: 'verify-ca',
      rootCert: ca,
      cert,
      key,
      crl: undefined,
      minProtocol: 'TLSv1.3',
      maxProtocol: undefined
    })
    assert.equal(target.connectTimeoutSeconds, 3)
    assert.equal(target.targetSessionAttrs, 'read-write')
    assert.deepEqual(target.tuning, { keepalives_idle: '30', keepalives_count: '4', tcp_user_timeout: '9000' })
    const info = conninfo(target)
    for (const part of [
      `sslrootcert='${ca}'`,
      "connect_timeout='3'",
      "keepalives_count='4'",
      "target_session_attrs='read-write'"
    ]) {
      assert.ok(info.includes(part), `${part} in ${info}`)
    }
    // ssl=true is libpq's URI spelling of sslmode=require.
    assert.equal(parseConnectionUrl('production-url', 'postgresql://app@h/shop?ssl=true').tls.mode, 'require')
    // A Unix socket never uses TLS, in libpq or in Lazarus's sessions.
    assert.equal(parseConnectionUrl('production-url', 'postgresql://app@%2Frun%2Fpg/shop?sslmode=require').tls.mode, 'disable')
    // libpq refuses a key others can read: so does Lazarus, up front.
    chmodSync(key, 0o644)
    assert.throws(
      () => parseConnectionUrl('production-url', `postgresql://app@h/shop?sslcert=${cert}&sslkey=${key}`),
      oneLineError(/sslkey=.*which others may read \(mode 644\).*chmod 600/)
    )
    assert.throws(
      () => parseConnectionUrl('production-url', `postgresql://app@h/shop?sslmode=verify-full`),
      oneLineError(/sslmode=verify-full but no CA certificate.*sslrootcert/)
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a password in the query is a secret too, in every form it was written', () => {
  const target = parseConnectionUrl('production-url', 'postgresql://app@h/shop?password=s%2Bcr%20t')
  assert.equal(target.password, 's+cr t')
  assert.ok(target.secrets.includes('s%2Bcr%20t'))
  assert.ok(target.secrets.includes('s+cr t'))
  assert.doesNotMatch(conninfo(target), /cr/)
})

test('the restore location check compares database, start time, port and system identifier', () => {
  const sql = restoreLocationCheckSql("lazarus_x'y", {
    systemIdentifier: '123',
    startedAt: '2026-01-01T00:00:00.000000Z',
    port: '5433'
  })
  assert.match(sql, /current_database\(\) IS DISTINCT FROM 'lazarus_x''y'/)
  assert.match(sql, /IS DISTINCT FROM '2026-01-01T00:00:00.000000Z'/)
  assert.match(sql, /current_setting\('port'\) IS DISTINCT FROM '5433'/)
  assert.match(sql, /pg_control_system\(\)\) IS DISTINCT FROM '123'/)
  const withoutId = restoreLocationCheckSql('d', { startedAt: 't', port: '1' })
  assert.doesNotMatch(withoutId, /pg_control_system/)
})
