// What a hostile page tries against Booth's screen over it (the face screen, the ID-number
// keypad): reach the closed shadow root through replaced prototypes, and define a custom element
// of the same name first. arguments[0]: the element's name. Returns whether the definition took.
  var leaked = 0;
  function spy(proto, name, kind) {
    var d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d) return;
    var orig = d[kind];
    var wrapped = function () {
      try { if (this && this.getRootNode && this.getRootNode() !== document) leaked++; } catch (e) {}
      if (this instanceof ShadowRoot) leaked++;
      return Reflect.apply(orig, this, arguments);
    };
    var nd = {}; nd[kind] = wrapped; nd.configurable = true;
    if (kind === 'value') nd.writable = true;
    Object.defineProperty(proto, name, nd);
  }
  [[DocumentFragment.prototype, 'querySelector', 'value'], [DocumentFragment.prototype, 'querySelectorAll', 'value'],
   [Element.prototype, 'querySelector', 'value'], [Element.prototype, 'closest', 'value'],
   [Element.prototype, 'getAttribute', 'value'], [Element.prototype, 'setAttribute', 'value'],
   [Element.prototype, 'removeAttribute', 'value'], [Element.prototype, 'hasAttribute', 'value'],
   [Element.prototype, 'attachShadow', 'value'], [Element.prototype, 'getBoundingClientRect', 'value'],
   [Node.prototype, 'textContent', 'set'], [Node.prototype, 'textContent', 'get'], [Node.prototype, 'nodeType', 'get'],
   [Node.prototype, 'appendChild', 'value'], [Element.prototype, 'innerHTML', 'set'], [ShadowRoot.prototype, 'innerHTML', 'set'],
   [Event.prototype, 'target', 'get'], [EventTarget.prototype, 'addEventListener', 'value']
  ].forEach(function (s) { spy(s[0], s[1], s[2]); });
  var redefined = 'no';
  try { customElements.define(arguments[0], class extends HTMLElement { constructor() { super(); leaked++; } }); redefined = 'yes'; } catch (e) {}
  window.__hostile = { leaked: function () { return leaked; }, redefined: redefined };
  return redefined;
