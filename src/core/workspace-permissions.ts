/*
 * What a trusted workspace may do with the user's environment and tokens
 * (design.md, "Secrets and trust"). Workspace settings come from whoever
 * wrote the repository, so a provider the workspace defines may
 *  - read an environment variable (`apiKeyEnv`) and send it to its base URL
 *    only after the user allowed that exact variable for that exact origin;
 *  - run a probe that spends tokens (a request body, e.g. a one-token chat
 *    completion) only after the user allowed that exact request.
 * Decisions are remembered per workspace and can be revoked. Providers from
 * the user's own settings need neither: the user wrote them.
 */
import { createHash } from 'node:crypto';
import type { ProviderDefinition } from './provider';

export type PermissionRequest =
  | { readonly kind: 'env'; readonly variable: string; readonly origin: string }
  | {
      readonly kind: 'spend';
      readonly method: string;
      readonly url: string;
      /** sha-256 of the body: a changed body is a new request to allow. */
      readonly bodyDigest: string;
      /** sha-256 of the headers (they may pick the model or the billed account): changed, asked again. */
      readonly headersDigest: string;
      /** Part of what is allowed: a shorter interval spends more. */
      readonly intervalMs: number;
    };

export type Decision = 'allowed' | 'denied';

/** A remembered decision, with what it was about (for the revoke list). */
export interface StoredDecision {
  readonly decision: Decision;
  readonly request: PermissionRequest;
}

export type Decisions = Readonly<Record<string, StoredDecision>>;

/** A stable key per request: the same variable for the same origin, the same request. */
export function permissionKey(request: PermissionRequest): string {
  return request.kind === 'env'
    ? `env ${request.variable} ${request.origin}`
    : `spend ${request.method} ${request.url} ${request.bodyDigest} ${request.headersDigest} every ${request.intervalMs} ms`;
}

/** Whether and how a provider may be probed, given the remembered decisions. */
export type Gate =
  | { readonly kind: 'probe'; readonly envAllowed: boolean }
  /** Not probed until the user answers `waiting`. */
  | { readonly kind: 'waiting'; readonly waiting: readonly PermissionRequest[] }
  /** Not probed: the user said no to its token-spending probe. */
  | { readonly kind: 'denied'; readonly request: PermissionRequest };

export interface GateInput {
  readonly definition: ProviderDefinition;
  readonly fromWorkspace: boolean;
  /** Restricted Mode: workspace providers are not probed at all, and never read the environment. */
  readonly trusted: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly decisions: Decisions;
}

/**
 * What a provider from a trusted workspace must be allowed: sending its
 * `apiKeyEnv` variable to its origin (only when the variable has a value:
 * otherwise there is nothing to send), and its token-spending probe.
 * Nothing for the user's own providers, nor in Restricted Mode, where
 * workspace providers are not probed at all.
 */
export function requestsOf({ definition, fromWorkspace, trusted, env }: Omit<GateInput, 'decisions'>): PermissionRequest[] {
  if (!fromWorkspace || !trusted) return [];
  const requests: PermissionRequest[] = [];
  const variable = definition.apiKeyEnv;
  if (variable !== undefined && (env[variable] ?? '') !== '') requests.push({ kind: 'env', variable, origin: definition.origin });
  if (definition.probe.spendsTokens) requests.push(spendRequest(definition));
  return requests;
}

/**
 * The gate for one provider. A refused variable means probing without it
 * (the provider may then read misconfigured, with Set API Key as the fix);
 * a refused token-spending probe means no probing; anything unanswered
 * holds the provider until the user answers.
 */
export function gateFor(input: GateInput): Gate {
  if (!input.fromWorkspace) return { kind: 'probe', envAllowed: true };
  const decisionOf = (request: PermissionRequest) => input.decisions[permissionKey(request)]?.decision;
  const requests = requestsOf(input);
  const spend = requests.find((r) => r.kind === 'spend');
  if (spend && decisionOf(spend) === 'denied') return { kind: 'denied', request: spend };
  const waiting = requests.filter((r) => decisionOf(r) === undefined);
  if (waiting.length > 0) return { kind: 'waiting', waiting };
  return { kind: 'probe', envAllowed: requests.some((r) => r.kind === 'env' && decisionOf(r) === 'allowed') };
}

/** The token-spending request a provider's probe makes, as the user is asked to allow it. */
export function spendRequest(definition: ProviderDefinition): PermissionRequest {
  const { probe } = definition;
  return {
    kind: 'spend',
    method: probe.method,
    url: probe.url,
    bodyDigest: sha256(probe.body ?? ''),
    headersDigest: sha256(JSON.stringify(Object.entries(probe.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
    intervalMs: definition.intervalMs,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads remembered decisions from storage, dropping anything malformed. */
export function parseDecisions(value: unknown): Decisions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, StoredDecision> = Object.create(null) as Record<string, StoredDecision>;
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { decision, request } = entry as Partial<StoredDecision>;
    if ((decision !== 'allowed' && decision !== 'denied') || !isRequest(request) || permissionKey(request) !== key) continue;
    out[key] = { decision, request };
  }
  return out;
}

function isRequest(value: unknown): value is PermissionRequest {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  if (r.kind === 'env') return typeof r.variable === 'string' && typeof r.origin === 'string';
  if (r.kind === 'spend') {
    return (
      typeof r.method === 'string' &&
      typeof r.url === 'string' &&
      typeof r.bodyDigest === 'string' &&
      typeof r.headersDigest === 'string' &&
      typeof r.intervalMs === 'number'
    );
  }
  return false;
}
