// Booth's internal requests (page keys, keyboard-wedge scans, the keypad and face screens, the
// shell's reports): they carry the window's page key, which only Booth's own scripts know.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The key must never pass through anything a page can replace. So everything the request
// touches is taken now, before any script of the page runs: `fetch` itself, `JSON.stringify`,
// the IPC address, and the headers go in an object without a prototype (a getter a page put on
// Object.prototype never sees it). Tauri's own `invoke` is not used: it looks up `fetch` and
// `Headers` when it is called, and a page could have replaced them by then.
//
// cfg = { key: string, invokeKey: string }
/* eslint-disable no-var */
function __boothInternal(cfg) {
  'use strict';
  var internals = window.__TAURI_INTERNALS__;
  if (!internals || typeof internals.convertFileSrc !== 'function' || typeof window.fetch !== 'function') return null;
  var send = window.fetch;
  var stringify = JSON.stringify;
  var parse = JSON.parse;
  var create = Object.create;
  var key = String(cfg.key);
  var invokeKey = String(cfg.invokeKey);
  var urls = create(null);
  ['booth_input', 'booth_shell'].forEach(function (cmd) { urls[cmd] = internals.convertFileSrc(cmd, 'ipc'); });

  // Resolves to the command's answer, rejects with its refusal (as Tauri's invoke does).
  return function post(cmd, args) {
    var url = urls[cmd];
    if (!url) return Promise.reject({ errorCode: 'INVALID_PARAMS', message: 'unknown internal command ' + cmd });
    var headers = create(null);
    headers['Content-Type'] = 'application/json';
    headers['Tauri-Callback'] = '0';
    headers['Tauri-Error'] = '0';
    headers['Tauri-Invoke-Key'] = invokeKey;
    headers['Booth-Page-Key'] = key;
    var init = create(null);
    init.method = 'POST';
    init.body = stringify(args);
    init.headers = headers;
    return send(url, init).then(function (r) {
      var ok = r.headers.get('Tauri-Response') === 'ok';
      return r.text().then(function (text) {
        var body;
        try { body = text ? parse(text) : null; } catch (e) { body = text; }
        if (ok) return body;
        throw body;
      });
    });
  };
}
