//! The window side of enterIDNumber: Booth's keypad (`miniapp-host/js/idnumber.js`) shown over
//! the calling page. The idcard plugin defines the seam ([`booth_idcard::entry::EntryScreen`]).

use tauri::Manager;

/// Shows enterIDNumber's keypad in the page of a window.
pub struct IdNumberScreen(pub tauri::AppHandle);

impl booth_idcard::entry::EntryScreen for IdNumberScreen {
    fn show(&self, window: &str, options: &serde_json::Value) -> Result<(), String> {
        let webview = self.0.get_webview_window(window).ok_or_else(|| format!("没有窗口 {window}"))?;
        webview
            .eval(format!("window.__boothIdNumber && window.__boothIdNumber.open({options})"))
            .map_err(|e| format!("无法显示证件号键盘: {e}"))
    }

    fn hide(&self, window: &str) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval("window.__boothIdNumber && window.__boothIdNumber.close()");
        }
    }
}
