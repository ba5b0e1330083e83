import * as fs from 'node:fs'
import * as tls from 'node:tls'
import type { ConnectionTarget } from './connection.js'

/**
 * TLS for Lazarus's own sessions (node's tls, through `pg`), made to mean exactly what libpq
 * means for pg_dump and psql with the same description:
 * - disable: no TLS; allow: unencrypted first, TLS if the server refuses that; prefer: TLS first,
 *   unencrypted if TLS fails; require: TLS, the certificate not checked;
 * - verify-ca: the certificate must chain to sslrootcert; the host name is not checked;
 * - verify-full: the chain, and the certificate must name the host.
 * As in libpq, a CA file (sslrootcert, or ~/.postgresql/root.crt) makes every TLS attempt check
 * the chain, and sslcrl makes it check revocation. The client certificate and key are sent in
 * every mode.
 */

/** `false` is an unencrypted attempt; libpq's order of attempts for the sslmode. */
export type ConnectAttempt = false | tls.ConnectionOptions

export function connectAttempts(target: ConnectionTarget): ConnectAttempt[] {
  switch (target.tls.mode) {
    case 'disable':
      return [false]
    case 'allow':
      return [false, tlsOptions(target)]
    case 'prefer':
      return [tlsOptions(target), false]
    default:
      return [tlsOptions(target)]
  }
}

/** node's TLS options for the description: files read now, so a changed file is read afresh per session. */
export function tlsOptions(target: ConnectionTarget): tls.ConnectionOptions {
  const settings = target.tls
  const verifyChain = settings.mode === 'verify-ca' || settings.mode === 'verify-full' || settings.rootCert !== undefined
  const read = (file: string | undefined) => (file === undefined ? undefined : fs.readFileSync(file))
  return {
    rejectUnauthorized: verifyChain,
    ca: verifyChain ? read(settings.rootCert) : undefined,
    crl: verifyChain ? read(settings.crl) : undefined,
    cert: read(settings.cert),
    key: read(settings.key),
    minVersion: settings.minProtocol as tls.SecureVersion | undefined,
    maxVersion: settings.maxProtocol as tls.SecureVersion | undefined,
    // Only verify-full checks the name, and always against the host Lazarus was given (not
    // whatever name the TLS layer would fall back to for an IP address).
    checkServerIdentity:
      settings.mode === 'verify-full'
        ? (_name, certificate) => tls.checkServerIdentity(target.host, certificate)
        : () => undefined
  }
}
