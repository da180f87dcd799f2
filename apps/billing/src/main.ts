import { runService } from '#runtime';
import { BillingModule, billingService } from './billing.module.js';

await runService(billingService, BillingModule);
