// Booth's call screen for seed 002's finOpenWitnessVideo: the agent large, the customer small,
// the call's status in Chinese and a 挂断 (hang up) button, over the mini-program in a closed
// shadow root (`js/dom.js`: a page can neither read it nor press its button; only a person's
// click or Escape hangs up).
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Booth shows it (`__boothWitness.open({roomName, phase, status})`) when the call starts,
// updates it as the call goes (`update({phase?, status?, agentUrl?, selfUrl?})`: the pictures
// are MJPEG streams from 127.0.0.1 granted to this page for this call) and hides it at the end.
/* eslint-disable no-var */
function __boothWitnessScreen(post, dom) {
  'use strict';
  if (window.__boothWitness || typeof post !== 'function' || !dom) return;

  var STRINGS = {
    zh: { title: '视频见证', hangup: '挂断', agent: '坐席', me: '本人', waiting: '等待坐席画面…' },
    en: { title: 'Video witness', hangup: 'Hang up', agent: 'Agent', me: 'You', waiting: 'Waiting for the agent…' }
  };
  var lang = /^en/i.test(document.documentElement.lang || navigator.language || '') ? 'en' : 'zh';
  var S = STRINGS[lang];
  var STREAM = /^http:\/\/127\.0\.0\.1:\d+\/stream\/[0-9A-Za-z_-]+$/;

  var CSS = [
    ':host{all:initial;position:fixed;inset:0;z-index:2147483647;display:block;background:#000;color:#fff;',
    'font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;touch-action:manipulation}',
    '.agent{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;background:#111}',
    '.agent img{width:100%;height:100%;object-fit:contain;display:block}',
    '.agent .none{font-size:26px;color:#aaa}',
    '.me{position:absolute;right:24px;bottom:140px;width:min(28vw,320px);aspect-ratio:4/3;border-radius:12px;overflow:hidden;',
    'background:#222;box-shadow:0 0 0 3px rgba(255,255,255,.8)}',
    '.me img{width:100%;height:100%;object-fit:cover;transform:scaleX(-1);display:block}',
    '.label{position:absolute;left:8px;top:6px;font-size:16px;text-shadow:0 0 4px #000}',
    '.top{position:absolute;left:0;right:0;top:0;padding:18px 24px;background:linear-gradient(rgba(0,0,0,.7),transparent)}',
    'h1{margin:0;font-size:28px;font-weight:600}',
    '.status{margin-top:6px;font-size:22px;color:#ffd666}',
    '.status.in-call{color:#95de64}',
    '.bar{position:absolute;left:0;right:0;bottom:0;height:120px;display:flex;align-items:center;justify-content:center;',
    'background:linear-gradient(transparent,rgba(0,0,0,.8))}',
    'button{font:600 28px system-ui,sans-serif;min-height:80px;min-width:220px;border-radius:40px;border:none;cursor:pointer;',
    'background:#ff4d4f;color:#fff}',
    'button:active{filter:brightness(.9)}'
  ].join('');

  var host = null, root = null;

  function $(sel) { return dom.find(root, sel); }

  function setImage(sel, url) {
    if (!root || !STREAM.test(String(url || ''))) return;
    dom.attr($(sel), 'src', url);
    dom.show($(sel), true);
    if (sel === '.agent img') dom.show($('.agent .none'), false);
  }

  function open(opts) {
    close();
    opts = opts || {};
    var made = dom.host('booth-witness');
    host = made[0];
    root = made[1];
    dom.fill(root, '<style>' + CSS + '</style>' +
      '<div class="agent"><img alt="" style="display:none"><div class="none"></div><span class="label"></span></div>' +
      '<div class="me"><img alt="" style="display:none"><span class="label"></span></div>' +
      '<div class="top" role="dialog" aria-modal="true"><h1></h1><div class="status" role="status" aria-live="polite"></div></div>' +
      '<div class="bar"><button type="button" data-action="hangup"></button></div>');
    dom.text($('h1'), S.title + (opts.roomName ? ' · ' + String(opts.roomName) : ''));
    dom.text($('.agent .none'), S.waiting);
    dom.text($('.agent .label'), S.agent);
    dom.text($('.me .label'), S.me);
    dom.text($('[data-action="hangup"]'), S.hangup);
    dom.listen(root, 'click', function (e) {
      var b = dom.button(e);
      if (b && dom.getAttr(b, 'data-action') === 'hangup') hangUp();
    });
    // The page underneath gets no keys while the call is up; Escape hangs up.
    dom.listen(window, 'keydown', onKey, true);
    dom.mount(host);
    update(opts);
  }

  function hangUp() {
    post('booth_input', { kind: 'witness', payload: { action: 'hangup' } }).catch(function () {});
  }

  function onKey(e) {
    if (!root) return;
    var key = dom.key(e);
    if (key === null) return;
    if (key === 'Escape') hangUp();
    dom.swallow(e);
  }

  function update(state) {
    if (!root || !state) return;
    if (typeof state.status === 'string') dom.text($('.status'), state.status);
    if (typeof state.phase === 'string') dom.attr($('.status'), 'class', 'status ' + state.phase.replace(/[^a-z-]/g, ''));
    if (state.agentUrl) setImage('.agent img', state.agentUrl);
    if (state.selfUrl) setImage('.me img', state.selfUrl);
  }

  function close() {
    dom.unlisten(window, 'keydown', onKey, true);
    // Stop the streams at once rather than when the elements are collected.
    if (root) { dom.removeAttr($('.agent img'), 'src'); dom.removeAttr($('.me img'), 'src'); }
    dom.unmount(host);
    host = null;
    root = null;
  }

  Object.defineProperty(window, '__boothWitness', {
    value: Object.freeze({
      open: open, update: update, close: close, isOpen: function () { return !!root; },
      // Read-only views for tests and accessibility tools: they press nothing.
      status: function () { return root ? dom.textOf($('.status')) : ''; },
      showing: function () {
        return !!root && { agent: dom.loaded($('.agent img')), self: dom.loaded($('.me img')) };
      },
      where: function () { return root ? dom.centre($('[data-action="hangup"]')) : null; }
    }),
    enumerable: false, configurable: false, writable: false
  });
}
