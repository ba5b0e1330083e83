import { numberedLinesUpTo } from '../../util/dump-lines.js'
import { decodeDumpText } from './dump-encoding.js'
import { describeFailurePlace, parseTocComment, psqlErrorLine, tocEntryAt, type TocEntry } from './restore-failure.js'

/**
 * Where a failed restore stopped, named from the dump itself: the TOC comment in force at the
 * line psql names (restore-failure.ts), looked up in the file psql read (a kept copy), the line
 * index the sanitizer wrote of a stream, or the TOC comments a sectioned restore's pipeline saw.
 */

/**
 * The TOC entry (restore-failure.ts) in force at `line` of a dump file: the object psql was
 * restoring when it stopped there. Reads only up to that line, a chunk at a time.
 */
export async function tocEntryInFile(file: string, line: number): Promise<TocEntry | undefined> {
  const numbered = await numberedLinesUpTo(file, line, text => text.startsWith('-- ') && parseTocComment(text) !== undefined)
  return tocEntryAt(numbered, line)
}

/**
 * Where a failed restore stopped, in words (restore-failure.ts), from psql's error and the TOC
 * entry `entryAt` finds at the line it names; names decoded from the dump's `encoding`.
 */
export async function failurePlace(
  error: string,
  encoding: string,
  entryAt: (line: number) => TocEntry | undefined | Promise<TocEntry | undefined>
): Promise<string | undefined> {
  const line = psqlErrorLine(error)
  if (line === undefined) return undefined
  try {
    const place = describeFailurePlace(await entryAt(line), line)
    return place === undefined ? undefined : decodeDumpText(place, encoding)
  } catch {
    // Only the words are lost: the error itself still says what failed.
    return undefined
  }
}
