// The benchmark's page agent, run by Booth (index.html: the `my` and `wxfaceapp` objects) and by
// the bare Tauri baseline (raw.html: plain `invoke`, a Channel and `listen`). The driver
// (`booth-bench`) sends it commands as messages `cmd:{json}` through the app's event path; it
// answers with one report per command (`BENCH {json}`: Booth prints page output, the baseline has
// a `report` command). Timings that need finer than WebKitGTK's 1 ms clock come from the Rust side.
// SPDX-License-Identifier: MIT OR Apache-2.0
(function () {
  'use strict';
  var booth = window.BENCH_HOST === 'booth';
  var internals = window.__TAURI_INTERNALS__;
  var dcl = null;
  document.addEventListener('DOMContentLoaded', function () {
    dcl = Date.now();
    report({ op: 'ready', dcl: dcl, host: booth ? 'booth' : 'raw', clock: clockStep() });
  });

  // --- transport ---------------------------------------------------------------------------
  function report(obj) {
    var text = JSON.stringify(obj);
    if (booth) console.warn('BENCH ' + text);
    else internals.invoke('report', { text: text });
  }

  var task = 0;
  var calls = booth ? {
    my: function () {
      return new Promise(function (resolve) {
        my.call('ampeHHCommunication', { action: 'getDeviceInfo', event: 'open', taskId: String(++task) }, resolve);
      });
    },
    wx: function () {
      return new Promise(function (resolve) {
        wxfaceapp.checkWxFacePayOsInfo({ success: resolve, fail: resolve });
      });
    },
    // A trivial Booth command from the same page, around the bridge: where the time goes.
    log: function () { return internals.invoke('booth_log', { url: '', entries: [] }); }
  } : {
    noop: function () { return internals.invoke('noop'); },
    noop_async: function () { return internals.invoke('noop_async'); }
  };
  var defaultApi = booth ? 'my' : 'noop';

  function onMessage(cb) {
    if (booth) {
      my.on('initQRListener', function (res) { cb(res.data.qrCode); });
      return;
    }
    // A Channel as @tauri-apps/api builds one: a callback id, messages numbered from 0.
    var next = 0;
    var early = {};
    var id = internals.transformCallback(function (raw) {
      if (!raw || 'end' in raw) return;
      early[raw.index] = raw.message;
      while (next in early) {
        var m = early[next];
        delete early[next];
        next++;
        cb(m);
      }
    });
    var wire = '__CHANNEL__:' + id;
    var channel = { toJSON: function () { return wire; } };
    channel.__TAURI_TO_IPC_KEY__ = function () { return wire; };
    internals.invoke('subscribe', { channel: channel });
    internals.invoke('plugin:event|listen', {
      event: 'bench', target: { kind: 'Any' },
      handler: internals.transformCallback(function (e) { cb(e.payload); })
    });
  }

  function openSecondary(dataUrl) {
    if (booth) {
      return new Promise(function (resolve) {
        my.call('ampeHHCommunication', { action: 'openSecondaryScreen', event: 'open', taskId: 'screen',
          params: { secondaryScreenBase64: dataUrl.slice(dataUrl.indexOf(',') + 1) } }, resolve);
      });
    }
    return internals.invoke('open_second', { image: dataUrl }).then(function () { return { success: true }; },
      function (e) { return { success: false, message: String(e) }; });
  }

  // --- clocks ------------------------------------------------------------------------------
  // The smallest step of performance.now(): 1 ms on WebKitGTK. Event latencies measured here
  // use Date.now() (the system clock the app stamps events with, in whole milliseconds); the
  // precise ones come from the app's own clock (see `ack`).
  function clockStep() {
    var step = Infinity;
    var last = performance.now();
    for (var i = 0; i < 200000 && step > 0.001; i++) {
      var t = performance.now();
      if (t !== last) { step = Math.min(step, t - last); last = t; }
    }
    return step;
  }

  // --- commands ----------------------------------------------------------------------------
  function sequential(call, n) {
    var t0 = performance.now();
    var i = 0;
    return new Promise(function (resolve) {
      (function step() {
        if (i++ >= n) { resolve(performance.now() - t0); return; }
        call().then(step);
      })();
    });
  }

  function concurrent(call, n) {
    var t0 = performance.now();
    var all = [];
    for (var i = 0; i < n; i++) all.push(call());
    return Promise.all(all).then(function () { return performance.now() - t0; });
  }

  // The same, each call started a microtask after the one before: still all in flight, but
  // Booth's runtime then sends every call in a message of its own, as it gathers only the calls
  // started together (runtime.js). What the transport costs a call, without the gathering.
  function concurrentApart(call, n) {
    var t0 = performance.now();
    var all = [];
    var i = 0;
    return new Promise(function (resolve) {
      (function next() {
        if (i++ >= n) { resolve(Promise.all(all)); return; }
        all.push(call());
        Promise.resolve().then(next);
      })();
    }).then(function () { return performance.now() - t0; });
  }

  function picture() {
    // A customer-screen picture the size of the second monitor.
    var c = document.createElement('canvas');
    c.width = 1280; c.height = 1080;
    var g = c.getContext('2d');
    var grad = g.createLinearGradient(0, 0, 1280, 1080);
    grad.addColorStop(0, '#0b5394'); grad.addColorStop(1, '#f1c232');
    g.fillStyle = grad; g.fillRect(0, 0, 1280, 1080);
    g.fillStyle = '#fff'; g.font = 'bold 96px sans-serif';
    g.fillText('欢迎光临 Booth', 220, 560);
    return c.toDataURL('image/png');
  }

  var events = null;
  function quantiles(sorted) {
    function q(p) { return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null; }
    var sum = 0;
    sorted.forEach(function (v) { sum += v; });
    return { p50: q(0.5), p99: q(0.99), max: sorted.length ? sorted[sorted.length - 1] : null,
      mean: sorted.length ? sum / sorted.length : null };
  }
  function finishEvents() {
    if (!events) return;
    var e = events;
    events = null;
    clearTimeout(e.timer);
    e.lat.sort(function (a, b) { return a - b; });
    report({ op: 'events', tag: e.tag, want: e.want, got: e.got, latencyMs: quantiles(e.lat) });
  }

  var handlers = {
    ping: function (c) { report({ op: 'pong', id: c.id }); },
    seq: function (c) {
      var call = calls[c.api || defaultApi];
      return sequential(call, c.n).then(function (ms) { report({ op: 'seq', api: c.api, n: c.n, ms: ms }); });
    },
    conc: function (c) {
      var call = calls[c.api || defaultApi];
      var times = [];
      var r = 0;
      return (function round() {
        if (r++ >= c.rounds) { report({ op: 'conc', api: c.api, n: c.n, ms: times }); return null; }
        return (c.apart ? concurrentApart : concurrent)(call, c.n).then(function (ms) { times.push(ms); return round(); });
      })();
    },
    events: function (c) {
      // ack "each": every event is answered with a call, "last": only the last one, so that the
      // app can time emit → listener → call back on its own clock.
      events = { tag: c.tag, want: c.n, got: 0, lat: [], ack: c.ack || 'none', call: calls[c.api || defaultApi],
        timer: setTimeout(finishEvents, c.timeoutMs || 30000) };
      report({ op: 'armed', tag: c.tag });
    },
    secondary: function () {
      return openSecondary(picture()).then(function (res) {
        report({ op: 'secondary', ok: res.success === true, message: res.message || '' });
      });
    },
    calls: function (c) {
      var call = calls[c.api || defaultApi];
      var left = c.n;
      return (function batch() {
        if (left <= 0) { report({ op: 'calls', n: c.n }); return null; }
        var k = Math.min(500, left);
        left -= k;
        return concurrent(call, k).then(batch);
      })();
    }
  };

  function onText(text) {
    if (typeof text !== 'string') return;
    if (text.lastIndexOf('ev:', 0) === 0) {
      var at = Date.now();
      if (!events) return;
      var e = events;
      var last = ++e.got >= e.want;
      if (e.ack === 'each' || (e.ack === 'last' && last)) e.call();
      e.lat.push(at - Number(text.split(':', 3)[2]) / 1000);
      if (last) finishEvents();
    } else if (text.lastIndexOf('cmd:', 0) === 0) {
      var c;
      try { c = JSON.parse(text.slice(4)); } catch (e) { report({ op: 'error', message: String(e) }); return; }
      var h = handlers[c.op];
      if (!h) { report({ op: 'error', message: 'unknown op ' + c.op }); return; }
      Promise.resolve(h(c)).catch(function (e) { report({ op: 'error', message: String(e) }); });
    }
  }

  onMessage(onText);
})();
