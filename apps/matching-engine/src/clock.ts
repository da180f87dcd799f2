import { Injectable } from '@nestjs/common';

/** The service's notion of now, injected so the core never reads the wall clock itself. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
