// Clicks and keys a page's script makes at Booth's screen over it; none may count.
// arguments: [element name, {x, y} of a button, keys to press].
  var host = document.querySelector(arguments[0]);
  var out = { host: !!host, shadowRoot: host ? String(host.shadowRoot) : 'none' };
  var at = arguments[1];
  if (host) {
    host.click();
    var hit = document.elementFromPoint(at.x, at.y);
    out.hit = hit ? hit.tagName.toLowerCase() : null;
    ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click'].forEach(function (t) {
      (hit || host).dispatchEvent(new MouseEvent(t, { bubbles: true, composed: true, clientX: at.x, clientY: at.y }));
    });
    arguments[2].forEach(function (k) {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
      document.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    });
  }
  return out;
