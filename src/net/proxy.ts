import { isLoopbackHost } from '../core/provider';

export interface ProxySettings {
  /** VS Code's `http.proxy`, passed in by the host; wins over the environment. */
  readonly proxyUrl?: string;
  /** VS Code's `http.noProxy`. */
  readonly noProxy?: readonly string[];
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read from. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The proxy to use for `url`, or undefined to connect directly. Loopback is
 * always direct: a proxy cannot reach this machine's own servers.
 */
export function proxyFor(url: URL, settings: ProxySettings): string | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  const env = settings.env ?? {};
  const proxy =
    settings.proxyUrl ||
    (url.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy : undefined) ||
    env.HTTP_PROXY ||
    env.http_proxy;
  if (!proxy) return undefined;
  const noProxy = [...(settings.noProxy ?? []), ...(env.NO_PROXY || env.no_proxy || '').split(',')];
  return bypassed(url, noProxy) ? undefined : proxy;
}

/** NO_PROXY as curl reads it: `*`, host names matching as suffixes, optional ports. */
function bypassed(url: URL, entries: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const [name, entryPort] = entry.startsWith('[') ? [entry.slice(0, entry.indexOf(']') + 1), entry.split(']:')[1]] : entry.split(':');
    if (entryPort && entryPort !== port) continue;
    const bare = (name ?? '').replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}
