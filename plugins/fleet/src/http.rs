//! HTTPS for uploads (screenshots, logs: a PUT to the pre-signed URL a command gives) and
//! package downloads. Never through the broker.

use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

pub struct Http {
    roots: Option<Vec<ureq::tls::Certificate<'static>>>,
    allow_insecure: bool,
    timeout: Duration,
    /// Made at the first request: loading the system's roots costs more than a terminal's
    /// start should (thousands of agents in one load test).
    agent: OnceLock<ureq::Agent>,
}

impl Http {
    /// `ca_pem`: the authority to trust instead of the system's roots (a site's own storage
    /// server); `allow_insecure`: http:// too (a lab).
    pub fn new(ca_pem: Option<&[u8]>, allow_insecure: bool, timeout: Duration) -> Result<Http, String> {
        let roots = match ca_pem {
            Some(pem) => {
                let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c.to_owned())),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("fleet.http_ca_file: {e}"))?;
                if certs.is_empty() {
                    return Err("fleet.http_ca_file: no certificate in it".into());
                }
                Some(certs)
            }
            None => None,
        };
        Ok(Http { roots, allow_insecure, timeout, agent: OnceLock::new() })
    }

    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            let roots = match &self.roots {
                Some(certs) => ureq::tls::RootCerts::new_with_certs(certs),
                None => ureq::tls::RootCerts::PlatformVerifier,
            };
            let tls =
                ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls).root_certs(roots).build();
            ureq::Agent::config_builder()
                .timeout_global(Some(self.timeout))
                .https_only(!self.allow_insecure)
                .http_status_as_error(false)
                .tls_config(tls)
                .build()
                .into()
        })
    }

    /// PUTs `body`; the server must answer 2xx. Returns the status.
    pub fn put(&self, url: &str, content_type: &str, body: &[u8]) -> Result<u16, String> {
        let resp = self
            .agent()
            .put(url)
            .header("Content-Type", content_type)
            .send(body)
            .map_err(|e| format!("upload to {}: {e}", redact(url)))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(format!("upload to {}: HTTP {status}", redact(url)))
        }
    }

    /// GETs `url`; the body as a reader.
    pub fn get(&self, url: &str) -> Result<impl Read + Send + 'static, String> {
        let resp = self.agent().get(url).call().map_err(|e| format!("{}: {e}", redact(url)))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!("{}: HTTP {status}", redact(url)));
        }
        Ok(resp.into_body().into_reader())
    }
}

/// A URL without its query: pre-signed URLs carry their credentials there, and messages are logged.
pub fn redact(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}
