import * as path from 'node:path'
import { isExecutable } from '../../util/executables.js'

/**
 * The only module that knows coreutils' stdbuf, which sets a program's stdio buffers. A program
 * reading or writing a pipe gets 4 KiB buffers, so in the dump-to-restore stream each 4 KiB of
 * the dump would cost a read or write and wake the program at the other end: measured on a 1 GiB
 * database, sed and psql with 1 MiB buffers spend about half the CPU they spent on the pipes (and
 * that CPU is the restore's on a runner that hosts the servers too). Reads return what the pipe
 * holds, so nothing waits for a buffer to fill; what a program writes, and in which order, stays
 * the same. Where stdbuf is missing (or the program is linked statically), the pipe's buffers stay.
 */
export const STREAM_BUFFER = '1M'

/**
 * The argv prefix that runs a program with STREAM_BUFFER stdio buffers: `stdbuf -i1M [-o1M]`, or
 * nothing. Synchronous: the stream's setup must not wait between taking a promise and handling it.
 */
export function streamBuffers(streams: { input: boolean; output: boolean }, searchPath = process.env.PATH ?? ''): string[] {
  const stdbuf = searchPath
    .split(path.delimiter)
    .filter(dir => path.isAbsolute(dir))
    .map(dir => path.join(dir, 'stdbuf'))
    .find(isExecutable)
  if (!stdbuf) return []
  return [stdbuf, ...(streams.input ? [`-i${STREAM_BUFFER}`] : []), ...(streams.output ? [`-o${STREAM_BUFFER}`] : [])]
}
