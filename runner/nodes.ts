// The collection tree: modules, classes and items (pytest's Module, Class, Function nodes).

import type { FixtureFunction, Scope } from './fixture-def.js';
import type { Mark } from './marks.js';
import type { Location } from './reports.js';
import type { SourceIndex } from './source-scan.js';

/** A fixture as the resolver sees it: where it is visible, how it is scoped, what it asks for. */
export interface FixtureDef {
  name: string;
  fn: FixtureFunction;
  scope: Scope;
  autouse: boolean;
  /** Where it was defined, `suites/conftest.ts:12`, for messages. */
  location: string;
  /** Visibility: a directory (conftest: '' for rootdir, 'suites' ...), a module node id, or a class node id. */
  baseid: string;
  kind: 'builtin' | 'conftest' | 'module' | 'class';
  /** Class fixtures are methods; the test instance is their `this`. */
  className?: string;
}

export interface ConftestModule {
  path: string;
  /** Directory relative to rootdir with '/', '' for the rootdir itself. */
  dir: string;
  namespace: Record<string, unknown>;
  fixtures: FixtureDef[];
}

export interface ModuleNode {
  path: string;
  /** Relative to rootdir with '/': the node id of the module. */
  nodeid: string;
  namespace: Record<string, unknown>;
  source: SourceIndex;
  marks: Mark[];
  fixtures: FixtureDef[];
  /** Conftests that apply, outermost first. */
  conftests: ConftestModule[];
}

export interface ClassNode {
  name: string;
  nodeid: string;
  cls: new () => object;
  module: ModuleNode;
  marks: Mark[];
  fixtures: FixtureDef[];
}

export interface Item {
  nodeid: string;
  /** Name with the parameter id: `test_x[1MB]`. */
  name: string;
  /** Name without it: `test_x`. */
  originalName: string;
  module: ModuleNode;
  cls?: ClassNode;
  fn: Function;
  /** The item's own marks first (parameter-set marks, then the method's), then the class's, then the module's. */
  marks: Mark[];
  params: Record<string, unknown>;
  paramId?: string;
  location: Location;
  /** Lower-cased names that -k matches against. */
  keywords: readonly string[];
  /** Fixture names the test function asks for (its destructured names minus the parameter names). */
  argnames: readonly string[];
}

export interface CollectionWarning {
  message: string;
  location: string;
}

export interface CollectionError {
  /** Module node id (relative path) that failed to import or collect. */
  nodeid: string;
  error: unknown;
}
