#!/usr/bin/env node
// The taskino CLI; the code lives in dist/ (npm run build, which npm install runs through "prepare").
import { main } from '../dist/cli/main.js';

// Exit explicitly: after a failed start-up or a shutdown, no timer or socket may keep the process alive.
process.exit(await main(process.argv.slice(2)));
