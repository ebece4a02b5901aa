import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proxyFor } from '../../../src/net/proxy';

const url = (u: string) => new URL(u);

describe('proxyFor', () => {
  it('connects directly when nothing names a proxy', () => {
    assert.equal(proxyFor(url('https://api.openai.com/v1/models'), { env: {} }), undefined);
  });

  it('uses HTTPS_PROXY for https and HTTP_PROXY for http', () => {
    const env = { HTTPS_PROXY: 'http://secure-proxy:3128', HTTP_PROXY: 'http://plain-proxy:3128' };
    assert.equal(proxyFor(url('https://api.openai.com/v1/models'), { env }), 'http://secure-proxy:3128');
    assert.equal(proxyFor(url('http://gpu-box:8000/health'), { env }), 'http://plain-proxy:3128');
  });

  it("lets VS Code's http.proxy win over the environment", () => {
    assert.equal(proxyFor(url('https://api.openai.com/'), { proxyUrl: 'http://vscode-proxy:8080', env: { HTTPS_PROXY: 'http://env:1' } }), 'http://vscode-proxy:8080');
  });

  it('never proxies loopback', () => {
    const settings = { proxyUrl: 'http://vscode-proxy:8080' };
    for (const u of ['http://127.0.0.1:11434/api/version', 'http://localhost:1234/v1/models', 'http://[::1]:8000/health']) {
      assert.equal(proxyFor(url(u), settings), undefined, u);
    }
  });

  it('honours NO_PROXY and http.noProxy: suffixes, leading dots, ports and *', () => {
    const env = { HTTPS_PROXY: 'http://p:1', NO_PROXY: '.internal.example.com, api.mistral.ai:443,other:8443' };
    assert.equal(proxyFor(url('https://llm.internal.example.com/'), { env }), undefined);
    assert.equal(proxyFor(url('https://api.mistral.ai/v1/models'), { env }), undefined);
    assert.equal(proxyFor(url('https://other/'), { env }), 'http://p:1', 'port 443 is not 8443');
    assert.equal(proxyFor(url('https://api.openai.com/'), { env }), 'http://p:1');
    assert.equal(proxyFor(url('https://api.openai.com/'), { env, noProxy: ['openai.com'] }), undefined);
    assert.equal(proxyFor(url('https://anything/'), { env: { HTTPS_PROXY: 'http://p:1', no_proxy: '*' } }), undefined);
  });
});
