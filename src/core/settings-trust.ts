/*
 * Which layers of a setting apply (design.md, "Secrets and trust"): in
 * Restricted Mode the workspace's global `llmHealth` values (probe timing,
 * breaker, status thresholds, notifications, the gateway) do not apply, so a cloned
 * repository cannot make the user's own providers probe every 5 s or never
 * open their circuits. Only the user's values and the defaults count there.
 */

/** The layers of `WorkspaceConfiguration.inspect` this reads. */
export interface InspectedSetting {
  readonly defaultValue?: unknown;
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/** The sections of `llmHealth.*` besides `providers`. */
export const GLOBAL_SECTIONS = ['probe', 'breaker', 'status', 'notifications', 'gateway'] as const;
export type GlobalSection = (typeof GLOBAL_SECTIONS)[number];

/**
 * The value a section takes from the layers a workspace of this trust may
 * set: every layer when trusted (folder over workspace over user over
 * default), only user over default when not. Objects merge key by key, as
 * VS Code merges `llmHealth.probe.*` into `llmHealth.probe`.
 */
export function settingByTrust(inspected: InspectedSetting | undefined, trusted: boolean): unknown {
  if (inspected === undefined) return undefined;
  const layers = trusted
    ? [inspected.defaultValue, inspected.globalValue, inspected.workspaceValue, inspected.workspaceFolderValue]
    : [inspected.defaultValue, inspected.globalValue];
  let value: unknown;
  for (const layer of layers) {
    if (layer === undefined) continue;
    value = isPlainObject(value) && isPlainObject(layer) ? merge(value, layer) : layer;
  }
  return value;
}

function merge(under: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  // A null prototype: a key named __proto__ in settings stays a plain key.
  const out: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, under);
  for (const key of Object.keys(over)) {
    const a = out[key];
    const b = over[key];
    out[key] = isPlainObject(a) && isPlainObject(b) ? merge(a, b) : b;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
