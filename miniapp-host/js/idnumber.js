// Booth's on-screen keypad for enterIDNumber (seed 000): an 18-character ID number typed over
// the mini-program, in a shadow root so that the page's styles and scripts leave it alone.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Booth shows it (`__boothIdNumber.open({timeoutMs})`) when a page calls enterIDNumber and
// hides it when the call ends. 确定 sends the number to Booth, which checks it (GB 11643 check
// character, region, birth date) and either answers the page or says here what is wrong.
// Digits, X, Backspace, Enter and Escape on a keyboard work too.
/* eslint-disable no-var */
function __boothIdNumberKeypad(post) {
  'use strict';
  if (window.__boothIdNumber || typeof post !== 'function') return;

  var STRINGS = {
    zh: { title: '请输入身份证号码', hint: '18 位, 末位可以是 X', ok: '确定', cancel: '取消', del: '删除',
      left: '秒后自动关闭', short: '请输入完整的 18 位号码', failed: '提交失败' },
    en: { title: 'Enter your ID card number', hint: '18 characters; the last may be X', ok: 'OK', cancel: 'Cancel',
      del: 'Delete', left: 's left', short: 'Enter all 18 characters', failed: 'Could not submit' }
  };
  var lang = /^en/i.test(document.documentElement.lang || navigator.language || '') ? 'en' : 'zh';
  var S = STRINGS[lang];
  var LENGTH = 18;

  var CSS = [
    ':host{all:initial;position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;',
    'background:rgba(0,0,0,.55);font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;touch-action:manipulation}',
    '.panel{background:#fff;border-radius:16px;padding:24px;width:min(560px,94vw);box-sizing:border-box;box-shadow:0 8px 40px rgba(0,0,0,.35)}',
    'h1{margin:0 0 4px;font-size:26px;color:#222}.hint{color:#777;font-size:16px;margin-bottom:14px}',
    '.number{font:600 30px/1.4 ui-monospace,Menlo,Consolas,monospace;letter-spacing:2px;border:2px solid #1677ff;border-radius:10px;',
    'padding:10px 12px;min-height:42px;color:#111;word-break:break-all;background:#f5f9ff}',
    '.error{color:#d4380d;font-size:18px;min-height:26px;margin:8px 0}',
    '.keys{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}',
    'button{font:600 28px system-ui,sans-serif;min-height:72px;border-radius:12px;border:1px solid #ccc;background:#fafafa;color:#111;cursor:pointer}',
    'button:active{background:#e6f0ff}button[disabled]{opacity:.4}',
    '.actions{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin-top:12px}',
    '.ok{background:#1677ff;color:#fff;border-color:#1677ff}.cancel{background:#fff}',
    '.left{color:#999;font-size:15px;text-align:right;margin-top:10px}'
  ].join('');

  var host = null, root = null, value = '', timer = null, deadline = 0, busy = false;

  function $(sel) { return root.querySelector(sel); }

  function render() {
    if (!root) return;
    $('.number').textContent = value;
    $('[data-action="ok"]').disabled = busy || value.length !== LENGTH;
    root.querySelectorAll('[data-key]').forEach(function (b) {
      var k = b.getAttribute('data-key');
      if (k === 'back') b.disabled = busy || value.length === 0;
      else if (k === 'X') b.disabled = busy || value.length !== LENGTH - 1;
      else b.disabled = busy || value.length >= LENGTH;
    });
  }

  function error(text) { if (root) $('.error').textContent = text || ''; }

  function type(k) {
    if (busy) return;
    if (k === 'back') value = value.slice(0, -1);
    else if (value.length < LENGTH && (/^[0-9]$/.test(k) || (k === 'X' && value.length === LENGTH - 1))) value += k;
    error('');
    render();
  }

  function invoke(payload) {
    return post('booth_input', { kind: 'idNumber', payload: payload });
  }

  function submit() {
    if (busy) return;
    if (value.length !== LENGTH) { error(S.short); return; }
    busy = true;
    render();
    invoke({ action: 'submit', value: value }).then(function (r) {
      busy = false;
      if (r && r.ok) { close(); return; }
      error(r && r.message ? r.message : S.failed);
      render();
    }, function (e) {
      busy = false;
      error(S.failed + (e && e.message ? ': ' + e.message : ''));
      render();
    });
  }

  function cancel() {
    invoke({ action: 'cancel' }).catch(function () {});
    close();
  }

  function onKey(e) {
    if (!root) return;
    var k = e.key;
    if (/^[0-9]$/.test(k)) type(k);
    else if (k === 'x' || k === 'X') type('X');
    else if (k === 'Backspace') type('back');
    else if (k === 'Enter') submit();
    else if (k === 'Escape') cancel();
    else if (k === 'Tab') { /* stays inside */ }
    else return;
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    if (root) $('.left').textContent = lang === 'en' ? left + S.left : left + ' ' + S.left;
  }

  function open(opts) {
    opts = opts || {};
    close();
    value = '';
    busy = false;
    host = document.createElement('booth-idnumber');
    root = host.attachShadow({ mode: 'open' });
    var keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', '0', 'back'];
    root.innerHTML = '<style>' + CSS + '</style><div class="panel" role="dialog" aria-modal="true">' +
      '<h1></h1><div class="hint"></div><div class="number" aria-live="polite"></div><div class="error" role="alert"></div>' +
      '<div class="keys">' + keys.map(function (k) {
        return '<button type="button" data-key="' + k + '">' + (k === 'back' ? '⌫' : k) + '</button>';
      }).join('') + '</div><div class="actions"><button type="button" class="cancel" data-action="cancel"></button>' +
      '<button type="button" class="ok" data-action="ok"></button></div><div class="left"></div></div>';
    $('h1').textContent = S.title;
    $('.hint').textContent = S.hint;
    $('[data-key="back"]').setAttribute('aria-label', S.del);
    $('[data-action="ok"]').textContent = S.ok;
    $('[data-action="cancel"]').textContent = S.cancel;
    root.addEventListener('click', function (e) {
      var b = e.target.closest ? e.target.closest('button') : null;
      if (!b || b.disabled) return;
      var k = b.getAttribute('data-key');
      if (k === 'back') type('back');
      else if (k) type(k);
      else if (b.getAttribute('data-action') === 'ok') submit();
      else if (b.getAttribute('data-action') === 'cancel') cancel();
    });
    (document.body || document.documentElement).appendChild(host);
    window.addEventListener('keydown', onKey, true);
    deadline = Date.now() + (opts.timeoutMs || 60000);
    tick();
    timer = setInterval(tick, 250);
    render();
  }

  function close() {
    if (timer) { clearInterval(timer); timer = null; }
    window.removeEventListener('keydown', onKey, true);
    if (host && host.parentNode) host.parentNode.removeChild(host);
    host = null;
    root = null;
  }

  Object.defineProperty(window, '__boothIdNumber', {
    value: Object.freeze({ open: open, close: close, isOpen: function () { return !!root; } }),
    enumerable: false, configurable: false, writable: false
  });
}
