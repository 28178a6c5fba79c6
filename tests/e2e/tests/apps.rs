//! Two mini-programs on the two screens: the front app (`[package]`) starts a catalogue app on
//! the second monitor with launchMp, they talk with postMsg / onRemoteMessage, each keeps its
//! own storage, and the back app's exitMp leaves the front one running.

use booth_e2e::{fixture, with_booth, Booth};
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

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn booth_dev_runs_a_front_and_back_pair_from_two_folders() {
    booth_e2e::with_dev(&fixture("apps-front"), &["--back", &fixture("apps-back")], async |b| {
        // The back folder is in the catalogue under its folder's name.
        let launch = json!({"appId": "apps-back", "hostAppId": "gh_dev", "miniappType": 0, "launchPage": "pages/pay", "needLogin": 0});
        let r = wx(b, "launchMp", launch).await;
        assert_eq!(r, json!({"ok": true, "res": {"replyCode": "0", "reply": "suc calling"}}));
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["secondary"]["url"], "booth://apps-back/pages/pay.html", "{health}");
        let r = wx(b, "postMsg", json!({"targetAppid": "apps-back", "content": "开发"})).await;
        assert_eq!(r["res"]["replyCode"], "0", "{r}");
        let got = on_back(b, async |b| b.wait_for("return window.received.length > 0 && window.received", Duration::from_secs(5)).await).await;
        assert_eq!(got, json!([{"senderAppid": "front", "content": "开发"}]));
    })
    .await;
}
