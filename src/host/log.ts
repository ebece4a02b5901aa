import * as vscode from 'vscode';
import { EXTENSION_NAME } from './ids';

/** One LogOutputChannel for the extension; each line carries the component that wrote it. */
export class Log implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel(EXTENSION_NAME, { log: true });
  }

  for(component: string): ComponentLog {
    const tag = `[${component}]`;
    return {
      trace: (m) => this.channel.trace(`${tag} ${m}`),
      info: (m) => this.channel.info(`${tag} ${m}`),
      warn: (m) => this.channel.warn(`${tag} ${m}`),
      error: (m) => this.channel.error(`${tag} ${m}`),
    };
  }

  dispose(): void {
    this.channel.dispose();
  }
}

/** What a component may log. Never pass a key, token or header value. */
export interface ComponentLog {
  trace(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
