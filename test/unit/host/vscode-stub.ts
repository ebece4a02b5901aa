import Module from 'node:module';

/*
 * The few parts of the `vscode` module that the views and commands use,
 * for host code read through its own interfaces (TreeDataProvider, the
 * status bar's summary and tooltip, command handlers) in plain Node. A test
 * file installs it once, before importing the host code, with what else its
 * code calls (a window, a workspace) in `extra`.
 */

/** The vscode API a view needs, as plain classes and values. */
export const VIEW_STUB = {
  l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])) },
  env: { language: 'en' },
  // As VS Code's: listeners hear each fire until they or the emitter are disposed.
  EventEmitter: class<T> {
    private listeners = new Set<(value: T) => void>();
    event = (listener: (value: T) => void) => {
      this.listeners.add(listener);
      return { dispose: () => this.listeners.delete(listener) };
    };
    fire(value: T): void {
      for (const listener of [...this.listeners]) listener(value);
    }
    dispose(): void {
      this.listeners.clear();
    }
  },
  Disposable: class {
    constructor(readonly dispose: () => void) {}
  },
  TreeItem: class {
    description?: string;
    iconPath?: { id: string };
    constructor(
      readonly label: string,
      readonly collapsibleState: number,
    ) {}
  },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
  ThemeIcon: class {
    constructor(
      readonly id: string,
      readonly color?: unknown,
    ) {}
  },
  ThemeColor: class {
    constructor(readonly id: string) {}
  },
  MarkdownString: class {
    value = '';
    isTrusted: unknown;
    supportThemeIcons = false;
    appendMarkdown(text: string): this {
      this.value += text;
      return this;
    }
  },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2 },
  commands: { executeCommand: () => Promise.resolve(undefined) },
};

/** Makes `require('vscode')` return the view stub with `extra` laid over it. */
export function installVscodeStub(extra: Record<string, unknown> = {}): void {
  const stub = { ...VIEW_STUB, ...extra };
  const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  (Module as unknown as { _load: typeof load })._load = (request, ...rest) => (request === 'vscode' ? stub : load(request, ...rest));
}

/** A status bar item as the views leave it: what they last wrote into it. */
export interface StubStatusBarItem {
  text?: string;
  tooltip?: { value: string };
  show(): void;
  dispose(): void;
}

/** A `window` whose createStatusBarItem keeps each item it makes in `items`, for a test to read. */
export function statusBarWindow(items: StubStatusBarItem[]): { createStatusBarItem: () => StubStatusBarItem } {
  return {
    createStatusBarItem: () => {
      const item: StubStatusBarItem = { show() {}, dispose() {} };
      items.push(item);
      return item;
    },
  };
}
