/**
 * Points the official `twilio` library at a local server: every domain it
 * calls (api.twilio.com, pricing.twilio.com) is rewritten to `base`.
 */
import RequestClient from 'twilio/lib/base/RequestClient.js';

export class LocalRequestClient extends RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/(api|pricing)\.twilio\.com/, this.base) });
  }
}
