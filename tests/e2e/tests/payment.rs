//! End to end, seed 001's facePay in a real booth window against the reference provider (its
//! own binary, a funded wallet from its `wallet top-up`): the face code to the page
//! (`requireFaceCode`), then the cash register on a socat pty pair asks for ¥12.50 with `AMT`,
//! the page's facePay charges it, the register hears `PAID`, the page gets its events, and
//! `booth payments` lists it. Needs Xvfb, a window manager, tauri-driver, the face models and
//! the booth-provider binary: run through scripts/test-all.

use booth_e2e::provider::{write_private, ProviderProcess, ProviderSetup};
use booth_e2e::{fixture, with_real_booth, Booth};
use booth_face::test_support::detect;
use booth_testkit::face as tk;
use booth_testkit::pty::Socat;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const KEY: &str = "T-E2E-PAY";
const SECRET: &str = "e2e-payment-secret-0123456789abcdef";

/// The reference provider with Obama enrolled and ¥100.00 in his wallet; his person id.
fn reference_provider(dir: &Path) -> (ProviderProcess, String) {
    let setup = ProviderSetup::new(dir, KEY, SECRET, &tk::models_dir());
    let photo = tk::face_dir().join("samples/obama.jpg").display().to_string();
    let added =
        setup.cmd(&["person", "add", "--photo", &photo, "--id-number", "11010119610804001X", "--name", "奥巴马"]);
    let person = added.lines().last().unwrap_or_default().to_string();
    setup.cmd(&["wallet", "top-up", &person, "--fen", "10000"]);
    (setup.serve(), person)
}

async fn events(b: &Booth, n: usize) -> Value {
    b.wait_for(&format!("return window.events.length >= {n} ? window.events : null"), Duration::from_secs(90)).await
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models + the booth-provider binary; run by scripts/test-all"]
async fn face_pay_with_a_face_code_and_through_the_cash_register_against_the_reference_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (provider, person) = reference_provider(dir.path());
    let camera = dir.path().join("camera");
    tk::write_frames(&camera, &tk::live_sequence("obama.jpg", &detect));
    let pty = dir.path().join("pty");
    std::fs::create_dir_all(&pty).unwrap();
    let register = Socat::start(&pty);
    let (tx, lines) = mpsc::channel::<String>();
    let dev = register.dev();
    std::thread::spawn(move || {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(f) = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOCTTY).open(&dev) else { return };
        for line in BufReader::new(f).lines().map_while(Result::ok) {
            if tx.send(line.trim_end_matches('\r').to_string()).is_err() {
                break;
            }
        }
    });
    let journal = dir.path().join("payments/journal.log");
    let config = dir.path().join("booth.toml");
    write_private(
        &config,
        &format!(
            "[log]\ndir = \"\"\n[terminal]\nsn = \"{KEY}\"\n[camera]\nbackend = \"file\"\npath = \"{}\"\nfps = 15\n\
             [face]\nengine = \"provider\"\nmodels_dir = \"{}\"\ngallery_dir = \"{}\"\nkey_file = \"{}\"\ntimeout_s = 20\n\
             [provider]\nbackend = \"http\"\nurl = \"{}\"\nkey_id = \"{KEY}\"\nsecret = \"{SECRET}\"\ntimeout_ms = 30000\n\
             [pos]\nbackend = \"serial\"\nport = \"{}\"\n[payment]\njournal = \"{}\"\n",
            camera.display(),
            tk::models_dir().display(),
            dir.path().join("gallery").display(),
            dir.path().join("keys/gallery.key").display(),
            provider.url,
            register.app().display(),
            journal.display(),
        ),
    );
    let config_arg = config.display().to_string();
    with_real_booth(&fixture("payment"), &["--config", &config_arg], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(10)).await;

        // requireFaceCode: the face screen, then the code to the page; nothing charged.
        let r =
            b.run_async("wxfaceapp.facePay({requireFaceCode: true, success: done, fail: done});", Value::Null).await;
        assert_eq!(r["replyCode"], "0", "{r}");
        let got = events(b, 1).await;
        assert_eq!(got[0]["name"], "onFacePayPassEvent", "{got}");
        assert_eq!(got[0]["res"]["reply"], "face pay finished");
        assert!(got[0]["res"]["faceCode"].as_str().is_some_and(|c| !c.is_empty()), "{got}");

        // The register asks for ¥12.50; the page's facePay (no amount) charges it.
        register.send(b"AMT 1250 E2E-POS-1\r\n");
        std::thread::sleep(Duration::from_millis(500));
        let r = b.run_async("wxfaceapp.facePay({success: done, fail: done});", Value::Null).await;
        assert_eq!(r["replyCode"], "0", "{r}");
        let got = events(b, 3).await;
        assert_eq!(got[1]["name"], "onFacePayPassEvent", "{got}");
        assert_eq!(got[2]["name"], "onQueryPaymentSucEvent", "{got}");
        assert_eq!(got[2]["res"]["replyCode"], "0");
        assert_eq!(got[2]["res"]["outTradeNo"], "E2E-POS-1");
        let line = lines.recv_timeout(Duration::from_secs(10)).expect("a line to the register");
        assert_eq!(line, "PAID E2E-POS-1 1250");

        // The ledger: one charge, ¥87.50 left.
        let wallet: Value = serde_json::from_str(&provider.setup.cmd(&["wallet", "show", &person])).unwrap();
        assert!(wallet.to_string().contains("8750"), "{wallet}");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["devices"]["payment"]["summary"]["paid"], 1, "{health}");
    })
    .await;

    // `booth payments` reads the journal Booth left.
    let out = std::process::Command::new(booth_e2e::booth_bin())
        .args(["payments", "--journal"])
        .arg(&journal)
        .arg("--today")
        .output()
        .expect("booth payments");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("E2E-POS-1") && text.contains("¥12.50") && text.contains("paid"), "{text}");
    drop(provider);
}
