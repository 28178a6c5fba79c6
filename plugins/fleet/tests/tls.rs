//! The agent and the operator over TLS with client certificates, against a private mosquitto
//! running the example configuration and ACL of `docs/mosquitto` (paths and port changed):
//! a terminal logs in with its certificate and answers the operator; a client without a
//! certificate, or one that does not trust the broker's authority, does not get in; another
//! terminal's certificate cannot command it.

use booth_fleet::agent::AgentOptions;
use booth_fleet::host::Windowless;
use booth_fleet::operator::{Operator, OperatorOptions, Target};
use booth_fleet::store::Store;
use booth_fleet::{Agent, FleetHost, FleetSection};
use booth_testkit::mosquitto::Mosquitto;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};
use serde_json::Map;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

struct Authority {
    cert: X509,
    key: PKey<Private>,
}

fn key() -> PKey<Private> {
    PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
}

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<&Authority>, server: bool) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    static SERIAL: AtomicU32 = AtomicU32::new(1);
    b.set_serial_number(&BigNum::from_u32(SERIAL.fetch_add(1, Ordering::SeqCst)).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|a| a.cert.subject_name()).unwrap_or(&name)).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    match issuer {
        None => b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap(),
        Some(a) => {
            b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
            if server {
                let san = SubjectAlternativeName::new()
                    .dns("localhost")
                    .ip("127.0.0.1")
                    .build(&b.x509v3_context(Some(&a.cert), None))
                    .unwrap();
                b.append_extension(san).unwrap();
                b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap()).unwrap();
            } else {
                b.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap()).unwrap();
            }
        }
    }
    b.sign(issuer.map(|a| &a.key).unwrap_or(key), MessageDigest::sha256()).unwrap();
    b.build()
}

fn authority(cn: &str) -> Authority {
    let key = key();
    Authority { cert: cert(cn, &key, None, false), key }
}

/// A certificate for `cn` signed by `ca`: (certificate PEM, PKCS#8 key PEM).
fn issue(ca: &Authority, cn: &str, server: bool) -> (Vec<u8>, Vec<u8>) {
    let k = key();
    let c = cert(cn, &k, Some(ca), server);
    (c.to_pem().unwrap(), k.private_key_to_pem_pkcs8().unwrap())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// docs/mosquitto's configuration with this test's files and port.
fn example_config(files: &Path, port: u16) -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mosquitto");
    let conf = std::fs::read_to_string(docs.join("booth.conf")).unwrap();
    std::fs::copy(docs.join("acl"), files.join("acl")).unwrap();
    conf.lines()
        // The private broker's own plain listener comes first; this one is the default anyway.
        .filter(|l| !l.starts_with("per_listener_settings"))
        .map(|l| if l == "listener 8883" { format!("listener {port} 127.0.0.1") } else { l.to_string() })
        .map(|l| l.replace("/etc/mosquitto/booth/", &format!("{}/", files.display())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn operator(port: u16, ca: &[u8], identity: Option<(Vec<u8>, Vec<u8>)>, id: &str) -> Result<Operator, String> {
    let mut o = OperatorOptions::new(&format!("mqtts://localhost:{port}"), false).unwrap();
    o.ca_pem = Some(ca.to_vec());
    o.client_identity = identity;
    o.client_id = Some(id.into());
    Operator::connect(o, Duration::from_secs(10)).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_and_operators_over_tls_with_certificates_and_the_example_acl() {
    let files = tempfile::tempdir().unwrap();
    let ca = authority("Booth fleet test CA");
    let ca_pem = ca.cert.to_pem().unwrap();
    write(files.path(), "ca.pem", &ca_pem);
    let (server_cert, server_key) = issue(&ca, "localhost", true);
    write(files.path(), "server.pem", &server_cert);
    write(files.path(), "server.key", &server_key);
    let port = free_port();
    let broker = Mosquitto::start_with(&example_config(files.path(), port));

    // The terminal: its certificate's common name is its id.
    let (tcert, tkey) = issue(&ca, "T-TLS", false);
    let tdir = tempfile::tempdir().unwrap();
    let section = FleetSection {
        broker: format!("mqtts://localhost:{port}"),
        terminal_id: "T-TLS".into(),
        ca_file: write(files.path(), "t-ca.pem", &ca_pem),
        client_cert: write(files.path(), "t.pem", &tcert),
        client_key: write(files.path(), "t.key", &tkey),
        telemetry_s: 1,
        ..Default::default()
    };
    let config = section.resolve("SN", tdir.path()).unwrap();
    assert!(config.broker.tls);
    let store = Store::new(config.packages_dir.clone());
    let host = Arc::new(Windowless::new(store.clone()));
    let opts = AgentOptions { config, booth_version: "0.1.0".into(), store };
    let _agent = Agent::start(&tokio::runtime::Handle::current(), opts, host.clone() as Arc<dyn FleetHost>).unwrap();

    // The operator sees it and commands it.
    let op = operator(port, &ca_pem, Some(issue(&ca, "operator", false)), "op-tls").await.expect("operator gets in");
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        let views = op.status(Duration::from_millis(200)).await.unwrap();
        if views.iter().any(|v| v.terminal == "T-TLS" && v.online()) {
            break;
        }
        assert!(std::time::Instant::now() < end, "T-TLS not online over TLS: {}", broker.log());
    }
    let r = op.command(&Target::One("T-TLS".into()), "reload", Map::new(), None, DEADLINE, DEADLINE).await.unwrap();
    assert!(r.results.first().is_some_and(|x| x.ok), "{r:?}");
    assert_eq!(host.reloads(), 1);

    // Without a certificate, or not trusting the broker's authority: no connection.
    assert!(operator(port, &ca_pem, None, "op-nocert").await.is_err(), "no client certificate");
    let other = authority("Another CA");
    let e = operator(port, &other.cert.to_pem().unwrap(), Some(issue(&ca, "operator", false)), "op-wrongca").await;
    assert!(e.is_err(), "a broker certificate from an authority not trusted");

    // Another terminal's certificate: it may not command T-TLS nor read its topics (the ACL).
    let rogue = operator(port, &ca_pem, Some(issue(&ca, "T-ROGUE", false)), "rogue").await.expect("rogue connects");
    let views = rogue.status(Duration::from_millis(500)).await.unwrap();
    assert!(views.is_empty(), "another terminal's status is not readable: {views:?}");
    let r = rogue
        .command(&Target::One("T-TLS".into()), "reload", Map::new(), None, DEADLINE, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(r.missing, ["T-TLS"], "{r:?}");
    // The operator's next command still runs: the rogue one never reached the terminal.
    let r = op.command(&Target::One("T-TLS".into()), "reload", Map::new(), None, DEADLINE, DEADLINE).await.unwrap();
    assert!(r.results.first().is_some_and(|x| x.ok), "{r:?}");
    assert_eq!(host.reloads(), 2, "only the operator's commands ran");
}
