// The pure half of suites/mutation-check.ts: reading the recorded mutations, applying one to a file's text, and
// judging the exit code of the test run against it. Kept apart so that the rules are tested without running suites.

import { load } from 'js-yaml';

export interface Mutation {
  /** Where it was recorded: `suites/mutations/x.yaml: entry 3`. */
  where: string;
  /** The node id of the test that must catch it. */
  test: string;
  /** The file under src/ to change, relative to the project root. */
  file: string;
  find: string;
  replace: string;
  why: string;
  /** The failure the test is expected to report (`AssertionError ...`: the part before `...` must appear). */
  failsWith?: string;
}

export class MutationFormatError extends Error {
  override name = 'MutationFormatError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one mutations YAML file: a list of {test, file, find, replace, why, fails_with?}. */
export function parseMutations(text: string, file: string): Mutation[] {
  if (text.trim() === '') return []; // js-yaml 5 refuses an empty document; an empty file records nothing
  let data: unknown;
  try {
    data = load(text);
  } catch (error) {
    throw new MutationFormatError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data)) throw new MutationFormatError(`${file}: expected a list of mutations at the top level`);
  return data.map((entry, index) => {
    const where = `${file}: entry ${index + 1}`;
    if (!isRecord(entry)) throw new MutationFormatError(`${where} is not a mapping`);
    for (const key of ['test', 'file', 'find', 'replace', 'why']) {
      if (typeof entry[key] !== 'string' || entry[key] === '') throw new MutationFormatError(`${where}: '${key}' must be a non-empty string`);
    }
    if (entry.fails_with !== undefined && typeof entry.fails_with !== 'string') throw new MutationFormatError(`${where}: 'fails_with' must be a string`);
    const mutation: Mutation = {
      where,
      test: entry.test as string,
      file: entry.file as string,
      find: entry.find as string,
      replace: entry.replace as string,
      why: entry.why as string,
      failsWith: entry.fails_with as string | undefined,
    };
    if (!mutation.file.startsWith('src/') || mutation.file.includes('..')) {
      throw new MutationFormatError(`${where}: file '${mutation.file}' is not under src/ (a mutation changes the library, never the suite)`);
    }
    if (mutation.find === mutation.replace) throw new MutationFormatError(`${where}: find and replace are the same text, so nothing would change`);
    return mutation;
  });
}

/** Non-overlapping occurrences of `needle` in `text`. */
export function countOccurrences(text: string, needle: string): number {
  if (needle === '') return 0;
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

/** The mutated text, or why the mutation cannot be applied (the find text must occur exactly once). */
export function applyMutation(text: string, mutation: Pick<Mutation, 'file' | 'find' | 'replace'>): { text: string } | { problem: string } {
  const count = countOccurrences(text, mutation.find);
  if (count !== 1) return { problem: `the find text occurs ${count} times in ${mutation.file} (it must occur exactly once)` };
  const at = text.indexOf(mutation.find);
  return { text: text.slice(0, at) + mutation.replace + text.slice(at + mutation.find.length) };
}

/** 1-based line of the find text, for the report. */
export function lineOf(text: string, find: string): number {
  const at = text.indexOf(find);
  return at < 0 ? 0 : text.slice(0, at).split('\n').length;
}

export type Verdict = 'caught' | 'SURVIVED' | 'BROKE COLLECTION' | 'INTERNAL ERROR' | 'HUNG' | 'INVALID';

/**
 * What a test run's exit code says about a mutation. Only a failed test (exit 1) catches it; a passing run (0) lets
 * it survive; 2/4/5 mean the mutation broke loading or collection, which proves nothing about the test. No exit
 * code (null) means the run was killed at the time limit.
 */
export function verdictFor(exitCode: number | null): Verdict {
  switch (exitCode) {
    case 0: return 'SURVIVED';
    case 1: return 'caught';
    case 3: return 'INTERNAL ERROR';
    case 2: // "Interrupted: 1 error during collection": the mutated module no longer loads
    case 4:
    case 5: return 'BROKE COLLECTION';
    default: return 'HUNG';
  }
}

/** The part of `fails_with` a run's output must contain: the text before a trailing `...`, if any. */
export function expectedFailureText(failsWith: string | undefined): string | null {
  if (failsWith === undefined) return null;
  const text = failsWith.replace(/\s*(\.\.\.|…)\s*$/, '').trim();
  return text === '' ? null : text;
}
