// A light scan of a TypeScript test file for what the module object cannot tell us: the order in which things are
// exported (an ES module namespace lists its exports alphabetically, pytest collects in definition order) and the
// line of each test (pytest reports the first decorator line). It tracks brace depth, strings and comments only;
// anything it cannot place falls back to alphabetical order and line 0, so a scan miss never breaks collection.

export interface SourceIndex {
  /** Position of each exported name (line number, 0-based), for sorting exports in definition order. */
  exportLine(name: string): number | undefined;
  /** 0-based line of a class member's first decorator (or its own line), or of a top-level function. */
  memberLine(className: string | undefined, member: string): number | undefined;
  /** 0-based line of a class declaration (its first decorator). */
  classLine(className: string): number | undefined;
  /** The source lines, for tracebacks and skip locations. */
  readonly lines: readonly string[];
}

const EXPORT_DECL = /^\s*export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(class|function\s*\*?|const|let|var)\s+([\p{L}$_][\p{L}\p{N}$_]*)/u;
const EXPORT_LIST = /^\s*export\s*\{([^}]*)\}/;
const CLASS_DECL = /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([\p{L}$_][\p{L}\p{N}$_]*)/u;
const MEMBER = /^\s*(?:(?:public|private|protected|static|override|readonly|async|accessor)\s+)*\*?\s*([\p{L}$_][\p{L}\p{N}$_]*)\s*(?:<[^>]*>)?\s*\(/u;
const FUNCTION_DECL = /^\s*(?:export\s+)?(?:async\s+)?function\s*\*?\s*([\p{L}$_][\p{L}\p{N}$_]*)/u;

export function scanSource(text: string): SourceIndex {
  const lines = text.split(/\r?\n/);
  const exports = new Map<string, number>();
  const classes = new Map<string, number>();
  const members = new Map<string, number>(); // `${class}\0${member}` or `\0${fn}`
  const depthAtStart = lineDepths(lines);

  // Open classes: name and the depth of their body.
  const open: Array<{ name: string; bodyDepth: number }> = [];
  let decoratorStart = -1;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const depth = depthAtStart[n]!;
    while (open.length && depth < open[open.length - 1]!.bodyDepth) open.pop();
    const trimmed = line.trimStart();
    if (trimmed.startsWith('@')) {
      if (decoratorStart < 0) decoratorStart = n;
      continue;
    }
    const first = decoratorStart >= 0 ? decoratorStart : n;
    if (trimmed === '' || trimmed.startsWith('//')) continue; // decorators may be separated by comments
    decoratorStart = -1;

    const exported = EXPORT_DECL.exec(line);
    if (exported && depth === 0) exports.set(exported[2]!, first);
    const list = EXPORT_LIST.exec(line);
    if (list && depth === 0) {
      for (const part of list[1]!.split(',')) {
        const alias = part.trim().split(/\s+as\s+/).pop()?.trim();
        if (alias && !exports.has(alias)) exports.set(alias, n);
      }
    }
    const cls = CLASS_DECL.exec(line);
    if (cls) {
      classes.set(cls[1]!, first);
      open.push({ name: cls[1]!, bodyDepth: depth + 1 });
      continue;
    }
    const current = open[open.length - 1];
    if (current && depth === current.bodyDepth) {
      const member = MEMBER.exec(line);
      if (member && !members.has(`${current.name}\0${member[1]}`)) members.set(`${current.name}\0${member[1]}`, first);
    } else if (depth === 0) {
      const fn = FUNCTION_DECL.exec(line);
      if (fn) members.set(`\0${fn[1]}`, first);
      else if (exported) members.set(`\0${exported[2]}`, first);
    }
  }
  return {
    lines,
    exportLine: (name) => exports.get(name),
    memberLine: (cls, member) => members.get(`${cls ?? ''}\0${member}`),
    classLine: (name) => classes.get(name),
  };
}

/** Brace depth at the start of each line, ignoring braces inside strings, template text and comments. */
function lineDepths(lines: readonly string[]): number[] {
  const depths: number[] = [];
  let depth = 0;
  let inBlockComment = false;
  let inTemplate = 0; // nesting of template literals whose text we are inside
  const templateBraceDepth: number[] = [];
  for (const line of lines) {
    depths.push(depth);
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (inBlockComment) {
        if (c === '*' && line[i + 1] === '/') {
          inBlockComment = false;
          i++;
        }
        continue;
      }
      if (inTemplate > 0 && templateBraceDepth[templateBraceDepth.length - 1] === -1) {
        // inside template text
        if (c === '\\') i++;
        else if (c === '`') {
          inTemplate--;
          templateBraceDepth.pop();
        } else if (c === '$' && line[i + 1] === '{') {
          templateBraceDepth[templateBraceDepth.length - 1] = depth;
          depth++;
          i++;
        }
        continue;
      }
      if (c === '/' && line[i + 1] === '/') break;
      if (c === '/' && line[i + 1] === '*') {
        inBlockComment = true;
        i++;
      } else if (c === '"' || c === "'") {
        for (i++; i < line.length && line[i] !== c; i++) if (line[i] === '\\') i++;
      } else if (c === '`') {
        inTemplate++;
        templateBraceDepth.push(-1);
      } else if (c === '{') {
        depth++;
      } else if (c === '}') {
        depth = Math.max(0, depth - 1);
        if (inTemplate > 0 && templateBraceDepth[templateBraceDepth.length - 1] === depth) {
          templateBraceDepth[templateBraceDepth.length - 1] = -1; // back in template text
        }
      }
    }
  }
  return depths;
}
