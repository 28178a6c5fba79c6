//! End to end for mini-program developers: `booth new`, `booth dev` (hot reload, page output,
//! the simulator panel) and the flight recorder with `booth replay`.
//! Needs Xvfb and tauri-driver: run through `scripts/test-all` (these tests are ignored otherwise).

use booth_e2e::{booth_bin, fixture, with_booth, with_dev, Booth};
use fantoccini::Locator;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn booth(args: &[&str]) -> std::process::Output {
    Command::new(booth_bin()).args(args).output().expect("booth runs")
}

/// Everything Booth logged to the files in `dir` so far.
fn logged(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    all
}

fn wait_logged(dir: &Path, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = logged(dir);
        if text.contains(needle) {
            return text;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "`{needle}` not logged; log so far:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The scaffold's page with a script that marks generation `gen` and when it ran.
fn page(original: &str, gen: u32, extra: &str) -> String {
    let script = format!(
        "<script>window.__gen = {gen}; window.__ranAt = performance.timeOrigin + performance.now(); \
         console.log('marker-{gen}', {{gen: {gen}}}); {extra}</script>\n</body>"
    );
    original.replace("</body>", &script)
}

fn main_sessions(records: &Value) -> usize {
    records["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "session" && r["window"] == "main")
        .count()
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn new_package_runs_reloads_on_save_and_forwards_page_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Corner Shop");
    let out = booth(&["new", dir.to_str().unwrap()]);
    assert!(out.status.success(), "booth new: {}", String::from_utf8_lossy(&out.stderr));
    let logs = tmp.path().join("logs");
    let config = tmp.path().join("booth.toml");
    std::fs::write(&config, format!("[log]\ndir = {:?}\nlevel = \"info\"\n", logs.display().to_string())).unwrap();
    let index = dir.join("index.html");
    let original = std::fs::read_to_string(&index).unwrap();
    let manifest = std::fs::read_to_string(dir.join("miniapp.json")).unwrap();

    with_dev(dir.to_str().unwrap(), &["--config", config.to_str().unwrap(), "--no-panel"], async |b| {
        // `booth new`'s page runs as created: device info arrives through the bridge.
        b.wait_for("return document.getElementById('device').textContent.indexOf('SN') >= 0", Duration::from_secs(10))
            .await;

        // Save → reload, five times, timed from just before the write to the new page's script.
        let mut times = Vec::new();
        for gen in 1..=5 {
            let html = page(&original, gen, "");
            let t0 = epoch_ms();
            std::fs::write(&index, html).unwrap();
            let ran =
                b.wait_for(&format!("return window.__gen === {gen} && window.__ranAt"), Duration::from_secs(5)).await;
            times.push(ran.as_f64().unwrap_or(f64::NAN) - t0);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!("save → reloaded page's script ran (ms): {times:.0?}; median {:.0}", sorted[2]);

        // A burst of saves is one reload.
        let (_, before) = b.control("GET", "/feed?after=0", "");
        let last = before["last"].as_u64().unwrap_or(0);
        for i in 0..10 {
            std::fs::write(&index, page(&original, 100, &format!("/* save {i} */"))).unwrap();
        }
        b.wait_for("return window.__gen === 100", Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (_, after) = b.control("GET", &format!("/feed?after={last}"), "");
        assert_eq!(main_sessions(&after), 1, "ten saves in a burst → one reload: {after}");

        // Page output reaches the log with the page and line: console, uncaught, unhandled.
        let noisy = "setTimeout(function () { throw new Error('boom-uncaught'); }); \
                     Promise.reject(new Error('boom-rejected'));";
        std::fs::write(&index, page(&original, 150, noisy)).unwrap();
        b.wait_for("return window.__gen === 150", Duration::from_secs(5)).await;
        let text = wait_logged(&logs, "boom-rejected");
        let line = text.lines().find(|l| l.contains("marker-150")).expect("console.log forwarded");
        assert!(line.contains("[main] index.html:"), "page and source line: {line}");
        assert!(line.contains(r#"marker-150 {"gen":150}"#), "{line}");
        let uncaught = wait_logged(&logs, "boom-uncaught");
        assert!(uncaught.lines().any(|l| l.contains("ERROR") && l.contains("Uncaught") && l.contains("boom-uncaught")));
        assert!(text.lines().any(|l| l.contains("Unhandled promise rejection") && l.contains("boom-rejected")));
        assert!(text.contains("reload: index.html changed"), "the terminal says what changed");

        // Deleting and recreating the folder (as some build tools do) keeps working.
        std::fs::remove_dir_all(&dir).unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("miniapp.json"), &manifest).unwrap();
        std::fs::write(&index, page(&original, 200, "")).unwrap();
        b.wait_for("return window.__gen === 200", Duration::from_secs(5)).await;
        std::fs::write(&index, page(&original, 201, "")).unwrap();
        b.wait_for("return window.__gen === 201", Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn simulator_panel_click_reaches_the_page() {
    with_dev(&fixture("basic"), &[], async |b| {
        b.client
            .execute("window.__codes = []; my.on('initQRListener', function (r) { window.__codes.push(r.data.qrCode); }); return true;", vec![])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let main = b.client.window().await.unwrap();

        switch_to_panel(b).await;
        let button = b.client.wait().for_element(Locator::Css(r#"button[data-device="scanner"][data-action="scan"]"#)).await.unwrap();
        let input = b.client.find(Locator::Css(r#"input[name="scanner.scan.code"]"#)).await.unwrap();
        input.send_keys("from-panel-42").await.unwrap();
        button.click().await.unwrap();
        b.wait_for("var r = document.querySelector('form[data-device=scanner] .result'); return r && r.textContent.indexOf('from-panel-42') >= 0", Duration::from_secs(5)).await;
        // The live list shows the device event.
        b.wait_for("return document.getElementById('feed').textContent.indexOf('scanner.code') >= 0", Duration::from_secs(5)).await;
        // A required field left empty is refused by the endpoint, and the panel says so.
        input.clear().await.unwrap();
        b.client.execute("document.querySelector('input[name=\"scanner.scan.code\"]').required = false; return true;", vec![]).await.unwrap();
        button.click().await.unwrap();
        b.wait_for("var r = document.querySelector('form[data-device=scanner] .result'); return r && r.className.indexOf('error') >= 0 && r.textContent.indexOf('code') >= 0", Duration::from_secs(5)).await;

        b.client.switch_to_window(main).await.unwrap();
        let codes = b.wait_for("return window.__codes.length === 1 && window.__codes", Duration::from_secs(5)).await;
        assert_eq!(codes, json!(["from-panel-42"]));
    })
    .await;
}

/// Switches the WebDriver session to the simulator panel (`sim.html`), waiting for it to open.
async fn switch_to_panel(b: &Booth) {
    let start = Instant::now();
    loop {
        for h in b.client.windows().await.unwrap() {
            b.client.switch_to_window(h.clone()).await.unwrap();
            if b.client.current_url().await.is_ok_and(|u| u.path().ends_with("sim.html")) {
                return;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no simulator panel window");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The payment simulator's outcome chosen in the panel decides the next payment the page makes:
/// insufficient funds is "-10" with nothing in the simulator's ledger, then success charges.
/// Liveness is off: the simulated person's head turns are too slow for a debug build's face
/// pipeline, and this test is about the panel and the payment.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn the_panel_chooses_the_payment_simulators_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[face]\nliveness = \"none\"\nmodels_dir = \"{}\"\ngallery_dir = \"{}\"\nkey_file = \"{}\"\n",
            booth_testkit::face::models_dir().display(),
            dir.path().join("gallery").display(),
            dir.path().join("gallery.key").display()
        ),
    )
    .unwrap();
    with_dev(&fixture("payment"), &["--config", config.to_str().unwrap()], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(10)).await;
        let main = b.client.window().await.unwrap();
        let choose = async |outcome: &str| {
            switch_to_panel(b).await;
            let select = b
                .client
                .wait()
                .for_element(Locator::Css(r#"select[name="payment.outcome.outcome"]"#))
                .await
                .expect("the payment's outcome in the panel");
            select.select_by_value(outcome).await.unwrap();
            b.client.find(Locator::Css(r#"button[data-device="payment"][data-action="outcome"]"#)).await.unwrap().click().await.unwrap();
            let js = format!(
                "var r = document.querySelector('form[data-device=payment] .result'); return r && r.textContent.indexOf('{outcome}') >= 0"
            );
            b.wait_for(&js, Duration::from_secs(5)).await;
            b.client.switch_to_window(main.clone()).await.unwrap();
        };
        let pay = |trade: &'static str| {
            format!(
                "window.events.length = 0; wxfaceapp.facePay({{amount: 250, outTradeNo: '{trade}', \
                 success: done, fail: done}});"
            )
        };

        // The simulated camera's person (the sample photo beside the models, turning its head).
        let (status, shown) = b.control("POST", "/sim/camera/show", r#"{"scene":"person"}"#);
        assert_eq!(status, 200, "{shown}");
        choose("insufficient-funds").await;
        let r = b.run_async(&pay("PANEL-1"), Value::Null).await;
        assert_eq!(r["replyCode"], "0", "{r}");
        let got = b.wait_for("return window.events.length >= 1 ? window.events : null", Duration::from_secs(60)).await;
        assert_eq!(got[0]["name"], "onFacePayPassEvent", "{got}");
        let got = b.wait_for("return window.events.length >= 2 ? window.events : null", Duration::from_secs(10)).await;
        assert_eq!(got[1]["name"], "onQueryPaymentFailedEvent", "{got}");
        assert_eq!(got[1]["res"]["replyCode"], "-10", "{got}");
        assert_eq!(got[1]["res"]["subCode"], "INSUFFICIENT_FUNDS", "{got}");

        choose("success").await;
        let r = b.run_async(&pay("PANEL-2"), Value::Null).await;
        assert_eq!(r["replyCode"], "0", "{r}");
        let got = b.wait_for("return window.events.length >= 2 ? window.events : null", Duration::from_secs(60)).await;
        assert_eq!(got[1]["name"], "onQueryPaymentSucEvent", "{got}");
        assert_eq!(got[1]["res"]["outTradeNo"], "PANEL-2", "{got}");
        let (status, sims) = b.control("GET", "/sim", "");
        assert_eq!(status, 200, "{sims}");
        let payment = sims["devices"].as_array().and_then(|d| d.iter().find(|d| d["id"] == "payment")).cloned();
        let state = payment.map(|p| p["state"].clone()).unwrap_or_default();
        assert_eq!(state["totalFen"], 250, "one charge in the simulator's ledger: {sims}");
        assert_eq!(state["ledger"][0]["outTradeNo"], "PANEL-2", "{state}");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn recording_replays_the_same_and_a_changed_package_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("flight.jsonl");
    let package = fixture("replay");
    with_booth(&package, &["--record", rec.to_str().unwrap()], async |b| {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, _) = b.control("POST", "/sim/scanner/scan", r#"{"code":"first"}"#);
        assert_eq!(status, 200);
        b.wait_for("return document.getElementById('codes').textContent === 'first;'", Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        b.control("POST", "/sim/scanner/scan", r#"{"code":"second"}"#);
        b.wait_for("return document.getElementById('codes').textContent === 'first;second;'", Duration::from_secs(5))
            .await;
    })
    .await;

    let records: Vec<Value> =
        std::fs::read_to_string(&rec).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "call").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "event").count(), 2, "{kinds:?}");
    let scan = records.iter().find(|r| r["type"] == "call" && r["taskId"] == "scan-1").expect("scan-1 recorded");
    assert_eq!(scan["result"]["data"]["qrCode"], "first");
    assert!(scan["latencyMs"].as_f64().unwrap() > 100.0, "{scan}");

    let out = booth(&["replay", rec.to_str().unwrap(), "--against", &package]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "replay of the same package: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("device events fed: 2 (0 before the page caught up)"), "{stdout}");
    assert!(stdout.contains("calls compared: 3; 0 differ, 0 missing, 0 extra"), "{stdout}");
    assert!(stdout.trim_end().ends_with("replay: SAME"), "{stdout}");

    // The same flow with a scan timeout shorter than the customer took: replay must notice.
    let changed = tmp.path().join("changed");
    std::fs::create_dir(&changed).unwrap();
    for f in ["miniapp.json", "index.html"] {
        let text = std::fs::read_to_string(Path::new(&package).join(f)).unwrap();
        std::fs::write(changed.join(f), text.replace("var SCAN_TIMEOUT = 20000;", "var SCAN_TIMEOUT = 1000;")).unwrap();
    }
    let out = booth(&["replay", rec.to_str().unwrap(), "--against", changed.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("differs: main my.getQRCode #2: result."), "{stdout}");
    assert!(stdout.trim_end().ends_with("replay: DIFFERENT"), "{stdout}");
}
