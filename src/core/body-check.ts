import type { BodyCheck } from './provider';

/**
 * Checks a response body; returns what is wrong, or undefined when it passes.
 * `truncated` says the body was cut at the prober's cap, so JSON cannot be read.
 * A body that is a JSON array is read as a list's `data`: a path that begins
 * with `data` (the OpenAI-style model list's) goes on inside the array.
 */
export function checkBody(check: BodyCheck | undefined, body: string, truncated: boolean): string | undefined {
  if (check === undefined) return undefined;
  if (check.contains !== undefined && !body.includes(check.contains)) {
    return truncated ? `expected text not found in the first ${body.length} bytes` : 'expected text not found in the body';
  }
  if (check.jsonPath === undefined) return undefined;
  if (truncated) return 'body too large to check as JSON';
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'body is not valid JSON';
  }
  const root = value;
  let keys = check.jsonPath.split('.').filter((k) => k !== '');
  // OpenAI's list is {"object":"list","data":[…]}; Together and Azure AI model inference (GitHub Models) answer /models with the array itself.
  if (Array.isArray(value) && keys[0] === 'data') keys = keys.slice(1);
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) {
      return `JSON has no ${check.jsonPath}${errorInstead(root)}`;
    }
    value = (value as Record<string, unknown>)[key];
  }
  if ('equals' in check && check.equals !== undefined && !deepEqual(value, check.equals)) {
    return `JSON ${check.jsonPath} is not the expected value`;
  }
  return undefined;
}

/**
 * What a 200 holds when it is an error after all: some providers and proxies
 * answer `{"error":{…}}` with 200 (OpenRouter does mid-stream, relays do
 * anywhere). Its code says more than the missing path; only a code is quoted
 * (a status or a snake_case name), never the error's text, which can quote a key.
 */
function errorInstead(root: unknown): string {
  if (root === null || typeof root !== 'object' || Array.isArray(root) || !Object.prototype.hasOwnProperty.call(root, 'error')) return '';
  const error = (root as { error?: unknown }).error;
  if (error === null || error === undefined || error === false) return '';
  const fields = typeof error === 'object' ? (error as Record<string, unknown>) : {};
  const code = [fields.code, fields.type, fields.status].find(isErrorCode);
  return code === undefined ? ', an error instead' : `, an error instead (${String(code)})`;
}

/** An HTTP status, or a name such as `invalid_api_key` or `RESOURCE_EXHAUSTED`: nothing with digits in it that could be a key. */
function isErrorCode(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 100 && value <= 599;
  return typeof value === 'string' && (/^[1-5]\d\d$/.test(value) || /^[A-Za-z_]{1,40}$/.test(value));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
