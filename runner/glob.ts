// fnmatch as Python has it (case-sensitive on POSIX), and pytest's "prefix or glob" rule for class/function names.

const compiled = new Map<string, RegExp>();

export function fnmatch(name: string, pattern: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${translate(pattern)}$`, 's');
    compiled.set(pattern, re);
  }
  return re.test(name);
}

function translate(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      out += `[${set.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

const GLOB_CHARS = /[*?[]/;

/** pytest's `_matches_prefix_or_glob_option`: a plain pattern is a prefix, a pattern with glob characters a glob. */
export function matchesPrefixOrGlob(name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (name.startsWith(p)) return true;
    if (GLOB_CHARS.test(p) && fnmatch(name, p)) return true;
  }
  return false;
}

/** pytest's `fnmatch_ex`: patterns without a slash match the base name, others the whole path. */
export function matchesFilePattern(path: string, patterns: readonly string[]): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  for (const p of patterns) {
    if (p.includes('/') ? fnmatch(path, p.startsWith('/') ? p : `*/${p}`) : fnmatch(base, p)) return true;
  }
  return false;
}
