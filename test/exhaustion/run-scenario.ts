/**
 * Runs one exhaustion scenario in this process and prints its ScenarioResult as one JSON line:
 *   node --import tsx test/exhaustion/run-scenario.ts <scenario> <ci|full> [size]
 * A process of its own, so its peak RSS is the scenario's.
 */
import { runScenario, SCENARIOS, type Scale } from './scenarios.js';

const [name, scaleArg = 'ci', sizeArg] = process.argv.slice(2);
const scenario = SCENARIOS.find((s) => s.name === name);
if (!scenario || (scaleArg !== 'ci' && scaleArg !== 'full')) {
  process.stderr.write(
    `usage: run-scenario.ts <${SCENARIOS.map((s) => s.name).join('|')}> <ci|full> [size]\n`,
  );
  process.exit(2);
}
const scale: Scale = scaleArg;
const result = await runScenario(scenario, scale, sizeArg === undefined ? undefined : Number(sizeArg));
process.stdout.write(`${JSON.stringify(result)}\n`);
