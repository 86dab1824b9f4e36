// Which module import failures pytest would call an ImportError or a SyntaxError. pytest reports those two as plain
// text ("ImportError while importing test module ...") with no crash line in the short summary; any other exception
// raised while a test module runs its top-level code is a traceback with a message, as in pytest.

/** Node's codes for a specifier that cannot be resolved to a module (the TypeScript side of ModuleNotFoundError). */
const RESOLUTION_CODES = new Set([
  'ERR_MODULE_NOT_FOUND',
  'ERR_PACKAGE_PATH_NOT_EXPORTED',
  'ERR_PACKAGE_IMPORT_NOT_DEFINED',
  'ERR_UNSUPPORTED_DIR_IMPORT',
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_INVALID_MODULE_SPECIFIER',
  'ERR_UNSUPPORTED_ESM_URL_SCHEME',
]);

export type ImportFailureKind = 'resolution' | 'syntax' | 'other';

export function importFailureKind(error: unknown): ImportFailureKind {
  if (error instanceof SyntaxError) return 'syntax';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RESOLUTION_CODES.has(code)) return 'resolution';
  return 'other';
}
