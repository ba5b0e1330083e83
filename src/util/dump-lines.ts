import * as fs from 'node:fs'
import { pipeline } from 'node:stream/promises'

// A dump file read a line at a time, streamed, never held in memory: what every engine's drill
// (a copy rewritten line by line) and failure report (the object in force at psql's or mysql's
// failed line) need. Bytes are decoded as latin1, which maps every byte to one character and
// back, so a dump in any encoding passes through unchanged; the callers only look at ASCII.

/** The newline-ended lines of a file in order, as latin1 text, a chunk at a time; reads no further than the caller asks. */
async function* linesOf(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let partial = ''
  for await (const chunk of stream) {
    const lines = (partial + chunk.toString('latin1')).split('\n')
    partial = lines.pop() ?? ''
    yield* lines
  }
}

/**
 * Streams `inputFile` into a new private file, each line replaced by the lines `push` returns
 * for it (none removes it). A last line without a newline keeps having none.
 */
export async function rewriteLines(inputFile: string, outputFile: string, push: (line: string) => string[]): Promise<void> {
  await pipeline(
    fs.createReadStream(inputFile),
    async function* (chunks: AsyncIterable<Buffer>) {
      let partial = ''
      for await (const chunk of chunks) {
        const lines = (partial + chunk.toString('latin1')).split('\n')
        partial = lines.pop() ?? ''
        const out: string[] = []
        for (const line of lines) for (const written of push(line)) out.push(written)
        if (out.length > 0) yield Buffer.from(out.join('\n') + '\n', 'latin1')
      }
      if (partial) yield Buffer.from(push(partial).join('\n'), 'latin1')
    },
    fs.createWriteStream(outputFile, { mode: 0o600 })
  )
}

/**
 * The lines up to `line` (1-based) of a file that `keep` picks, each as `number:text`: what a
 * failure's place is looked up in. Reads only up to that line.
 */
export async function numberedLinesUpTo(file: string, line: number, keep: (text: string) => boolean): Promise<string[]> {
  const numbered: string[] = []
  let lineNumber = 0
  const stream = fs.createReadStream(file)
  try {
    for await (const text of linesOf(stream as AsyncIterable<Buffer>)) {
      if (++lineNumber > line) break
      if (keep(text)) numbered.push(`${lineNumber}:${text}`)
    }
  } finally {
    stream.destroy()
  }
  return numbered
}
