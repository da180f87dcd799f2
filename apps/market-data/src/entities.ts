import { FeedKeyEntity } from './feed-keys/feed-key.entity.js';
import { FxRateEntity } from './fx/fx-rate.entity.js';
import { OfferEntity } from './offers/offer.entity.js';
import { TickRejectionEntity } from './offers/tick-rejection.entity.js';
import { QuoteEntity } from './quotes/quote.entity.js';
import { SpotPriceTickEntity } from './spot-prices/spot-price-tick.entity.js';
import { TariffFeedEntity, TariffSlotEntity } from './tariffs/tariff.entities.js';

/** The tables market-data owns (its inbox and outbox are added by the service kit). */
export const marketDataEntities = [
  SpotPriceTickEntity,
  OfferEntity,
  TickRejectionEntity,
  FeedKeyEntity,
  TariffFeedEntity,
  TariffSlotEntity,
  FxRateEntity,
  QuoteEntity,
];
