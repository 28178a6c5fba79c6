//! WebView2 signals the shell needs (Windows): a web process failed, and how each top-level
//! navigation ended (its HTTP status, or why it failed).

/// Calls `on_fail` (on the webview's thread) when the page's WebView2 renderer or browser
/// process dies or hangs, so the caller can reload the page; see
/// [`watch_process_failures`] for every failure with its kind.
pub fn watch_process_failed<R: tauri::Runtime>(webview: &tauri::Webview<R>, on_fail: impl Fn() + Send + 'static) {
    let watched = watch_process_failures(webview, move |failure| {
        if failure.needs_reload() {
            on_fail();
        }
    });
    if let Err(e) = watched {
        tracing::error!(error = %e, "WebView2: cannot watch for process failures");
    }
}

/// Why a WebView2 process failed (`COREWEBVIEW2_PROCESS_FAILED_KIND` and `_REASON`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessFailure {
    pub kind: i32,
    pub reason: i32,
    pub exit_code: i32,
}

impl ProcessFailure {
    /// The page's renderer or the whole browser process is gone: the page must be reloaded (or,
    /// for the browser process, the window recreated). Other kinds (GPU, utility processes,
    /// frames) recover by themselves.
    pub fn needs_reload(&self) -> bool {
        use webview2_com::Microsoft::Web::WebView2::Win32::{
            COREWEBVIEW2_PROCESS_FAILED_KIND_BROWSER_PROCESS_EXITED,
            COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_EXITED,
            COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_UNRESPONSIVE,
        };
        [
            COREWEBVIEW2_PROCESS_FAILED_KIND_BROWSER_PROCESS_EXITED.0,
            COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_EXITED.0,
            COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_UNRESPONSIVE.0,
        ]
        .contains(&self.kind)
    }
}

/// Calls `on_fail` (on the webview's thread) whenever one of `webview`'s WebView2 processes
/// fails. The caller decides what to do; for [`ProcessFailure::needs_reload`] failures that is
/// reloading the page (`webview.reload()`) or recreating the window. The registration lives as
/// long as the webview.
pub fn watch_process_failures<R: tauri::Runtime>(
    webview: &tauri::Webview<R>,
    on_fail: impl Fn(ProcessFailure) + Send + 'static,
) -> tauri::Result<()> {
    use webview2_com::Microsoft::Web::WebView2::Win32::{
        ICoreWebView2ProcessFailedEventArgs2, COREWEBVIEW2_PROCESS_FAILED_KIND, COREWEBVIEW2_PROCESS_FAILED_REASON,
    };
    use windows::core::Interface;
    webview.with_webview(move |platform| {
        // SAFETY: COM calls on the webview's thread, where with_webview runs this closure.
        unsafe {
            let core = match platform.controller().CoreWebView2() {
                Ok(c) => c,
                Err(e) => return tracing::error!(error = %e, "WebView2: no core webview to watch"),
            };
            let handler = webview2_com::ProcessFailedEventHandler::create(Box::new(move |_sender, args| {
                let mut failure = ProcessFailure { kind: -1, reason: 0, exit_code: 0 };
                if let Some(args) = args {
                    let mut kind = COREWEBVIEW2_PROCESS_FAILED_KIND::default();
                    if args.ProcessFailedKind(&mut kind).is_ok() {
                        failure.kind = kind.0;
                    }
                    if let Ok(args2) = args.cast::<ICoreWebView2ProcessFailedEventArgs2>() {
                        let mut reason = COREWEBVIEW2_PROCESS_FAILED_REASON::default();
                        if args2.Reason(&mut reason).is_ok() {
                            failure.reason = reason.0;
                        }
                        let mut code = 0i32;
                        if args2.ExitCode(&mut code).is_ok() {
                            failure.exit_code = code;
                        }
                    }
                }
                tracing::error!(?failure, "WebView2 process failed");
                on_fail(failure);
                Ok(())
            }));
            let mut token = Default::default();
            if let Err(e) = core.add_ProcessFailed(&handler, &mut token) {
                tracing::error!(error = %e, "WebView2: cannot watch for process failures");
            }
        }
    })
}

/// How a top-level navigation of a WebView2 ended: the URL, whether it loaded, and its HTTP
/// status (0 when there was no response, e.g. offline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavigationEnd {
    pub url: String,
    pub success: bool,
    pub http_status: i32,
    /// `COREWEBVIEW2_WEB_ERROR_STATUS` (0 unknown, 7 cannot connect, 14 operation canceled, …).
    pub web_error: i32,
}

/// Calls `on_end` after every top-level navigation of `webview` (WebView2's
/// `NavigationCompleted`), for the launcher page's load failures and HTTP errors.
pub fn watch_navigations<R: tauri::Runtime>(
    webview: &tauri::Webview<R>,
    on_end: impl Fn(NavigationEnd) + Send + 'static,
) -> tauri::Result<()> {
    use webview2_com::Microsoft::Web::WebView2::Win32::{
        ICoreWebView2NavigationCompletedEventArgs2, COREWEBVIEW2_WEB_ERROR_STATUS,
    };
    use windows::core::Interface;
    webview.with_webview(move |platform| {
        // SAFETY: COM calls on the webview's thread, where with_webview runs this closure.
        unsafe {
            let core = match platform.controller().CoreWebView2() {
                Ok(c) => c,
                Err(e) => return tracing::error!(error = %e, "WebView2: no core webview to watch"),
            };
            let handler = webview2_com::NavigationCompletedEventHandler::create(Box::new(move |sender, args| {
                let mut end = NavigationEnd { url: String::new(), success: true, http_status: 0, web_error: 0 };
                if let Some(sender) = sender {
                    let mut uri = windows::core::PWSTR::null();
                    if sender.Source(&mut uri).is_ok() {
                        end.url = webview2_com::take_pwstr(uri);
                    }
                }
                if let Some(args) = args {
                    let mut ok = windows::core::BOOL::default();
                    if args.IsSuccess(&mut ok).is_ok() {
                        end.success = ok.as_bool();
                    }
                    let mut status = COREWEBVIEW2_WEB_ERROR_STATUS::default();
                    if args.WebErrorStatus(&mut status).is_ok() {
                        end.web_error = status.0;
                    }
                    if let Ok(args2) = args.cast::<ICoreWebView2NavigationCompletedEventArgs2>() {
                        let mut code = 0i32;
                        if args2.HttpStatusCode(&mut code).is_ok() {
                            end.http_status = code;
                        }
                    }
                }
                on_end(end);
                Ok(())
            }));
            let mut token = Default::default();
            if let Err(e) = core.add_NavigationCompleted(&handler, &mut token) {
                tracing::error!(error = %e, "WebView2: cannot watch navigations");
            }
        }
    })
}

/// Asks `webview` for a PNG of what it shows (WebView2's `CapturePreview`); the picture, or why
/// there is none, is sent on `done` once WebView2 has written it (on the webview's thread).
pub fn capture_png<R: tauri::Runtime>(
    webview: &tauri::Webview<R>,
    done: std::sync::mpsc::Sender<Result<Vec<u8>, String>>,
) -> Result<(), String> {
    use webview2_com::Microsoft::Web::WebView2::Win32::COREWEBVIEW2_CAPTURE_PREVIEW_IMAGE_FORMAT_PNG;
    use windows::Win32::Foundation::HGLOBAL;
    use windows::Win32::System::Com::StructuredStorage::CreateStreamOnHGlobal;
    let failed = done.clone();
    webview
        .with_webview(move |platform| {
            // SAFETY: COM calls on the webview's thread, where with_webview runs this closure; the
            // stream is kept by the completion handler until WebView2 has written into it.
            let started = unsafe {
                (|| -> windows::core::Result<()> {
                    let core = platform.controller().CoreWebView2()?;
                    let stream = CreateStreamOnHGlobal(HGLOBAL::default(), true)?;
                    let written = stream.clone();
                    let handler = webview2_com::CapturePreviewCompletedHandler::create(Box::new(move |result| {
                        let png = result.map_err(|e| format!("WebView2 could not capture the page: {e}"));
                        let _ = done.send(png.and_then(|()| read_stream(&written)));
                        Ok(())
                    }));
                    core.CapturePreview(COREWEBVIEW2_CAPTURE_PREVIEW_IMAGE_FORMAT_PNG, &stream, &handler)
                })()
            };
            if let Err(e) = started {
                let _ = failed.send(Err(format!("WebView2 could not start a capture: {e}")));
            }
        })
        .map_err(|e| e.to_string())
}

/// Everything written into `stream`, read from its start.
fn read_stream(stream: &windows::Win32::System::Com::IStream) -> Result<Vec<u8>, String> {
    use windows::Win32::System::Com::STREAM_SEEK_SET;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: reading into a buffer of the size given; the stream is ours.
    unsafe {
        stream.Seek(0, STREAM_SEEK_SET, None).map_err(|e| format!("the capture stream: {e}"))?;
        loop {
            let mut n = 0u32;
            stream
                .Read(buf.as_mut_ptr().cast(), buf.len() as u32, Some(&mut n))
                .ok()
                .map_err(|e| format!("the capture stream: {e}"))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
    }
    if out.is_empty() {
        return Err("WebView2 wrote an empty picture".into());
    }
    Ok(out)
}

/// WebView2's own WebRTC for a package window: a camera or microphone request of the page is
/// allowed when `allowed(uri)` says so (Booth asks whether this window's page holds the `camera`
/// permission and the request comes from that page's origin, see
/// `Shell::page_may_use_media`); every other kind (location, notifications, clipboard, …) is
/// refused, as a kiosk should. Type-checked only (`win-check`): not run on Windows yet.
pub fn media_permissions<R: tauri::Runtime>(
    webview: &tauri::Webview<R>,
    allowed: impl Fn(&str) -> bool + Send + 'static,
) -> Result<(), String> {
    use webview2_com::Microsoft::Web::WebView2::Win32::{
        COREWEBVIEW2_PERMISSION_KIND, COREWEBVIEW2_PERMISSION_KIND_CAMERA, COREWEBVIEW2_PERMISSION_KIND_MICROPHONE,
        COREWEBVIEW2_PERMISSION_STATE_ALLOW, COREWEBVIEW2_PERMISSION_STATE_DENY,
    };
    let label = webview.label().to_string();
    webview
        .with_webview(move |platform| {
            // SAFETY: COM calls on the webview's thread, where with_webview runs this closure.
            unsafe {
                let core = match platform.controller().CoreWebView2() {
                    Ok(c) => c,
                    Err(e) => return tracing::error!(error = %e, "WebView2: no webview to set media permissions on"),
                };
                let handler = webview2_com::PermissionRequestedEventHandler::create(Box::new(move |_sender, args| {
                    let Some(args) = args else { return Ok(()) };
                    let mut uri = windows::core::PWSTR::null();
                    let from = match args.Uri(&mut uri) {
                        Ok(()) => webview2_com::take_pwstr(uri),
                        Err(_) => String::new(),
                    };
                    let mut kind = COREWEBVIEW2_PERMISSION_KIND::default();
                    let media = args.PermissionKind(&mut kind).is_ok()
                        && (kind == COREWEBVIEW2_PERMISSION_KIND_CAMERA
                            || kind == COREWEBVIEW2_PERMISSION_KIND_MICROPHONE);
                    let state = if media && allowed(&from) {
                        COREWEBVIEW2_PERMISSION_STATE_ALLOW
                    } else {
                        tracing::warn!(window = %label, kind = kind.0, "WebView2: permission refused");
                        COREWEBVIEW2_PERMISSION_STATE_DENY
                    };
                    args.SetState(state)
                }));
                let mut token = Default::default();
                if let Err(e) = core.add_PermissionRequested(&handler, &mut token) {
                    tracing::error!(error = %e, "WebView2: cannot set media permissions");
                }
            }
        })
        .map_err(|e| e.to_string())
}
