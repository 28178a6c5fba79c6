//! HTTPS for uploads (screenshots, logs: a PUT to the pre-signed URL a command gives) and
//! package downloads. Never through the broker.

use std::io::Read;
use std::time::Duration;

pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// `ca_pem`: the authority to trust instead of the system's roots (a site's own storage
    /// server); `allow_insecure`: http:// too (a lab).
    pub fn new(ca_pem: Option<&[u8]>, allow_insecure: bool, timeout: Duration) -> Result<Http, String> {
        let roots = match ca_pem {
            Some(pem) => {
                let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("fleet.http_ca_file: {e}"))?;
                if certs.is_empty() {
                    return Err("fleet.http_ca_file: no certificate in it".into());
                }
                ureq::tls::RootCerts::new_with_certs(&certs)
            }
            None => ureq::tls::RootCerts::PlatformVerifier,
        };
        let tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls).root_certs(roots).build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .https_only(!allow_insecure)
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .into();
        Ok(Http { agent })
    }

    /// PUTs `body`; the server must answer 2xx. Returns the status.
    pub fn put(&self, url: &str, content_type: &str, body: &[u8]) -> Result<u16, String> {
        let resp = self
            .agent
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
        let resp = self.agent.get(url).call().map_err(|e| format!("{}: {e}", redact(url)))?;
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
