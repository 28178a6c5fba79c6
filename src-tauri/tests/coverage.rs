//! Keeps the README's API coverage table honest: it names every API of the seed documents, its
//! status matches what this build registers, and everything not implemented answers UNSUPPORTED.

use booth_app::config::Config;
use booth_app::devices::Devices;
use booth_bridge::api::{ApiSpec, Kind, APIS};
use booth_bridge::{Dialect, EventMessage, EventSink, Screen, SessionInfo};
use std::sync::Arc;

struct Nowhere;
impl EventSink for Nowhere {
    fn deliver(&self, _: EventMessage) -> bool {
        true
    }
}

/// `(dialect, name, works)` for each row of the coverage table.
fn readme_rows() -> Vec<(String, String, bool)> {
    let readme = std::fs::read_to_string(
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../README.md"),
    )
    .expect("README.md");
    let start = readme.find("<!-- coverage:start -->").expect("coverage table start marker");
    let end = readme.find("<!-- coverage:end -->").expect("coverage table end marker");
    readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| 00"))
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            (cols[2].to_string(), cols[4].trim_matches('`').to_string(), cols[6].contains("works"))
        })
        .collect()
}

fn devices() -> Devices {
    Devices::start(&Config::default(), true)
}

#[test]
fn readme_table_names_every_api_with_its_true_status() {
    let rows = readme_rows();
    let devices = devices();
    assert_eq!(rows.len(), APIS.len(), "one row per API of the seeds");
    for spec in APIS {
        let row = rows
            .iter()
            .find(|(d, n, _)| d == spec.dialect.as_str() && n == spec.name)
            .unwrap_or_else(|| panic!("README lacks {}.{}", spec.dialect, spec.name));
        assert_eq!(row.2, devices.bridge.implements(spec), "README status of {}.{}", spec.dialect, spec.name);
    }
}

fn raw_for(spec: &ApiSpec) -> (String, String) {
    if spec.dialect == Dialect::My && !booth_bridge::api::MY_TOP_LEVEL_CALLS.contains(&spec.name) {
        ("ampeHHCommunication".into(), format!(r#"{{"action":"{}","event":"open","taskId":"cov"}}"#, spec.name))
    } else {
        (spec.name.to_string(), "{}".to_string())
    }
}

#[tokio::test]
async fn unimplemented_apis_answer_unsupported() {
    let devices = devices();
    let bridge = &devices.bridge;
    let (dialects, permissions) = booth_bridge::all_permissions();
    let info = SessionInfo {
        key: "main".into(),
        package_id: "coverage".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let id = bridge.open_session(info, Arc::new(Nowhere));
    let mut checked = 0;
    for spec in APIS.iter().filter(|s| !bridge.implements(s)) {
        match spec.kind {
            Kind::Call => {
                let (name, raw) = raw_for(spec);
                let reply = bridge.call(id, spec.dialect, &name, &raw).await;
                assert_eq!(reply.body["errorCode"], "UNSUPPORTED", "{}.{}: {}", spec.dialect, spec.name, reply.body);
                let text = reply.body.to_string();
                assert!(
                    text.contains(spec.name),
                    "{}.{}: the reply should name the API: {text}",
                    spec.dialect,
                    spec.name
                );
            }
            Kind::Event => {
                let err = bridge.subscribe(id, spec.dialect, spec.name).expect_err(spec.name);
                assert_eq!(err.code, booth_bridge::ErrorCode::Unsupported, "{}", spec.name);
                assert!(err.message.contains(spec.name), "{}", err.message);
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}
