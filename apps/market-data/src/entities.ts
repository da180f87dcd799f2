import { SpotPriceTickEntity } from './spot-prices/spot-price-tick.entity.js';

/** The tables market-data owns (its inbox and outbox are added by the service kit). */
export const marketDataEntities = [SpotPriceTickEntity];
