import type { Command } from './command.js';

export const command: Command = {
  name: 'etcd',
  summary: 'Start a whole cluster on one data dir.',
  usage: '[flags]',
  flags: {},
  async run() {
    throw new Error('not implemented yet');
  },
};
