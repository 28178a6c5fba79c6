//! End to end, a hostile mini-program in a real booth window: it calls Booth's internal commands
//! itself (a forged keyboard-wedge scan, a key, activity, the administrator's gesture and
//! requests), types a synthetic scanner burst, spies on `fetch`, `Headers`, `JSON.stringify`,
//! `Object.prototype` and the webview's message handler for Booth's page key, and tries the
//! same from an iframe of its own, a `javascript:` URL and a cross-origin iframe. Every attempt
//! is refused; a real scan still arrives; the spies never see the key.
//! Needs Xvfb, a window manager and tauri-driver: run through `scripts/test-all`.

use booth_e2e::{fixture, free_port, serve_dir, with_booth, Booth};
use serde_json::{json, Value};
use std::time::Duration;

const IGNORE: &str = "needs Xvfb + tauri-driver; run by scripts/test-all";

fn xdo(args: &[&str]) {
    let out = std::process::Command::new("xdotool").args(args).output().expect("xdotool");
    assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn wedge_config(dir: &std::path::Path) -> String {
    let path = dir.join("booth.toml");
    std::fs::write(&path, "[scanner]\nwedge = \"page\"\n").expect("booth.toml");
    path.display().to_string()
}

/// `__TAURI_INTERNALS__.invoke(cmd, args, options)` from the page: `{ok}` or `{refused}`.
async fn invoke(b: &Booth, cmd: &str, args: Value, options: Value) -> Value {
    b.run_async(
        "window.__TAURI_INTERNALS__.invoke(arg[0], arg[1], arg[2]).then(function (r) { done({ok: r === undefined ? null : r}); }, function (e) { done({refused: e}); });",
        json!([cmd, args, options]),
    )
    .await
}

fn assert_refused(what: &str, r: &Value) {
    assert!(r.get("refused").is_some(), "{what} was accepted: {r}");
}

/// A real scanner burst (xdotool types it into the focused page), retried when a loaded machine
/// stretched it into typing; returns the getQRCode reply.
async fn real_scan(b: &Booth, code: &str) -> Value {
    for attempt in 1..=5 {
        b.client.execute("document.getElementById('field').value = ''; return true;", vec![]).await.expect("clear");
        b.ampe_pending("qr", json!({"action": "getQRCode", "taskId": "real", "params": {"timeout": 3000}})).await;
        xdo(&["type", "--delay", "8", code]);
        xdo(&["key", "Return"]);
        let qr = b.ampe_result("qr").await;
        if qr["success"] == true {
            return qr;
        }
        eprintln!("attempt {attempt}: the burst arrived as typing, trying again");
    }
    panic!("no burst of five was taken as a scan");
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_page_cannot_forge_input_or_reach_internal_commands() {
    let _ = IGNORE;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wedge_config(dir.path());
    with_booth(&fixture("hostile"), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;

        // A getQRCode waits for a scan while the page forges some.
        b.ampe_pending("forged", json!({"action": "getQRCode", "taskId": "f", "params": {"timeout": 2500}})).await;
        let scan = json!({"kind": "scan", "payload": {"code": "FORGED-0001"}});
        assert_refused("booth_input scan", &invoke(b, "booth_input", scan.clone(), json!({})).await);
        let guessed = json!({"headers": {"Booth-Page-Key": "0".repeat(64)}});
        let r = invoke(b, "booth_input", scan.clone(), guessed).await;
        assert_refused("booth_input scan with a guessed key", &r);
        assert_eq!(r["refused"]["errorCode"], "PERMISSION_DENIED", "{r}");
        for (kind, payload) in [
            ("key", json!({"code": "Numpad1"})),
            ("idNumber", json!({"action": "submit", "value": "110101199003070011"})),
            ("face", json!({"action": "consent", "accepted": true})),
        ] {
            let r = invoke(b, "booth_input", json!({"kind": kind, "payload": payload}), json!({})).await;
            assert_refused(&format!("booth_input {kind}"), &r);
        }
        for kind in ["activity", "beat", "admin", "start", "launcher"] {
            let r = invoke(b, "booth_shell", json!({"kind": kind, "payload": {}}), json!({})).await;
            assert_refused(&format!("booth_shell {kind}"), &r);
        }
        for kind in ["state", "pin", "settings", "exit"] {
            let r = invoke(b, "booth_admin", json!({"kind": kind, "payload": {"pin": "0000"}}), json!({})).await;
            assert_refused(&format!("booth_admin {kind}"), &r);
        }
        // A synthetic scanner burst: thirteen fast keys and Enter, as events the page made.
        b.client
            .execute(
                "var f = document.getElementById('field'); f.focus(); \
                 '6901234567892'.split('').concat(['Enter']).forEach(function (k) { \
                   f.dispatchEvent(new KeyboardEvent('keydown', {key: k, code: k === 'Enter' ? 'Enter' : 'Digit' + k, bubbles: true})); }); \
                 return true;",
                vec![],
            )
            .await
            .expect("synthetic keys");
        let forged = b.ampe_result("forged").await;
        assert_eq!(forged["success"], false, "a forged scan answered getQRCode: {forged}");
        assert_eq!(b.client.execute("return window.seen.qr;", vec![]).await.unwrap(), json!([]));

        // The bridge answers only for the dialects of the manifest, also when asked directly.
        let session = b
            .run_async(
                "var i = window.__TAURI_INTERNALS__; var ch = {toJSON: function () { return '__CHANNEL__:' + i.transformCallback(function () {}); }}; \
                 i.invoke('booth_attach', {events: ch, url: 'x'}).then(function (r) { done(r.session); }, done);",
                Value::Null,
            )
            .await;
        let r = invoke(
            b,
            "booth_call",
            json!({"session": session, "dialect": "wxfaceapp", "name": "listenCodePayment", "params": {}}),
            json!({}),
        )
        .await;
        assert_eq!(r["ok"]["body"]["errorCode"], "PERMISSION_DENIED", "{r}");
        let r = invoke(
            b,
            "booth_subscribe",
            json!({"session": session.as_u64().expect("session id") + 1000, "dialect": "my", "name": "initQRListener", "on": true}),
            json!({}),
        )
        .await;
        assert_refused("booth_subscribe for a session not its own", &r);
        // That attach replaced the runtime's session: a reload gives the page its own again.
        b.client.refresh().await.expect("reload");
        b.wait_for("return window.ready && document.readyState === 'complete'", Duration::from_secs(10)).await;

        // Booth's own scripts still get through, and no spy saw their key.
        booth_e2e::activate_window("E2E hostile — Booth$");
        b.client.execute("document.getElementById('field').focus(); return true;", vec![]).await.expect("focus");
        let qr = real_scan(b, "6901234567892").await;
        assert_eq!(qr["data"], json!({"qrCode": "6901234567892"}), "{qr}");
        let spied = b.client.execute("return window.spied;", vec![]).await.unwrap();
        let spied_text = spied.to_string();
        assert!(!spied_text.contains("Booth-Page-Key") && !spied_text.to_lowercase().contains("booth-page-key"), "{spied}");
        assert!(!spied_text.contains("booth_input"), "Booth's scan went through the page's spies: {spied}");
        // The page shadowed the message handler's `postMessage`: its lone calls (the getQRCode
        // above) still went to Booth, and the spy saw none of them.
        assert_eq!(b.client.execute("return window.webkitReplaced;", vec![]).await.unwrap(), json!(true));
        assert!(!spied_text.contains("webkit.postMessage"), "{spied}");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["bridge"]["panicsContained"], 0, "{health}");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn iframes_and_javascript_urls_get_no_more_than_the_page() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        site.path().join("evil.html"),
        r#"<!doctype html><meta charset="utf-8"><script>
  // Another origin inside the package's page: what can it reach?
  var said = { tauri: typeof window.__TAURI_INTERNALS__, my: typeof window.my, ipc: typeof window.ipc, parent: 'blocked' };
  try { said.parent = typeof parent.__TAURI_INTERNALS__; } catch (e) { said.parent = 'blocked'; }
  function tell() { parent.postMessage({ from: 'evil', value: said }, '*'); }
  // A request straight to Tauri's IPC address, with a guessed invoke key: WebKit leaves it
  // unanswered; it is given two seconds.
  setTimeout(function () { if (!said.fetch) { said.fetch = 'no answer'; tell(); } }, 2000);
  fetch('ipc://localhost/booth_input', { method: 'POST', body: '{"kind":"scan","payload":{"code":"FROM-EVIL-1"}}',
    headers: { 'Content-Type': 'application/json', 'Tauri-Callback': '1', 'Tauri-Error': '2', 'Tauri-Invoke-Key': 'guess' } })
    .then(function (r) { said.fetch = r.status + ' ' + r.headers.get('Tauri-Response'); tell(); },
          function (e) { said.fetch = 'failed: ' + e; tell(); });
</script>"#,
    )
    .expect("evil.html");
    let port = free_port();
    let mut server = serve_dir(&site.path().display().to_string(), port);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wedge_config(dir.path());
    // The package lets its pages show that origin (manifest `origins`), so the iframe loads, and
    // the origin is even in the capability that lets pages reach the bridge: it still gets
    // nothing, having neither Tauri's scripts nor its invoke key.
    let package = dir.path().join("hostile");
    std::fs::create_dir(&package).expect("package dir");
    for f in ["index.html", "frame.html"] {
        std::fs::copy(std::path::Path::new(&fixture("hostile")).join(f), package.join(f)).expect("copy the fixture");
    }
    let manifest =
        std::fs::read_to_string(std::path::Path::new(&fixture("hostile")).join("miniapp.json")).expect("manifest");
    let mut manifest: Value = serde_json::from_str(&manifest).expect("manifest JSON");
    manifest["origins"] = json!([format!("http://127.0.0.1:{port}")]);
    std::fs::write(package.join("miniapp.json"), manifest.to_string()).expect("manifest");
    with_booth(&package.display().to_string(), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        b.client
            .execute(
                "window.said = []; window.addEventListener('message', function (e) { window.said.push({origin: e.origin, data: e.data}); }); \
                 var f = document.createElement('iframe'); f.src = 'frame.html'; document.body.appendChild(f); \
                 var j = document.createElement('iframe'); \
                 j.src = \"javascript:parent.__TAURI_INTERNALS__.invoke('booth_input', {kind: 'scan', payload: {code: 'FROM-JS-URL'}}).then(function (r) { parent.postMessage({from: 'jsurl', value: {ok: r}}, '*'); }, function (e) { parent.postMessage({from: 'jsurl', value: {refused: e}}, '*'); }); 'x'\"; \
                 document.body.appendChild(j); \
                 var x = document.createElement('iframe'); x.src = arguments[0]; document.body.appendChild(x); return true;",
                vec![json!(format!("http://127.0.0.1:{port}/evil.html"))],
            )
            .await
            .expect("frames");
        // A javascript: URL in the page's own window runs as the page does.
        b.client
            .execute(
                "location.href = \"javascript:void window.__TAURI_INTERNALS__.invoke('booth_input', {kind: 'scan', payload: {code: 'FROM-JS-TOP'}}).then(function (r) { window.jsTop = {ok: r}; }, function (e) { window.jsTop = {refused: e}; })\"; return true;",
                vec![],
            )
            .await
            .expect("javascript: URL");

        let find = |from: &'static str, what: Option<&'static str>| {
            let what = what.map(|w| format!(" && m.data.what === '{w}'")).unwrap_or_default();
            format!("var m = window.said.find(function (m) {{ return m.data && m.data.from === '{from}'{what}; }}); return m && m.data.value;")
        };
        let own = b.wait_for(&find("frame", Some("own")), Duration::from_secs(10)).await;
        assert_eq!(own, json!({"tauri": "undefined", "my": "undefined", "ipc": "undefined"}), "the package's iframe has its own IPC");
        let scan = b.wait_for(&find("frame", Some("scan")), Duration::from_secs(10)).await;
        assert_refused("a scan from the package's iframe", &scan);
        let top = b.wait_for("return window.jsTop", Duration::from_secs(10)).await;
        assert_refused("a scan from a javascript: URL", &top);

        let evil = b.wait_for(&find("evil", None), Duration::from_secs(10)).await;
        // A javascript: URL as an iframe's src does not run under WebKitGTK; had it run, it
        // would have been refused like the page's own.
        let js = b.client.execute(&find("jsurl", None), vec![]).await.unwrap();
        assert!(js.is_null() || js.get("refused").is_some(), "a javascript: iframe reached booth_input: {js}");
        assert_eq!(evil["tauri"], "undefined", "{evil}");
        assert_eq!(evil["my"], "undefined", "{evil}");
        assert_eq!(evil["parent"], "blocked", "{evil}");
        assert_ne!(evil["fetch"].as_str().map(|s| s.ends_with(" ok")), Some(true), "{evil}");
        assert_eq!(b.client.execute("return window.seen.qr;", vec![]).await.unwrap(), json!([]));
    })
    .await;
    let _ = server.kill();
    let _ = server.wait();
}

/// A remote package (a URL) gets the permissions booth.toml grants it and no more: without
/// `[package] remote_permissions` only device information, and the refusal names that key; the
/// site's own `/miniapp.json` narrows the grant and never widens it.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_remote_package_gets_only_what_booth_toml_grants() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><meta charset=\"utf-8\"><title>remote</title><p>remote</p>",
    )
    .expect("index.html");
    let port = free_port();
    let mut server = serve_dir(&site.path().display().to_string(), port);
    let url = format!("http://127.0.0.1:{port}/index.html");
    let dir = tempfile::tempdir().expect("tempdir");
    let granted = "[package]\nremote_permissions = [\"scanner\"]\n";
    // The third run: booth.toml grants the scanner, the site's own /miniapp.json takes it away
    // (and asks for the printer, which booth.toml does not grant: no widening).
    for (grant, site_manifest, scanner_allowed) in
        [("", None, false), (granted, None, true), (granted, Some(r#"{"permissions":["printer"]}"#), false)]
    {
        let config = dir.path().join("booth.toml");
        std::fs::write(&config, grant).expect("booth.toml");
        if let Some(m) = site_manifest {
            std::fs::write(site.path().join("miniapp.json"), m).expect("miniapp.json");
        }
        with_booth(&url, &["--config", &config.display().to_string()], async |b| {
            let info = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": "i"})).await;
            assert_eq!(info["success"], true, "device information needs no permission: {info}");
            let qr = b
                .ampe(json!({"action": "getQRCode", "event": "open", "taskId": "q", "params": {"timeout": 300}}))
                .await;
            if scanner_allowed {
                assert_ne!(qr["errorCode"], "PERMISSION_DENIED", "granted, yet refused: {qr}");
            } else if site_manifest.is_some() {
                assert_eq!(qr["errorCode"], "PERMISSION_DENIED", "the site's manifest narrows: {qr}");
                let print =
                    b.ampe(json!({"action": "receiptPrinting", "event": "open", "taskId": "p", "params": {}})).await;
                assert_eq!(print["errorCode"], "PERMISSION_DENIED", "the site cannot widen: {print}");
            } else {
                assert_eq!(qr["errorCode"], "PERMISSION_DENIED", "{qr}");
                let message = qr["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("booth.toml [package] remote_permissions") && message.contains("scanner"),
                    "{qr}"
                );
            }
        })
        .await;
    }
    let _ = server.kill();
    let _ = server.wait();
}
