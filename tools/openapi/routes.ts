import type { Type } from '@nestjs/common';
import { routeTable, ServiceModule, type Route, type ServiceDefinition } from '#runtime';
import { BillingModule, billingService } from '../../apps/billing/src/billing.module.js';
import { DispatcherModule, dispatcherService } from '../../apps/dispatcher/src/dispatcher.module.js';
import { GatewayModule, gatewayService } from '../../apps/gateway/src/gateway.module.js';
import { MarketDataModule, marketDataService } from '../../apps/market-data/src/market-data.module.js';
import { MatchingEngineModule, matchingEngineService } from '../../apps/matching-engine/src/matching-engine.module.js';

const APPS: [ServiceDefinition, Type][] = [
  [gatewayService, GatewayModule],
  [marketDataService, MarketDataModule],
  [matchingEngineService, MatchingEngineModule],
  [dispatcherService, DispatcherModule],
  [billingService, BillingModule],
];

/**
 * Every HTTP route of every service, from the modules Nest builds them from (each app's
 * controllers, and the probes the service kit adds to all). The access matrix and the route
 * checks are generated from this: a route added anywhere is in it.
 */
export function allRoutes(): { app: ServiceDefinition['app']; route: Route }[] {
  return APPS.flatMap(([definition, module]) => {
    const controllers = [...((Reflect.getMetadata('controllers', module) as Type[] | undefined) ?? []), ...((ServiceModule.forApp(definition).controllers ?? []) as Type[])];
    return routeTable(controllers).map((route) => ({ app: definition.app, route }));
  });
}
