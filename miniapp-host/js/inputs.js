// Booth page inputs: keys of the page window for wxfaceapp.registKeyBoard, and keyboard-wedge
// barcode scanners typing into the page.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A keyboard-wedge scanner types its code as very fast key presses ending in Enter. A burst —
// at least `wedge.minLength` characters, each within `wedge.maxGapMs` of the previous one, then
// Enter — is reported to Booth as a scan and kept out of the page: from the second key of a
// burst on, keys are swallowed; the first key (typed before a burst could be known) is taken
// back from the input it went into. A burst that stops without Enter was fast typing: the
// swallowed characters are typed into the page after all.
//
// Keys listed in `keys` (the PC keys of the keypad table) are reported to Booth, which turns
// them into onKeyBoardEvent for the pages that registered them.
/* eslint-disable no-var */
function __boothInputs(cfg, post) {
  'use strict';
  if (window.__BOOTH_INPUTS__ || typeof post !== 'function') return;
  Object.defineProperty(window, '__BOOTH_INPUTS__', { value: true });

  function send(kind, payload) {
    try {
      return post('booth_input', { kind: kind, payload: payload }).catch(function (e) {
        console.warn('[booth] ' + kind + ' not delivered: ' + (e && e.message ? e.message : JSON.stringify(e)));
      });
    } catch (e) { return Promise.resolve(); }
  }

  var keys = Object.create(null);
  (cfg.keys || []).forEach(function (k) { keys[k] = true; });
  var wedge = cfg.wedge;
  var now = function () { return (window.performance && performance.now) ? performance.now() : Date.now(); };
  // When a key was pressed: the event's own time stamp (taken when the key arrived, before any
  // wait for a busy page), else the time it is handled. Gaps between keys are judged on these,
  // so a page that is busy while a scanner types does not turn the scan into typing.
  function stamp(e) {
    var n = now();
    var t = e.timeStamp;
    return (typeof t === 'number' && t > 0 && t <= n + 1 && n - t < 10000) ? t : n;
  }

  function editable(el) {
    if (!el) return false;
    if (el.tagName === 'TEXTAREA') return true;
    if (el.tagName === 'INPUT') return /^(text|search|tel|url|email|password|number|)$/i.test(el.type || '');
    return !!el.isContentEditable;
  }

  // The burst being typed: chars, time of the last key, where the first key went.
  var burst = null;
  var abandon = null;

  function snapshot(el) {
    if (!el || (el.tagName !== 'INPUT' && el.tagName !== 'TEXTAREA')) return null;
    var s = { el: el, value: el.value, start: null, end: null };
    try { s.start = el.selectionStart; s.end = el.selectionEnd; } catch (e) { /* type=number */ }
    return s;
  }

  // Puts the first key's input back as it was before the burst.
  function takeBack(b) {
    var s = b.first;
    if (!s || s.el.value === s.value) return;
    s.el.value = s.value;
    try { if (s.start !== null) s.el.setSelectionRange(s.start, s.end); } catch (e) { /* not selectable */ }
    s.el.dispatchEvent(new Event('input', { bubbles: true }));
  }

  // Fast typing after all: type what was swallowed.
  function replay(b) {
    var text = b.chars.slice(1).join('');
    if (!text) return;
    var el = document.activeElement;
    if (!editable(el)) return;
    try {
      if (!document.execCommand('insertText', false, text)) throw new Error('insertText');
    } catch (e) {
      if ('value' in el) {
        el.value += text;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }
    }
  }

  function endBurst(typed) {
    if (abandon) { clearTimeout(abandon); abandon = null; }
    var b = burst;
    burst = null;
    if (b && typed && b.chars.length > 1) replay(b);
  }

  function swallow(e) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  function onKeyDown(e) {
    // Only keys a person (or a scanner) typed: a page's synthetic events are not scans or keys.
    if (e.isComposing || !e.isTrusted) return;
    var t = stamp(e);
    var printable = e.key && e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey;
    if (wedge) {
      var inBurst = burst && t - burst.last <= wedge.maxGapMs;
      if (printable) {
        if (inBurst) {
          burst.chars.push(e.key);
          burst.last = t;
          swallow(e);
        } else {
          endBurst(true);
          burst = { chars: [e.key], last: t, first: snapshot(e.target) };
        }
        if (abandon) clearTimeout(abandon);
        // A burst that stops without Enter was fast typing; the margin lets keys that arrived in
        // time but wait behind a busy page still join it.
        abandon = setTimeout(function () { abandon = null; endBurst(true); }, wedge.maxGapMs + 200);
        if (inBurst) return;
      } else if (e.key === 'Enter' && inBurst && burst.chars.length >= wedge.minLength) {
        swallow(e);
        var b = burst;
        endBurst(false);
        takeBack(b);
        send('scan', { code: b.chars.join('') });
        return;
      } else if (e.key !== 'Shift') {
        endBurst(true);
      }
    }
    if (!e.repeat && keys[e.code]) send('key', { code: e.code });
  }

  window.addEventListener('keydown', onKeyDown, true);
}
