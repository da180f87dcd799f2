import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { mergeTariffKinds, type Snapshot } from '#market';
import type { AskAttributes } from '#order-book';
import { AppSchema } from '#persistence';
import { usdRatesFrom, type EnergyUnit, type TariffSlot } from '#pricing';

export type { Snapshot, SnapshotOffer } from '#market';

const V = AppSchema.Gateway;

/** How far ahead tariff slots are read for forecasts (day-ahead markets publish ~36 h). */
const FORECAST_HORIZON_MS = 8 * 86_400_000;
/** How long one snapshot serves requests: intake at 1,000 jobs/s reads the market once a second. */
const SNAPSHOT_TTL_MS = 1_000;
/** Bounds on one snapshot. */
const MAX_OFFERS = 50_000;
const MAX_SLOTS = 100_000;

/**
 * The market as the gateway sees it through its views (market offers, tariff slots, FX rates, and
 * the matching engine's asks), read at most once per second and shared by every request.
 */
@Injectable()
export class MarketSnapshot {
  private current: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;

  constructor(private readonly dataSource: DataSource) {}

  /** The market as of at most `maxAgeMs` ago (0: read now, e.g. before refusing a job for a market that may have just changed). */
  async get(maxAgeMs = SNAPSHOT_TTL_MS): Promise<Snapshot> {
    const now = Date.now();
    if (this.current !== undefined && now - this.current.at < maxAgeMs) return this.current;
    if (maxAgeMs === 0) {
      this.current = await this.load();
      return this.current;
    }
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    this.current = await this.loading;
    return this.current;
  }

  private async load(): Promise<Snapshot> {
    const at = Date.now();
    const now = new Date(at);
    const [offers, slots, fx] = await Promise.all([
      this.dataSource.query(
        `SELECT o.provider_id, o.offer_id, o.instrument, o.region, o.grid_zone, o.valid_until, o.attributes, o.price::text AS price,
                o.currency, o.energy_kwh_per_unit::text AS energy_kwh_per_unit, o.energy_included,
                a.effective_nano_usd, a.compute_nano_usd AS ask_compute_nano_usd, a.available_micro, a.valid_until AS ask_valid_until, a.priority
           FROM "${V}".market_offers o
           LEFT JOIN "${V}".matching_asks a USING (provider_id, offer_id)
          WHERE o.valid_from <= $1 AND o.valid_until > $1
          LIMIT ${MAX_OFFERS}`,
        [now],
      ) as Promise<OfferRow[]>,
      this.dataSource.query(
        `SELECT zone, kind, slot_start, slot_end, price::text AS price, currency, unit FROM "${V}".market_tariff_slots
          WHERE slot_end > $1 AND slot_start < $2 ORDER BY zone, slot_start LIMIT ${MAX_SLOTS}`,
        [now, new Date(at + FORECAST_HORIZON_MS)],
      ) as Promise<SlotRow[]>,
      this.dataSource.query(
        `SELECT DISTINCT ON (base, quote) base, quote, rate::text AS rate, as_of FROM "${V}".market_fx_rates
          WHERE as_of <= $1 ORDER BY base, quote, as_of DESC`,
        [now],
      ) as Promise<{ base: string; quote: string; rate: string; as_of: Date }[]>,
    ]);
    return {
      at,
      offers: offers.map((r) => ({
        providerId: r.provider_id,
        offerId: r.offer_id,
        instrument: r.instrument,
        region: r.region,
        gridZone: r.grid_zone,
        validUntil: r.valid_until.getTime(),
        attributes: r.attributes,
        price: r.price,
        currency: r.currency.trim(),
        energyKwhPerUnit: r.energy_kwh_per_unit,
        energyIncluded: r.energy_included,
        ask:
          r.effective_nano_usd === null || r.available_micro === null || r.ask_valid_until === null
            ? undefined
            : {
                effectiveNanoUsd: BigInt(r.effective_nano_usd),
                computeNanoUsd: BigInt(r.ask_compute_nano_usd ?? r.effective_nano_usd),
                availableMicro: BigInt(r.available_micro),
                validUntil: r.ask_valid_until.getTime(),
                priority: Number(r.priority),
              },
      })),
      slots: slotsByZone(slots),
      rates: usdRatesFrom(fx.map((r) => ({ base: r.base.trim(), quote: r.quote.trim(), rate: r.rate, asOf: r.as_of }))).rates,
    };
  }
}

function slotsByZone(rows: readonly SlotRow[]): Map<string, TariffSlot[]> {
  const byZone = new Map<string, SlotRow[]>();
  for (const r of rows) {
    const list = byZone.get(r.zone);
    if (list === undefined) byZone.set(r.zone, [r]);
    else list.push(r);
  }
  const out = new Map<string, TariffSlot[]>();
  for (const [zone, list] of byZone) {
    out.set(zone, mergeTariffKinds(list.map((r) => ({ kind: r.kind, start: r.slot_start.getTime(), end: r.slot_end.getTime(), price: r.price, currency: r.currency.trim(), unit: r.unit }))));
  }
  return out;
}

interface OfferRow {
  provider_id: string;
  offer_id: string;
  instrument: string;
  region: string;
  grid_zone: string;
  valid_until: Date;
  attributes: AskAttributes;
  price: string;
  currency: string;
  energy_kwh_per_unit: string;
  energy_included: boolean;
  effective_nano_usd: string | null;
  ask_compute_nano_usd: string | null;
  available_micro: string | null;
  ask_valid_until: Date | null;
  priority: string | null;
}

interface SlotRow {
  zone: string;
  kind: string;
  slot_start: Date;
  slot_end: Date;
  price: string;
  currency: string;
  unit: EnergyUnit;
}
