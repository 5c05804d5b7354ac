import { createLogger, loadConfig } from './mod.ts';
import { migrate } from './migrate.ts';

const config = loadConfig();
const log = createLogger(config, 'migrate');
const result = await migrate(config, log);
log.info(result, 'migrations done');
