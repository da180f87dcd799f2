import { Controller, Get, Header } from '@nestjs/common';
import { registry } from '#platform';

@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', registry.contentType)
  scrape(): Promise<string> {
    return registry.metrics();
  }
}
