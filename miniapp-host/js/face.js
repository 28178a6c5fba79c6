// Booth's face screen (seed 000's initFace / getFaceInfo / getFaceInfoPersonCard /
// doStorageFaceInfo, seed 002's finLivenessCheck / finFaceAuth) and card capture screen
// (finCardOcr): a live camera preview with a guide, prompts, a countdown and a cancel button
// over the mini-program, in a closed shadow root so that the page's styles and scripts leave it
// alone: a page can neither read it nor press its buttons (`js/dom.js`: the DOM operations are
// taken before the page runs, and only a person's clicks count).
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Booth shows it (`__boothFace.open({mode, previewUrl, timeoutMs, consentText?})`) when a page
// starts a face call, updates its prompt (`__boothFace.update({prompt, step})`) as the capture
// goes on, and hides it when the call ends. The preview is an MJPEG stream from 127.0.0.1 with a
// token for this showing only. With a consentText (enrolment) the person first agrees or not.
// In `card` mode the preview is a card-shaped rectangle, not mirrored, with a 拍照 button that
// tells Booth to take the picture. In `pay` mode (facePay) the amount (`amountText`) is shown
// under the title; `code` mode (facePay after failed faces) has no camera: it asks for the
// customer's payment code at the scanner.
/* eslint-disable no-var */
function __boothFaceScreen(post, dom) {
  'use strict';
  if (window.__boothFace || typeof post !== 'function' || !dom) return;

  var STRINGS = {
    zh: { recognize: '刷脸识别', verify: '人证比对', enrol: '人脸登记', liveness: '活体检测', card: '拍摄证件',
      cancel: '取消', agree: '同意', refuse: '不同意', consent: '授权说明', left: '秒', start: '请正对摄像头',
      cardStart: '请将证件放在框内, 然后按 拍照', shoot: '拍照', pay: '刷脸支付', code: '扫码支付',
      codeStart: '请出示付款码' },
    en: { recognize: 'Face recognition', verify: 'Face and ID check', enrol: 'Face enrolment', liveness: 'Liveness check',
      card: 'Photograph the card', cancel: 'Cancel', agree: 'I agree', refuse: 'No', consent: 'Consent', left: 's',
      start: 'Please face the camera', cardStart: 'Hold the card inside the frame, then press Shoot', shoot: 'Shoot',
      pay: 'Face payment', code: 'Code payment', codeStart: 'Please show your payment code' }
  };
  var lang = /^en/i.test(document.documentElement.lang || navigator.language || '') ? 'en' : 'zh';
  var S = STRINGS[lang];

  var CSS = [
    ':host{all:initial;position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;',
    'background:rgba(0,0,0,.78);font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;touch-action:manipulation;color:#fff}',
    '.panel{display:flex;flex-direction:column;align-items:center;gap:18px;width:min(620px,96vw)}',
    'h1{margin:0;font-size:30px;font-weight:600}',
    '.view{position:relative;width:min(440px,80vw,56vh);aspect-ratio:1;border-radius:50%;overflow:hidden;background:#111;',
    'box-shadow:0 0 0 6px #1677ff,0 0 40px rgba(22,119,255,.6)}',
    '.view img{width:100%;height:100%;object-fit:cover;transform:scaleX(-1);display:block}',
    '.guide{position:absolute;inset:12% 20%;border:3px dashed rgba(255,255,255,.75);border-radius:50%}',
    '.view.card{aspect-ratio:1.586;width:min(600px,92vw,80vh);border-radius:18px}',
    '.view.card img{transform:none}',
    '.view.card .guide{inset:8% 6%;border-radius:14px}',
    '.shoot{background:#1677ff;color:#fff}',
    '.arrow{position:absolute;top:50%;transform:translateY(-50%);font-size:72px;color:#ffd666;text-shadow:0 0 12px #000;display:none}',
    '.arrow.l{left:4%}.arrow.r{right:4%}',
    '.prompt{font-size:34px;font-weight:600;min-height:46px;text-align:center}',
    '.left{color:#bbb;font-size:18px}',
    '.amount{font-size:44px;font-weight:700;color:#ffd666}',
    '.scan{width:min(300px,60vw);aspect-ratio:1;border:6px dashed #1677ff;border-radius:24px}',
    '.consent{background:#fff;color:#222;border-radius:16px;padding:24px;font-size:22px;line-height:1.6;box-sizing:border-box;width:100%}',
    '.consent h2{margin:0 0 10px;font-size:26px}',
    '.actions{display:grid;grid-template-columns:1fr 1fr;gap:14px;width:100%}',
    'button{font:600 28px system-ui,sans-serif;min-height:80px;border-radius:14px;border:none;cursor:pointer}',
    '.cancel{background:#fff;color:#222;width:100%}.agree{background:#1677ff;color:#fff}.refuse{background:#eee;color:#222}',
    'button:active{filter:brightness(.9)}'
  ].join('');

  var host = null, root = null, timer = null, deadline = 0, options = null;
  var PREVIEW = /^http:\/\/127\.0\.0\.1:\d+\/stream\/[0-9a-f-]+$/;

  function $(sel) { return dom.find(root, sel); }

  function invoke(payload) {
    return post('booth_input', { kind: 'face', payload: payload });
  }

  function tick() {
    if (!root) return;
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    dom.text($('.left'), left + ' ' + S.left);
  }

  function startCountdown() {
    deadline = Date.now() + ((options && options.timeoutMs) || 20000);
    tick();
    if (timer) clearInterval(timer);
    timer = setInterval(tick, 250);
  }

  function showCard() {
    dom.html($('.panel'), '<h1></h1><div class="view card"><img alt=""><div class="guide"></div></div>' +
      '<div class="prompt" role="status" aria-live="assertive"></div><div class="left"></div>' +
      '<div class="actions"><button type="button" class="cancel" data-action="cancel"></button>' +
      '<button type="button" class="shoot" data-action="shoot"></button></div>');
    dom.text($('h1'), S.card);
    dom.text($('.prompt'), S.cardStart);
    dom.text($('[data-action="cancel"]'), S.cancel);
    dom.text($('[data-action="shoot"]'), S.shoot);
    if (PREVIEW.test(options.previewUrl || '')) dom.attr($('img'), 'src', options.previewUrl);
    startCountdown();
  }

  function showCamera() {
    dom.html($('.panel'), '<h1></h1><div class="amount"></div><div class="view"><img alt=""><div class="guide"></div>' +
      '<div class="arrow l">⟵</div><div class="arrow r">⟶</div></div>' +
      '<div class="prompt" role="status" aria-live="assertive"></div><div class="left"></div>' +
      '<button type="button" class="cancel" data-action="cancel"></button>');
    dom.text($('h1'), S[options.mode] || S.recognize);
    showAmount();
    dom.text($('.prompt'), S.start);
    dom.text($('[data-action="cancel"]'), S.cancel);
    // Only Booth's own loopback stream is shown.
    if (PREVIEW.test(options.previewUrl || '')) dom.attr($('img'), 'src', options.previewUrl);
    startCountdown();
  }

  function showAmount() {
    if (typeof options.amountText === 'string' && options.amountText) {
      dom.text($('.amount'), options.amountText);
    }
  }

  function showCode() {
    dom.html($('.panel'), '<h1></h1><div class="amount"></div><div class="scan"></div>' +
      '<div class="prompt" role="status" aria-live="assertive"></div><div class="left"></div>' +
      '<button type="button" class="cancel" data-action="cancel"></button>');
    dom.text($('h1'), S.code);
    showAmount();
    dom.text($('.prompt'), S.codeStart);
    dom.text($('[data-action="cancel"]'), S.cancel);
    startCountdown();
  }

  function showConsent() {
    dom.html($('.panel'), '<h1></h1><div class="consent"><h2></h2><div class="text"></div></div>' +
      '<div class="actions"><button type="button" class="refuse" data-action="refuse"></button>' +
      '<button type="button" class="agree" data-action="agree"></button></div><div class="left"></div>');
    dom.text($('h1'), S.enrol);
    dom.text($('h2'), S.consent);
    dom.text($('.text'), String(options.consentText));
    dom.text($('[data-action="agree"]'), S.agree);
    dom.text($('[data-action="refuse"]'), S.refuse);
    startCountdown();
  }

  function open(opts) {
    close();
    options = opts || {};
    var made = dom.host('booth-face');
    host = made[0];
    root = made[1];
    dom.fill(root, '<style>' + CSS + '</style><div class="panel" role="dialog" aria-modal="true"></div>');
    dom.listen(root, 'click', function (e) {
      // Only a person's click: a page's script cannot agree for them.
      var b = dom.button(e);
      if (!b) return;
      var a = dom.getAttr(b, 'data-action');
      if (a === 'cancel') { invoke({ action: 'cancel' }).catch(function () {}); close(); }
      else if (a === 'shoot') { invoke({ action: 'shoot' }).catch(function () {}); close(); }
      else if (a === 'agree') { invoke({ action: 'consent', accepted: true }).catch(function () {}); showCamera(); }
      else if (a === 'refuse') { invoke({ action: 'consent', accepted: false }).catch(function () {}); close(); }
    });
    // The page underneath gets no keys while the screen is up; Escape cancels.
    dom.listen(window, 'keydown', onKey, true);
    dom.mount(host);
    if (options.consentText) showConsent(); else if (options.mode === 'card') showCard();
    else if (options.mode === 'code') showCode(); else showCamera();
  }

  function onKey(e) {
    if (!root) return;
    var key = dom.key(e);
    if (key === null) return;
    if (key === 'Escape') { invoke({ action: 'cancel' }).catch(function () {}); close(); }
    dom.swallow(e);
  }

  function update(state) {
    if (!root || !state) return;
    if (typeof state.prompt === 'string') dom.text($('.prompt'), state.prompt);
    // The preview is a mirror: the person's left is on the screen's left.
    dom.show($('.arrow.l'), state.step === 'TURN_LEFT');
    dom.show($('.arrow.r'), state.step === 'TURN_RIGHT');
  }

  function close() {
    if (timer) { clearInterval(timer); timer = null; }
    dom.unlisten(window, 'keydown', onKey, true);
    // Stop the stream at once rather than when the element is collected.
    if (root && $('img')) dom.removeAttr($('img'), 'src');
    dom.unmount(host);
    host = null;
    root = null;
    options = null;
  }

  Object.defineProperty(window, '__boothFace', {
    value: Object.freeze({
      open: open, update: update, close: close, isOpen: function () { return !!root; },
      prompt: function () { return root ? dom.textOf($('.prompt')) : ''; },
      // Read-only views for tests and accessibility tools: they press nothing.
      previewShowing: function () { return !!root && dom.loaded($('img')); },
      where: function (action) {
        return root && /^[a-z]+$/.test(String(action)) ? dom.centre($('[data-action="' + action + '"]')) : null;
      }
    }),
    enumerable: false, configurable: false, writable: false
  });
}
