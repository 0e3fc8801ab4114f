// Debian's Chromium, headless, driven by playwright-core (tools/node_modules; run with NODE_PATH=tools/node_modules).
// The flags keep it off the network this machine does not have: no background connections, no component updates.
'use strict';
const { chromium } = require('playwright-core');

exports.launch = () => chromium.launch({
  executablePath: process.env.NANO_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

// Runs main(), prints its result as one JSON line; any failure prints the reason and exits 1.
exports.run = (main) => main().then(
  (result) => { console.log(JSON.stringify(result)); process.exit(0); },
  (error) => { console.error(`FAILED: ${error && error.stack || error}`); process.exit(1); });
