import net from 'node:net'

/**
 * Loopback TCP servers that stand in for the network between the action and PostgreSQL:
 * a forwarding proxy that records what clients send, and a server that never answers.
 */

/** Protocol codes a client may send before its real startup packet (PostgreSQL protocol 3.0). */
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

export interface RecordingProxy {
  port: number
  /** The startup parameters of every connection: user, database, application_name, options, ... */
  startups: Record<string, string>[]
  /** Every statement clients sent, in simple ('Q') and extended ('P', parse) query messages. */
  statements: string[]
  /** Each connection's startup parameters and the statements it sent, in order. */
  connections: { startup: Record<string, string>; statements: string[] }[]
  close(): Promise<void>
}

/**
 * Forwards 127.0.0.1:<port> to 127.0.0.1:<targetPort>, so one server answers under a second
 * address (as behind a port forward or a connection pooler), and records each connection's
 * startup parameters, which say how a client set up its session before any query ran, and every
 * statement it sent.
 */
export function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const startups: Record<string, string>[] = []
  const statements: string[] = []
  const connections: RecordingProxy['connections'] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    let connection: RecordingProxy['connections'][number] | undefined
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    let pending = Buffer.alloc(0)
    let inStartup = true
    client.on('data', chunk => {
      upstream.write(chunk)
      pending = Buffer.concat([pending, chunk])
      // Startup packets: int32 length, int32 code, body. Later messages: type byte, int32 length, body.
      for (;;) {
        if (inStartup) {
          if (pending.length < 8 || pending.length < pending.readInt32BE(0)) return
          const length = pending.readInt32BE(0)
          const code = pending.readInt32BE(4)
          const packet = pending.subarray(0, length)
          pending = pending.subarray(length)
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) continue
          inStartup = false
          if (code !== CANCEL_REQUEST) {
            connection = { startup: startupParameters(packet), statements: [] }
            startups.push(connection.startup)
            connections.push(connection)
          }
        } else {
          if (pending.length < 5 || pending.length < 1 + pending.readInt32BE(1)) return
          const type = String.fromCharCode(pending[0])
          const body = pending.subarray(5, 1 + pending.readInt32BE(1))
          pending = pending.subarray(1 + pending.readInt32BE(1))
          const strings = body.toString('utf8').split('\0')
          const statement = type === 'Q' ? strings[0] : type === 'P' ? strings[1] : undefined
          if (statement !== undefined) {
            statements.push(statement)
            connection?.statements.push(statement)
          }
        }
      }
    })
    upstream.on('data', chunk => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
  })
  return listen(server, sockets).then(({ port, close }) => ({ port, startups, statements, connections, close }))
}

/** key\0value\0...\0 after the length and protocol version. */
function startupParameters(packet: Buffer): Record<string, string> {
  const fields = packet.subarray(8).toString('utf8').split('\0')
  const parameters: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length && fields[i] !== ''; i += 2) parameters[fields[i]] = fields[i + 1]
  return parameters
}

/** A server that accepts connections and never says a word: a host that does not answer. */
export function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  return listen(server, sockets)
}

function listen(server: net.Server, sockets: Set<net.Socket>): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      const close = () =>
        new Promise<void>(done => {
          for (const socket of sockets) socket.destroy()
          server.close(() => done())
        })
      resolve({ port, close })
    })
  })
}

/** Statements that change something (first keyword of each `;`-separated part), for asserting there were none. */
export function writingStatements(statements: string[]): string[] {
  const keywords = ['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE', 'CREATE', 'DROP', 'ALTER', 'COMMENT', 'GRANT', 'REVOKE']
  const maintenance = ['VACUUM', 'REINDEX', 'CLUSTER', 'REFRESH', 'COPY\\s+\\S+(\\s*\\([^)]*\\))?\\s+FROM']
  const writes = new RegExp(`^(${[...keywords, ...maintenance].join('|')})\\b`, 'i')
  return statements.filter(statement =>
    statement
      .replace(/--[^\n]*/g, '')
      .split(';')
      .some(part => writes.test(part.trim()))
  )
}

export interface FreezableProxy {
  port: number
  /** Stops passing bytes either way, connections kept open: to the client, a server whose processes froze. */
  freeze(): void
  /** Passes bytes again, including what waited meanwhile. */
  thaw(): void
  close(): Promise<void>
}

/**
 * Forwards 127.0.0.1:<port> to 127.0.0.1:<targetPort> and can freeze: it then stops reading from
 * both sides (so the kernels still acknowledge, but nothing answers), as a server stopped with
 * SIGSTOP or a network that silently drops traffic would look. A frozen proxy accepts new
 * connections and leaves them silent too. Shared test servers cannot be stopped themselves.
 */
export function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  const sockets = new Set<net.Socket>()
  let frozen = false
  const server = net.createServer(client => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      if (frozen) socket.pause()
    }
    // Plain 'data' handlers, not pipe(): pipe() resumes a source on drain, which would thaw it.
    client.on('data', chunk => upstream.write(chunk))
    upstream.on('data', chunk => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
  })
  return listen(server, sockets).then(({ port, close }) => ({
    port,
    close,
    freeze() {
      frozen = true
      for (const socket of sockets) socket.pause()
    },
    thaw() {
      frozen = false
      for (const socket of sockets) socket.resume()
    }
  }))
}
