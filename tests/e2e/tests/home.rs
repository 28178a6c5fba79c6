//! A terminal with several apps (`[apps]` of booth.toml): Booth's home screen shows them, a
//! touch opens one, `exitMp` / `deviceConfig exitApplet` / the idle reset come back to it, and
//! the administrator's gesture works there. `ft.finOpenOtherApp` hands the main window from one
//! app to another; each app keeps its own localStorage, cookies and IndexedDB, a link cannot
//! take a window to another app, and an app that closes itself leaves nothing behind.

use booth_e2e::{fixture, free_port, health, health_until, main_url, Booth};
use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::Duration;

fn xdo(args: &[&str]) -> String {
    let out = std::process::Command::new("xdotool").args(args).output().expect("xdotool");
    assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A touch at screen coordinates, as the X server delivers it.
fn tap(x: i32, y: i32) {
    xdo(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
}

/// Waits for the home screen in the main window, with its tiles drawn.
async fn at_home(b: &Booth) {
    at_home_with(b, 3).await;
}

/// Waits for the home screen in the main window, with its `tiles` tiles drawn.
async fn at_home_with(b: &Booth, tiles: usize) {
    health_until(b, "the home screen", Duration::from_secs(15), |h| {
        main_url(h).ends_with("/home.html") && h["shell"]["home"] == true
    })
    .await;
    b.wait_for(&format!("return document.querySelectorAll('.app').length === {tiles}"), Duration::from_secs(5)).await;
}

/// Touches the home screen's tile of `app` ("" for `[package]`) and waits for its page.
async fn open(b: &Booth, app: &str, url: &str) {
    let tile = b.client.find(Locator::Css(&format!("[data-app='{app}']"))).await.expect("tile");
    tile.click().await.expect("touch the tile");
    arrive(b, url).await;
}

/// Waits until the main window shows `url` with Booth's runtime loaded.
async fn arrive(b: &Booth, url: &str) {
    health_until(b, url, Duration::from_secs(10), |h| main_url(h) == url).await;
    b.wait_for("return !!window.__BOOTH__ && document.readyState === 'complete'", Duration::from_secs(10)).await;
}

/// What the page's origin keeps: `{local, cookie, idb}`.
async fn probe(b: &Booth) -> Value {
    b.run_async("window.probe().then(done, (e) => done({error: String(e)}));", Value::Null).await
}

async fn plant(b: &Booth, v: &str) {
    let r = b.run_async("window.plant(arg).then(done, (e) => done({error: String(e)}));", json!(v)).await;
    assert_eq!(r, true, "plant: {r}");
}

/// `<dialect>.<name>(params)` in the main window: `{ok, res}` from success or fail.
async fn call(b: &Booth, dialect: &str, name: &str, params: Value) -> Value {
    b.run_async(
        "const [d, name, p] = arg; window[d][name](Object.assign({}, p, { \
           success: (res) => done({ok: true, res}), fail: (res) => done({ok: false, res}) }));",
        json!([dialect, name, params]),
    )
    .await
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn home_screen_apps_their_own_storage_and_the_way_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[kiosk]\nidle_s = 8\nidle_warning_s = 0\n\
             [apps.cashier]\nsource = {}\nname = \"收银\"\n\
             [apps.report]\nsource = {}\nname = \"报告打印\"\nicon = \"icon.png\"\n\
             [apps.notes]\ncommand = [\"sh\", \"-c\", {}]\nmax_s = 20\n",
            Value::from(fixture("apps-back")),
            Value::from(fixture("apps-report")),
            Value::from(format!("echo started > '{}'; sleep 1", dir.path().join("ran").display())),
        ),
    )
    .expect("booth.toml");
    let port = free_port();
    let args = vec![
        "kiosk".to_string(),
        fixture("apps-front"),
        "--sim".into(),
        "--config".into(),
        config.display().to_string(),
        "--control-port".into(),
        port.to_string(),
    ];
    let b = Booth::start(args, port).await;
    let outcome = {
        use futures::FutureExt;
        std::panic::AssertUnwindSafe(home_flow(&b, dir.path())).catch_unwind().await
    };
    b.close().await;
    // A kiosk refuses the window manager's close (how WebDriver ends a session): stop it the
    // way a supervisor does.
    let _ = std::process::Command::new("pkill")
        .args(["-TERM", "-f", &format!("booth kiosk .*--control-port {port}")])
        .status();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn home_flow(b: &Booth, dir: &std::path::Path) {
    // The home screen first: [package], then the catalogue; an icon, or the name's first letter.
    at_home(b).await;
    let tiles = b
        .client
        .execute(
            "return [...document.querySelectorAll('.app')].map(t => [t.dataset.app, t.querySelector('.name').textContent, \
               t.querySelector('img') ? t.querySelector('img').naturalWidth : t.querySelector('.icon').textContent]);",
            vec![],
        )
        .await
        .expect("tiles");
    assert_eq!(tiles, json!([["", "E2E front screen", "E"], ["cashier", "收银", "收"], ["report", "报告打印", 64]]));
    // Nothing of an app runs behind the home screen, and it is never reset by the idle timer.
    assert!(!health(b)["windows"]["secondary"]["visible"].as_bool().unwrap_or(false));

    // [package] from its tile; it hands the main window to the report app (finOpenOtherApp).
    open(b, "", "booth://localhost/index.html").await;
    b.client.execute("localStorage.setItem('shared-key', 'front'); return 1", vec![]).await.expect("storage");
    let r = call(
        b,
        "ft",
        "finOpenOtherApp",
        json!({"url": "https://e.example/app", "downloadUrl": "https://e.example/a.apk"}),
    )
    .await;
    assert_eq!((r["ok"].as_bool(), r["res"]["errorCode"].as_str()), (Some(false), Some("PERMISSION_DENIED")), "{r}");
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "com.android.settings"})).await;
    assert_eq!(r["res"]["errorCode"], "PERMISSION_DENIED", "an unlisted program: {r}");

    // The allow-listed program: Booth steps back while it runs, and is in front again after.
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "notes"})).await;
    assert_eq!(r, json!({"ok": true, "res": {"errMsg": "finOpenOtherApp:ok"}}));
    health_until(b, "Booth steps back", Duration::from_secs(5), |h| {
        h["shell"]["program"] == "notes" && h["windows"]["main"]["visible"] == false
    })
    .await;
    health_until(b, "Booth in front again", Duration::from_secs(10), |h| {
        h["shell"]["program"].is_null() && h["windows"]["main"]["visible"] == true
    })
    .await;
    assert!(dir.join("ran").exists(), "the program ran");
    assert_eq!(main_url(&health(b)), "booth://localhost/index.html", "the front app is still there");
    // alertMsg asks first, in Booth's box over the page: 取消 keeps the page, 确定 goes on. The box
    // is pressed as a person presses it (a touch of the X server where its button is); the page's
    // own script can neither see into it nor press it.
    let redefined = b.client.execute(HOSTILE_SCRIPT, vec![json!("booth-confirm")]).await.expect("hostile");
    assert_eq!(redefined, "no", "a page defined Booth's element name");
    for (button, want) in [
        ("cancel", json!({"errMsg": "finOpenOtherApp:fail cancel", "errorCode": "CANCELLED"})),
        ("ok", json!({"errMsg": "finOpenOtherApp:ok"})),
    ] {
        b.client
            .execute(
                "window.asked = null; ft.finOpenOtherApp({url: 'booth-app://report/index.html', alertMsg: '打开报告打印?'})                    .then((r) => { window.asked = r; }, (e) => { window.asked = e; }); return 1",
                vec![],
            )
            .await
            .expect("finOpenOtherApp");
        let shown = b.wait_for("return window.__boothConfirm.text()", Duration::from_secs(5)).await;
        assert_eq!(shown, "打开报告打印?");
        if button == "cancel" {
            // The page forges clicks on 确定 and Enter; had any counted, the call would go on.
            let ok = b.wait_for("return window.__boothConfirm.where('ok')", Duration::from_secs(3)).await;
            let forged = b.client.execute(FORGE_SCRIPT, vec![json!("booth-confirm"), ok, json!(["Enter"])]).await;
            let forged = forged.expect("forge");
            assert_eq!(
                (forged["host"].as_bool(), forged["shadowRoot"].as_str()),
                (Some(true), Some("null")),
                "{forged}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            let still = b.client.execute("return [window.asked, window.__boothConfirm.text()]", vec![]).await;
            assert_eq!(still.expect("box"), json!([null, "打开报告打印?"]), "a script answered Booth's box");
        }
        let at = b.wait_for(&format!("return window.__boothConfirm.where('{button}')"), Duration::from_secs(3)).await;
        tap(at["x"].as_i64().expect("x") as i32, at["y"].as_i64().expect("y") as i32);
        if button == "cancel" {
            assert_eq!(b.wait_for("return window.asked", Duration::from_secs(5)).await, want);
            let gone = b.client.execute("return !document.querySelector('booth-confirm')", vec![]).await.expect("box");
            assert_eq!(gone, true, "the box is gone");
            assert_eq!(main_url(&health(b)), "booth://localhost/index.html", "nothing opened");
            let leaked = b.client.execute("return window.__hostile.leaked()", vec![]).await.expect("leaked");
            assert_eq!(leaked, 0, "the page's replaced prototypes saw the box from inside");
        } else {
            // The reply reaches the page before the report app replaces it.
            let asked = b.wait_for("return window.asked", Duration::from_secs(5)).await;
            assert_eq!(asked, want);
        }
    }
    arrive(b, "booth://report/index.html").await;

    // The report app sees nothing of the front app; it keeps its own.
    assert_eq!(probe(b).await, json!({"local": null, "cookie": null, "idb": null}));
    plant(b, "report").await;
    let own = probe(b).await;
    assert_eq!((&own["local"], &own["idb"]), (&json!("report"), &json!("report")), "{own}");
    let cookies_work = own["cookie"] == "report";

    // A link cannot take the window to another app (it would get that app's permissions).
    b.client.execute("location.href = 'booth://cashier/index.html'; return 1", vec![]).await.expect("link");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(main_url(&health(b)), "booth://report/index.html", "the link was refused");
    assert_eq!(probe(b).await["local"], "report", "still the report app's page");

    // Report → cashier by package: the cashier app sees nothing of the report app's.
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "cashier"})).await;
    assert_eq!(r["ok"], true, "{r}");
    arrive(b, "booth://cashier/index.html").await;
    assert_eq!(probe(b).await, json!({"local": null, "cookie": null, "idb": null}), "nothing shared");
    plant(b, "cashier").await;
    let r = call(b, "ft", "finOpenOtherApp", json!({"url": "booth-app://report/"})).await;
    assert_eq!(r["ok"], true, "{r}");
    arrive(b, "booth://report/index.html").await;
    let kept = probe(b).await;
    assert_eq!((&kept["local"], &kept["idb"]), (&json!("report"), &json!("report")), "{kept}");

    // exitMp: back to the home screen, and the app that closed itself left nothing behind.
    let r = call(b, "wxfaceapp", "exitMp", json!({})).await;
    assert_eq!(r["ok"], true, "{r}");
    at_home(b).await;
    open(b, "report", "booth://report/index.html").await;
    assert_eq!(probe(b).await, json!({"local": null, "cookie": null, "idb": null}), "exitMp cleared its data");
    // … and only its own: the cashier's is still there.
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "cashier"})).await;
    assert_eq!(r["ok"], true, "{r}");
    arrive(b, "booth://cashier/index.html").await;
    let cashier = probe(b).await;
    assert_eq!((&cashier["local"], &cashier["idb"]), (&json!("cashier"), &json!("cashier")), "{cashier}");
    if cookies_work {
        assert_eq!(cashier["cookie"], "cashier", "{cashier}");
    }

    // deviceConfig exitApplet: back to the home screen too.
    let r = b
        .ampe(json!({"action": "deviceConfig", "event": "open", "taskId": "h1", "params": {"deviceConfig": {"exitApplet": 1}}}))
        .await;
    assert_eq!(r["success"], true, "{r}");
    at_home(b).await;

    // The [package]'s storage survived the other apps' exits.
    open(b, "", "booth://localhost/index.html").await;
    let kept = b.client.execute("return localStorage.getItem('shared-key')", vec![]).await.expect("storage");
    assert_eq!(kept, "front");
    let r = call(b, "wxfaceapp", "exitMp", json!({})).await;
    assert_eq!(r["ok"], true, "{r}");
    at_home(b).await;

    // The idle reset returns to the home screen (and the home screen itself is left alone),
    // clearing the data of the app it ended and only its: the report app keeps its own.
    open(b, "report", "booth://report/index.html").await;
    plant(b, "report").await;
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "cashier"})).await;
    assert_eq!(r["ok"], true, "{r}");
    arrive(b, "booth://cashier/index.html").await;
    plant(b, "cashier").await;
    at_home(b).await;
    open(b, "cashier", "booth://cashier/index.html").await;
    assert_eq!(probe(b).await, json!({"local": null, "cookie": null, "idb": null}), "the idle reset cleared it");
    let r = call(b, "ft", "finOpenOtherApp", json!({"package": "report"})).await;
    assert_eq!(r["ok"], true, "{r}");
    arrive(b, "booth://report/index.html").await;
    let kept = probe(b).await;
    assert_eq!((&kept["local"], &kept["idb"]), (&json!("report"), &json!("report")), "not the report app's: {kept}");
    at_home(b).await;
    let loads = health(b)["shell"]["loads"]["main"]["count"].clone();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(health(b)["shell"]["loads"]["main"]["count"], loads, "no reset of the home screen");

    // The administrator's gesture works on the home screen (five taps, top-right corner).
    for i in 0..5 {
        tap(1265 - i, 12 + i);
    }
    health_until(b, "the PIN pad", Duration::from_secs(3), |h| h["windows"]["admin"]["visible"] == true).await;
}

/// `booth kiosk` with no package and no `[package] source`, but two apps in `[apps]`: the home
/// screen is the terminal, with the catalogue alone.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_kiosk_without_a_package_shows_the_catalogue_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[apps.cashier]\nsource = {}\nname = \"收银\"\n[apps.report]\nsource = {}\nname = \"报告打印\"\n",
            Value::from(fixture("apps-back")),
            Value::from(fixture("apps-report")),
        ),
    )
    .expect("booth.toml");
    let port = free_port();
    let args = vec![
        "kiosk".to_string(),
        "--sim".into(),
        "--config".into(),
        config.display().to_string(),
        "--control-port".into(),
        port.to_string(),
    ];
    let b = Booth::start(args, port).await;
    let outcome = {
        use futures::FutureExt;
        std::panic::AssertUnwindSafe(async {
            at_home_with(&b, 2).await;
            let tiles = b
                .client
                .execute("return [...document.querySelectorAll('.app')].map(t => t.dataset.app);", vec![])
                .await
                .expect("tiles");
            assert_eq!(tiles, json!(["cashier", "report"]), "no [package] tile");
            open(&b, "report", "booth://report/index.html").await;
            let r = call(&b, "wxfaceapp", "exitMp", json!({})).await;
            assert_eq!(r["ok"], true, "{r}");
            at_home_with(&b, 2).await;
            open(&b, "cashier", "booth://cashier/index.html").await;
            // Nothing can take the main window to [package]: there is none.
            let r = call(&b, "ft", "finOpenOtherApp", json!({"url": "booth-app://localhost/index.html"})).await;
            assert_eq!(r["ok"], false, "{r}");
            let r = b
                .ampe(json!({"action": "deviceConfig", "event": "open", "taskId": "h", "params": {"deviceConfig": {"exitApplet": 1}}}))
                .await;
            assert_eq!(r["success"], true, "{r}");
            at_home_with(&b, 2).await;
        })
        .catch_unwind()
        .await
    };
    b.close().await;
    let _ = std::process::Command::new("pkill")
        .args(["-TERM", "-f", &format!("booth kiosk .*--control-port {port}")])
        .status();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

const HOSTILE_SCRIPT: &str = include_str!("hostile_screen.js");
const FORGE_SCRIPT: &str = include_str!("forge_screen.js");
