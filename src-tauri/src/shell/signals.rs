//! What a window's web view tells the shell: loads starting and finishing (with their HTTP
//! status), loads failing, and the web process ending. The platform watchers (`webkit`,
//! `webview2`) report through this trait; the shell's lifecycle implements it.

use url::Url;

pub trait PageSignals: Send + Sync + 'static {
    /// A page of window `label` started (`finished = false`) or finished loading, with its HTTP
    /// status when the platform reports one.
    fn page_load(&self, label: &str, url: &Url, finished: bool, status: Option<u16>);
    /// A load of window `label` failed (network error, refused connection).
    fn load_failed(&self, label: &str, url: &Url, why: &str);
    /// The web process of window `label` ended (crashed, killed, or ended after a hang).
    fn process_gone(&self, label: &str, why: &str);
}
