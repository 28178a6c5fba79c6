//! The window side of finOpenWitnessVideo: Booth's call screen (`miniapp-host/js/witness.js`)
//! shown over the calling page. booth-webrtc defines the seam ([`booth_webrtc::service::CallScreen`]).

use tauri::Manager;

/// Shows the call screen in the page of a window.
pub struct CallScreen(pub tauri::AppHandle);

impl booth_webrtc::service::CallScreen for CallScreen {
    fn show(&self, window: &str, view: &serde_json::Value) -> Result<(), String> {
        let webview = self.0.get_webview_window(window).ok_or_else(|| format!("没有窗口 {window}"))?;
        webview
            .eval(format!("window.__boothWitness && window.__boothWitness.open({view})"))
            .map_err(|e| format!("无法显示通话界面: {e}"))
    }

    fn update(&self, window: &str, view: &serde_json::Value) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval(format!("window.__boothWitness && window.__boothWitness.update({view})"));
        }
    }

    fn hide(&self, window: &str) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval("window.__boothWitness && window.__boothWitness.close()");
        }
    }
}
