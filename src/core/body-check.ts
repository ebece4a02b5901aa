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
  let keys = check.jsonPath.split('.').filter((k) => k !== '');
  // OpenAI's list is {"object":"list","data":[…]}; Together and Azure AI model inference (GitHub Models) answer /models with the array itself.
  if (Array.isArray(value) && keys[0] === 'data') keys = keys.slice(1);
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) {
      return `JSON has no ${check.jsonPath}`;
    }
    value = (value as Record<string, unknown>)[key];
  }
  if ('equals' in check && check.equals !== undefined && !deepEqual(value, check.equals)) {
    return `JSON ${check.jsonPath} is not the expected value`;
  }
  return undefined;
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
