import type { Command } from 'commander';
import { register as registerCheck } from './check.ts';
import { register as registerPorts } from './ports.ts';
import { register as registerMonitor } from './monitor.ts';
import { register as registerState } from './state.ts';
import { register as registerSim } from './sim.ts';
import { register as registerPolicy } from './policy.ts';
import { register as registerFlash } from './flash.ts';
import { register as registerHil } from './hil.ts';
import { register as registerCampaign } from './campaign.ts';
import { register as registerReplay } from './replay.ts';

/**
 * Every subcommand registers itself here. One line per command file keeps the command modules
 * independent: a command file exports `register(program)` and nothing else the CLI needs.
 */
export const COMMANDS: ((program: Command) => void)[] = [
  registerCheck,
  registerPorts,
  registerMonitor,
  registerState,
  registerSim,
  registerPolicy,
  registerFlash,
  registerHil,
  registerCampaign,
  registerReplay,
];
