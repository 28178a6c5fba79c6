// Booth shell: what every page of the package tells Booth (touches, clicks and keys, for the
// operation watcher and the idle reset; heartbeat answers) and, on a kiosk, what it may not do.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// cfg = {
//   kiosk: bool,               // lock the page down
//   admin: {corner, taps, windowMs, px} | null,   // the administrator's hidden gesture
//   throttleMs: number         // at most one activity report per this many ms (plus a last one)
// }
/* eslint-disable no-var */
function __boothShell(cfg, post) {
  'use strict';
  if (window.__BOOTH_SHELL__ || typeof post !== 'function') return;
  Object.defineProperty(window, '__BOOTH_SHELL__', { value: true });

  function tell(kind, payload) {
    try {
      return post('booth_shell', { kind: kind, payload: payload || {} }).catch(function () {});
    } catch (e) { return Promise.resolve(); }
  }

  // --- activity: leading report at once, then at most one per throttleMs, with the age of the last input
  var throttle = cfg.throttleMs || 1000;
  var lastInput = 0;
  var lastSent = 0;
  var trailing = null;
  // Only what a person did counts: a page's synthetic events keep no kiosk awake.
  function activity(e) {
    if (!e.isTrusted) return;
    var t = Date.now();
    lastInput = t;
    closeWarning();
    if (t - lastSent >= throttle) {
      lastSent = t;
      tell('activity', { agoMs: 0 });
    } else if (!trailing) {
      trailing = setTimeout(function () {
        trailing = null;
        lastSent = Date.now();
        tell('activity', { agoMs: Math.max(0, lastSent - lastInput) });
      }, throttle - (t - lastSent));
    }
  }
  ['pointerdown', 'touchstart', 'mousedown', 'keydown', 'wheel'].forEach(function (type) {
    window.addEventListener(type, activity, { capture: true, passive: true });
  });

  // --- heartbeat: Booth asks, the page answers while its event loop runs
  Object.defineProperty(window, '__boothBeat', {
    value: function (n) { tell('beat', { n: n }); }
  });

  // --- the administrator's gesture: taps in one corner, close together
  var admin = cfg.admin;
  var taps = [];
  function inCorner(x, y) {
    var w = window.innerWidth, h = window.innerHeight, px = admin.px;
    var left = x <= px, right = x >= w - px, top = y <= px, bottom = y >= h - px;
    switch (admin.corner) {
      case 'top-left': return top && left;
      case 'bottom-left': return bottom && left;
      case 'bottom-right': return bottom && right;
      default: return top && right;
    }
  }
  if (admin) {
    window.addEventListener('pointerdown', function (e) {
      if (!e.isTrusted) return;
      if (!inCorner(e.clientX, e.clientY)) { taps = []; return; }
      var t = Date.now();
      taps.push(t);
      taps = taps.filter(function (x) { return t - x <= admin.windowMs; });
      if (taps.length >= admin.taps) {
        taps = [];
        tell('admin');
      }
    }, { capture: true, passive: true });
  }

  // --- the idle warning: a countdown over the page that any touch cancels
  var warning = null;
  function closeWarning() {
    if (!warning) return;
    clearInterval(warning.timer);
    warning.host.remove();
    warning = null;
  }
  Object.defineProperty(window, '__boothIdleWarning', {
    value: function (seconds, text) {
      closeWarning();
      var host = document.createElement('booth-idle-warning');
      host.style.cssText = 'position:fixed;inset:0;z-index:2147483647;display:block';
      var root = host.attachShadow({ mode: 'closed' });
      root.innerHTML =
        '<style>.b{position:fixed;inset:0;background:rgba(0,0,0,.55);display:flex;align-items:center;justify-content:center;font:24px/1.5 system-ui,sans-serif}' +
        '.c{background:#fff;color:#222;border-radius:16px;padding:32px 48px;text-align:center;box-shadow:0 8px 32px rgba(0,0,0,.4)}' +
        '.n{font-size:64px;font-weight:600;color:#1677ff}</style>' +
        '<div class="b"><div class="c"><div class="t"></div><div class="n"></div><div>触摸屏幕继续 · Touch to continue</div></div></div>';
      root.querySelector('.t').textContent = text || '即将返回首页 · Returning to the start';
      var n = root.querySelector('.n');
      var left = seconds;
      n.textContent = String(left);
      (document.body || document.documentElement).appendChild(host);
      warning = { host: host, timer: setInterval(function () { left = Math.max(0, left - 1); n.textContent = String(left); }, 1000) };
    }
  });
  Object.defineProperty(window, '__boothIdleWarningClose', { value: closeWarning });

  if (!cfg.kiosk) return;

  // --- kiosk: nothing that leaves, reloads, prints, zooms or inspects the page
  function blocked(what) {
    console.warn('[booth] kiosk: ' + what + ' blocked');
  }
  function escapeKey(e) {
    var k = (e.key || '').toLowerCase();
    var ctrl = e.ctrlKey || e.metaKey;
    if (/^f(5|11|12)$/.test(k) || k === 'browserback' || k === 'browserforward' || k === 'browserrefresh') return true;
    if (e.altKey && (k === 'f4' || k === 'arrowleft' || k === 'arrowright' || k === 'home' || k === 'tab' || k === 'escape')) return true;
    if (ctrl && e.shiftKey && /^[ijcr]$/.test(k)) return true;
    if (ctrl && !e.altKey && /^[rwlpntoshgjuqd]$/.test(k)) return true;
    if (ctrl && /^(\+|-|=|0|_)$/.test(k)) return true;
    return false;
  }
  window.addEventListener('keydown', function (e) {
    if (escapeKey(e)) {
      e.preventDefault();
      // The webview's own devtools shortcut listens on the document: it must not hear it (its
      // refused request would read as an error of the page).
      if ((e.ctrlKey || e.metaKey) && e.shiftKey && (e.key || '').toLowerCase() === 'i') e.stopImmediatePropagation();
      blocked('key ' + [e.ctrlKey && 'Ctrl', e.altKey && 'Alt', e.shiftKey && 'Shift', e.key].filter(Boolean).join('+'));
    }
  }, { capture: true });
  window.addEventListener('contextmenu', function (e) { e.preventDefault(); }, { capture: true });
  window.addEventListener('dragstart', function (e) { e.preventDefault(); }, { capture: true });
  window.addEventListener('drop', function (e) { e.preventDefault(); }, { capture: true });
  window.addEventListener('dragover', function (e) { e.preventDefault(); }, { capture: true });
  // Pinch and Ctrl+wheel zoom.
  window.addEventListener('wheel', function (e) { if (e.ctrlKey) e.preventDefault(); }, { capture: true, passive: false });
  ['gesturestart', 'gesturechange', 'gestureend'].forEach(function (type) {
    window.addEventListener(type, function (e) { e.preventDefault(); }, { capture: true, passive: false });
  });
  window.addEventListener('touchmove', function (e) { if (e.touches && e.touches.length > 1) e.preventDefault(); }, { capture: true, passive: false });
  function noZoomStyle() {
    var s = document.createElement('style');
    s.textContent = 'html{touch-action:pan-x pan-y;-webkit-user-drag:none}img,a{-webkit-user-drag:none}';
    (document.head || document.documentElement).appendChild(s);
  }
  if (document.documentElement) noZoomStyle();
  else document.addEventListener('DOMContentLoaded', noZoomStyle);
  // New windows, file pickers, downloads, printing.
  Object.defineProperty(window, 'open', {
    configurable: true, writable: true,
    value: function (url) { blocked('window.open(' + (url === undefined ? '' : String(url)) + ')'); return null; }
  });
  window.print = function () { blocked('window.print()'); };
  document.addEventListener('click', function (e) {
    var el = e.target;
    while (el && el.nodeType === 1) {
      if (el.tagName === 'INPUT' && (el.type || '').toLowerCase() === 'file') {
        e.preventDefault();
        blocked('file picker');
        return;
      }
      if (el.tagName === 'A') {
        var target = (el.getAttribute('target') || '').toLowerCase();
        if ((target && target !== '_self' && target !== '_top' && target !== '_parent') || el.hasAttribute('download')) {
          e.preventDefault();
          blocked(el.hasAttribute('download') ? 'download ' + el.href : 'link to a new window ' + el.href);
        }
        return;
      }
      el = el.parentNode;
    }
  }, { capture: true });
}
