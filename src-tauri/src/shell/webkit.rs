//! WebKitGTK signals the shell needs: the web process ended, a load failed or answered an HTTP
//! error, and (on kiosks) the native context menu and file chooser.

use super::signals::PageSignals;
use std::sync::Arc;
use tauri::WebviewWindow;
use webkit2gtk::{
    FileChooserRequestExt, LoadEvent, NetworkError, PolicyError, URIResponseExt, WebProcessTerminationReason,
    WebResourceExt, WebViewExt,
};

pub fn watch(shell: Arc<dyn PageSignals>, window: &WebviewWindow, kiosk: bool) {
    let label = window.label().to_string();
    let hooked = window.with_webview(move |platform| {
        let view = platform.inner();
        let (s, l) = (shell.clone(), label.clone());
        view.connect_web_process_terminated(move |_, reason| {
            let why = match reason {
                WebProcessTerminationReason::Crashed => "crashed".to_string(),
                WebProcessTerminationReason::ExceededMemoryLimit => "exceeded its memory limit".to_string(),
                WebProcessTerminationReason::TerminatedByApi => "ended by Booth (the page hung)".to_string(),
                other => format!("ended ({other:?})"),
            };
            s.process_gone(&l, &why);
        });
        let (s, l) = (shell.clone(), label.clone());
        view.connect_load_failed(move |_, _, uri, error| {
            // A navigation replaced by another, or refused by the navigation guard, is no failure.
            if error.matches(NetworkError::Cancelled) || error.matches(PolicyError::FrameLoadInterruptedByPolicyChange)
            {
                return false;
            }
            match url::Url::parse(uri) {
                Ok(url) => {
                    s.load_failed(&l, &url, error.message());
                    true
                }
                Err(_) => false,
            }
        });
        let (s, l) = (shell.clone(), label.clone());
        view.connect_load_changed(move |view, event| {
            let Some(url) = view.uri().and_then(|u| url::Url::parse(&u).ok()) else { return };
            match event {
                LoadEvent::Started => s.page_load(&l, &url, false, None),
                LoadEvent::Finished => {
                    let status = view.main_resource().and_then(|r| r.response()).map(|r| r.status_code());
                    // 0: no HTTP status (custom schemes without one, about:blank).
                    let status = status.filter(|c| *c > 0).map(|c| c.min(u16::MAX as u32) as u16);
                    s.page_load(&l, &url, true, status);
                }
                _ => {}
            }
        });
        if kiosk {
            view.connect_context_menu(|_, _, _, _| true);
            view.connect_run_file_chooser(|_, request| {
                tracing::warn!("kiosk: file picker blocked");
                request.cancel();
                true
            });
        }
    });
    if let Err(e) = hooked {
        tracing::error!(error = %e, "cannot watch the window's web process");
    }
}

/// Ends a hung page's web process; `web-process-terminated` then reloads it.
pub fn terminate(window: &WebviewWindow) {
    let _ = window.with_webview(|platform| platform.inner().terminate_web_process());
}

/// A snapshot's pixels: cairo ARGB32 (or RGB24 when `alpha` is false), rows of `stride` bytes.
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub alpha: bool,
    pub data: Vec<u8>,
}

/// Asks the web view of `window` for a picture of its visible part; `done` gets its pixels
/// (on the main thread, once WebKit has drawn it).
pub fn snapshot(
    window: &WebviewWindow,
    done: impl FnOnce(Result<Pixels, String>) + Send + 'static,
) -> Result<(), String> {
    use webkit2gtk::{SnapshotOptions, SnapshotRegion};
    window
        .with_webview(move |platform| {
            platform.inner().snapshot(
                SnapshotRegion::Visible,
                SnapshotOptions::NONE,
                None::<&webkit2gtk::gio::Cancellable>,
                move |r| done(r.map_err(|e| e.to_string()).and_then(pixels_of)),
            );
        })
        .map_err(|e| e.to_string())
}

fn pixels_of(surface: cairo::Surface) -> Result<Pixels, String> {
    let image = cairo::ImageSurface::try_from(surface).map_err(|_| "the snapshot is not an image".to_string())?;
    let alpha = match image.format() {
        cairo::Format::ARgb32 => true,
        cairo::Format::Rgb24 => false,
        other => return Err(format!("snapshot in an unexpected format ({other:?})")),
    };
    image.flush();
    let (width, height, stride) =
        (image.width().max(0) as u32, image.height().max(0) as u32, image.stride().max(0) as usize);
    let mut data = Vec::new();
    image.with_data(|d| data = d.to_vec()).map_err(|e| format!("the snapshot's pixels: {e}"))?;
    Ok(Pixels { width, height, stride, alpha, data })
}
