//! End to end: a fixture package in a real booth window, called from the page through WebDriver.
//! Needs Xvfb and tauri-driver: run through `scripts/test-all` (these tests are ignored otherwise).

use booth_e2e::{fixture, with_booth};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn device_info_system_info_and_wx_os_info() {
    with_booth(&fixture("basic"), &[], async |b| {
        let r = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": "任务-4 \"x\""})).await;
        assert_eq!(r["action"], "getDeviceInfo");
        assert_eq!(r["event"], "open");
        assert_eq!(r["taskId"], "任务-4 \"x\"");
        assert_eq!(r["success"], true);
        assert_eq!(r["message"], "成功");
        let data = &r["data"];
        for key in ["sn", "deviceModel", "appVersion", "androidVersion", "osVersion", "deviceIP", "devicedDisplay"] {
            assert!(data[key].is_string(), "{key} missing in {r}");
        }
        assert_eq!(data["appVersion"], env!("CARGO_PKG_VERSION"));
        let sn = data["sn"].as_str().unwrap_or_default().to_string();
        assert!(!sn.is_empty(), "sn empty: {r}");

        let sys = b
            .run_async("my.getSystemInfo({success: done, fail: function (e) { done({failed: e}); }});", Value::Null)
            .await;
        assert_eq!(sys["arome_deviceId"], sn.as_str(), "{sys}");
        assert_eq!(sys["platform"], "Linux");
        assert!(sys["windowWidth"].as_f64().unwrap_or(0.0) > 0.0, "{sys}");
        assert!(sys["pixelRatio"].as_f64().unwrap_or(0.0) > 0.0, "{sys}");

        let wx = b
            .run_async(
                "wxfaceapp.checkWxFacePayOsInfo({success: done, fail: function (e) { done({failed: e}); }});",
                Value::Null,
            )
            .await;
        assert_eq!(wx["osStatus"], "valid", "{wx}");
        assert_eq!(wx["osSerialNumber"], sn.as_str());
        assert_eq!(wx["screenInfo"], "front-screen");
        assert_eq!(wx["appVersion"], env!("CARGO_PKG_VERSION"));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn unsupported_and_bad_calls_get_error_replies() {
    with_booth(&fixture("basic"), &[], async |b| {

        // A documented API the package's manifest does not grant.
        let r = b.ampe(json!({"action": "speech", "event": "open", "taskId": "8", "params": {"text": "你好"}})).await;
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["errorCode"], "PERMISSION_DENIED");
        assert_eq!(r["taskId"], "8");
        assert!(r["message"].as_str().unwrap_or("").contains("speech"), "{r}");

        let r = b.ampe(json!({"action": "teleport", "taskId": "x"})).await;
        assert_eq!(r["errorCode"], "UNSUPPORTED", "{r}");
        assert!(r["message"].as_str().unwrap_or("").contains("teleport"), "{r}");

        let r = b.run_async("my.call('ampeHHCommunication', 'not an object', done);", Value::Null).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{r}");
        let r = b.ampe(json!({"action": "", "taskId": "e"})).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{r}");
        assert_eq!(r["taskId"], "e");
        let r = b.run_async("const o = {action: 'getDeviceInfo'}; o.self = o; my.call('ampeHHCommunication', o, done);", Value::Null).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "cyclic params: {r}");
        let r = b.run_async("my.call('ampeHHCommunication', {action: 'getDeviceInfo', n: 1n}, done);", Value::Null).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "a BigInt: {r}");
        assert!(r["message"].as_str().unwrap_or("").contains("无法序列化"), "{r}");
        // Deep params, refused and nothing of the request echoed: 200 levels pass serde_json's
        // limit (128; the call goes by fetch), 90 only Booth's own (the call goes as a message to
        // Tauri's IPC handler, which a lone call takes unless Tauri could not read it there).
        for (levels, refusal) in [(200, "嵌套过深"), (90, "参数嵌套超过 32 层")] {
            let r = b
                .run_async(
                    "let v = {}; for (let i = 0; i < arg; i++) v = {a: v};
                     my.call('ampeHHCommunication', {action: 'getDeviceInfo', taskId: 'deep', params: v}, done);",
                    json!(levels),
                )
                .await;
            assert_eq!(r["errorCode"], "INVALID_PARAMS", "{levels} levels: {r}");
            assert!(r["message"].as_str().unwrap_or("").contains(refusal), "{levels} levels: {r}");
            assert_eq!(r["taskId"], "", "nothing of a request past the limit is echoed: {r}");
        }
        let r = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": "s", "params": {"s": "\u{1F600}"}})).await;
        assert_eq!(r["success"], true, "{r}");
        let r = b
            .run_async("my.call('ampeHHCommunication', {action: 'getDeviceInfo', taskId: 'lone', params: {s: '\\ud800'}}, done);", Value::Null)
            .await;
        assert_eq!(r["success"], true, "a lone surrogate: {r}");
        assert_eq!(r["taskId"], "lone", "{r}");
        // A reply larger than Tauri evaluates directly (8 KiB): fetched by Tauri's channel.
        let r = b
            .run_async("my.call('ampeHHCommunication', {action: 'getDeviceInfo', taskId: 't'.repeat(12000)}, done);", Value::Null)
            .await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["taskId"].as_str().map(str::len), Some(12000));
        let r = b.run_async("wxfaceapp.checkWxFacePayOsInfo({success: function (r) { done({ok: r}); }, fail: done});", Value::Null).await;
        assert_eq!(r["ok"]["osStatus"], "valid", "after the refusals the bridge still answers: {r}");

        // Withdrawn by seed 001 (下线): UNSUPPORTED, with the seed's reason.
        let wx = b.run_async("wxfaceapp.getLastPayResult({success: function (r) { done({ok: r}); }, fail: done});", Value::Null).await;
        assert_eq!(wx["replyCode"], "-6", "{wx}");
        assert_eq!(wx["errorCode"], "UNSUPPORTED");
        assert!(wx["reply"].as_str().unwrap_or("").contains("下线"), "{wx}");

        // finOpenWitnessVideo works (over Janus: e2e webrtc::a_page_holds_a_witnessed_call_*) and
        // needs the `camera` permission.
        let ft = b.run_async("ft.finOpenWitnessVideo({videoType: 'x'}).then(function (r) { done({ok: r}); }, done);", Value::Null).await;
        assert_eq!(ft["errorCode"], "PERMISSION_DENIED", "{ft}");
        assert!(ft["errMsg"].as_str().unwrap_or("").starts_with("finOpenWitnessVideo:fail"), "{ft}");
        // ft.webrtc works on Linux (native connections), and needs the `camera` permission.
        let rtc = b.run_async("ft.webrtc.mediaDevices.enumerateDevices().then(function (r) { done({ok: r}); }, done);", Value::Null).await;
        assert_eq!(rtc["errorCode"], "PERMISSION_DENIED", "{rtc}");

        let media = b.run_async("ft.webrtc.mediaDevices.getSupportedConstraints().then(function (r) { done({ok: r}); }, done);", Value::Null).await;
        assert_eq!(media["errorCode"], "PERMISSION_DENIED", "{media}");

        // startBizService without the `identity` permission: seed 003's 4000 with Booth's
        // errorCode (bad params with the permission: e2e certify::*).
        let biz = b.run_async("my.call('startBizService', {name: 'open-certify', param: '{}'}, done);", Value::Null).await;
        assert_eq!(biz["resultStatus"], "4000", "{biz}");
        assert_eq!(biz["errorCode"], "PERMISSION_DENIED", "{biz}");
        assert_eq!(biz["result"]["errorCode"], "PERMISSION_DENIED", "{biz}");

        // Every name of the seeds exists on the injected objects.
        let missing = b
            .client
            .execute(
                "const wx = ['checkWxFacePayOsInfo','writeToSerialPort','launchMp','exitMp','postMsg','onRemoteMessage','registKeyBoard','onKeyBoardEvent','facePay','onFacePayPassEvent','onFacePayFailedEvent','onQueryPaymentSucEvent','onQueryPaymentFailedEvent','listenCodePayment','onCodePayEvent','quickPay','ableToQuickPay','isLoginOnFaceApp','faceLogin','logoutOnFaceApp','onSpecialCtrlEvent'];
                 const ftn = ['finCardOcr','finFaceAuth','finLivenessCheck','finOpenOtherApp','finOpenWitnessVideo'];
                 return wx.filter(n => typeof wxfaceapp[n] !== 'function')
                   .concat(ftn.filter(n => typeof ft[n] !== 'function'))
                   .concat(typeof ft.webrtc.createRTCPeerConnection === 'function' ? [] : ['webrtc.createRTCPeerConnection'])
                   .concat(['call','on','off','getSystemInfo'].filter(n => typeof my[n] !== 'function'));",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(missing, json!([]));
        // The globals are ordinary properties: strict code may reassign them (as some frameworks do).
        let kept = b
            .client
            .execute("'use strict'; window.my = window.my || {}; window.ft = window.ft; return typeof my.call;", vec![])
            .await
            .expect("strict reassignment does not throw");
        assert_eq!(kept, json!("function"));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn permissions_and_dialects_follow_the_manifest() {
    with_booth(&fixture("noperm"), &[], async |b| {
        let r = b.ampe(json!({"action": "getQRCode", "event": "open", "taskId": "p"})).await;
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["errorCode"], "PERMISSION_DENIED", "{r}");
        assert!(r["message"].as_str().unwrap_or("").contains("scanner"), "{r}");
        // Device info needs no permission.
        let r = b.ampe(json!({"action": "getDeviceInfo", "taskId": "d"})).await;
        assert_eq!(r["success"], true, "{r}");
        let kinds = b.client.execute("return [typeof my, typeof wxfaceapp, typeof ft];", vec![]).await.expect("script");
        assert_eq!(kinds, json!(["object", "undefined", "undefined"]));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn scanner_listener_one_shot_and_timeout() {
    with_booth(&fixture("basic"), &[], async |b| {
        // The fixture subscribes to initQRListener on load; give the subscription a moment.
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let (status, health) = b.control("GET", "/health", "");
        assert_eq!(status, 200);
        assert_eq!(health["package"]["id"], "test.basic");
        assert_eq!(health["windows"]["main"]["visible"], true, "{health}");
        assert!(health["windows"]["secondary"].is_null(), "the secondary window is made on first use: {health}");
        assert!(health["sessions"].as_u64().unwrap_or(0) >= 1, "{health}");

        for code in ["code-1", "码-2"] {
            let (status, body) = b.control("POST", "/sim/scanner/scan", &json!({"code": code}).to_string());
            assert_eq!(status, 200, "{body}");
        }
        let seen = b.wait_for("return window.seen.qr.length >= 2 && window.seen.qr", Duration::from_secs(5)).await;
        assert_eq!(seen, json!([{"data": {"qrCode": "code-1"}}, {"data": {"qrCode": "码-2"}}]));

        // One-shot: start the call, then scan.
        b.ampe_pending(
            "one",
            json!({"action": "getQRCode", "event": "open", "taskId": "q1", "params": {"timeout": 10000}}),
        )
        .await;
        let (status, _) = b.control("POST", "/sim/scanner/scan", r#"{"code":"one-shot"}"#);
        assert_eq!(status, 200);
        let one = b.ampe_result("one").await;
        assert_eq!(one["success"], true, "{one}");
        assert_eq!(one["taskId"], "q1");
        assert_eq!(one["data"], json!({"qrCode": "one-shot"}));

        // Timeout: nothing scanned.
        let t =
            b.ampe(json!({"action": "getQRCode", "event": "open", "taskId": "q2", "params": {"timeout": 1000}})).await;
        assert_eq!(t["success"], false, "{t}");
        assert_eq!(t["message"], "超时");
        assert_eq!(t["errorCode"], "TIMEOUT");

        // Cancel: a close call answers the pending one.
        b.ampe_pending("cancelled", json!({"action": "getQRCode", "taskId": "q3", "params": {"timeout": 10000}})).await;
        let close = b.ampe(json!({"action": "getQRCode", "event": "close", "taskId": "q4"})).await;
        assert_eq!(close["success"], true, "{close}");
        let cancelled = b.ampe_result("cancelled").await;
        assert_eq!(cancelled["errorCode"], "CANCELLED", "{cancelled}");
        assert_eq!(cancelled["taskId"], "q3");

        // The one-shot code reached the listener too; my.off stops delivery.
        let before = b.client.execute("return window.seen.qr.length;", vec![]).await.expect("count");
        assert_eq!(before, json!(3));
        b.client.execute("my.off('initQRListener'); return true;", vec![]).await.expect("off");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.control("POST", "/sim/scanner/scan", r#"{"code":"after-off"}"#);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = b.client.execute("return window.seen.qr.length;", vec![]).await.expect("count");
        assert_eq!(after, json!(3));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn navigation_guard_and_one_window_at_start() {
    with_booth(&fixture("basic"), &[], async |b| {
        let start = b.client.current_url().await.expect("url");
        assert_eq!(start.as_str(), "booth://localhost/index.html");

        // A blocked origin: the page stays where it was.
        b.client
            .execute("location.href = 'https://blocked.example.com/'; return true;", vec![])
            .await
            .expect("navigate");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = b.client.current_url().await.expect("url");
        assert_eq!(now.as_str(), "booth://localhost/index.html");
        let title =
            b.client.execute("return document.getElementById('title').textContent;", vec![]).await.expect("title");
        assert_eq!(title, "E2E basic");

        // A reload replaces the page's session rather than adding one (the bridge tests show the
        // old session's pending calls are cancelled).
        b.ampe_pending("pending", json!({"action": "getQRCode", "taskId": "pending", "params": {"timeout": 60000}}))
            .await;
        let (_, before) = b.control("GET", "/health", "");
        b.client.execute("location.reload(); return true;", vec![]).await.expect("reload");
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.wait_for("return !!window.__BOOTH__ && document.readyState === 'complete'", Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, after) = b.control("GET", "/health", "");
        assert_eq!(after["sessions"], before["sessions"], "before {before}\nafter {after}");

        // One window: the secondary one is made when the second screen is first used
        // (tests/e2e/tests/secondary.rs).
        let handles = b.client.windows().await.expect("windows");
        assert_eq!(handles.len(), 1, "{handles:?}");
    })
    .await;
}

/// A remote package (an http URL) becomes an allowed origin and its pages reach the bridge.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn remote_url_package_reaches_the_bridge() {
    let port = booth_e2e::free_port();
    let mut server = booth_e2e::serve_dir(&fixture("basic"), port);
    let url = format!("http://127.0.0.1:{port}/index.html");
    with_booth(&url, &[], async |b| {
        let r = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": "remote"})).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["taskId"], "remote");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["package"]["id"], "127.0.0.1", "{health}");
    })
    .await;
    let _ = server.kill();
    let _ = server.wait();
}

/// Closing the main window (as a user does, through the window manager) ends booth, although the
/// secondary window is still open.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn closing_the_main_window_ends_booth() {
    // A package with a second-screen page: both windows are open.
    with_booth(&fixture("secondary"), &[], async |b| {
        let (status, health) = b.control("GET", "/health", "");
        assert_eq!(status, 200);
        assert_eq!(health["windows"]["secondary"]["visible"], true, "{health}");
        // WebDriver's "close window" only closes the web view; a person's close goes through the
        // window manager (openbox here), which is what must end booth.
        let closed =
            std::process::Command::new("wmctrl").args(["-F", "-c", "E2E secondary — Booth"]).status().expect("wmctrl");
        assert!(closed.success(), "wmctrl found no main window (is a window manager running?)");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", b.control_port)).is_ok() {
            assert!(start.elapsed() < Duration::from_secs(10), "booth still running 10 s after its main window closed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// 1,000 calls in flight from one page: every reply reaches its own callback with its own taskId.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_flood_of_page_calls_is_never_crossed() {
    with_booth(&fixture("basic"), &[], async |b| {
        let r = b
            .run_async(
                "const n = 1000; let bad = []; let done_n = 0; const t0 = performance.now();
                 for (let i = 0; i < n; i++) {
                   const id = 'flood-' + i;
                   my.call('ampeHHCommunication', {action: i % 2 ? 'getDeviceInfo' : 'getQRCode', event: i % 2 ? 'open' : 'close', taskId: id}, function (res) {
                     if (res.taskId !== id || res.success !== true) bad.push([id, res.taskId, res.success]);
                     if (++done_n === n) done({bad: bad.slice(0, 5), badCount: bad.length, ms: performance.now() - t0});
                   });
                 }",
                Value::Null,
            )
            .await;
        assert_eq!(r["badCount"], 0, "{r}");
        eprintln!("1,000 concurrent page calls answered in {} ms", r["ms"]);
    })
    .await;
}

/// A zipped package (files inside one folder) is served from memory.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn zip_package_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("basic.zip");
    let made = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-c", zip.to_str().expect("utf-8"), &fixture("basic")])
        .status()
        .expect("python3 zipfile");
    assert!(made.success());
    with_booth(zip.to_str().expect("utf-8"), &[], async |b| {
        let r = b.ampe(json!({"action": "getDeviceInfo", "taskId": "zip"})).await;
        assert_eq!(r["success"], true, "{r}");
        let title = b.client.execute("return document.title;", vec![]).await.expect("title");
        assert_eq!(title, "E2E basic");
    })
    .await;
}

/// Calls a page makes in one run of its script go to Booth together (a lone call first, the
/// rest in a few messages), each answered in its own callback; a call that waits for a device
/// holds none of the others back and is answered on its own later; a call Booth cannot read
/// fails alone.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn calls_made_together_go_together_and_a_waiting_one_holds_none_back() {
    with_booth(&fixture("basic"), &[], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let r = b
            .run_async(
                "const call = (p) => new Promise((r) => my.call('ampeHHCommunication', p, r));
                 const first = call({action: 'getDeviceInfo', taskId: 'first'});
                 window.scanned = null;
                 call({action: 'getQRCode', event: 'open', taskId: 'scan', params: {timeout: 10000}}).then((r) => { window.scanned = r; });
                 const quick = [];
                 for (let i = 0; i < 600; i++) quick.push(call({action: 'getDeviceInfo', taskId: 'q' + i}));
                 const wx = new Promise((r) => wxfaceapp.checkWxFacePayOsInfo({success: r, fail: r}));
                 const big = call({action: 'getDeviceInfo', taskId: 'big', n: 1n});
                 let v = {}; for (let i = 0; i < 200; i++) v = {a: v};
                 const deep = call({action: 'getDeviceInfo', taskId: 'deep', params: v});
                 Promise.all([first, Promise.all(quick), wx, big, deep]).then(([f, qs, w, bi, de]) => {
                   const crossed = qs.filter((q, i) => q.taskId !== 'q' + i || q.success !== true).length;
                   done({first: f.success, crossed, wx: w.osStatus, big: bi.errorCode, bigMessage: bi.message,
                         deep: de.errorCode, deepMessage: de.message,
                         waitingYet: window.scanned !== null});
                 });",
                Value::Null,
            )
            .await;
        assert_eq!(r["first"], true, "{r}");
        assert_eq!(r["crossed"], 0, "every reply in its own callback: {r}");
        assert_eq!(r["wx"], "valid", "{r}");
        assert_eq!(r["big"], "INVALID_PARAMS", "{r}");
        assert!(r["bigMessage"].as_str().unwrap_or("").contains("无法序列化"), "{r}");
        assert_eq!(r["deep"], "INVALID_PARAMS", "{r}");
        assert!(r["deepMessage"].as_str().unwrap_or("").contains("嵌套过深"), "{r}");
        assert_eq!(r["waitingYet"], false, "the waiting call was answered with the quick ones: {r}");

        // The waiting call is answered by itself, through the page's events.
        let (status, _) = b.control("POST", "/sim/scanner/scan", r#"{"code":"batched"}"#);
        assert_eq!(status, 200);
        let scanned = b.wait_for("return window.scanned", Duration::from_secs(5)).await;
        assert_eq!(scanned["success"], true, "{scanned}");
        assert_eq!(scanned["taskId"], "scan");
        assert_eq!(scanned["data"], json!({"qrCode": "batched"}));
    })
    .await;
}
