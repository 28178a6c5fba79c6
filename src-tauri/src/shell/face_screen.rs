//! The window side of the face calls: Booth's face screen (`miniapp-host/js/face.js`) shown
//! over the calling page. The face plugin defines the seam ([`booth_face::FaceScreen`]).

use tauri::Manager;

/// Shows the face screen in the page of a window.
pub struct FaceScreen(pub tauri::AppHandle);

impl booth_face::FaceScreen for FaceScreen {
    fn show(&self, window: &str, options: &serde_json::Value) -> Result<(), String> {
        let webview = self.0.get_webview_window(window).ok_or_else(|| format!("没有窗口 {window}"))?;
        webview
            .eval(format!("window.__boothFace && window.__boothFace.open({options})"))
            .map_err(|e| format!("无法显示刷脸界面: {e}"))
    }

    fn update(&self, window: &str, state: &serde_json::Value) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval(format!("window.__boothFace && window.__boothFace.update({state})"));
        }
    }

    fn hide(&self, window: &str) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval("window.__boothFace && window.__boothFace.close()");
        }
    }
}
