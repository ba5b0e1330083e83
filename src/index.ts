import { run } from './main.js'
import { runPost } from './post.js'
import { isPostStep } from './state.js'

void (isPostStep() ? runPost() : run())
