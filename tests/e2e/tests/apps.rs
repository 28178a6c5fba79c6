//! Two mini-programs on the two screens: the front app (`[package]`) starts a catalogue app on
//! the second monitor with launchMp, they talk with postMsg / onRemoteMessage, each keeps its
//! own storage, and the back app's exitMp leaves the front one running.

use booth_e2e::{fixture, free_port, serve_dir, with_booth, Booth};
use serde_json::{json, Value};
use std::time::Duration;

fn second_monitor_x() -> i64 {
    std::env::var("BOOTH_E2E_SECOND_MONITOR_X").ok().and_then(|x| x.parse().ok()).unwrap_or(1280)
}

/// A booth.toml whose catalogue holds the back-screen fixture as `cashier`.
fn config() -> String {
    let dir = std::env::temp_dir().join(format!("booth-e2e-apps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("config dir");
    let file = dir.join("booth.toml");
    let text = format!("[apps.cashier]\nsource = {}\nname = \"收银\"\n", Value::from(fixture("apps-back")));
    std::fs::write(&file, text).expect("booth.toml");
    file.display().to_string()
}

/// `wxfaceapp.<name>(params)` in the current window: `{ok, res}` from success or fail.
async fn wx(b: &Booth, name: &str, params: Value) -> Value {
    b.run_async(
        "const [name, p] = arg; wxfaceapp[name](Object.assign({}, p, { \
           success: (res) => done({ok: true, res}), fail: (res) => done({ok: false, res}) }));",
        json!([name, params]),
    )
    .await
}

/// Runs `f` with the WebDriver session switched to the secondary window, then switches back.
/// Under `booth dev` the simulator panel is a window too: the secondary is the one showing the
/// page `/health` names for it.
async fn on_back<T>(b: &Booth, f: impl AsyncFnOnce(&Booth) -> T) -> T {
    let main = b.client.window().await.expect("current window");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let other = 'found: loop {
        let want =
            b.control("GET", "/health", "").1["windows"]["secondary"]["url"].as_str().unwrap_or_default().to_string();
        let handles = b.client.windows().await.expect("windows");
        for h in handles.into_iter().filter(|h| *h != main) {
            b.client.switch_to_window(h.clone()).await.expect("switch to a window");
            let url = b.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            if !want.is_empty() && url == want {
                break 'found h;
            }
        }
        b.client.switch_to_window(main.clone()).await.expect("switch back");
        assert!(std::time::Instant::now() < deadline, "no secondary window showing {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    b.client.switch_to_window(other).await.expect("switch to the secondary window");
    let r = f(b).await;
    b.client.switch_to_window(main).await.expect("switch back");
    r
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn launch_mp_puts_the_catalogue_app_on_the_second_monitor_and_messages_go_both_ways() {
    let config = config();
    with_booth(&fixture("apps-front"), &["--config", &config], async |b| {
        b.client.execute("localStorage.setItem('shared-key', 'front'); return true;", vec![]).await.expect("storage");

        // Unknown app, a page outside the package, and nothing on the back screen to talk to.
        let launch = |app: &str, page: &str| {
            json!({"appId": app, "hostAppId": "gh_e2e", "miniappType": 0, "launchPage": page, "needLogin": 0})
        };
        for bad in [launch("nobody", ""), launch("cashier", "../apps-front/index.html"), launch("cashier", "pages/none")] {
            let r = wx(b, "launchMp", bad.clone()).await;
            assert_eq!((r["ok"].as_bool(), r["res"]["replyCode"].as_str()), (Some(false), Some("-4")), "{bad}: {r}");
        }
        let r = wx(b, "postMsg", json!({"targetAppid": "cashier", "content": "早"})).await;
        assert_eq!(r["res"]["replyCode"], "-5", "{r}");

        let r = wx(b, "launchMp", launch("cashier", "pages/pay")).await;
        assert_eq!(r, json!({"ok": true, "res": {"replyCode": "0", "reply": "suc calling"}}));
        let (_, health) = b.control("GET", "/health", "");
        let w = &health["windows"]["secondary"];
        assert_eq!(w["visible"], true, "{health}");
        assert_eq!(w["x"].as_i64(), Some(second_monitor_x()), "on the second monitor: {health}");
        assert_eq!(w["url"], "booth://cashier/pages/pay.html", "{health}");

        // Front → back, in order (postMsg waits for the back page to listen).
        for i in 0..20 {
            let r = wx(b, "postMsg", json!({"targetAppid": "cashier", "content": format!("第{i}条")})).await;
            assert_eq!(r["res"]["replyCode"], "0", "{i}: {r}");
        }
        for (bad, code) in [
            (json!({"targetAppid": "front", "content": "x"}), "-2"),
            (json!({"targetAppid": "cashier", "content": "长".repeat(2001)}), "-3"),
            (json!({"targetAppid": "cashier"}), "-4"),
        ] {
            let r = wx(b, "postMsg", bad.clone()).await;
            assert_eq!(r["res"]["replyCode"], code, "{bad}: {r}");
        }
        let (got, stored, own) = on_back(b, async |b| {
            let got = b.wait_for("return window.received.length >= 20 && window.received", Duration::from_secs(5)).await;
            let stored = b.client.execute("return window.storedAtLoad;", vec![]).await.expect("storage");
            // Back → front.
            let own = wx(b, "postMsg", json!({"targetAppid": "front", "content": "收到"})).await;
            (got, stored, own)
        })
        .await;
        let want: Vec<Value> = (0..20).map(|i| json!({"senderAppid": "front", "content": format!("第{i}条")})).collect();
        assert_eq!(got, Value::from(want), "every message once, in order");
        assert_eq!(stored, Value::Null, "the back app's origin does not see the front app's localStorage");
        assert_eq!(own["res"]["replyCode"], "0", "{own}");
        let front = b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await;
        assert_eq!(front, json!([{"senderAppid": "cashier", "content": "收到"}]));

        // The back app exits alone; the front one keeps running and has nobody to talk to.
        let r = on_back(b, async |b| wx(b, "exitMp", json!({})).await).await;
        assert_eq!(r["ok"], true, "{r}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = wx(b, "postMsg", json!({"targetAppid": "cashier", "content": "还在吗"})).await;
            if r["res"]["replyCode"] == "-5" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the back app is still there: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = b.client.current_url().await.expect("url");
        assert_eq!(url.as_str(), "booth://localhost/index.html", "the front app keeps running");
        assert_eq!(b.client.execute("return localStorage.getItem('shared-key');", vec![]).await.expect("s"), "front");
    })
    .await;
}

/// A copy of a fixture folder under `parent/name` (the back folder of `booth dev` is named by
/// its folder, and the test edits it).
fn copy_fixture(name: &str, parent: &std::path::Path, as_name: &str) -> std::path::PathBuf {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read fixture") {
            let e = e.expect("entry");
            let target = to.join(e.file_name());
            if e.file_type().expect("type").is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), &target).expect("copy");
            }
        }
    }
    let to = parent.join(as_name);
    copy(std::path::Path::new(&fixture(name)), &to);
    to
}

/// The simulator's two-screen state (`GET /sim`, device `apps`).
fn sim_state(b: &Booth) -> Value {
    let (_, all) = b.control("GET", "/sim", "");
    all["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == "apps"))
        .map(|d| d["state"].clone())
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn booth_dev_runs_a_front_and_back_pair_from_two_folders() {
    let parent = tempfile::tempdir().expect("tempdir");
    let back = copy_fixture("apps-back", parent.path(), "cashier-desk");
    booth_e2e::with_dev(&fixture("apps-front"), &["--back", &back.display().to_string()], async |b| {
        // The back folder is in the catalogue under its folder's name.
        let launch = json!({"appId": "cashier-desk", "hostAppId": "gh_dev", "miniappType": 0, "launchPage": "pages/pay", "needLogin": 0});
        let r = wx(b, "launchMp", launch).await;
        assert_eq!(r, json!({"ok": true, "res": {"replyCode": "0", "reply": "suc calling"}}));
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["secondary"]["url"], "booth://cashier-desk/pages/pay.html", "{health}");
        let r = wx(b, "postMsg", json!({"targetAppid": "cashier-desk", "content": "开发"})).await;
        assert_eq!(r["res"]["replyCode"], "0", "{r}");
        let got = on_back(b, async |b| b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await).await;
        assert_eq!(got, json!([{"senderAppid": "front", "content": "开发"}]));

        // The simulator panel sees both screens' apps and posts as the other screen's app.
        assert_eq!(sim_state(b), json!({"front": "front", "back": "cashier-desk", "apps": ["cashier-desk"]}));
        let (status, r) = b.control("POST", "/sim/apps/post", r#"{"to": "back", "content": "面板"}"#);
        assert_eq!((status, &r["result"]), (200, &json!({"senderAppid": "front", "targetAppid": "cashier-desk"})), "{r}");
        let (status, r) = b.control("POST", "/sim/apps/post", r#"{"to": "front", "content": "后屏"}"#);
        assert_eq!(status, 200, "{r}");
        let front = b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await;
        assert_eq!(front, json!([{"senderAppid": "cashier-desk", "content": "后屏"}]));
        let (status, r) = b.control("POST", "/sim/apps/post", r#"{"to": "back"}"#);
        assert_eq!(status, 400, "content is required: {r}");

        // Hot reload covers the back folder: a save there reloads the back screen's page.
        let got = on_back(b, async |b| {
            let got = b.wait_for("return window.received.length > 1 && window.received", Duration::from_secs(5)).await;
            b.client.execute("window.beforeReload = true; return true;", vec![]).await.expect("mark");
            got
        })
        .await;
        assert_eq!(got[1], json!({"senderAppid": "front", "content": "面板"}), "{got}");
        let page = back.join("pages/pay.html");
        let text = std::fs::read_to_string(&page).expect("read page");
        std::fs::write(&page, text.replace("E2E two screens</h1>", "E2E two screens (saved)</h1>")).expect("save");
        let title = on_back(b, async |b| {
            b.wait_for(
                "return !window.beforeReload && document.readyState === 'complete' && document.getElementById('title').textContent",
                Duration::from_secs(10),
            )
            .await
        })
        .await;
        assert_eq!(title, "E2E two screens (saved)");

        // The panel ends the back app and starts it again, then switches the front screen.
        let (status, r) = b.control("POST", "/sim/apps/back", "{}");
        assert_eq!((status, &r["result"]["ended"]), (200, &json!(true)), "{r}");
        assert_eq!(sim_state(b)["back"], Value::Null);
        let (status, r) = b.control("POST", "/sim/apps/back", r#"{"appId": "nobody"}"#);
        assert_eq!(status, 400, "{r}");
        let (status, r) = b.control("POST", "/sim/apps/back", r#"{"appId": "cashier-desk", "page": "pages/pay"}"#);
        assert_eq!(status, 200, "{r}");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["secondary"]["url"], "booth://cashier-desk/pages/pay.html", "{health}");
        assert_eq!(sim_state(b)["back"], "cashier-desk");
        let (status, r) = b.control("POST", "/sim/apps/front", r#"{"appId": "cashier-desk"}"#);
        assert_eq!(status, 200, "{r}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while b.control("GET", "/health", "").1["windows"]["main"]["url"] != "booth://cashier-desk/index.html" {
            assert!(std::time::Instant::now() < deadline, "the front screen did not switch");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, r) = b.control("POST", "/sim/apps/front", "{}");
        assert_eq!(status, 200, "{r}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while b.control("GET", "/health", "").1["windows"]["main"]["url"] != "booth://localhost/index.html" {
            assert!(std::time::Instant::now() < deadline, "the front screen did not come back to [package]");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// A remote catalogue app (`source` an http URL, here a loopback server): on its own origin,
/// with the permissions booth.toml grants it and no more, and none of the local apps' storage.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_remote_catalogue_app_runs_on_its_own_origin_with_the_granted_permissions() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><meta charset=\"utf-8\"><title>remote app</title><p>remote</p><script>\n\
         window.received = []; window.storedAtLoad = localStorage.getItem('shared-key');\n\
         wxfaceapp.onRemoteMessage(function (res) { window.received.push(res); });\n</script>",
    )
    .expect("index.html");
    let port = free_port();
    let mut server = serve_dir(&site.path().display().to_string(), port);
    let origin = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nhome = false\n[apps.remote]\nsource = \"{origin}/\"\npermissions = [\"display\"]\n\
             [apps.cashier]\nsource = {}\n",
            Value::from(fixture("apps-back"))
        ),
    )
    .expect("booth.toml");
    with_booth(&fixture("apps-front"), &["--config", &config.display().to_string()], async |b| {
        // [package] in front (two catalogue apps and `home = false`: no home screen).
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["main"]["url"], "booth://localhost/index.html", "{health}");
        b.client.execute("localStorage.setItem('shared-key', 'front'); return true;", vec![]).await.expect("storage");
        let launch = json!({"appId": "remote", "hostAppId": "gh_e2e", "miniappType": 0, "launchPage": "", "needLogin": 0});
        let r = wx(b, "launchMp", launch).await;
        assert_eq!(r, json!({"ok": true, "res": {"replyCode": "0", "reply": "suc calling"}}));
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["secondary"]["url"], format!("{origin}/"), "{health}");
        let r = wx(b, "postMsg", json!({"targetAppid": "remote", "content": "远程"})).await;
        assert_eq!(r["res"]["replyCode"], "0", "{r}");

        let (got, page_origin, stored, keyboard, own) = on_back(b, async |b| {
            let got = b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await;
            let page_origin = b.client.execute("return location.origin;", vec![]).await.expect("origin");
            let stored = b.client.execute("return window.storedAtLoad;", vec![]).await.expect("storage");
            b.client.execute("localStorage.setItem('shared-key', 'remote'); return true;", vec![]).await.expect("s");
            // Not granted: keyboard. Granted: display (postMsg).
            let keyboard = wx(b, "registKeyBoard", json!({"keyCodeList": [{"keyCode": "144"}]})).await;
            let own = wx(b, "postMsg", json!({"targetAppid": "front", "content": "远程收到"})).await;
            (got, page_origin, stored, keyboard, own)
        })
        .await;
        assert_eq!(got, json!([{"senderAppid": "front", "content": "远程"}]));
        assert_eq!(page_origin, origin.as_str(), "the remote app keeps its own origin");
        assert_eq!(stored, Value::Null, "the remote app does not see the front app's localStorage");
        assert_eq!(keyboard["ok"], false, "{keyboard}");
        assert_eq!(keyboard["res"]["errorCode"], "PERMISSION_DENIED", "{keyboard}");
        let why = keyboard["res"].to_string();
        assert!(why.contains("[apps.remote] permissions") && why.contains("keyboard"), "{keyboard}");
        assert_eq!(own["res"]["replyCode"], "0", "display is granted: {own}");
        let front = b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await;
        assert_eq!(front, json!([{"senderAppid": "remote", "content": "远程收到"}]), "known by its appId");
        let mine = b.client.execute("return localStorage.getItem('shared-key');", vec![]).await.expect("s");
        assert_eq!(mine, "front", "the remote app's storage is its own");

        // A local catalogue app replaces it on the back screen and sees neither's storage.
        let launch = json!({"appId": "cashier", "hostAppId": "gh_e2e", "miniappType": 0, "launchPage": "pages/pay", "needLogin": 0});
        let r = wx(b, "launchMp", launch).await;
        assert_eq!(r["ok"], true, "{r}");
        let stored = on_back(b, async |b| {
            b.wait_for("return document.readyState === 'complete' && location.host === 'cashier'", Duration::from_secs(10)).await;
            b.client.execute("return window.storedAtLoad;", vec![]).await.expect("storage")
        })
        .await;
        assert_eq!(stored, Value::Null, "cashier sees neither the front's nor the remote app's storage");
    })
    .await;
    let _ = server.kill();
    let _ = server.wait();
}
