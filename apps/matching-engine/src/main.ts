import { runService } from '#runtime';
import { MatchingEngineModule, matchingEngineService } from './matching-engine.module.js';

await runService(matchingEngineService, MatchingEngineModule);
