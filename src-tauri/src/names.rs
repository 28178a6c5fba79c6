//! The names every room shares: window labels, the package scheme, and where package files and
//! Booth's own pages appear to the webview.
//!
//! A leaf: it imports nothing of the app, so any room may use it without making a cycle.

use booth_miniapp_host::Package;
use tauri::WebviewUrl;
use url::Url;

/// The label of the main window.
pub const MAIN: &str = "main";
/// The label of the customer-facing window.
pub const SECONDARY: &str = "secondary";
/// The label of the simulator panel (`booth dev`).
pub const PANEL: &str = "panel";
/// The label of the administrator's window.
pub const ADMIN: &str = "admin";
/// The label of the real-person certification window (open-certify).
pub const CERTIFY: &str = "certify";

/// The control endpoint's port under `booth dev`, and under `booth run --sim`, when neither
/// `--control-port` nor booth.toml names one; `booth sim` looks there first.
pub const CONTROL_PORT: u16 = 17800;

/// The scheme that serves package files, giving pages a stable origin.
pub const SCHEME: &str = "booth";

/// Where the package's files appear to pages: `booth://localhost/` (WebKitGTK, WKWebView) or
/// `http://booth.localhost/` (WebView2 maps custom schemes to that form).
pub fn package_base() -> Url {
    let base = if cfg!(windows) { "http://booth.localhost/" } else { "booth://localhost/" };
    Url::parse(base).unwrap_or_else(|_| unreachable!("constant URL"))
}

/// How the package scheme's origins are spelled in a webview's addresses: `booth://<host>/`
/// (WebKitGTK, WKWebView), or `http://booth.<host>/` (WebView2 has no custom schemes; wry
/// maps them to that form, and hands the scheme's handler the `booth://<host>/` form again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origins {
    Scheme,
    Http,
}

impl Origins {
    /// The form of this build's webview.
    pub const HERE: Origins = if cfg!(windows) { Origins::Http } else { Origins::Scheme };

    /// Where catalogue app `app_id`'s files appear to pages in this form.
    pub fn app_base(self, app_id: &str) -> Result<Url, String> {
        let base = match self {
            Origins::Http => format!("http://{SCHEME}.{app_id}/"),
            Origins::Scheme => format!("{SCHEME}://{app_id}/"),
        };
        Url::parse(&base).map_err(|e| format!("app `{app_id}`: {e}"))
    }

    /// The catalogue app `url` is on, in this form (`None` for `[package]`'s `localhost` and
    /// anything else). The `http://booth.<appId>/` form also takes `booth://<appId>/`, which is
    /// what the scheme's handler receives there.
    pub fn app_of(self, url: &Url) -> Option<String> {
        let host = url.host_str()?;
        let id = match (self, url.scheme()) {
            (_, SCHEME) => host,
            (Origins::Http, "http") => host.strip_prefix(SCHEME)?.strip_prefix('.')?,
            _ => return None,
        };
        (!id.is_empty() && id != "localhost").then(|| id.to_string())
    }
}

/// Where catalogue app `app_id`'s files appear to pages: its own origin, `booth://<appId>/`
/// (`http://booth.<appId>/` on WebView2), so that apps never share storage or cookies.
pub fn app_base(app_id: &str) -> Result<Url, String> {
    Origins::HERE.app_base(app_id)
}

/// The catalogue app a URL on the package scheme belongs to (`None` for `[package]`'s
/// `booth://localhost/` and anything else).
pub fn app_of(url: &Url) -> Option<String> {
    Origins::HERE.app_of(url)
}

/// Where `page` of catalogue app `app_id` is (an empty page: its entry): on the app's origin,
/// or on its remote address.
pub fn app_location(app_id: &str, package: &Package, page: &str) -> Result<Url, String> {
    let page = page.trim_start_matches('/');
    match &package.source {
        booth_miniapp_host::Source::Remote(base) if page.is_empty() => Ok(base.clone()),
        booth_miniapp_host::Source::Remote(base) => base.join(page).map_err(|e| format!("page `{page}`: {e}")),
        _ => {
            let page = if page.is_empty() { package.manifest.entry.as_str() } else { page };
            app_base(app_id)?.join(page).map_err(|e| format!("page `{page}`: {e}"))
        }
    }
}

/// Booth's own pages (`ui/`).
pub fn ui_base() -> Url {
    let base = if cfg!(windows) { "http://tauri.localhost/" } else { "tauri://localhost/" };
    Url::parse(base).unwrap_or_else(|_| unreachable!("constant URL"))
}

/// The `Origin` header Booth's own pages send (`tauri://localhost`, `http://tauri.localhost`).
pub fn ui_origin() -> String {
    let base = ui_base();
    format!("{}://{}", base.scheme(), base.host_str().unwrap_or_default())
}

/// Where `entry` of the package is, as a webview URL: the remote page itself, or the file on
/// the package scheme.
pub fn entry_url(package: &Package, entry: &str) -> Result<WebviewUrl, String> {
    if let booth_miniapp_host::Source::Remote(url) = &package.source {
        return Ok(WebviewUrl::External(url.clone()));
    }
    package_base().join(entry).map(WebviewUrl::CustomProtocol).map_err(|e| format!("entry `{entry}`: {e}"))
}

/// Where `entry` of the package is, as a URL to navigate to.
pub fn entry_location(package: &Package, entry: &str) -> Result<Url, String> {
    match entry_url(package, entry)? {
        WebviewUrl::External(u) | WebviewUrl::CustomProtocol(u) => Ok(u),
        _ => Err(format!("entry `{entry}`: not a URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn an_app_origin_maps_to_its_app_and_back_in_both_forms() {
        for form in [Origins::Scheme, Origins::Http] {
            for id in ["cashier", "pay-desk", "report_print", "a1"] {
                let base = form.app_base(id).expect("base");
                assert_eq!(form.app_of(&base).as_deref(), Some(id), "{form:?} {base}");
                let page = base.join("pages/pay.html?amount=1").expect("page");
                assert_eq!(form.app_of(&page).as_deref(), Some(id), "{form:?} {page}");
            }
        }
        assert_eq!(Origins::Scheme.app_base("cashier").unwrap().as_str(), "booth://cashier/");
        assert_eq!(Origins::Http.app_base("cashier").unwrap().as_str(), "http://booth.cashier/");
    }

    #[test]
    fn webview2s_scheme_handler_form_is_the_same_app() {
        // wry turns `http://booth.cashier/x` back into `booth://cashier/x` for the handler.
        assert_eq!(Origins::Http.app_of(&url("booth://cashier/index.html")).as_deref(), Some("cashier"));
        assert_eq!(Origins::Http.app_of(&url("http://booth.cashier/index.html")).as_deref(), Some("cashier"));
    }

    #[test]
    fn the_package_booths_pages_and_the_web_are_no_app() {
        for form in [Origins::Scheme, Origins::Http] {
            for other in [
                "booth://localhost/index.html",
                "http://booth.localhost/index.html",
                "tauri://localhost/home.html",
                "http://tauri.localhost/home.html",
                "https://booth.cashier/",
                "https://example.com/",
                "http://boothcashier/",
                "http://booth/",
            ] {
                assert_eq!(form.app_of(&url(other)), None, "{form:?} {other}");
            }
        }
        // On WebKitGTK an http address is a web page, whatever its name.
        assert_eq!(Origins::Scheme.app_of(&url("http://booth.cashier/")), None);
    }
}
