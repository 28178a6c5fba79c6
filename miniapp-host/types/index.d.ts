// Booth's injected globals for mini-program pages: `my`, `wxfaceapp`, `ft` and `window.__BOOTH__`.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Use: add "@booth/miniapp-types" to `compilerOptions.types` in tsconfig.json (or write
// `/// <reference types="@booth/miniapp-types" />` in one file). The interfaces can be imported
// too: `import type { AmpeReply } from '@booth/miniapp-types'`. If another package already
// declares a global `my`, import the interfaces from '@booth/miniapp-types/interfaces' instead,
// which declares no globals.
//
// Booth defines only the objects the package's manifest lists in `dialects`; outside Booth
// (a desktop browser during development) none of them exists: test `window.__BOOTH__` first.

import type { BoothInfo, Ft, My, Wxfaceapp } from './interfaces';

export * from './interfaces';

declare global {
  /** The Alipay-style device vendor API (seed 000 / 003), when `dialects` lists `my`. */
  var my: My;
  /** The WeChat face-pay device API (seed 001), when `dialects` lists `wxfaceapp`. */
  var wxfaceapp: Wxfaceapp;
  /** The FinClip financial-scenario API (seed 002), when `dialects` lists `ft`. */
  var ft: Ft;
  interface Window {
    /** Set (and frozen) by Booth before any page script runs; `undefined` anywhere else. */
    readonly __BOOTH__?: BoothInfo;
  }
}
