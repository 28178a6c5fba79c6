// Booth runtime: ft.webrtc's objects (seed 002 §3) over native peer connections.
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The web view has no RTCPeerConnection (Debian's WebKitGTK), so every connection runs in Booth
// (GStreamer webrtcbin). The objects here are thin: each method is the contract's
// `webrtc.createRTCPeerConnection` / `webrtc.mediaDevices.getUserMedia` call with an `op`, and
// a connection's events come by a long poll that Booth answers as soon as something happened.
/* eslint-disable no-var */
function __boothWebrtc(ft, send, define) {
  'use strict';
  var w = ft.webrtc;
  if (!w || !w.mediaDevices) return;
  if (typeof window.RTCPeerConnection === 'function' && navigator.mediaDevices) {
    nativeWebrtc(w, define);
    return;
  }
  var PC = 'webrtc.createRTCPeerConnection';
  var GUM = 'webrtc.mediaDevices.getUserMedia';

  function call(name, params) {
    return send('ft', name, params).then(function (r) { if (r.ok) return r.body; throw r.body; });
  }

  function Target() { this.__listeners = Object.create(null); }
  Target.prototype.addEventListener = function (type, cb) {
    if (typeof cb !== 'function') return;
    (this.__listeners[type] || (this.__listeners[type] = [])).push(cb);
  };
  Target.prototype.removeEventListener = function (type, cb) {
    var l = this.__listeners[type];
    if (l) this.__listeners[type] = l.filter(function (f) { return f !== cb; });
  };
  Target.prototype.dispatchEvent = function (ev) {
    var self = this;
    var handlers = (this.__listeners[ev.type] || []).slice();
    if (typeof this['on' + ev.type] === 'function') handlers.push(this['on' + ev.type]);
    handlers.forEach(function (cb) {
      try { cb.call(self, ev); } catch (e) { setTimeout(function () { throw e; }); }
    });
    return true;
  };

  // --- tracks and streams ----------------------------------------------------------------
  function Track(info, local) {
    Target.call(this);
    var state = { enabled: info.enabled !== false, readyState: info.readyState || 'live' };
    define(this, 'id', info.id);
    define(this, 'kind', info.kind);
    define(this, 'label', info.label || '');
    Object.defineProperty(this, 'readyState', { get: function () { return state.readyState; }, enumerable: true });
    Object.defineProperty(this, 'enabled', {
      enumerable: true,
      get: function () { return state.enabled; },
      set: function (v) {
        state.enabled = !!v;
        if (local) call(GUM, { op: 'enable', track: info.id, enabled: state.enabled }).catch(function () {});
      }
    });
    this.stop = function () {
      if (state.readyState === 'ended') return;
      state.readyState = 'ended';
      if (local) call(GUM, { op: 'stop', track: info.id }).catch(function () {});
    };
    this.__end = function () { state.readyState = 'ended'; };
  }
  Track.prototype = Object.create(Target.prototype);

  function Stream(streamId, tracks) {
    Target.call(this);
    var list = tracks.slice();
    define(this, 'streamId', streamId);
    define(this, 'id', streamId);
    // Seed 002 awaits getTracks(); an array awaits to itself, and W3C code uses it directly.
    this.getTracks = function () { return list.slice(); };
    this.getVideoTracks = function () { return list.filter(function (t) { return t.kind === 'video'; }); };
    this.getAudioTracks = function () { return list.filter(function (t) { return t.kind === 'audio'; }); };
    this.__add = function (t) { list.push(t); };
    Object.defineProperty(this, 'active', {
      enumerable: true,
      get: function () { return list.some(function (t) { return t.readyState === 'live'; }); }
    });
  }
  Stream.prototype = Object.create(Target.prototype);

  var streams = Object.create(null); // streamId -> Stream, for <webrtc-video src="webrtc://…">
  w.__streams = streams;

  function getUserMedia(constraints) {
    var c = constraints && typeof constraints === 'object' ? constraints : {};
    var params = {};
    if (c.video !== undefined) params.video = c.video;
    if (c.audio !== undefined) params.audio = c.audio;
    return call(GUM, params).then(function (r) {
      var s = new Stream(r.streamId, (r.tracks || []).map(function (t) { return new Track(t, true); }));
      streams[r.streamId] = s;
      return s;
    });
  }
  define(w.mediaDevices, 'getUserMedia', getUserMedia);
  define(w.mediaDevices, 'mediaDevices', getUserMedia);

  // --- RTCPeerConnection -----------------------------------------------------------------
  function parseCandidate(c) {
    if (!c || typeof c.candidate !== 'string') return c;
    var p = c.candidate.split(' ');
    var out = { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid,
      foundation: (p[0] || '').replace('candidate:', ''), component: p[1] === '2' ? 'rtcp' : 'rtp',
      protocol: (p[2] || '').toLowerCase(), priority: Number(p[3]), address: p[4], port: Number(p[5]), type: null };
    var typ = p.indexOf('typ');
    if (typ > 0) out.type = p[typ + 1];
    out.toJSON = function () { return { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid }; };
    return out;
  }

  function PeerConnection(id, config, initial) {
    Target.call(this);
    var self = this;
    var st = initial || {};
    var closed = false;
    var remote = null; // the remote Stream
    var senders = [];
    define(this, 'canTrickleIceCandidates', true);
    define(this, 'peerIdentity', Promise.resolve(null));
    [['signalingState', 'signalingState', 'stable'], ['iceConnectionState', 'iceConnectionState', 'new'],
      ['iceGatheringState', 'iceGatheringState', 'new'], ['connectionState', 'connectionState', 'new'],
      ['conectionState', 'connectionState', 'new'], // seed 002's spelling
      ['localDescription', 'localDescription', null], ['remoteDescription', 'remoteDescription', null],
      ['currentLocalDescription', 'localDescription', null], ['currentRemoteDescription', 'remoteDescription', null]
    ].forEach(function (p) {
      Object.defineProperty(self, p[0], { enumerable: true, get: function () {
        var v = st[p[1]];
        return v === undefined ? p[2] : v;
      } });
    });
    function update(state) { if (state) st = state; }
    function op(name, extra) {
      if (closed && name !== 'close') return Promise.reject(new Error('InvalidStateError: 连接已关闭'));
      var params = { op: name, pc: id };
      Object.keys(extra || {}).forEach(function (k) { params[k] = extra[k]; });
      return call(PC, params);
    }
    function plain(d) { return d && typeof d === 'object' ? { type: d.type, sdp: d.sdp } : d; }
    this.createOffer = function (options) { return op('createOffer', { options: options || {} }); };
    this.createAnswer = function (options) { return op('createAnswer', { options: options || {} }); };
    this.setLocalDescription = function (d) {
      var made = d ? Promise.resolve(plain(d))
        : (self.signalingState === 'have-remote-offer' ? self.createAnswer() : self.createOffer());
      return made.then(function (desc) { return op('setLocalDescription', { description: desc }); })
        .then(function (r) { update(r.state); });
    };
    this.setRemoteDescription = function (d) {
      return op('setRemoteDescription', { description: plain(d) }).then(function (r) { update(r.state); });
    };
    this.addIceCandidate = function (c) {
      if (!c || !c.candidate) return op('addIceCandidate', {}).then(function () {});
      var json = typeof c.toJSON === 'function' ? c.toJSON() : c;
      return op('addIceCandidate', { candidate: { candidate: json.candidate, sdpMLineIndex: json.sdpMLineIndex,
        sdpMid: json.sdpMid } }).then(function () {});
    };
    this.getConfiguration = function () { return JSON.parse(JSON.stringify(config || {})); };
    this.addTrack = function (track) {
      if (!track || typeof track.id !== 'string') return Promise.reject(new TypeError('addTrack 需要 getUserMedia 的 track'));
      var sender = { track: track };
      senders.push(sender);
      return op('addTrack', { track: track.id }).then(function () { return sender; });
    };
    this.getSenders = function () { return senders.slice(); };
    this.close = function () {
      if (closed) return;
      closed = true;
      st.signalingState = 'closed';
      st.iceConnectionState = 'closed';
      st.connectionState = 'closed';
      if (remote) remote.getTracks().forEach(function (t) { t.__end(); });
      op('close').catch(function () {});
    };

    function deliver(e) {
      var ev = { type: e.type, target: self, timeStamp: performance.now() };
      if (e.type === 'icecandidate') {
        ev.candidate = e.candidate ? parseCandidate(e.candidate) : null;
      } else if (e.type === 'iceconnectionstatechange') {
        st.iceConnectionState = e.iceConnectionState;
        ev.iceConnectionState = e.iceConnectionState;
      } else if (e.type === 'icegatheringstatechange') {
        st.iceGatheringState = e.iceGatheringState;
      } else if (e.type === 'connectionstatechange') {
        st.connectionState = e.connectionState;
      } else if (e.type === 'signalingstatechange') {
        st.signalingState = e.signalingState;
        ev.signalingState = e.signalingState;
      } else if (e.type === 'track') {
        var t = new Track(e.track, false);
        if (!remote) {
          remote = new Stream(e.streamId, []);
          streams[e.streamId] = remote;
        }
        remote.__add(t);
        ev.track = t;
        ev.streams = [remote];
        ev.receiver = { track: t };
      }
      self.dispatchEvent(ev);
    }
    function poll() {
      if (closed) return;
      op('events').then(function (r) {
        (r.events || []).forEach(function (e) {
          // States the page reads in a handler are the ones of that event; the rest follows.
          if (!closed) deliver(e);
        });
        if (!closed && r.state) {
          var keep = st;
          st = r.state;
          ['iceConnectionState', 'signalingState', 'connectionState', 'iceGatheringState'].forEach(function (k) {
            if (keep[k] === 'closed') st[k] = 'closed';
          });
        }
        if (r.closed) { closed = true; return; }
        poll();
      }, function (e) {
        // The page's session ended, or Booth refused: no more events.
        if (!closed && e && e.errorCode === 'BUSY') setTimeout(poll, 200);
      });
    }
    poll();
  }
  PeerConnection.prototype = Object.create(Target.prototype);

  define(w, 'createRTCPeerConnection', function (configuration) {
    var config = configuration && typeof configuration === 'object' ? configuration : {};
    return call(PC, { configuration: config }).then(function (r) {
      return new PeerConnection(r.pc, r.configuration || config, r.state);
    });
  });

  // <webrtc-video src="webrtc://{{streamId}}"> (or .srcObject = stream): Booth streams the
  // native video as MJPEG from 127.0.0.1 under a token of this element, into an <img> sized like
  // a <video> (CSS on the element). Audio plays through Booth's own output (`[webrtc] speaker`),
  // so <webrtc-audio> only names the stream.
  mediaElements(function (id, shown) {
    return call(GUM, { op: 'display', stream: id }).then(function (r) { shown(r.url); });
  });
}

// Defines <webrtc-video> and <webrtc-audio>; `show(streamId, setUrl)` finds the picture.
function mediaElements(show, attach) {
  'use strict';
  if (!window.customElements || window.customElements.get('webrtc-video')) return;
  function streamOf(el) {
    if (el.__obj) return el.__obj.streamId || el.__obj.id;
    var m = /^webrtc:\/\/(.+)$/.exec(el.getAttribute('src') || '');
    return m ? m[1] : null;
  }
  class WebrtcVideo extends HTMLElement {
    static get observedAttributes() { return ['src', 'muted']; }
    constructor() {
      super();
      var root = this.attachShadow({ mode: 'open' });
      root.innerHTML = '<style>:host{display:inline-block;width:300px;height:150px;background:#000;overflow:hidden}' +
        'img,video{width:100%;height:100%;object-fit:contain;display:block}</style>' + (attach ? '<video autoplay playsinline></video>' : '<img alt="">');
      this.__view = root.firstElementChild.nextElementSibling;
      this.__obj = null;
      this.__shown = null;
    }
    get srcObject() { return this.__obj; }
    set srcObject(s) { this.__obj = s || null; this.__load(); }
    connectedCallback() { this.__load(); }
    disconnectedCallback() { this.__clear(); }
    attributeChangedCallback() { this.__load(); }
    __clear() {
      this.__shown = null;
      if (attach) this.__view.srcObject = null; else this.__view.removeAttribute('src');
    }
    __load() {
      var id = streamOf(this);
      if (!this.isConnected || !id) { this.__clear(); return; }
      if (attach) this.__view.muted = this.hasAttribute('muted');
      if (id === this.__shown) return;
      this.__shown = id;
      var self = this;
      if (attach) { attach(self.__view, id); return; }
      show(id, function (url) { if (self.__shown === id) self.__view.src = url; }).catch(function (e) {
        self.dispatchEvent(new CustomEvent('error', { detail: e }));
      });
    }
  }
  class WebrtcAudio extends HTMLElement {
    static get observedAttributes() { return ['src']; }
    constructor() { super(); this.__obj = null; this.style.display = 'none'; }
    get srcObject() { return this.__obj; }
    set srcObject(s) { this.__obj = s || null; }
  }
  window.customElements.define('webrtc-video', WebrtcVideo);
  window.customElements.define('webrtc-audio', WebrtcAudio);
}

// WebView2 (Windows) has WebRTC of its own: ft.webrtc is the browser's, with seed 002's
// `streamId` on streams and Promise-returning factories. Booth grants the camera and
// microphone only to packages with the `camera` permission.
function nativeWebrtc(w, define) {
  'use strict';
  var streams = Object.create(null);
  w.__streams = streams;
  function mark(s) {
    if (s && !('streamId' in s)) define(s, 'streamId', s.id);
    if (s) streams[s.id] = s;
    return s;
  }
  function gum(c) { return navigator.mediaDevices.getUserMedia(c || {}).then(mark); }
  define(w.mediaDevices, 'getUserMedia', gum);
  define(w.mediaDevices, 'mediaDevices', gum);
  define(w.mediaDevices, 'enumerateDevices', function () { return navigator.mediaDevices.enumerateDevices(); });
  define(w.mediaDevices, 'getSupportedConstraints', function () {
    return Promise.resolve(navigator.mediaDevices.getSupportedConstraints());
  });
  mediaElements(null, function (video, id) { video.srcObject = streams[id] || null; });
  define(w, 'createRTCPeerConnection', function (config) {
    return new Promise(function (resolve) {
      var pc = new window.RTCPeerConnection(config || {});
      pc.addEventListener('track', function (e) { (e.streams || []).forEach(mark); });
      var add = pc.addTrack.bind(pc);
      // Seed 002 adds a track without its stream.
      pc.addTrack = function (track) {
        var rest = Array.prototype.slice.call(arguments, 1);
        return rest.length ? add.apply(null, [track].concat(rest)) : add(track, new MediaStream([track]));
      };
      resolve(pc);
    });
  });
}
