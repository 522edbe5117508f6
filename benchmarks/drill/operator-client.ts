/**
 * The few operator API calls a drill makes (`/v1`, HTTP Basic), each with a
 * timeout. Errors name the request and, for an API error, its message.
 */

export interface OperatorNode {
  id: string;
  region: string;
  kind: 'signaling' | 'media' | 'central-media';
  healthy: boolean;
  /** `dead`, `drained` (by an operator, until undrain) or `serving`. */
  state?: 'serving' | 'drained' | 'dead';
  drained?: boolean;
  meta?: Record<string, string>;
}

export interface OperatorRegion {
  id: string;
  links: { to: string; state: string }[];
}

export class OperatorClient {
  private readonly auth: string;

  constructor(
    readonly baseUrl: string,
    user: string,
    password: string,
    private readonly timeoutMs = 2000,
  ) {
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}/v1${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e as Error).message;
      throw new Error(`${method} ${url}: ${why} (is the mesh running? make start)`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        /* not JSON */
      }
      throw new Error(`${method} ${url}: ${res.status} ${message}`);
    }
    return JSON.parse(text) as T;
  }

  async nodes(region: string): Promise<OperatorNode[]> {
    return (await this.call<{ nodes: OperatorNode[] }>('GET', `/regions/${encodeURIComponent(region)}/nodes`)).nodes;
  }

  async regions(): Promise<OperatorRegion[]> {
    return (await this.call<{ regions: OperatorRegion[] }>('GET', '/regions')).regions;
  }

  async drill(action: 'kill' | 'drain' | 'undrain', nodeId: string): Promise<void> {
    await this.call('POST', '/drills', { action, nodeId });
  }

  async link(a: string, b: string, action: 'cut' | 'restore'): Promise<void> {
    await this.call('POST', `/regions/${encodeURIComponent(a)}/links/${encodeURIComponent(b)}`, { action });
  }

  async linkState(a: string, b: string): Promise<'cut' | 'open'> {
    return (await this.call<{ state: 'cut' | 'open' }>('GET', `/regions/${encodeURIComponent(a)}/links/${encodeURIComponent(b)}`)).state;
  }
}
