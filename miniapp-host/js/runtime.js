// Booth runtime: defines `my`, `wxfaceapp` and `ft` for mini-program pages.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// One transport (Tauri invoke + one Channel per page for events) under three dialects. Every
// call gets exactly one answer through the dialect's callbacks; Booth's own failures are
// answered the same way, never thrown into the page.
/* eslint-disable no-var */
function __boothRuntime(cfg, dom) {
  'use strict';
  if (window.__BOOTH__ || !dom) return;
  var internals = window.__TAURI_INTERNALS__;
  if (!internals || typeof internals.invoke !== 'function') return;

  var listeners = Object.create(null); // "dialect:name" -> array of callbacks
  var session = null;

  // --- transport -------------------------------------------------------------------------
  // Booth's events come as numbered messages, each an array of events in order (several when
  // they come fast: one script per message is what costs, not the events). Messages are taken
  // in their numbers' order; one that has not come GAP_MS after a later one did (a fetch of a
  // large message that failed in the webview) is given up, said once on the console, and the
  // later ones go on, so that one lost message cannot hold every later event of the page.
  var GAP_MS = 3000;
  function channel(onevent) {
    function onmessage(batch) {
      if (!Array.isArray(batch)) return;
      for (var i = 0; i < batch.length; i++) onevent(batch[i]);
    }
    var next = 0;
    var pending = Object.create(null);
    var waiting = 0; // messages parked in `pending`
    var gapTimer = null;
    function drain() {
      while (next in pending) {
        var m = pending[next];
        delete pending[next];
        waiting--;
        next++;
        onmessage(m);
      }
    }
    // A gap is timed from when `next` became the message waited for with later ones parked.
    var stuckAt = -1;
    function watchGap() {
      if (waiting === 0) {
        if (gapTimer !== null) { clearTimeout(gapTimer); gapTimer = null; }
        return;
      }
      if (gapTimer !== null && stuckAt === next) return;
      if (gapTimer !== null) clearTimeout(gapTimer);
      stuckAt = next;
      gapTimer = setTimeout(function () {
        gapTimer = null;
        var first = Infinity;
        for (var k in pending) first = Math.min(first, Number(k));
        console.warn('[booth] event messages ' + next + '–' + (first - 1) + ' never came; going on with ' + first);
        next = first;
        drain();
        watchGap();
      }, GAP_MS);
    }
    var id = internals.transformCallback(function (raw) {
      if (!raw || 'end' in raw || typeof raw.index !== 'number') return;
      if (raw.index === next) {
        next++;
        onmessage(raw.message);
        drain();
      } else if (raw.index > next && !(raw.index in pending)) {
        // Early: parked until the ones before it came (or were given up).
        pending[raw.index] = raw.message;
        waiting++;
      }
      // Below `next`: given up already; what it carried is too late to keep the order.
      watchGap();
    });
    var wire = '__CHANNEL__:' + id;
    var ch = { toJSON: function () { return wire; } };
    ch.__TAURI_TO_IPC_KEY__ = function () { return wire; };
    return ch;
  }

  var sessionId = null; // once attach() has answered, calls go out without waiting on it
  function attach() {
    if (!session) {
      session = internals.invoke('booth_attach', { events: channel(onEvent), url: String(location.href) })
        .then(function (r) { sessionId = r.session; return r.session; });
    }
    return session;
  }

  function onEvent(msg) {
    if (typeof msg.reply === 'number') { answered(msg.reply, msg.answer || { error: 'booth_call: 空答复' }); return; }
    var list = listeners[msg.dialect + ':' + msg.name];
    if (!list) return;
    // Per event, at up to microphone rate: no copy and no closure for the usual one listener.
    if (list.length === 1) { safe(list[0], msg.body); return; }
    list = list.slice();
    for (var i = 0; i < list.length; i++) safe(list[i], msg.body);
  }

  // Runs a page callback; its exceptions surface as the page's own uncaught errors.
  function safe(cb, arg) {
    if (typeof cb !== 'function') return;
    try { cb(arg); } catch (e) { setTimeout(function () { throw e; }); }
  }

  function failure(dialect, name, code, message, params) {
    if (dialect === 'my' && name === 'ampeHHCommunication') {
      var p = params && typeof params === 'object' ? params : {};
      return { ok: true, body: { action: p.action === undefined ? '' : p.action, event: p.event === undefined ? 'open' : p.event,
        taskId: p.taskId === undefined ? '' : p.taskId, success: false, message: message, errorCode: code, data: {} } };
    }
    if (dialect === 'my') return { ok: false, body: { success: false, message: message, errorCode: code } };
    if (dialect === 'wxfaceapp') return { ok: false, body: { replyCode: '-1', reply: message, errorCode: code } };
    return { ok: false, body: { errMsg: name + ':fail ' + message, errorCode: code } };
  }

  // Sends one call; always resolves to {ok, body}, passed through `finish` when given (one
  // promise step fewer per call). The call is JSON text written once here, never by Tauri's own
  // JSON path (a replacer called for every key takes JavaScriptCore off its fast path): a lone
  // call inside a message to Tauri's IPC handler (`one`), gathered calls as a raw IPC body
  // that Booth parses once. What JSON cannot serialize (a cycle, a BigInt, a throwing getter)
  // throws a JavaScript error here, never a rejection from Booth.
  //
  // A call goes at once, alone, unless another went before it in the same run of the page's
  // script (no wait is added to a lone call). The calls that follow it before the page's next
  // microtask go together: one message with all of them (at most BATCH_CALLS, about
  // BATCH_BYTES), one answer with every reply that is ready, in order — a page that starts
  // many calls at once pays for a few IPC messages instead of one each way per call. A call
  // that waits (a scan, a card) holds none of the others back: its answer comes later through
  // the page's event Channel, by its number. Calls made before the page's session is known
  // wait for it and go the same way.
  var BATCH_CALLS = 256;
  var BATCH_BYTES = 256 * 1024;
  var encoder = new TextEncoder();
  var outbox = []; // {text, resolve, reject} of the calls gathered
  var turnOpen = false; // a call went alone in this turn; the turn's end sends the outbox
  var sessionAsked = false; // calls wait in the outbox for attach()
  var awaited = Object.create(null); // number -> outbox entry, for calls of a batch
  var nextNumber = 0;
  function head(s) { return '{"session":' + JSON.stringify(s) + ','; }

  // A lone call goes as a message to Tauri's IPC handler (WebKit's script message handler,
  // WebView2's postMessage) and its reply comes back as a script: about half the work in both
  // processes of Tauri's `invoke`, a fetch of an `ipc:` URL with headers, a Response and a body
  // to read (README, Performance). Tauri parses such a message whole before Booth sees it and
  // drops one it cannot parse without an answer, so a call whose JSON might not parse there
  // (nesting near serde_json's limit of 128 levels) or that is large goes by fetch, whose every
  // failure is answered. Tauri's invoke key travels in the message as Tauri's own fallback
  // sends it (it grants nothing the page's `invoke` does not have).
  var POST_MAX_CHARS = 16 * 1024;
  var POST_MAX_DEPTH = 100;
  // The handler and its method as they are now, before the page runs (WebKit, WebView2), not
  // `window.ipc`, which looks them up when called: a page that shadows the handler's
  // `postMessage` neither sees nor drops a call.
  var ipc = (function () {
    var w = window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.ipc;
    if (w && typeof w.postMessage === 'function') return w;
    w = window.chrome && window.chrome.webview;
    if (w && typeof w.postMessage === 'function') return w;
    return window.ipc;
  })();
  var ipcPost = ipc && typeof ipc.postMessage === 'function' && typeof cfg.invokeKey === 'string'
    && typeof internals.transformCallback === 'function' ? ipc.postMessage : null;
  var apply = Reflect.apply;
  var invokeKey = ipcPost ? JSON.stringify(cfg.invokeKey) : '';
  var forget = typeof internals.unregisterCallback === 'function' ? internals.unregisterCallback : function () {};
  function postable(body) {
    if (body.length > POST_MAX_CHARS) return false;
    // Shorter than twice the depth limit: cannot nest that deep.
    if (body.length < 2 * POST_MAX_DEPTH) return true;
    var depth = 0;
    for (var i = 0; i < body.length; i++) {
      var c = body.charCodeAt(i);
      if (c === 34) { // a string: to its closing quote
        for (i++; i < body.length; i++) {
          c = body.charCodeAt(i);
          if (c === 92) i++;
          else if (c === 34) break;
        }
      } else if (c === 123 || c === 91) {
        if (++depth > POST_MAX_DEPTH) return false;
      } else if (c === 125 || c === 93) {
        depth--;
      }
    }
    return true;
  }
  function fetched(body) { return internals.invoke('booth_call', encoder.encode(body)); }
  // One call alone; `text` is its JSON without the session.
  function one(s, text) {
    var body = head(s) + text.slice(1);
    if (ipcPost === null || !postable(body)) return fetched(body);
    return new Promise(function (resolve, reject) {
      var done = internals.transformCallback(function (r) { forget(failed); resolve(r); }, true);
      var failed = internals.transformCallback(function (e) { forget(done); reject(e); }, true);
      try {
        apply(ipcPost, ipc, ['{"cmd":"booth_call","callback":' + done + ',"error":' + failed + ',"payload":' + body +
          ',"__TAURI_INVOKE_KEY__":' + invokeKey + '}']);
      } catch (e) {
        forget(done);
        forget(failed);
        fetched(body).then(resolve, reject);
      }
    });
  }
  function answered(number, answer) {
    var item = awaited[number];
    if (!item) return;
    delete awaited[number];
    if ('error' in answer) item.reject(answer.error);
    else item.resolve(answer);
  }
  function post(s, items) {
    if (items.length === 1) {
      one(s, items[0].text).then(items[0].resolve, items[0].reject);
      return;
    }
    var first = nextNumber;
    nextNumber += items.length;
    var texts = new Array(items.length);
    for (var i = 0; i < items.length; i++) {
      awaited[first + i] = items[i];
      texts[i] = items[i].text;
    }
    internals.invoke('booth_call', encoder.encode(head(s) + '"first":' + first + ',"calls":[' + texts.join(',') + ']}'))
      .then(function (list) {
        for (var i = 0; i < items.length; i++) {
          var a = Array.isArray(list) ? list[i] : undefined;
          if (a === null) continue; // waits: answered through the Channel
          answered(first + i, a && typeof a === 'object' ? a : { error: 'booth_call: 缺少第 ' + i + ' 个答复' });
        }
      }, function (e) {
        for (var i = 0; i < items.length; i++) answered(first + i, { error: e });
      });
  }
  function flush(s) {
    var items = outbox;
    outbox = [];
    var start = 0, bytes = 0;
    for (var i = 0; i < items.length; i++) {
      bytes += items[i].text.length;
      if (i + 1 === items.length || i + 1 - start === BATCH_CALLS || bytes >= BATCH_BYTES) {
        post(s, items.slice(start, i + 1));
        start = i + 1;
        bytes = 0;
      }
    }
  }
  function endTurn() {
    turnOpen = false;
    if (outbox.length && sessionId !== null) flush(sessionId);
  }
  function gather(text) {
    var p = new Promise(function (resolve, reject) { outbox.push({ text: text, resolve: resolve, reject: reject }); });
    if (sessionId === null && !sessionAsked) {
      sessionAsked = true;
      attach().then(function (s) { sessionAsked = false; flush(s); }, function (e) {
        sessionAsked = false;
        var items = outbox;
        outbox = [];
        for (var i = 0; i < items.length; i++) items[i].reject(e);
      });
    }
    return p;
  }
  // Half a surrogate pair in a string, as JSON.stringify writes it (it escapes nothing else of
  // the kind); not when the backslash is itself escaped (the text `\\ud800`).
  var LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;
  function send(dialect, name, params, finish) {
    var sent;
    try {
      var text = JSON.stringify({ dialect: dialect, name: name, params: params === undefined ? {} : params });
      // UTF-8 cannot carry half a surrogate pair and Booth's JSON reader refuses one: it becomes
      // U+FFFD, as in a browser's fetch body.
      if (text.indexOf('\\u') >= 0) text = text.replace(LONE_SURROGATE, '$1\\ufffd');
      if (sessionId !== null && !turnOpen) {
        turnOpen = true;
        queueMicrotask(endTurn);
        sent = one(sessionId, text);
      } else {
        sent = gather(text);
      }
    } catch (e) {
      sent = Promise.reject(e);
    }
    var failed = function (e) {
      var r = e instanceof Error
        ? failure(dialect, name, 'INVALID_PARAMS', '参数错误: 无法序列化 (' + e.message + ')', params)
        // Nesting past serde_json's limit (128) is refused before the message reaches Booth;
        // like the bridge's own nesting limit, nothing of such a request is echoed.
        : /recursion limit/.test(String(e))
          ? failure(dialect, name, 'INVALID_PARAMS', '参数错误: 嵌套过深', undefined)
          : failure(dialect, name, 'INTERNAL', '内部错误: ' + String(e), params);
      return finish ? finish(r) : r;
    };
    return finish ? sent.then(finish, failed) : sent.then(null, failed);
  }

  function listen(dialect, name, cb) {
    if (typeof cb !== 'function') {
      console.warn('[booth] ' + dialect + ' listener for "' + name + '" must be a function');
      return;
    }
    var key = dialect + ':' + name;
    var list = listeners[key] || (listeners[key] = []);
    list.push(cb);
    if (list.length === 1) {
      attach()
        .then(function (s) { return internals.invoke('booth_subscribe', { session: s, dialect: dialect, name: name, on: true }); })
        .catch(function (e) {
          var msg = e && e.message ? e.message : String(e);
          console.warn('[booth] ' + dialect + ' "' + name + '" will not be delivered: ' + msg + (e && e.errorCode ? ' (' + e.errorCode + ')' : ''));
        });
    }
  }

  function unlisten(dialect, name, cb) {
    var key = dialect + ':' + name;
    var list = listeners[key];
    if (!list) return;
    listeners[key] = cb === undefined ? [] : list.filter(function (f) { return f !== cb; });
    if (listeners[key].length === 0) {
      delete listeners[key];
      attach()
        .then(function (s) { return internals.invoke('booth_subscribe', { session: s, dialect: dialect, name: name, on: false }); })
        .catch(function () {});
    }
  }

  function has(d) { return cfg.dialects.indexOf(d) >= 0; }
  // Ordinary properties, like the vendors' own globals: a page may wrap or shadow them (a
  // non-configurable global would make `let my = …` a SyntaxError, a read-only one would make
  // `window.my = window.my || {}` throw in strict code).
  function define(obj, name, value) {
    Object.defineProperty(obj, name, { value: value, enumerable: true, configurable: true, writable: true });
  }

  // --- my (seeds 000, 003) ---------------------------------------------------------------
  if (has('my')) {
    var my = {};
    define(my, 'call', function (name, params, cb) {
      if (typeof params === 'function' && cb === undefined) { cb = params; params = {}; }
      var finish = function (r) { safe(cb, r.body); return r.body; };
      return typeof name === 'string'
        ? send('my', name, params, finish)
        : Promise.resolve(failure('my', 'ampeHHCommunication', 'INVALID_PARAMS', '参数错误: my.call 的第一个参数应为字符串', params)).then(finish);
    });
    define(my, 'on', function (name, cb) { listen('my', String(name), cb); });
    define(my, 'off', function (name, cb) { unlisten('my', String(name), cb); });
    define(my, 'getSystemInfo', function (opts) {
      opts = opts || {};
      return send('my', 'getSystemInfo', {}).then(function (r) {
        var res = r.body;
        if (r.ok) {
          var dpr = window.devicePixelRatio || 1;
          res.pixelRatio = dpr;
          res.screenWidth = Math.round(screen.width * dpr);
          res.screenHeight = Math.round(screen.height * dpr);
          res.screen = { width: screen.width, height: screen.height };
          res.windowWidth = window.innerWidth;
          res.windowHeight = window.innerHeight;
          res.language = navigator.language;
          res.statusBarHeight = 0;
          res.titleBarHeight = 0;
          res.fontSizeSetting = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
          safe(opts.success, res);
        } else {
          safe(opts.fail, res);
        }
        safe(opts.complete, res);
        return res;
      });
    });
    define(window, 'my', my);
  }

  // The package's root: a remote package's folder (`https://host/app/`) when this page is
  // under one (the longest that fits), else the origin's root (a local package, `booth://id/`).
  function packageRoot() {
    var here = location.href, best = null;
    (cfg.bases || []).forEach(function (b) {
      if (here.indexOf(b) === 0 && (!best || b.length > best.length)) best = b;
    });
    return new URL(best || '/', location.href);
  }

  // faceLogin's relaunchUrl, after a new login: a page of this package (Booth checked the path
  // before the login), `.html` added to a page path without an extension (`pages/pay/pay`).
  function relaunch(path) {
    if (typeof path !== 'string' || !path.trim()) return;
    var root = packageRoot();
    var m = /^([^?#]*)(.*)$/.exec(path.trim().replace(/^\/+/, ''));
    var file = m[1];
    if (!/\.[A-Za-z0-9]+$/.test(file.split('/').pop())) file += '.html';
    var to = new URL(file + m[2], root);
    if (to.origin === root.origin && to.href.indexOf(root.href) === 0) location.replace(to.href);
  }

  // --- wxfaceapp (seed 001) --------------------------------------------------------------
  if (has('wxfaceapp')) {
    var wx = {};
    cfg.wxfaceapp.calls.forEach(function (name) {
      define(wx, name, function (opts) {
        opts = opts && typeof opts === 'object' ? opts : {};
        var params = {};
        Object.keys(opts).forEach(function (k) {
          if (k !== 'success' && k !== 'fail' && k !== 'complete') params[k] = opts[k];
        });
        return send('wxfaceapp', name, params, function (r) {
          safe(r.ok ? opts.success : opts.fail, r.body);
          safe(opts.complete, r.body);
          if (name === 'faceLogin' && r.ok && r.body && r.body.reply === 'face login suc') relaunch(params.relaunchUrl);
          return r.body;
        });
      });
    });
    cfg.wxfaceapp.events.forEach(function (name) {
      define(wx, name, function (cb) { listen('wxfaceapp', name, cb); });
    });
    define(window, 'wxfaceapp', wx);
  }

  // finOpenOtherApp's alertMsg: Booth's own confirm box over the page (a native dialog would
  // block the page, and the kiosk's heartbeat would take it for hung). Resolves true for 确定.
  // Like the face and ID-number screens it lives in a closed shadow root made with the DOM
  // operations taken before the page ran (js/dom.js), and only a person's click answers it: a
  // page's script can neither read it nor press 确定 for the customer.
  var asking = null; // the root of the box showing
  function confirmFirst(message) {
    return new Promise(function (resolve) {
      var made = dom.host('booth-confirm');
      var host = made[0];
      var root = made[1];
      dom.fill(root, '<style>:host{all:initial;position:fixed;inset:0;z-index:2147483647;display:flex;' +
        'align-items:center;justify-content:center;background:rgba(0,0,0,.55);' +
        'font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}' +
        '.box{background:#fff;border-radius:16px;padding:28px;width:min(560px,90vw);box-sizing:border-box}' +
        'p{margin:0 0 24px;font-size:26px;line-height:1.5;color:#222;white-space:pre-wrap;word-break:break-word}' +
        '.row{display:grid;grid-template-columns:1fr 1fr;gap:14px}' +
        'button{font:600 26px system-ui,sans-serif;min-height:72px;border-radius:12px;border:1px solid #ccc;' +
        'background:#fff;color:#111}.ok{background:#1677ff;border-color:#1677ff;color:#fff}</style>' +
        '<div class="box" role="dialog" aria-modal="true"><p></p><div class="row">' +
        '<button class="cancel" type="button" data-action="cancel">取消</button>' +
        '<button class="ok" type="button" data-action="ok">确定</button></div></div>');
      dom.text(dom.find(root, 'p'), message);
      dom.listen(root, 'click', function (e) {
        var b = dom.button(e);
        if (!b) return;
        var action = dom.getAttr(b, 'data-action');
        if (action !== 'ok' && action !== 'cancel') return;
        dom.unmount(host);
        if (asking === root) asking = null;
        resolve(action === 'ok');
      });
      asking = root;
      dom.mount(host);
    });
  }
  // Read-only views for tests and accessibility tools: they press nothing.
  Object.defineProperty(window, '__boothConfirm', {
    value: Object.freeze({
      text: function () { return asking ? dom.textOf(dom.find(asking, 'p')) : null; },
      where: function (button) {
        var k = String(button);
        return asking && (k === 'ok' || k === 'cancel') ? dom.centre(dom.find(asking, '[data-action="' + k + '"]')) : null;
      }
    }),
    enumerable: false, configurable: false, writable: false
  });

  // --- ft (seed 002) ---------------------------------------------------------------------
  if (has('ft')) {
    var ft = {};
    function holder(path) {
      var o = ft;
      for (var i = 0; i < path.length - 1; i++) {
        if (!o[path[i]]) define(o, path[i], {});
        o = o[path[i]];
      }
      return o;
    }
    cfg.ft.calls.forEach(function (name) {
      var path = name.split('.');
      var promiseOnly = path[0] === 'webrtc';
      var fn = function (opts) {
        opts = opts && typeof opts === 'object' ? opts : {};
        var params = {};
        Object.keys(opts).forEach(function (k) {
          if (k !== 'success' && k !== 'fail' && k !== 'complete') params[k] = opts[k];
        });
        var withCallbacks = !promiseOnly && (opts.success || opts.fail || opts.complete);
        var ask = name === 'finOpenOtherApp' && typeof params.alertMsg === 'string' && params.alertMsg.trim();
        var p = ask
          ? confirmFirst(params.alertMsg).then(function (yes) {
            return yes ? send('ft', name, params)
              : { ok: false, body: { errMsg: name + ':fail cancel', errorCode: 'CANCELLED' } };
          })
          : send('ft', name, params);
        if (withCallbacks) {
          p.then(function (r) { safe(r.ok ? opts.success : opts.fail, r.body); safe(opts.complete, r.body); });
          return undefined;
        }
        return p.then(function (r) { if (r.ok) return r.body; throw r.body; });
      };
      define(holder(path), path[path.length - 1], fn);
    });
    // Seed 002's own example calls getUserMedia as mediaDevices.mediaDevices().
    if (ft.webrtc && ft.webrtc.mediaDevices && ft.webrtc.mediaDevices.getUserMedia) {
      define(ft.webrtc.mediaDevices, 'mediaDevices', ft.webrtc.mediaDevices.getUserMedia);
    }
    // The objects getUserMedia and createRTCPeerConnection return (js/webrtc.js).
    if (typeof __boothWebrtc === 'function') __boothWebrtc(ft, send, define);
    define(window, 'ft', ft);
  }

  Object.defineProperty(window, '__BOOTH__', {
    value: Object.freeze({ version: cfg.version, package: cfg.package, dialects: cfg.dialects.slice() }),
    enumerable: false, configurable: false, writable: false
  });
  attach().catch(function (e) { console.error('[booth] bridge unavailable: ' + String(e)); });
}
