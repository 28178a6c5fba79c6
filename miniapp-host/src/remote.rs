//! A remote package's own `/miniapp.json`: a site may narrow what booth.toml grants its pages
//! (fewer permissions, fewer dialects), never widen it. booth.toml stays the ceiling because the
//! operator, not the site, decides what a page from the network may touch.

use booth_bridge::{Dialect, Family};
use std::collections::HashSet;
use std::io::Read;
use std::time::Duration;
use url::Url;

/// Largest `/miniapp.json` Booth reads from a site.
pub const MAX_BYTES: u64 = 64 * 1024;

/// What the site's `/miniapp.json` asks for. `None`: the file does not say (no narrowing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Served {
    pub permissions: Option<HashSet<Family>>,
    pub dialects: Option<HashSet<Dialect>>,
}

/// The outcome of looking for a site's `/miniapp.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Narrowing {
    /// The site serves one: its lists narrow the grant.
    Served(Served),
    /// 404 or 410: the site has none; booth.toml's grant stands.
    NotServed,
    /// The site serves one that is not a manifest: nothing is granted besides device
    /// information (a broken narrowing must not become a widening).
    Broken(String),
    /// The site could not be asked (unreachable, timeout, another HTTP status): booth.toml's
    /// grant stands for this run, and the log says the narrowing is not applied.
    Unreadable(String),
}

/// Where a remote package's manifest is: `/miniapp.json` at the entry URL's origin.
pub fn manifest_url(entry: &Url) -> Option<Url> {
    let mut url = entry.clone();
    url.set_path("/miniapp.json");
    url.set_query(None);
    url.set_fragment(None);
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    Some(url)
}

/// Reads `permissions` and `dialects` of a served manifest; the other fields of the manifest
/// format (id, name, entry …) may be there and are ignored: the URL is the entry. A name Booth
/// does not know is refused, so that a typo cannot silently grant less than the site meant.
pub fn parse(text: &str) -> Result<Served, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let Some(object) = value.as_object() else { return Err("not a JSON object".into()) };
    let list = |key: &str| -> Result<Option<Vec<String>>, String> {
        match object.get(key) {
            None => Ok(None),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("{key}: every entry must be a string")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("{key}: must be a list of strings")),
        }
    };
    let permissions = match list("permissions")? {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| n.parse::<Family>().map_err(|e| format!("permissions: {e}")))
                .collect::<Result<HashSet<_>, _>>()?,
        ),
    };
    let dialects = match list("dialects")? {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    serde_json::from_value::<Dialect>(serde_json::Value::String(n.clone()))
                        .map_err(|_| format!("dialects: unknown dialect `{}`", n.chars().take(32).collect::<String>()))
                })
                .collect::<Result<HashSet<_>, _>>()?,
        ),
    };
    Ok(Served { permissions, dialects })
}

/// Asks the site for its `/miniapp.json` (one GET, `timeout` in all, redirects not followed:
/// the manifest speaks for its own origin only).
pub fn fetch(entry: &Url, timeout: Duration) -> Narrowing {
    let Some(url) = manifest_url(entry) else { return Narrowing::Unreadable(format!("{entry}: no origin")) };
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(tls)
        .build()
        .into();
    let resp = match agent.get(url.as_str()).call() {
        Ok(r) => r,
        Err(e) => return Narrowing::Unreadable(format!("{url}: {e}")),
    };
    match resp.status().as_u16() {
        200 => {}
        404 | 410 => return Narrowing::NotServed,
        status => return Narrowing::Unreadable(format!("{url}: HTTP {status}")),
    }
    let mut bytes = Vec::new();
    let mut body = resp.into_body().into_reader().take(MAX_BYTES + 1);
    if let Err(e) = body.read_to_end(&mut bytes) {
        return Narrowing::Unreadable(format!("{url}: {e}"));
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Narrowing::Broken(format!("{url}: larger than {MAX_BYTES} bytes"));
    }
    match std::str::from_utf8(&bytes).map_err(|_| "not UTF-8".to_string()).and_then(parse) {
        Ok(served) => Narrowing::Served(served),
        Err(e) => Narrowing::Broken(format!("{url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// A loopback HTTP server answering every request with `status` and `body`; returns its
    /// port and the paths it was asked for.
    fn serve(status: &'static str, body: &'static str) -> (u16, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let _ = tx.send(head.split_whitespace().nth(1).unwrap_or_default().to_string());
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (port, rx)
    }

    fn entry(port: u16) -> Url {
        Url::parse(&format!("http://127.0.0.1:{port}/shop/index.html?x=1#top")).unwrap()
    }

    #[test]
    fn the_manifest_is_asked_for_at_the_origin() {
        let (port, asked) = serve("200 OK", r#"{"id":"shop","permissions":["scanner"],"dialects":["my"]}"#);
        let got = fetch(&entry(port), Duration::from_secs(5));
        assert_eq!(asked.recv_timeout(Duration::from_secs(5)).unwrap(), "/miniapp.json");
        assert_eq!(
            got,
            Narrowing::Served(Served {
                permissions: Some([Family::Scanner].into_iter().collect()),
                dialects: Some([Dialect::My].into_iter().collect()),
            })
        );
    }

    #[test]
    fn none_served_broken_and_unreachable_are_told_apart() {
        let (port, _) = serve("404 Not Found", "{}");
        assert_eq!(fetch(&entry(port), Duration::from_secs(5)), Narrowing::NotServed);
        let (port, _) = serve("200 OK", "<html>not a manifest</html>");
        assert!(matches!(fetch(&entry(port), Duration::from_secs(5)), Narrowing::Broken(_)));
        let (port, _) = serve("503 Service Unavailable", "");
        assert!(matches!(fetch(&entry(port), Duration::from_secs(5)), Narrowing::Unreadable(e) if e.contains("503")));
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(matches!(fetch(&entry(closed), Duration::from_secs(5)), Narrowing::Unreadable(_)));
    }

    #[test]
    fn a_redirect_is_not_followed() {
        let (port, _) = serve("302 Found\r\nLocation: http://127.0.0.1:1/miniapp.json", "");
        assert!(matches!(fetch(&entry(port), Duration::from_secs(5)), Narrowing::Unreadable(e) if e.contains("302")));
    }

    #[test]
    fn parse_refuses_what_is_not_a_list_of_known_names() {
        assert_eq!(parse("{}").unwrap(), Served::default());
        assert!(parse(r#"{"permissions":"scanner"}"#).is_err());
        assert!(parse(r#"{"permissions":["scaner"]}"#).is_err());
        assert!(parse(r#"{"dialects":["alipay"]}"#).is_err());
        assert!(parse("[]").is_err());
        assert_eq!(parse(r#"{"permissions":[]}"#).unwrap().permissions, Some(HashSet::new()));
    }
}
