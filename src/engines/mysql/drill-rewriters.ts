import * as fs from 'node:fs'
import { pipeline } from 'node:stream/promises'

/**
 * The chaos drill's dump rewriters for MySQL/MariaDB dumps: each streams the lines of a
 * mysqldump/mariadb-dump and corrupts one table's data or one schema object, so that the
 * verifier, not the restore, has to notice.
 */

/** A line-by-line rewrite of a dump. `push` returns the lines to write in its place. */
export interface DumpRewriter {
  push(line: string): string[]
  /** What was done, once the whole dump went through; undefined when the target was never found. */
  result(): { evidence: string } | undefined
}

/**
 * Streams a dump file through a line rewriter into a new private file. Bytes are decoded as
 * latin1, which maps every byte to one character and back, so a dump in any encoding passes
 * through unchanged; the rewriters only look at ASCII.
 */
export async function rewriteDumpFile(inputFile: string, outputFile: string, rewriter: DumpRewriter): Promise<void> {
  await pipeline(
    fs.createReadStream(inputFile),
    async function* (chunks: AsyncIterable<Buffer>) {
      let partial = ''
      for await (const chunk of chunks) {
        const lines = (partial + chunk.toString('latin1')).split('\n')
        partial = lines.pop() ?? ''
        const out: string[] = []
        for (const line of lines) for (const written of rewriter.push(line)) out.push(written)
        if (out.length > 0) yield Buffer.from(out.join('\n') + '\n', 'latin1')
      }
      if (partial) yield Buffer.from(rewriter.push(partial).join('\n'), 'latin1')
    },
    fs.createWriteStream(outputFile, { mode: 0o600 })
  )
}
