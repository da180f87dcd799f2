import 'reflect-metadata';
import { ConfigError, loadConfig } from '#platform';
import { checkDrift, runMigrations } from './index.js';
import { revertLastMigration } from './migrator.js';

const USAGE = 'usage: migrations <run | revert | drift>';

async function main(command: string | undefined): Promise<number> {
  const config = loadConfig();
  switch (command) {
    case 'run': {
      const ran = await runMigrations(config);
      process.stdout.write(ran.length === 0 ? 'migrations: up to date\n' : `migrations: ran ${ran.join(', ')}\n`);
      return 0;
    }
    case 'revert':
      await revertLastMigration(config);
      process.stdout.write('migrations: reverted the last migration\n');
      return 0;
    case 'drift': {
      await runMigrations(config);
      const pending = await checkDrift(config);
      if (pending.length === 0) {
        process.stdout.write('drift: entities and migrations agree\n');
        return 0;
      }
      process.stderr.write(`drift: the entities need SQL that no migration runs:\n${pending.map((q) => `  ${q};`).join('\n')}\n`);
      return 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 64;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (error) {
  process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `migrations: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
