/** Writes fixtures/exim-telnet.pcap, the demo capture the README's first command reads. */
import { writeFileSync } from 'node:fs';
import { EXIM_CLIENT, EXIM_SERVER, EXIM_TELNET_STEPS } from '../test/helpers/exim-telnet.js';
import { dialogueCapture } from '../test/helpers/scripted-capture.js';

const capture = dialogueCapture(
  {
    client: EXIM_CLIENT,
    server: EXIM_SERVER,
    steps: EXIM_TELNET_STEPS,
    ackEachStep: true,
    clientIsn: 3_735_928_559,
  },
  { startSec: 1_673_342_043, stepNsec: 350_000_000 },
);
writeFileSync(new URL('../fixtures/exim-telnet.pcap', import.meta.url), capture);
console.log(`fixtures/exim-telnet.pcap: ${capture.length} bytes`);
