import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { conninfo, parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { messageOf } from '../../../../src/util/errors.js'
import { realClientDir } from '../../../support/tampered-client.js'
import { CERT_USER, SSL_ONLY_USER, startTlsCluster, type TlsCluster } from '../../../support/tls-cluster.js'

// Issue 16 §1: TLS parameters mean what libpq means, for Lazarus's own sessions exactly as for
// psql and pg_dump (both libpq). Each case connects with one URI twice, once through psql (real
// libpq, given the description Lazarus builds) and once as a Lazarus session, against a real
// server with TLS on and certificates made for the test, and both must agree with what libpq's
// documentation says: connected or refused, and encrypted or not.

let server: TlsCluster

before(async () => {
  server = await startTlsCluster('tls-modes')
})

after(async () => {
  await server?.stop()
})

type Outcome = { connected: true; encrypted: boolean } | { connected: false; error: string }

/** Connects with psql (libpq) using Lazarus's description of the URI. */
function throughLibpq(uri: string): Outcome {
  const target = parseConnectionUrl('production-url', uri)
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^PG/.test(key)) env[key] = value
  if (target.password) env.PGPASSWORD = target.password
  const result = spawnSync(
    path.join(realClientDir(), 'psql'),
    ['-X', '-At', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', conninfo(target)],
    { env, encoding: 'utf8', timeout: 30_000 }
  )
  if (result.status !== 0) return { connected: false, error: result.stderr.trim() }
  return { connected: true, encrypted: result.stdout.trim() === 't' }
}

/** Connects as a Lazarus session (node's TLS) using the same description. */
async function throughLazarus(uri: string): Promise<Outcome> {
  let session: DatabaseSession | undefined
  try {
    session = await DatabaseSession.open(parseConnectionUrl('production-url', uri), 'production')
    const [row] = await session.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    return { connected: true, encrypted: row.ssl }
  } catch (error) {
    return { connected: false, error: messageOf(error) }
  } finally {
    await session?.close()
  }
}

interface Case {
  name: string
  uri: () => string
  /** What libpq's documentation says: 'tls', 'plain', or a pattern for Lazarus's refusal. */
  expect: 'tls' | 'plain' | RegExp
}

const password = () => encodeURIComponent(server.password)
const at = (host: string, user = 'postgres', withPassword = true) =>
  `postgresql://${user}${withPassword ? ':' + password() : ''}@${host}:${server.port}/postgres`

const cases: Case[] = [
  { name: 'disable: no TLS', uri: () => `${at('127.0.0.1')}?sslmode=disable`, expect: 'plain' },
  { name: 'allow: unencrypted first', uri: () => `${at('127.0.0.1')}?sslmode=allow`, expect: 'plain' },
  {
    name: 'allow: TLS when the server refuses unencrypted',
    uri: () => `${at('127.0.0.1', SSL_ONLY_USER)}?sslmode=allow`,
    expect: 'tls'
  },
  {
    name: 'disable where the server demands TLS',
    uri: () => `${at('127.0.0.1', SSL_ONLY_USER)}?sslmode=disable`,
    expect: /refused user 'ssl_only'.*SSL off/
  },
  { name: 'prefer (the default): TLS, certificate not checked', uri: () => at('127.0.0.1'), expect: 'tls' },
  {
    name: 'require: TLS, a certificate from an unknown CA accepted',
    uri: () => `${at('127.0.0.1')}?sslmode=require`,
    expect: 'tls'
  },
  {
    name: 'require with sslrootcert checks the chain, as libpq does',
    uri: () => `${at('127.0.0.1')}?sslmode=require&sslrootcert=${server.files.otherCa}`,
    expect: /certificate at 127\.0\.0\.1:\d+ failed verification under sslmode=require/
  },
  {
    name: 'verify-ca: the chain, not the host name (the certificate names only localhost)',
    uri: () => `${at('127.0.0.1')}?sslmode=verify-ca&sslrootcert=${server.files.ca}`,
    expect: 'tls'
  },
  {
    name: 'verify-ca with the wrong CA',
    uri: () => `${at('127.0.0.1')}?sslmode=verify-ca&sslrootcert=${server.files.otherCa}`,
    expect: /failed verification under sslmode=verify-ca/
  },
  {
    name: 'verify-full: the host name too (127.0.0.1 is not in the certificate)',
    uri: () => `${at('127.0.0.1')}?sslmode=verify-full&sslrootcert=${server.files.ca}`,
    expect: /failed verification under sslmode=verify-full.*names the host/
  },
  {
    name: 'verify-full by the name in the certificate',
    uri: () => `${at('localhost')}?sslmode=verify-full&sslrootcert=${server.files.ca}`,
    expect: 'tls'
  },
  {
    name: 'sslcrl that revokes nothing',
    uri: () => `${at('127.0.0.1')}?sslmode=verify-ca&sslrootcert=${server.files.ca}&sslcrl=${server.files.emptyCrl}`,
    expect: 'tls'
  },
  {
    name: "sslcrl that revokes the server's certificate",
    uri: () => `${at('127.0.0.1')}?sslmode=verify-ca&sslrootcert=${server.files.ca}&sslcrl=${server.files.revokingCrl}`,
    expect: /failed verification under sslmode=verify-ca.*revoked/i
  },
  {
    name: 'a client certificate logs in where the server asks for one',
    uri: () =>
      `${at('127.0.0.1', CERT_USER, false)}?sslmode=verify-ca&sslrootcert=${server.files.ca}` +
      `&sslcert=${server.files.clientCert}&sslkey=${server.files.clientKey}`,
    expect: 'tls'
  },
  {
    name: 'without the client certificate the server refuses',
    uri: () => `${at('127.0.0.1', CERT_USER, false)}?sslmode=require`,
    expect: /refused user 'cert_user'.*client certificate/
  }
]

for (const item of cases) {
  test(`TLS: ${item.name}`, async () => {
    const uri = item.uri()
    const [libpq, lazarus] = [throughLibpq(uri), await throughLazarus(uri)]
    if (typeof item.expect === 'string') {
      assert.deepEqual(libpq, { connected: true, encrypted: item.expect === 'tls' }, `psql: ${JSON.stringify(libpq)}`)
      assert.deepEqual(lazarus, libpq, 'Lazarus connects as psql does')
    } else {
      assert.equal(libpq.connected, false, `psql refuses too: ${JSON.stringify(libpq)}`)
      assert.equal(lazarus.connected, false, `Lazarus refuses: ${JSON.stringify(lazarus)}`)
      if (!lazarus.connected) {
        assert.match(lazarus.error, item.expect)
        assert.doesNotMatch(lazarus.error, /\n/)
      }
    }
  })
}
