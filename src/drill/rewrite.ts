import * as fs from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { parseTocComment, tocEntryAt, type TocEntry } from '../engines/postgres/restore-failure.js'
import type { DumpRewriter } from './plan.js'

/**
 * Streams a dump file through a line rewriter into a new private file. Bytes are decoded as
 * latin1, which maps every byte to one character and back, so a dump in any server encoding
 * passes through unchanged; the rewriters only look at ASCII.
 */
export async function rewriteDump(inputFile: string, outputFile: string, rewriter: DumpRewriter): Promise<void> {
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

/**
 * The TOC entry (restore-failure.ts) in force at `line` of a dump file: the object psql was
 * restoring when it stopped there. Reads only up to that line, a chunk at a time.
 */
export async function tocEntryInFile(file: string, line: number): Promise<TocEntry | undefined> {
  const numbered: string[] = []
  let lineNumber = 0
  let partial = ''
  const stream = fs.createReadStream(file)
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const lines = (partial + chunk.toString('latin1')).split('\n')
      partial = lines.pop() ?? ''
      for (const text of lines) {
        if (++lineNumber > line) return tocEntryAt(numbered, line)
        if (text.startsWith('-- ') && parseTocComment(text)) numbered.push(`${lineNumber}:${text}`)
      }
    }
  } finally {
    stream.destroy()
  }
  return tocEntryAt(numbered, line)
}
