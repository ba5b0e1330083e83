import { guardWorkflowCommands } from './util/command-guard.js'
import { run } from './action/main.js'
import { runPost } from './action/post.js'
import { isPostStep } from './action/state.js'

// Before anything is printed: production's names reach the log and must never act as workflow commands.
guardWorkflowCommands()
void (isPostStep() ? runPost() : run())
