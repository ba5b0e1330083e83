import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withHint } from '../../../src/util/errors.js'

// The report's `error` and the step's message carry a failed restore's error and the hint that
// explains it in one string: one way of joining them, whichever run failed.

test('a hint follows the error after " | "; without one (or an empty one) the error stands alone', () => {
  const error = 'ERROR:  permission denied for schema app'
  assert.equal(
    withHint(error, 'the restore role lacks CREATE on the database'),
    `${error} | the restore role lacks CREATE on the database`
  )
  assert.equal(withHint(error, undefined), error)
  assert.equal(withHint(error, ''), error)
})
