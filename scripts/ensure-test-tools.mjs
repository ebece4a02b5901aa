// Before the unit suite: it renders the history webview in Debian's Chromium
// (test/unit/host/hostile-text.test.ts), which the in-host suites install
// later with code-server. Installs both now, once (scripts/code-server.mjs:
// a quick check when they are there), so no unit test is skipped on a fresh
// machine.
import { ensureCodeServer } from './code-server.mjs';

await ensureCodeServer();
