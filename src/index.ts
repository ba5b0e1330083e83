import { guardWorkflowCommands } from './command-guard.js'
import { run } from './main.js'
import { runPost } from './post.js'
import { isPostStep } from './state.js'

// Before anything is printed: production's names reach the log and must never act as workflow commands.
guardWorkflowCommands()
void (isPostStep() ? runPost() : run())
