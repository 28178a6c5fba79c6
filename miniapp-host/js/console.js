// Booth page output: forwards console.*, uncaught errors and unhandled promise rejections of
// every page in a Booth window to Booth's log (the terminal under `booth dev`), with the page
// and the source line. The page's own console keeps working unchanged.
// SPDX-License-Identifier: MIT OR Apache-2.0
/* eslint-disable no-var */
function __boothConsole() {
  'use strict';
  if (window.__BOOTH_CONSOLE__) return;
  var internals = window.__TAURI_INTERNALS__;
  if (!internals || typeof internals.invoke !== 'function') return;
  Object.defineProperty(window, '__BOOTH_CONSOLE__', { value: true });

  var MAX_TEXT = 8192;
  var queue = [];
  var scheduled = false;

  function flush() {
    scheduled = false;
    if (!queue.length) return;
    var entries = queue;
    queue = [];
    try {
      internals.invoke('booth_log', { url: String(location.href), entries: entries }).catch(function () {});
    } catch (e) { /* the window is going away */ }
  }

  function push(level, text, source) {
    if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT) + '… (' + text.length + ' characters)';
    queue.push({ level: level, text: text, source: source || '' });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0);
    }
  }

  function show(v, seen) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return (v.name || 'Error') + ': ' + v.message + (v.stack ? '\n' + v.stack : '');
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return '[function ' + (v.name || 'anonymous') + ']';
    if (typeof v === 'symbol' || typeof v === 'bigint') return String(v);
    if (v === null || typeof v !== 'object') return String(v);
    try {
      seen = seen || [];
      return JSON.stringify(v, function (k, x) {
        if (x && typeof x === 'object') {
          if (seen.indexOf(x) >= 0) return '[Circular]';
          seen.push(x);
        }
        if (typeof x === 'bigint') return String(x);
        if (typeof x === 'function') return '[function ' + (x.name || 'anonymous') + ']';
        return x;
      });
    } catch (e) {
      return Object.prototype.toString.call(v);
    }
  }

  // The first stack frame outside Booth's own scripts (initialization scripts show up as
  // `user-script:N` in WebKit): "file:line:column".
  function caller() {
    var stack = (new Error()).stack || '';
    var lines = stack.split('\n');
    for (var i = 0; i < lines.length; i++) {
      var l = lines[i];
      if (!l || l.indexOf('booth-runtime.js') >= 0 || l.indexOf('user-script:') >= 0) continue;
      var at = l.lastIndexOf('@');
      var where = at >= 0 ? l.slice(at + 1) : l.replace(/^\s*at\s+/, '').replace(/^.*\((.*)\)$/, '$1');
      if (/:\d+:\d+$/.test(where)) return where;
    }
    return '';
  }

  ['log', 'info', 'warn', 'error', 'debug'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
      push(level, parts.join(' '), caller());
      if (typeof original === 'function') return original.apply(console, arguments);
    };
  });

  window.addEventListener('error', function (e) {
    if (e.target && e.target !== window && e.target.tagName) {
      var src = e.target.src || e.target.href || '';
      push('error', 'failed to load <' + e.target.tagName.toLowerCase() + '> ' + src, '');
      return;
    }
    var text = 'Uncaught ' + (e.error ? show(e.error) : e.message);
    var source = e.filename ? e.filename + ':' + e.lineno + ':' + e.colno : '';
    push('error', text, source);
  }, true);

  window.addEventListener('unhandledrejection', function (e) {
    push('error', 'Unhandled promise rejection: ' + show(e.reason), '');
  });

  window.addEventListener('pagehide', flush);
}
