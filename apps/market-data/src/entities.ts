import { FxRateEntity } from './fx/fx-rate.entity.js';
import { OfferEntity } from './offers/offer.entity.js';
import { TickRejectionEntity } from './offers/tick-rejection.entity.js';
import { QuoteEntity } from './quotes/quote.entity.js';
import { SpotPriceTickEntity } from './spot-prices/spot-price-tick.entity.js';
import { TariffFeedEntity, TariffSlotEntity } from './tariffs/tariff.entities.js';

/** The tables market-data owns (its inbox and outbox are added by the service kit; feed keys are the gateway's, read through a view). */
export const marketDataEntities = [
  SpotPriceTickEntity,
  OfferEntity,
  TickRejectionEntity,
  TariffFeedEntity,
  TariffSlotEntity,
  FxRateEntity,
  QuoteEntity,
];
