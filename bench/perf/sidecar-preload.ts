// Loaded with `node --import` into a real `taskino run`: counts its Redis commands for the benchmark
// and ends it if the benchmark dies. It changes nothing else in the sidecar.
import { answerCountRequests } from './command-counter.js';
import { exitWithParent } from './protocol.js';

answerCountRequests();
exitWithParent();
process.channel?.unref(); // the IPC channel must not keep a stopping sidecar alive
