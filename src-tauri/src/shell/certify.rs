//! The window side of open-certify (seed 003): Booth's certification window above the calling
//! page. The certify plugin defines the seam ([`booth_certify::CertifyWindow`]).
//!
//! - Only the certification origin loads in it. Any other navigation is the page's return URL:
//!   it is not loaded, it ends the certification. Pages never open windows.
//! - Its one way out is its own 关闭 button, drawn by Booth over the page (an initialization
//!   script in a shadow root); in kiosk mode it is undecorated, fullscreen and above
//!   everything, like the main window. Without kiosk mode, the window's own close box closes it too.
//! - The camera is granted to the certification origin in this window only (WebKitGTK's media
//!   stream, video only); every other permission is refused. Booth holds the terminal's camera, so
//!   the page is offered Booth's own: frames it may read, granted to that origin alone (see
//!   [`script`]).
//! - A load that fails (connection refused, DNS, TLS) or an HTTP 5xx for the page is reported as
//!   a network failure.

use super::signals::PageSignals;
use crate::names::{CERTIFY, MAIN};
use booth_camera::preview::Grant;
use booth_certify::{CertifyWindow, OpenRequest, WindowEvent};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};
use tokio::sync::mpsc::UnboundedSender;
use url::Url;

/// The page's close button navigates here; the navigation guard turns it into "closed".
const CLOSE_URL: &str = "booth-certify://close";

pub struct CertifyOverlay {
    pub app: AppHandle,
    pub kiosk: bool,
    pub devtools: bool,
}

impl CertifyOverlay {
    pub fn new(app: AppHandle, kiosk: bool, devtools: bool) -> CertifyOverlay {
        CertifyOverlay { app, kiosk, devtools }
    }
}

/// Each window reports to the call that opened it only: a window destroyed later (or an old one
/// replaced) reports to a call that has already answered, and nobody hears it.
type Events = UnboundedSender<WindowEvent>;

fn send(events: &Events, event: WindowEvent) {
    let _ = events.send(event);
}

/// The close button and, for pages of the certification origin only, Booth's camera:
/// `window.__boothCertify` (`previewUrl` to show, `frame()` → a JPEG `Blob` of the next frame)
/// and `navigator.mediaDevices.getUserMedia({video})` answered with a track drawn from those
/// frames, for pages that know only getUserMedia. The frames come by `fetch` with CORS for this
/// origin alone: a canvas fed from them stays readable, which a cross-origin MJPEG `<img>` is
/// not on WebKitGTK.
fn script(origin: &str, camera: Option<&Grant>) -> String {
    let origin = serde_json::Value::from(origin);
    let camera = match camera {
        Some(g) => serde_json::json!({"stream": g.stream_url, "frame": g.frame_url}),
        None => serde_json::Value::Null,
    };
    let close = serde_json::Value::from(CLOSE_URL);
    format!(
        r#"(function () {{
  if (window.top !== window) return;
  var camera = {camera};
  if (location.origin === {origin} && camera) {{
    var frame = function () {{
      return fetch(camera.frame, {{ cache: 'no-store', credentials: 'omit' }}).then(function (r) {{
        if (!r.ok) throw new Error('终端摄像头画面不可用 (' + r.status + ')');
        return r.blob();
      }});
    }};
    Object.defineProperty(window, '__boothCertify', {{
      value: Object.freeze({{ previewUrl: camera.stream, frameUrl: camera.frame, frame: frame }})
    }});
    var md = navigator.mediaDevices;
    if (md && window.HTMLCanvasElement && HTMLCanvasElement.prototype.captureStream && window.createImageBitmap) {{
      var own = md.getUserMedia ? md.getUserMedia.bind(md) : null;
      var boothCamera = function () {{
        var canvas = document.createElement('canvas');
        var g = canvas.getContext('2d');
        var draw = function () {{
          return frame().then(createImageBitmap).then(function (bm) {{
            if (canvas.width !== bm.width || canvas.height !== bm.height) {{ canvas.width = bm.width; canvas.height = bm.height; }}
            g.drawImage(bm, 0, 0);
            if (bm.close) bm.close();
          }});
        }};
        return draw().then(function () {{
          var stream = canvas.captureStream(15);
          var track = stream.getVideoTracks()[0];
          var live = true;
          var stop = track.stop.bind(track);
          track.stop = function () {{ live = false; stop(); }};
          (function pump() {{
            if (!live || track.readyState === 'ended') return;
            draw().then(function () {{ setTimeout(pump, 20); }}, function () {{ setTimeout(pump, 500); }});
          }})();
          return stream;
        }}, function (e) {{ throw new DOMException(String(e.message || e), 'NotReadableError'); }});
      }};
      md.getUserMedia = function (c) {{
        if (c && c.video && !c.audio) return boothCamera();
        return own ? own(c) : Promise.reject(new DOMException('getUserMedia', 'NotAllowedError'));
      }};
    }}
  }}
  function add() {{
    if (!document.body) {{ document.addEventListener('DOMContentLoaded', add); return; }}
    var host = document.createElement('booth-certify-close');
    host.style.cssText = 'position:fixed;top:16px;right:16px;z-index:2147483647;display:block';
    var root = host.attachShadow({{ mode: 'open' }});
    var b = document.createElement('button');
    b.textContent = '关闭';
    b.setAttribute('aria-label', '关闭实人认证');
    b.style.cssText = 'font:20px sans-serif;padding:10px 24px;border:0;border-radius:8px;background:rgba(0,0,0,.65);color:#fff;cursor:pointer';
    b.onclick = function () {{ location.href = {close}; }};
    root.appendChild(b);
    document.documentElement.appendChild(host);
  }}
  add();
}})();"#
    )
}

/// What loads in the window: the certification origin; the close button's URL closes; any
/// other web address is the return URL; anything else is refused.
fn decide(url: &Url, origin: &str, events: &Events) -> bool {
    if url.as_str().starts_with(CLOSE_URL) {
        send(events, WindowEvent::Closed);
        return false;
    }
    if url.origin().ascii_serialization() == origin {
        return true;
    }
    if matches!(url.scheme(), "http" | "https") {
        send(events, WindowEvent::Returned(url.clone()));
    } else if url.scheme() != "about" {
        tracing::warn!(window = CERTIFY, scheme = url.scheme(), "certification window: navigation refused");
    }
    false
}

struct Signals {
    origin: String,
    events: Events,
}

impl PageSignals for Signals {
    fn page_load(&self, _label: &str, url: &Url, finished: bool, status: Option<u16>) {
        if let (true, Some(code)) = (finished, status) {
            if code >= 400 && url.origin().ascii_serialization() == self.origin {
                send(&self.events, WindowEvent::HttpStatus(code));
            }
        }
    }
    fn load_failed(&self, _label: &str, url: &Url, why: &str) {
        if url.as_str().starts_with(CLOSE_URL) {
            return;
        }
        send(&self.events, WindowEvent::LoadFailed(why.to_string()));
    }
    fn process_gone(&self, _label: &str, why: &str) {
        send(&self.events, WindowEvent::LoadFailed(format!("认证页面进程结束 ({why})")));
    }
}

impl CertifyWindow for CertifyOverlay {
    fn open(&self, request: &OpenRequest, events: UnboundedSender<WindowEvent>) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let app = self.app.clone();
        let (kiosk, devtools) = (self.kiosk, self.devtools);
        let request = request.clone();
        self.app
            .run_on_main_thread(move || {
                let _ = tx.send(build(&app, &request, kiosk, devtools, events));
            })
            .map_err(|e| e.to_string())?;
        rx.recv().map_err(|e| e.to_string())?
    }

    fn close(&self) {
        let app = self.app.clone();
        let _ = self.app.run_on_main_thread(move || {
            if let Some(w) = app.get_webview_window(CERTIFY) {
                let _ = w.destroy();
            }
            if let Some(main) = app.get_webview_window(MAIN) {
                let _ = main.set_focus();
            }
        });
    }
}

fn build(app: &AppHandle, request: &OpenRequest, kiosk: bool, devtools: bool, events: Events) -> Result<(), String> {
    if let Some(old) = app.get_webview_window(CERTIFY) {
        let _ = old.destroy();
    }
    let origin = request.origin.clone();
    let (guard_origin, guard_events) = (origin.clone(), events.clone());
    let mut builder = WebviewWindowBuilder::new(app, CERTIFY, WebviewUrl::External(request.url.clone()))
        .title("实人认证")
        .inner_size(1024.0, 768.0)
        .initialization_script(script(&origin, request.camera.as_ref()))
        .on_navigation(move |url| decide(url, &guard_origin, &guard_events))
        .on_new_window(|url, _| {
            tracing::warn!(window = CERTIFY, url = %url, "new window blocked");
            tauri::webview::NewWindowResponse::Deny
        })
        .devtools(devtools);
    if let Some(parent) = app.get_webview_window(&request.parent).or_else(|| app.get_webview_window(MAIN)) {
        builder = builder.parent(&parent).map_err(|e| e.to_string())?;
    }
    if kiosk {
        builder = builder
            .decorations(false)
            .always_on_top(true)
            .fullscreen(true)
            .skip_taskbar(true)
            .zoom_hotkeys_enabled(false)
            .on_download(|_, _| false);
    }
    let window = builder.build().map_err(|e| e.to_string())?;
    let closed = events.clone();
    window.on_window_event(move |e| {
        if let tauri::WindowEvent::Destroyed = e {
            send(&closed, WindowEvent::Closed);
        }
    });
    #[cfg(target_os = "linux")]
    {
        super::webkit::watch(
            std::sync::Arc::new(Signals { origin: origin.clone(), events: events.clone() }),
            &window,
            kiosk,
        );
        camera_for(&window, origin);
    }
    #[cfg(windows)]
    camera_for_webview2(&window, origin.clone());
    #[cfg(not(target_os = "linux"))]
    let _ = Signals { origin, events };
    let _ = window.set_focus();
    Ok(())
}

/// WebKitGTK: media streams on for this view; the camera (video only) for the certification
/// origin; every other permission refused.
#[cfg(target_os = "linux")]
fn camera_for(window: &tauri::WebviewWindow, origin: String) {
    use webkit2gtk::glib::Cast;
    use webkit2gtk::{
        PermissionRequestExt, SettingsExt, UserMediaPermissionRequest, UserMediaPermissionRequestExt, WebViewExt,
    };
    let hooked = window.with_webview(move |platform| {
        let view = platform.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_media_stream(true);
        }
        view.connect_permission_request(move |view, request| {
            let from = view.uri().and_then(|u| Url::parse(&u).ok()).map(|u| u.origin().ascii_serialization());
            let camera = request
                .downcast_ref::<UserMediaPermissionRequest>()
                .is_some_and(|m| m.is_for_video_device() && !m.is_for_audio_device());
            if camera && from.as_deref() == Some(origin.as_str()) {
                request.allow();
            } else {
                tracing::warn!(window = CERTIFY, "certification window: permission refused");
                request.deny();
            }
            true
        });
    });
    if let Err(e) = hooked {
        tracing::error!(error = %e, "certification window: cannot set the camera permission");
    }
}

/// WebView2: the camera for the certification origin (`PermissionRequested`, kind CAMERA);
/// every other permission (microphone, location, notifications, …) and every other origin
/// refused. Type-checked only (`win-check`): no Windows machine has run it yet, so neither this
/// nor the page's `getUserMedia` replacement (the [`script`], which fetches Booth's frames from
/// 127.0.0.1 — WebView2's private network access rules may yet want a preflight there) is
/// proven on WebView2.
#[cfg(windows)]
fn camera_for_webview2(window: &tauri::WebviewWindow, origin: String) {
    use webview2_com::Microsoft::Web::WebView2::Win32::{
        COREWEBVIEW2_PERMISSION_KIND, COREWEBVIEW2_PERMISSION_KIND_CAMERA, COREWEBVIEW2_PERMISSION_STATE_ALLOW,
        COREWEBVIEW2_PERMISSION_STATE_DENY,
    };
    let hooked = window.with_webview(move |platform| {
        // SAFETY: COM calls on the webview's thread, where with_webview runs this closure.
        unsafe {
            let core = match platform.controller().CoreWebView2() {
                Ok(c) => c,
                Err(e) => return tracing::error!(error = %e, "certification window: no WebView2 to set permissions on"),
            };
            let handler = webview2_com::PermissionRequestedEventHandler::create(Box::new(move |_sender, args| {
                let Some(args) = args else { return Ok(()) };
                let mut uri = windows::core::PWSTR::null();
                let from = match args.Uri(&mut uri) {
                    Ok(()) => Url::parse(&webview2_com::take_pwstr(uri)).ok().map(|u| u.origin().ascii_serialization()),
                    Err(_) => None,
                };
                let mut kind = COREWEBVIEW2_PERMISSION_KIND::default();
                let camera = args.PermissionKind(&mut kind).is_ok() && kind == COREWEBVIEW2_PERMISSION_KIND_CAMERA;
                let state = if camera && from.as_deref() == Some(origin.as_str()) {
                    COREWEBVIEW2_PERMISSION_STATE_ALLOW
                } else {
                    tracing::warn!(window = CERTIFY, kind = kind.0, "certification window: permission refused");
                    COREWEBVIEW2_PERMISSION_STATE_DENY
                };
                args.SetState(state)
            }));
            let mut token = Default::default();
            if let Err(e) = core.add_PermissionRequested(&handler, &mut token) {
                tracing::error!(error = %e, "certification window: cannot set the camera permission");
            }
        }
    });
    if let Err(e) = hooked {
        tracing::error!(error = %e, "certification window: cannot set the camera permission");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_origin_loads_and_leaving_it_is_the_return() {
        let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let origin = "https://certify.example.com";
        assert!(decide(&Url::parse("https://certify.example.com/h5?a=1").unwrap(), origin, &events));
        assert!(rx.try_recv().is_err());
        assert!(!decide(&Url::parse("https://shop.example/done?status=PASSED").unwrap(), origin, &events));
        assert_eq!(
            rx.try_recv().unwrap(),
            WindowEvent::Returned(Url::parse("https://shop.example/done?status=PASSED").unwrap())
        );
        assert!(!decide(&Url::parse(CLOSE_URL).unwrap(), origin, &events));
        assert_eq!(rx.try_recv().unwrap(), WindowEvent::Closed);
        assert!(!decide(&Url::parse("file:///etc/passwd").unwrap(), origin, &events));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn the_script_offers_the_camera_to_the_origin_only() {
        let grant = Grant {
            stream_url: "http://127.0.0.1:1/stream/ab".into(),
            frame_url: "http://127.0.0.1:1/frame/ab".into(),
        };
        let s = script("https://certify.example.com", Some(&grant));
        assert!(s.contains("location.origin === \"https://certify.example.com\" && camera"));
        assert!(s.contains("\"frame\":\"http://127.0.0.1:1/frame/ab\""), "{s}");
        assert!(s.contains("关闭"));
        assert!(script("https://x", None).contains("var camera = null;"));
    }
}
