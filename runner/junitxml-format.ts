// The pure, Python-compatible formatting behind the `--junitxml` report: ElementTree's escaping of attributes and
// text, pytest's bin_xml_escape, Python's `f"{x:.3f}"`, isoformat() and repr(), str.center for the captured-output
// headers, and pytest's mangle_test_address from a node id to the testcase's classname and name. No I/O and no
// state, so junitxml.ts (the reporter and the renderer) and the tests can rely on each helper on its own.
import { pyRepr } from './ini.js';

// ---------------------------------------------------------------------------------------------------------------
// Escaping and formatting

// XML 1.0's Char production minus DEL, which pytest 9.1 also rewrites (#14483). Everything else becomes `#xNN`.
const FORBIDDEN_XML_CHAR = /[^\t\n\r\x20-\x7E\x80-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const HAS_FORBIDDEN_XML_CHAR = /[^\t\n\r\x20-\x7E\x80-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** pytest's bin_xml_escape (9.1): forbidden characters become the visible text `#xNN` (not an entity). */
export function binXmlEscape(s: string): string {
  if (!HAS_FORBIDDEN_XML_CHAR.test(s)) return s;
  return s.replace(FORBIDDEN_XML_CHAR, (ch) => {
    const code = ch.codePointAt(0)!;
    return '#x' + code.toString(16).toUpperCase().padStart(code <= 0xff ? 2 : 4, '0');
  });
}

// ElementTree's two escapers: attributes also protect quotes and whitespace that an XML reader would normalise.
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#09;',
};
const ATTRIBUTE_SPECIAL = /[&<>"\r\n\t]/g;
const TEXT_SPECIAL = /[&<>]/g;

export function escapeAttribute(s: string): string {
  ATTRIBUTE_SPECIAL.lastIndex = 0;
  return ATTRIBUTE_SPECIAL.test(s) ? s.replace(ATTRIBUTE_SPECIAL, (ch) => ATTRIBUTE_ESCAPES[ch]!) : s;
}

export function escapeText(s: string): string {
  TEXT_SPECIAL.lastIndex = 0;
  return TEXT_SPECIAL.test(s) ? s.replace(TEXT_SPECIAL, (ch) => ATTRIBUTE_ESCAPES[ch]!) : s;
}

/**
 * Python's `f"{x:.3f}"`. JS toFixed rounds exact ties away from zero, Python to even; with three decimals a binary
 * double is an exact tie only when x*16 is an odd integer (x = k/2000 must be dyadic), so only those need care.
 */
export function formatSeconds(x: number): string {
  const sixteenths = x * 16;
  if (Number.isInteger(sixteenths) && sixteenths % 2 !== 0 && Math.abs(x) < 2 ** 40) {
    const floorMillis = Math.floor(x * 1000);
    const evenMillis = floorMillis % 2 === 0 ? floorMillis : floorMillis + 1;
    return (evenMillis / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Python's `datetime.fromtimestamp(t, utc).astimezone().isoformat()`: local time, microseconds, `±HH:MM`. */
export function pythonIsoTimestamp(epochMs: number): string {
  // Python rounds the float timestamp to whole microseconds; a Date only holds whole milliseconds.
  const totalMicros = Math.round(epochMs * 1000);
  const micros = ((totalMicros % 1_000_000) + 1_000_000) % 1_000_000;
  const date = new Date((totalMicros - micros) / 1000);
  const fraction = micros === 0 ? '' : '.' + pad(micros, 6);
  const offsetSeconds = Math.round(-date.getTimezoneOffset() * 60);
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const offset = `${sign}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}` + (abs % 60 ? `:${pad(abs % 60)}` : '');
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${fraction}${offset}`
  );
}

/** Python's repr() of a str, for the tuple pytest writes as a module-level skip's text. */
export const pythonStrRepr = pyRepr;

/** Python's str.center(80, '-'), whose odd padding goes left only when the width is odd (80 is not). */
export function centred(title: string): string {
  const margin = 80 - title.length;
  const left = Math.floor(margin / 2) + (margin & 80 & 1);
  return '-'.repeat(left) + title + '-'.repeat(margin - left);
}

// ---------------------------------------------------------------------------------------------------------------
// Node id -> classname / name

/** pytest's mangle_test_address, with `.ts` stripped like `.py`: `a/test_x.ts::C::t[1]` -> ['a.test_x', 'C', 't[1]']. */
export function mangleTestAddress(nodeid: string): string[] {
  const bracket = nodeid.indexOf('[');
  const path = bracket < 0 ? nodeid : nodeid.slice(0, bracket);
  const params = bracket < 0 ? '' : nodeid.slice(bracket);
  const names = path.split('::');
  names[0] = names[0]!.replaceAll('/', '.').replace(/\.(py|ts)$/, '');
  names[names.length - 1] += params;
  return names;
}

export function testcaseNames(nodeid: string, prefix: string | undefined): { classname: string; name: string } {
  const names = mangleTestAddress(nodeid);
  const classnames = names.slice(0, -1);
  if (prefix) classnames.unshift(prefix);
  return { classname: classnames.join('.'), name: names[names.length - 1]! };
}
