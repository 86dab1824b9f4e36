// Where transcribed text goes. The original typed it into the focused window (wtype/xdotool); the port's default
// collects it, so tests and the stress harness can read exactly what a user would have seen typed.

export interface Injector {
  /** Types `text` (never empty: the daemon skips empty injections). May be asynchronous. */
  inject(text: string): void | Promise<void>;
}

export class CollectingInjector implements Injector {
  readonly injections: string[] = [];

  inject(text: string): void {
    this.injections.push(text);
  }

  /** Everything typed so far, as one string (injections carry their own separating spaces). */
  get text(): string {
    return this.injections.join('');
  }

  /** How many times `word` was typed, counted as whole words. */
  occurrences(word: string): number {
    return this.text.split(/\s+/).filter((w) => w === word).length;
  }

  clear(): void {
    this.injections.length = 0;
  }
}
