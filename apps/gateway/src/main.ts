import { runService } from '#runtime';
import { GatewayModule, gatewayService } from './gateway.module.js';

await runService(gatewayService, GatewayModule);
