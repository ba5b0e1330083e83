import { execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startCluster, type Cluster } from './cluster.js'

/**
 * A private PostgreSQL 13 server with TLS on, and certificates made for it with openssl: a CA,
 * the server's certificate (signed by that CA, naming only `localhost`, so that connecting to
 * 127.0.0.1 tells a host-name check from a chain check), another CA that signed nothing of this
 * server's, a client certificate for `cert_user` (who logs in by certificate alone), and two
 * revocation lists of the CA: one empty, one revoking the server's certificate.
 *
 * pg_hba: `cert_user` by certificate over TLS; `ssl_only` by password over TLS only; everyone
 * else by password with or without TLS.
 */
export interface TlsCluster extends Cluster {
  files: {
    ca: string
    otherCa: string
    clientCert: string
    clientKey: string
    emptyCrl: string
    revokingCrl: string
  }
}

export const CERT_USER = 'cert_user'
export const SSL_ONLY_USER = 'ssl_only'

export async function startTlsCluster(name = 'tls'): Promise<TlsCluster> {
  const cluster = await startCluster(name)
  const clientDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-tls-client-'))
  const serverDir = path.dirname(cluster.dataDir)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: clientDir, stdio: ['ignore', 'pipe', 'pipe'] })
  const file = (name: string) => path.join(clientDir, name)
  const newKey = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name))

  const makeCa = (prefix: string, subject: string) => {
    newKey(`${prefix}.key`)
    openssl(
      ...['req', '-x509', '-new', '-key', file(`${prefix}.key`), '-out', file(`${prefix}.crt`), '-days', '3', '-subj', subject],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']
    )
  }
  const sign = (prefix: string, subject: string, extensions: string) => {
    newKey(`${prefix}.key`)
    openssl('req', '-new', '-key', file(`${prefix}.key`), '-out', file(`${prefix}.csr`), '-subj', subject)
    writeFileSync(file(`${prefix}.ext`), extensions)
    openssl(
      ...['x509', '-req', '-in', file(`${prefix}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial'],
      ...['-out', file(`${prefix}.crt`), '-days', '2', '-extfile', file(`${prefix}.ext`)]
    )
  }
  makeCa('ca', '/CN=Lazarus test CA')
  makeCa('other-ca', '/CN=Some other CA')
  sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n')
  sign('client', `/CN=${CERT_USER}`, 'extendedKeyUsage=clientAuth\n')

  // A minimal `openssl ca` setup, only to write revocation lists.
  writeFileSync(file('index.txt'), '')
  writeFileSync(file('crlnumber'), '01\n')
  writeFileSync(
    file('ca.cnf'),
    [
      '[ca]',
      'default_ca = lazarus',
      '[lazarus]',
      `database = ${file('index.txt')}`,
      `crlnumber = ${file('crlnumber')}`,
      `certificate = ${file('ca.crt')}`,
      `private_key = ${file('ca.key')}`,
      'default_md = sha256',
      'default_crl_days = 2',
      ''
    ].join('\n')
  )
  openssl('ca', '-config', file('ca.cnf'), '-gencrl', '-out', file('empty.crl'))
  openssl('ca', '-config', file('ca.cnf'), '-revoke', file('server.crt'))
  openssl('ca', '-config', file('ca.cnf'), '-gencrl', '-out', file('revoking.crl'))

  // The server's files belong to the user the server runs as, its key readable by nobody else.
  const owner = process.getuid?.() === 0 ? postgresIds() : undefined
  for (const [from, to] of [
    ['server.crt', 'server.crt'],
    ['server.key', 'server.key'],
    ['ca.crt', 'client-ca.crt']
  ]) {
    const target = path.join(serverDir, to)
    writeFileSync(target, readFileSync(file(from)), { mode: 0o600 })
    if (owner) chownSync(target, owner.uid, owner.gid)
  }
  writeFileSync(
    path.join(cluster.dataDir, 'pg_hba.conf'),
    [
      'local all all trust',
      `hostnossl all ${SSL_ONLY_USER} 127.0.0.1/32 reject`,
      `hostssl all ${CERT_USER} 127.0.0.1/32 cert`,
      'host all all 127.0.0.1/32 scram-sha-256',
      ''
    ].join('\n')
  )
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`
  await cluster.query(`ALTER SYSTEM SET ssl_cert_file = ${quote(path.join(serverDir, 'server.crt'))}`)
  await cluster.query(`ALTER SYSTEM SET ssl_key_file = ${quote(path.join(serverDir, 'server.key'))}`)
  await cluster.query(`ALTER SYSTEM SET ssl_ca_file = ${quote(path.join(serverDir, 'client-ca.crt'))}`)
  await cluster.query('ALTER SYSTEM SET ssl = on')
  await cluster.query(`CREATE ROLE ${CERT_USER} LOGIN SUPERUSER`)
  await cluster.query(`CREATE ROLE ${SSL_ONLY_USER} LOGIN SUPERUSER PASSWORD ${quote(cluster.password)}`)
  await cluster.query('SELECT pg_reload_conf()')
  // The reload is asynchronous: wait until a new session sees TLS on.
  for (let attempt = 0; ; attempt++) {
    const [row] = await cluster.query<{ ssl: string }>("SELECT current_setting('ssl') AS ssl")
    if (row.ssl === 'on') break
    if (attempt > 100) throw new Error('the test server did not turn TLS on')
    await new Promise(resolve => setTimeout(resolve, 50))
  }

  const stop = cluster.stop
  return {
    ...cluster,
    files: {
      ca: file('ca.crt'),
      otherCa: file('other-ca.crt'),
      clientCert: file('client.crt'),
      clientKey: file('client.key'),
      emptyCrl: file('empty.crl'),
      revokingCrl: file('revoking.crl')
    },
    stop: async () => {
      await stop()
      rmSync(clientDir, { recursive: true, force: true })
    }
  }
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find(entry => entry.startsWith('postgres:'))
  if (!line) throw new Error("no 'postgres' user to own the server's TLS files")
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}
