import { Controller, Get, Header } from '@nestjs/common';
import { registry } from '#platform';
import { Access } from './access/policy.js';

/**
 * Public, as probes are: Prometheus scrapes without a key. Metrics carry counts and latencies, no
 * tenant's records; keep the port off the internet where that matters (decision 0011).
 */
@Controller()
@Access.public()
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', registry.contentType)
  scrape(): Promise<string> {
    return registry.metrics();
  }
}
