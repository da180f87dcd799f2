import { runService } from '#runtime';
import { DispatcherModule, dispatcherService } from './dispatcher.module.js';

await runService(dispatcherService, DispatcherModule);
