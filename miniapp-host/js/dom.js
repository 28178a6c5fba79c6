// The DOM operations Booth's own screens over a page (the enterIDNumber keypad, the face and
// consent screen, finOpenOtherApp's confirm box) use, taken before any script of the page runs.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Those screens live in a closed shadow root, so a page cannot look inside. But a page may
// replace what its prototypes offer (Element.prototype.querySelector, the textContent setter,
// Event.prototype.target …): a replacement is called with the screen's own nodes as `this`, and
// from any of them the page would reach the shadow root and could press 同意 or swap the buttons.
// So every operation here is the browser's own function, taken now and called through a
// `Reflect.apply` taken now. Clicks and keys count only when the browser says a person made them
// (`isTrusted` cannot be set by a script). The custom element names are defined here too, so that
// a page cannot define them first and get its constructor run on Booth's element.
/* eslint-disable no-var */
function __boothDom() {
  'use strict';
  var apply = Reflect.apply;
  var gopd = Object.getOwnPropertyDescriptor;
  function getter(proto, name) { return gopd(proto, name).get; }
  function setter(proto, name) { return gopd(proto, name).set; }
  var doc = document;
  var f = {
    create: Document.prototype.createElement,
    attach: Element.prototype.attachShadow,
    rootHtml: setter(ShadowRoot.prototype, 'innerHTML'),
    html: setter(Element.prototype, 'innerHTML'),
    find: DocumentFragment.prototype.querySelector,
    findAll: DocumentFragment.prototype.querySelectorAll,
    setText: setter(Node.prototype, 'textContent'),
    getText: getter(Node.prototype, 'textContent'),
    setAttr: Element.prototype.setAttribute,
    getAttr: Element.prototype.getAttribute,
    hasAttr: Element.prototype.hasAttribute,
    removeAttr: Element.prototype.removeAttribute,
    closest: Element.prototype.closest,
    target: getter(Event.prototype, 'target'),
    nodeType: getter(Node.prototype, 'nodeType'),
    key: getter(KeyboardEvent.prototype, 'key'),
    prevent: Event.prototype.preventDefault,
    stop: Event.prototype.stopImmediatePropagation,
    listen: EventTarget.prototype.addEventListener,
    unlisten: EventTarget.prototype.removeEventListener,
    append: Node.prototype.appendChild,
    removeChild: Node.prototype.removeChild,
    parent: getter(Node.prototype, 'parentNode'),
    body: getter(Document.prototype, 'body'),
    docEl: getter(Document.prototype, 'documentElement'),
    rect: Element.prototype.getBoundingClientRect,
    rectX: getter(DOMRectReadOnly.prototype, 'x'),
    rectY: getter(DOMRectReadOnly.prototype, 'y'),
    rectW: getter(DOMRectReadOnly.prototype, 'width'),
    rectH: getter(DOMRectReadOnly.prototype, 'height'),
    complete: getter(HTMLImageElement.prototype, 'complete'),
    naturalWidth: getter(HTMLImageElement.prototype, 'naturalWidth'),
    length: getter(NodeList.prototype, 'length'),
    item: NodeList.prototype.item,
    define: CustomElementRegistry.prototype.define
  };
  var registry = window.customElements;
  ['booth-face', 'booth-idnumber', 'booth-confirm', 'booth-witness'].forEach(function (name) {
    try { apply(f.define, registry, [name, class extends HTMLElement {}]); } catch (e) { /* defined already */ }
  });

  function call(fn, self, args) { return apply(fn, self, args || []); }
  return Object.freeze({
    /** A host element with a closed shadow root: [host, root]. */
    host: function (tag) {
      var host = call(f.create, doc, [tag]);
      return [host, call(f.attach, host, [{ mode: 'closed' }])];
    },
    fill: function (root, html) { call(f.rootHtml, root, [html]); },
    html: function (el, html) { call(f.html, el, [html]); },
    find: function (root, sel) { return call(f.find, root, [sel]); },
    each: function (root, sel, fn) {
      var list = call(f.findAll, root, [sel]);
      var n = call(f.length, list);
      for (var i = 0; i < n; i++) fn(call(f.item, list, [i]));
    },
    text: function (el, text) { if (el) call(f.setText, el, [text]); },
    textOf: function (el) { return el ? call(f.getText, el) : ''; },
    attr: function (el, name, value) { if (el) call(f.setAttr, el, [name, value]); },
    getAttr: function (el, name) { return el ? call(f.getAttr, el, [name]) : null; },
    hasAttr: function (el, name) { return el ? call(f.hasAttr, el, [name]) : false; },
    removeAttr: function (el, name) { if (el) call(f.removeAttr, el, [name]); },
    flag: function (el, name, on) { if (on) call(f.setAttr, el, [name, '']); else call(f.removeAttr, el, [name]); },
    show: function (el, on) { if (el) call(f.setAttr, el, ['style', on ? 'display:block' : 'display:none']); },
    /** The button a person's click landed on; null for a click a script made. */
    button: function (e) {
      if (e.isTrusted !== true) return null;
      var t = call(f.target, e);
      return t && call(f.nodeType, t) === 1 ? call(f.closest, t, ['button']) : null;
    },
    /** The key a person pressed; null for a key event a script made. */
    key: function (e) { return e.isTrusted === true ? call(f.key, e) : null; },
    swallow: function (e) { call(f.prevent, e); call(f.stop, e); },
    listen: function (target, type, fn, capture) { call(f.listen, target, [type, fn, !!capture]); },
    unlisten: function (target, type, fn, capture) { call(f.unlisten, target, [type, fn, !!capture]); },
    mount: function (host) { call(f.append, call(f.body, doc) || call(f.docEl, doc), [host]); },
    unmount: function (host) { var p = host && call(f.parent, host); if (p) call(f.removeChild, p, [host]); },
    /** The centre of an element in the viewport's CSS pixels (where a person would press it). */
    centre: function (el) {
      if (!el) return null;
      var r = call(f.rect, el);
      return { x: Math.round(call(f.rectX, r) + call(f.rectW, r) / 2), y: Math.round(call(f.rectY, r) + call(f.rectH, r) / 2) };
    },
    loaded: function (img) { return !!img && call(f.complete, img) && call(f.naturalWidth, img) > 0; }
  });
}
