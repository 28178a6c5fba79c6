//! The operator's side (`booth fleet`) against a real mosquitto and running agents: every
//! terminal's status, a command to one and to all, a desired-settings change, and a staged
//! rollout of a signed package (installed everywhere; a refused one stops after the first).

use booth_fleet::agent::AgentOptions;
use booth_fleet::host::Windowless;
use booth_fleet::operator::{ConfigOutcome, Operator, OperatorOptions, PushOptions, Target};
use booth_fleet::store::Store;
use booth_fleet::{Agent, FleetHost, FleetSection};
use booth_testkit::mosquitto::Mosquitto;
use booth_testkit::web::WebServer;
use serde_json::{json, Map};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

struct Terminal {
    _agent: Arc<Agent>,
    _dir: tempfile::TempDir,
}

fn terminal(broker: &Mosquitto, tid: &str, update_key: &str) -> Terminal {
    let dir = tempfile::tempdir().unwrap();
    let section = FleetSection {
        broker: broker.url(),
        terminal_id: tid.into(),
        allow_insecure: true,
        telemetry_s: 1,
        keepalive_s: 5,
        update_keys: vec![update_key.to_string()],
        ..Default::default()
    };
    let config = section.resolve("SN", dir.path()).unwrap();
    let store = Store::new(config.packages_dir.clone());
    let host = Arc::new(
        Windowless::new(store.clone())
            .with_devices(json!({"scanner": {"backend": "serial", "available": true}, "printer": {"backend": "cups", "available": false}}))
            .with_editable(&[("kiosk.idle_s", "u64")]),
    );
    let opts = AgentOptions { config, booth_version: "0.1.0".into(), store };
    let agent =
        Arc::new(Agent::start(&tokio::runtime::Handle::current(), opts, host.clone() as Arc<dyn FleetHost>).unwrap());
    host.attach(&agent);
    Terminal { _agent: agent, _dir: dir }
}

fn package_zip(version: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("miniapp.json", o).unwrap();
        w.write_all(
            json!({"id": "shop", "name": "Shop", "version": version, "entry": "index.html"}).to_string().as_bytes(),
        )
        .unwrap();
        w.start_file("index.html", o).unwrap();
        w.write_all(b"<p>shop").unwrap();
        w.finish().unwrap();
    }
    buf.into_inner()
}

async fn operator(broker: &Mosquitto, name: &str) -> Operator {
    let mut o = OperatorOptions::new(&broker.url(), true).unwrap();
    o.client_id = Some(name.into());
    Operator::connect(o, DEADLINE).await.expect("operator connects")
}

async fn until_online(broker: &Mosquitto, tids: &[&str]) {
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        let op = operator(broker, "op-wait").await;
        let views = op.status(Duration::from_millis(200)).await.unwrap();
        if tids.iter().all(|t| views.iter().any(|v| v.terminal == *t && v.online())) {
            return;
        }
        assert!(std::time::Instant::now() < end, "terminals {tids:?} not online: {views:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_commands_config_and_a_staged_push() {
    let broker = Mosquitto::start();
    let (pk, sk) = booth_fleet::signing::keygen(None).unwrap();
    let sk = minisign::SecretKeyBox::from_string(&sk).unwrap().into_unencrypted_secret_key().unwrap();
    let t1 = terminal(&broker, "T1", &pk);
    let t2 = terminal(&broker, "T2", &pk);
    until_online(&broker, &["T1", "T2"]).await;

    // Status: both, with their telemetry.
    let op = operator(&broker, "op-main").await;
    let views = op.status(Duration::from_millis(300)).await.unwrap();
    assert_eq!(views.iter().map(|v| v.terminal.as_str()).collect::<Vec<_>>(), ["T1", "T2"]);
    let table = booth_fleet::operator::status_table(&views);
    let cols: Vec<&str> = table.lines().nth(1).unwrap_or("").split_whitespace().collect();
    assert_eq!(cols, ["T1", "online", "0.1.0", "shop", "1.0.0", "0h00m", "1/2", "0"], "{table}");

    // A command to one terminal, and to all.
    let ttl = Duration::from_secs(60);
    let r = op.command(&Target::One("T1".into()), "doctor", Map::new(), None, ttl, DEADLINE).await.unwrap();
    assert_eq!((r.results.len(), r.results[0].ok), (1, true), "{r:?}");
    let r = op.command(&Target::All, "reload", Map::new(), None, ttl, DEADLINE).await.unwrap();
    let mut who: Vec<&str> = r.results.iter().map(|x| x.terminal.as_str()).collect();
    who.sort();
    assert_eq!((who, r.missing.len()), (vec!["T1", "T2"], 0), "{r:?}");
    assert!(r.results.iter().all(|x| x.ok));
    // A command to a terminal that does not exist: no answer, said so.
    let r = op
        .command(&Target::One("T9".into()), "reload", Map::new(), None, ttl, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(r.missing, ["T9"]);

    // Desired settings: applied and reported; then a refused key.
    let mut s = Map::new();
    s.insert("kiosk.idle_s".into(), json!(90));
    match op.config("T1", s, DEADLINE).await.unwrap() {
        ConfigOutcome::Applied { version, reported } => {
            assert_eq!((version, reported["settings"]["kiosk.idle_s"].clone()), (1, json!(90)));
        }
        other => panic!("{other:?}"),
    }
    let mut s = Map::new();
    s.insert("admin.pin_hash".into(), json!("x"));
    match op.config("T1", s, DEADLINE).await.unwrap() {
        ConfigOutcome::Refused { error, .. } => assert!(error.contains("admin.pin_hash"), "{error}"),
        other => panic!("{other:?}"),
    }

    // A staged push: T1 first, then T2; each counts when its update event says installed.
    let work = tempfile::tempdir().unwrap();
    let v2 = work.path().join("shop-2.0.0.zip");
    std::fs::write(&v2, package_zip("2.0.0")).unwrap();
    booth_fleet::signing::sign_package_files(&v2, &sk, "0.1.0").unwrap();
    let port = WebServer::serving("/shop-2.0.0.zip", std::fs::read(&v2).unwrap()).port;
    let opts = PushOptions {
        url: format!("http://127.0.0.1:{port}/shop-2.0.0.zip"),
        first: 1,
        allow_downgrade: false,
        timeout: DEADLINE,
    };
    let report = op.push(&Target::All, &v2, &opts, None).await.unwrap();
    assert!(report.ok(), "{report:?}");
    let got: Vec<(&str, u32, &str)> =
        report.results.iter().map(|r| (r.terminal.as_str(), r.stage, r.result.as_str())).collect();
    assert_eq!(got, [("T1", 1, "installed"), ("T2", 2, "installed")], "{report:?}");

    // The same again: already running it.
    let report = op.push(&Target::One("T2".into()), &v2, &opts, None).await.unwrap();
    assert_eq!(report.results[0].result, "already", "{report:?}");

    // A downgrade: the first terminal refuses it, the second is never asked.
    let v1 = work.path().join("shop-1.5.0.zip");
    std::fs::write(&v1, package_zip("1.5.0")).unwrap();
    booth_fleet::signing::sign_package_files(&v1, &sk, "0.1.0").unwrap();
    let report =
        op.push(&Target::All, &v1, &PushOptions { url: opts.url.clone(), ..opts.clone() }, None).await.unwrap();
    assert!(!report.ok());
    assert_eq!((report.results.len(), report.results[0].result.as_str()), (1, "refused"), "{report:?}");
    assert_eq!(report.skipped, ["T2"]);

    // A zip changed after it was signed is not pushed at all.
    std::fs::write(&v1, package_zip("1.5.1")).unwrap();
    let e = op.push(&Target::All, &v1, &opts, None).await.unwrap_err();
    assert!(e.to_string().contains("changed since it was signed"), "{e}");
    drop((t1, t2));
}
