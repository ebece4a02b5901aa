import type * as vscode from 'vscode';
import { parseDecisions, permissionKey } from '../core/workspace-permissions';
import type { Decision, Decisions, PermissionRequest } from '../core/workspace-permissions';
import type { ComponentLog } from './log';

/** A request as the user is asked it: with the provider that makes it. */
export interface LabelledRequest {
  readonly request: PermissionRequest;
  readonly providerLabel: string;
}

/** Asks the user (a modal in VS Code); undefined when the dialog was dismissed. */
export type PermissionPrompt = (asked: LabelledRequest) => Promise<Decision | undefined>;

export const PERMISSIONS_KEY = 'llmHealth.permissions';

/**
 * The user's answers to a workspace's requests (an environment variable for
 * an origin, a token-spending probe), kept in this workspace's state. Asks
 * one question at a time, each once per window: a dismissed dialog is not
 * an answer and is asked again after a reload or from the provider's row.
 * Imports only types from vscode, so it runs in plain Node.
 */
export class WorkspacePermissions {
  private readonly queue: LabelledRequest[] = [];
  private readonly dismissed = new Set<string>();
  /** The question on screen: a reload meanwhile must not queue it again. */
  private asking: string | undefined;
  private draining: Promise<void> | undefined;
  private disposed = false;

  constructor(
    private readonly storage: Pick<vscode.Memento, 'get' | 'update'>,
    private readonly prompt: PermissionPrompt,
    /** A decision changed: read the configuration again. */
    private readonly onDidDecide: () => void,
    private readonly log: ComponentLog,
  ) {}

  decisions(): Decisions {
    return parseDecisions(this.storage.get<unknown>(PERMISSIONS_KEY));
  }

  /** Asks, in turn, whatever of `pending` is undecided, not dismissed this session and not already queued. */
  request(pending: readonly LabelledRequest[]): Promise<void> {
    const decided = this.decisions();
    for (const asked of pending) {
      const key = permissionKey(asked.request);
      if (decided[key] || this.dismissed.has(key) || key === this.asking || this.queue.some((q) => permissionKey(q.request) === key)) continue;
      this.queue.push(asked);
    }
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return this.draining;
  }

  /** From the provider's row: ask again, even what was refused or dismissed. */
  async review(pending: readonly LabelledRequest[]): Promise<void> {
    for (const asked of pending) this.dismissed.delete(permissionKey(asked.request));
    await this.forget(pending.map((p) => p.request));
    // Forgotten is undecided: the provider waits (nothing runs on the old answer) until this one is answered.
    this.onDidDecide();
    await this.request(pending);
  }

  /** The allowed requests, for the revoke command. */
  allowed(): PermissionRequest[] {
    return Object.values(this.decisions())
      .filter((d) => d.decision === 'allowed')
      .map((d) => d.request);
  }

  /** Turns allowed requests into refused ones: the variable is no longer sent, the probe no longer runs. */
  async revoke(requests: readonly PermissionRequest[]): Promise<void> {
    if (requests.length === 0) return;
    await this.write((all) => {
      for (const request of requests) all[permissionKey(request)] = { decision: 'denied', request };
    });
    this.log.info(`revoked ${requests.length} workspace permission(s)`);
    this.onDidDecide();
  }

  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    for (let asked = this.queue.shift(); asked && !this.disposed; asked = this.queue.shift()) {
      const key = permissionKey(asked.request);
      if (this.decisions()[key]) continue;
      let answer: Decision | undefined;
      this.asking = key;
      try {
        answer = await this.prompt(asked);
      } catch (error) {
        this.log.error(`could not ask about ${describeRequest(asked.request)}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        this.asking = undefined;
      }
      if (this.disposed) return;
      if (answer === undefined) {
        this.dismissed.add(key);
        continue;
      }
      const request = asked.request;
      await this.write((all) => {
        all[key] = { decision: answer, request };
      });
      this.log.info(`${asked.providerLabel}: ${answer} ${describeRequest(request)}`);
      if (!this.disposed) this.onDidDecide();
    }
  }

  private async forget(requests: readonly PermissionRequest[]): Promise<void> {
    await this.write((all) => {
      for (const request of requests) delete all[permissionKey(request)];
    });
  }

  private async write(change: (all: Record<string, Decisions[string]>) => void): Promise<void> {
    const all: Record<string, Decisions[string]> = { ...this.decisions() };
    change(all);
    await this.storage.update(PERMISSIONS_KEY, all);
  }
}

/** One line for the log: the variable's name, never its value. */
export function describeRequest(request: PermissionRequest): string {
  return request.kind === 'env'
    ? `sending the environment variable ${request.variable} to ${request.origin}`
    : `a token-spending probe ${request.method} ${request.url} every ${Math.round(request.intervalMs / 1000)} s`;
}
