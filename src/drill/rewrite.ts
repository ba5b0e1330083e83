import { parseTocComment, tocEntryAt, type TocEntry } from '../engines/postgres/restore-failure.js'
import { numberedLinesUpTo, rewriteLines } from '../util/dump-lines.js'
import type { DumpRewriter } from './plan.js'

/**
 * Streams a dump file through a line rewriter into a new private file (util/dump-lines.ts: any
 * server encoding passes through unchanged; the rewriters only look at ASCII).
 */
export async function rewriteDump(inputFile: string, outputFile: string, rewriter: DumpRewriter): Promise<void> {
  await rewriteLines(inputFile, outputFile, line => rewriter.push(line))
}

/**
 * The TOC entry (restore-failure.ts) in force at `line` of a dump file: the object psql was
 * restoring when it stopped there. Reads only up to that line, a chunk at a time.
 */
export async function tocEntryInFile(file: string, line: number): Promise<TocEntry | undefined> {
  const numbered = await numberedLinesUpTo(file, line, text => text.startsWith('-- ') && parseTocComment(text) !== undefined)
  return tocEntryAt(numbered, line)
}
