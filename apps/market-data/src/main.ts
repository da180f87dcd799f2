import { runService } from '#runtime';
import { MarketDataModule, marketDataService } from './market-data.module.js';

await runService(marketDataService, MarketDataModule);
