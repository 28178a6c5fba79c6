//! End to end, the terminal's inputs in a real booth window: the ID card reader (simulated, and
//! the real SAM backend on a pty), the presence sensor, the POS port (real, on a pty), keypads
//! (xdotool keys in the page window, the simulator), keyboard-wedge scanners (xdotool bursts)
//! and the enterIDNumber keypad (typing, checksum rejection, cancel, timeout).
//! Needs Xvfb, a window manager and tauri-driver: run through `scripts/test-all`.

use booth_e2e::{fixture, with_booth, with_real_booth, Booth};
use booth_testkit::pty::Socat;
use booth_testkit::sam::{text_block, Emulator, Module};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IGNORE: &str = "needs Xvfb + tauri-driver; run by scripts/test-all";

/// Runs xdotool on the test display.
fn xdo(args: &[&str]) {
    let out = std::process::Command::new("xdotool").args(args).output().expect("xdotool");
    assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Gives the main booth window the keyboard focus, as a person clicking on it would.
fn focus_booth() {
    booth_e2e::activate_window("E2E inputs — Booth$");
}

async fn ready(b: &Booth) {
    b.wait_for("return window.ready", Duration::from_secs(5)).await;
}

async fn device_available(b: &Booth, device: &str, want: bool) {
    let start = Instant::now();
    loop {
        let (_, health) = b.control("GET", "/health", "");
        if health["devices"][device]["available"] == Value::Bool(want) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{device} available != {want}: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn config_file(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("booth.toml");
    std::fs::write(&path, text).expect("booth.toml");
    path.display().to_string()
}

// --- ID card --------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn id_card_sim_place_reaches_the_call_and_the_listener() {
    let _ = IGNORE;
    with_booth(&fixture("inputs"), &[], async |b| {
        ready(b).await;
        let (_, sims) = b.control("GET", "/sim", "");
        let idcard = sims["devices"].as_array().unwrap().iter().find(|d| d["id"] == "idcard").cloned();
        assert!(idcard.is_some(), "{sims}");

        b.ampe_pending(
            "one",
            json!({"action": "getIDCardInfo", "event": "open", "taskId": "3", "params": {"infoType": "base"}}),
        )
        .await;
        let (status, placed) = b.control("POST", "/sim/idcard/place", r#"{"name":"王五","address":"上海市１号"}"#);
        assert_eq!(status, 200, "{placed}");
        let one = b.ampe_result("one").await;
        assert_eq!(
            one,
            json!({"action": "getIDCardInfo", "event": "open", "taskId": "3", "success": true, "message": "成功",
                   "data": {"name": "王五", "idNum": "110101199003070011"}})
        );
        let seen = b.wait_for("return window.seen.idcard.length && window.seen.idcard", Duration::from_secs(3)).await;
        assert_eq!(seen[0]["address"], "上海市1号");
        assert_eq!(seen[0]["nation"], "汉");

        let close = b.ampe(json!({"action": "closeIDCardInfo", "event": "open", "taskId": "3"})).await;
        assert_eq!(close["message"], "关闭成功");
        assert_eq!(close["event"], "close");
        let bad = b.ampe(json!({"action": "getIDCardInfo", "taskId": "b", "params": {"infoType": "face"}})).await;
        assert_eq!(bad["errorCode"], "INVALID_PARAMS", "{bad}");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn id_card_sam_reader_on_a_pty_unplug_and_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut socat = Socat::start(dir.path());
    let config = config_file(
        dir.path(),
        &format!("[idcard]\nbackend = \"sam\"\nport = \"{}\"\nbaud = 115200\n", socat.app().display()),
    );
    let module = Arc::new(Mutex::new(Module::default()));
    let card = text_block([
        "李四",
        "2",
        "03",
        "19851224",
        "杭州市文一西路９６９号",
        "330106198512240021",
        "杭州市公安局",
        "20230529",
        "20430529",
    ]);
    let mut emu = Some(Emulator::start(&socat, module.clone()));
    with_real_booth(&fixture("inputs"), &["--config", &config], async |b| {
        ready(b).await;
        device_available(b, "idcard", true).await;
        let (status, _) = b.control("POST", "/sim/idcard/place", "{}");
        assert_eq!(status, 409, "a real reader cannot be simulated");

        b.ampe_pending("one", json!({"action": "getIDCardInfo", "taskId": "s", "params": {"infoType": "base,other"}}))
            .await;
        emu.as_ref().unwrap().place(card.clone());
        let one = b.ampe_result("one").await;
        assert_eq!(one["success"], true, "{one}");
        assert_eq!(one["data"]["name"], "李四");
        assert_eq!(one["data"]["sex"], "女");
        assert_eq!(one["data"]["nation"], "回");
        assert_eq!(one["data"]["address"], "杭州市文一西路969号");
        assert!(one["data"].get("photoBase64").is_none(), "photo not asked for: {one}");

        // Unplug: the page gets DEVICE_UNAVAILABLE; replug: the same page reads again.
        socat.kill();
        drop(emu.take());
        device_available(b, "idcard", false).await;
        let r = b.ampe(json!({"action": "getIDCardInfo", "taskId": "u"})).await;
        assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{r}");
        socat.restart();
        emu = Some(Emulator::start(&socat, module.clone()));
        device_available(b, "idcard", true).await;
        b.ampe_pending("two", json!({"action": "getIDCardInfo", "taskId": "r", "params": {"infoType": "base"}})).await;
        emu.as_ref().unwrap().place(card.clone());
        let two = b.ampe_result("two").await;
        assert_eq!(two["data"], json!({"name": "李四", "idNum": "330106198512240021"}), "{two}");
    })
    .await;
}

// --- presence -------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn presence_sim_reports_to_the_listener() {
    with_booth(&fixture("inputs"), &[], async |b| {
        ready(b).await;
        let bad = b.ampe(json!({"action": "startInfraredInductionListener", "taskId": "3", "params": {"intervalTime": 1000}})).await;
        assert_eq!(bad["errorCode"], "INVALID_PARAMS", "{bad}");
        let (status, _) = b.control("POST", "/sim/presence/present", "{}");
        assert_eq!(status, 200);
        let started = Instant::now();
        let r = b.ampe(json!({"action": "startInfraredInductionListener", "event": "open", "taskId": "3", "params": {"intervalTime": 2000}})).await;
        assert_eq!(r["success"], true, "{r}");
        let seen = b.wait_for("return window.seen.presence.length >= 2 && window.seen.presence", Duration::from_secs(6)).await;
        assert_eq!(seen, json!(["1", "1"]));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(3900) && took < Duration::from_millis(5000), "{took:?}");
        let r = b.ampe(json!({"action": "stopInfraredInductionListener", "taskId": "3"})).await;
        assert_eq!(r["success"], true);
    })
    .await;
}

// --- POS port -------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn pos_write_to_serial_port_on_a_pty_unplug_and_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut socat = Socat::start(dir.path());
    let config =
        config_file(dir.path(), &format!("[pos]\nbackend = \"serial\"\nport = \"{}\"\n", socat.app().display()));
    let open_register = |socat: &Socat| {
        serialport::new(socat.dev().display().to_string(), 9600).timeout(Duration::from_millis(50)).open().unwrap()
    };
    let read = |port: &mut Box<dyn serialport::SerialPort>, n: usize| {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let deadline = Instant::now() + Duration::from_secs(3);
        while got.len() < n && Instant::now() < deadline {
            if let Ok(k) = port.read(&mut buf) {
                got.extend_from_slice(&buf[..k]);
            }
        }
        got
    };
    let write = "wxfaceapp.writeToSerialPort({msgToFlush: arg, success: function (r) { done({ok: r}); }, fail: function (r) { done({fail: r}); }});";
    let mut register = open_register(&socat);
    with_real_booth(&fixture("inputs"), &["--config", &config], async |b| {
        ready(b).await;
        device_available(b, "pos", true).await;
        let r = b.run_async(write, json!("会员码 13800138000")).await;
        assert_eq!(r, json!({"ok": {"replyCode": "0", "reply": "success", "flushedMsg": "会员码 13800138000"}}));
        assert_eq!(read(&mut register, "会员码 13800138000".len()), "会员码 13800138000".as_bytes());

        socat.kill();
        device_available(b, "pos", false).await;
        let r = b.run_async(write, json!("lost")).await;
        assert_eq!(r["fail"]["replyCode"], "-1", "{r}");
        assert_eq!(r["fail"]["errorCode"], "DEVICE_UNAVAILABLE", "{r}");

        socat.restart();
        register = open_register(&socat);
        device_available(b, "pos", true).await;
        let r = b.run_async(write, json!("back")).await;
        assert_eq!(r["ok"]["flushedMsg"], "back", "{r}");
        assert_eq!(read(&mut register, 4), b"back");
        let r = b.run_async(write, json!("")).await;
        assert_eq!(r["fail"]["replyCode"], "-1", "{r}");
        assert_eq!(r["fail"]["errorCode"], "INVALID_PARAMS", "{r}");
    })
    .await;
}

// --- keypads --------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn keypad_keys_from_the_page_window_and_the_simulator() {
    with_booth(&fixture("inputs"), &[], async |b| {
        ready(b).await;
        let regist = "wxfaceapp.registKeyBoard({keyCodeList: arg, success: function (r) { done({ok: r}); }, fail: function (r) { done({fail: r}); }});";
        let r = b.run_async(regist, json!([])).await;
        assert_eq!(r["fail"]["replyCode"], "-1", "{r}");
        let r = b.run_async(regist, json!([{"keyCode": "144"}, {}])).await;
        assert_eq!(r["fail"]["replyCode"], "-1", "{r}");
        let list = json!([{"keyCode": "144"}, {"keyCode": "145"}, {"keyCode": "146"}, {"keyCode": "147"},
                          {"keyCode": "148"}, {"keyCode": "149"}, {"keyCode": "157"}]);
        let r = b.run_async(regist, list).await;
        assert_eq!(r, json!({"ok": {"replyCode": "0", "reply": "Success register to listen keyboard event"}}));

        focus_booth();
        xdo(&["key", "--delay", "120", "KP_1", "KP_Add", "KP_9"]);
        let (status, _) = b.control("POST", "/sim/keypad/press", r#"{"key":"146"}"#);
        assert_eq!(status, 200);
        let keys = b.wait_for("return window.seen.keys.length >= 3 && window.seen.keys", Duration::from_secs(3)).await;
        assert_eq!(keys, json!(["144", "157", "146"]), "KP_9 (152) was not registered");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn cashier_control_keys_pressed_in_the_window_reach_the_front_app() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_file(dir.path(), "[keypad]\nctrl_pass_code = [\"F9\"]\nctrl_collect = [\"F10\", \"131\"]\n");
    with_booth(&fixture("inputs"), &["--config", &config], async |b| {
        ready(b).await;
        b.client
            .execute("window.ctrl = []; wxfaceapp.onSpecialCtrlEvent(function (res) { window.ctrl.push(res); }); return true;", vec![])
            .await
            .expect("listen");
        // A key that is no control (F8) first: nothing.
        focus_booth();
        xdo(&["key", "--delay", "150", "F8", "F9", "F10"]);
        let got = b.wait_for("return window.ctrl.length >= 2 && window.ctrl", Duration::from_secs(5)).await;
        assert_eq!(
            got,
            json!([{"ctrlCode": "0", "ctrlMsg": "传码"}, {"ctrlCode": "1", "ctrlMsg": "收款"}]),
            "F9 is 传码, F10 收款, F8 nothing"
        );
        let typed = b.client.execute("return window.seen.pageKeys;", vec![]).await.expect("keys");
        assert!(typed.as_array().is_some_and(|k| k.contains(&json!("F8"))), "F8 reached the window: {typed}");
        // Exactly those two: a late extra event would show here.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = b.client.execute("return window.ctrl.length;", vec![]).await.expect("count");
        assert_eq!(n, json!(2));
    })
    .await;
}

// --- keyboard-wedge scanners ------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn keyboard_wedge_bursts_are_scans_and_typing_stays_typing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path(), "[scanner]\nwedge = \"page\"\n");
    with_booth(&fixture("inputs"), &["--config", &config], async |b| {
        ready(b).await;
        let r = b.run_async("wxfaceapp.listenCodePayment({success: done, fail: done});", Value::Null).await;
        assert_eq!(r["replyCode"], "0", "{r}");
        b.client.execute("document.getElementById('field').focus(); return true;", vec![]).await.expect("focus");
        focus_booth();

        // A scanner: 13 characters 8 ms apart, then Enter. The page judges the gaps on the key
        // events' own time stamps, but on a loaded machine xdotool itself can be held up for more
        // than the 40 ms burst gap; the page then rightly sees typing. Such an attempt is made
        // again (the field shows what was typed); the test fails when no attempt of five is a scan.
        let mut typed = Vec::new();
        let qr = loop {
            b.client.execute("document.getElementById('field').value = ''; return true;", vec![]).await.expect("clear");
            b.ampe_pending("qr", json!({"action": "getQRCode", "taskId": "w", "params": {"timeout": 3000}})).await;
            xdo(&["type", "--delay", "8", "6901234567892"]);
            xdo(&["key", "Return"]);
            let qr = b.ampe_result("qr").await;
            if qr["success"] == true {
                break qr;
            }
            let field = b.client.execute("return document.getElementById('field').value;", vec![]).await.unwrap();
            typed.push(field);
            assert!(typed.len() < 5, "no burst of five was taken as a scan; the page saw typing: {typed:?}");
            eprintln!(
                "attempt {}: the burst arrived as typing ({}), trying again",
                typed.len(),
                typed[typed.len() - 1]
            );
        };
        assert_eq!(qr["data"], json!({"qrCode": "6901234567892"}), "{qr}");
        // A person: slow keys stay in the input, and Enter is not a scan.
        xdo(&["type", "--delay", "150", "abc12"]);
        xdo(&["key", "Return"]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let value = b.client.execute("return document.getElementById('field').value;", vec![]).await.unwrap();
        assert_eq!(value, "abc12");
        let qr = b.client.execute("return window.seen.qr;", vec![]).await.unwrap();
        assert_eq!(qr, json!(["6901234567892"]));
    })
    .await;
}

// --- enterIDNumber --------------------------------------------------------------------------

/// Presses keypad buttons in the overlay as a person does: clicks of the X server where each
/// is (the keypad ignores clicks a script makes, and its shadow root is closed).
async fn tap(b: &Booth, keys: &[&str]) {
    let window = booth_e2e::visible_window("^E2E inputs — Booth$", Duration::from_secs(10));
    for k in keys {
        let at = b.wait_for(&format!("return window.__boothIdNumber.where('{k}')"), Duration::from_secs(3)).await;
        let (x, y) = (at["x"].as_i64().expect("x").to_string(), at["y"].as_i64().expect("y").to_string());
        xdo(&["mousemove", "--window", &window, &x, &y, "click", "1"]);
    }
}

async fn overlay_open(b: &Booth, open: bool) {
    let js = if open {
        "return !!document.querySelector('booth-idnumber')"
    } else {
        "return !document.querySelector('booth-idnumber')"
    };
    b.wait_for(js, Duration::from_secs(3)).await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn enter_id_number_typing_checksum_rejection_cancel_and_timeout() {
    with_booth(&fixture("inputs"), &[], async |b| {
        ready(b).await;

        // Typing, a wrong check character refused, then corrected on the keyboard.
        b.ampe_pending("id1", json!({"action": "enterIDNumber", "event": "open", "taskId": "9"})).await;
        overlay_open(b, true).await;
        tap(b, &["4", "1", "0", "9", "2", "2", "1", "9", "9", "6", "1", "1", "1", "5", "0", "0", "5", "5", "ok"]).await;
        let error = b.wait_for("return window.__boothIdNumber.error()", Duration::from_secs(3)).await;
        assert_eq!(error, "证件号校验位错误");
        let pending = b.client.execute("return window.id1;", vec![]).await.unwrap();
        assert_eq!(pending, Value::Null, "a rejected number does not answer the page");
        focus_booth();
        xdo(&["key", "--delay", "60", "BackSpace", "4", "Return"]);
        let r = b.ampe_result("id1").await;
        assert_eq!(
            r,
            json!({"action": "enterIDNumber", "event": "open", "taskId": "9", "success": true, "message": "成功",
                   "data": {"idNum": "410922199611150054"}})
        );
        overlay_open(b, false).await;
        let page_keys = b.client.execute("return window.seen.pageKeys;", vec![]).await.unwrap();
        assert_eq!(page_keys, json!([]), "keys typed into the keypad do not reach the page");

        // Cancel.
        b.ampe_pending("id2", json!({"action": "enterIDNumber", "taskId": "10"})).await;
        overlay_open(b, true).await;
        tap(b, &["1", "1", "cancel"]).await;
        let r = b.ampe_result("id2").await;
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["message"], "取消手输证件号");
        assert_eq!(r["errorCode"], "CANCELLED");
        overlay_open(b, false).await;

        // Timeout (5 s, Booth's params.timeout).
        let started = Instant::now();
        b.ampe_pending("id3", json!({"action": "enterIDNumber", "taskId": "11", "params": {"timeout": 5000}})).await;
        overlay_open(b, true).await;
        let r = b.wait_for("return window.id3", Duration::from_secs(8)).await;
        assert_eq!(r["message"], "手输证件号超时", "{r}");
        assert_eq!(r["errorCode"], "TIMEOUT");
        assert!(started.elapsed() >= Duration::from_secs(5));
        overlay_open(b, false).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_page_script_cannot_reach_or_press_the_id_number_keypad() {
    with_booth(&fixture("inputs"), &[], async |b| {
        ready(b).await;
        let redefined = b.client.execute(HOSTILE_SCRIPT, vec![json!("booth-idnumber")]).await.expect("hostile");
        assert_eq!(redefined, "no", "a page defined Booth's element name");
        b.ampe_pending("id", json!({"action": "enterIDNumber", "event": "open", "taskId": "h"})).await;
        overlay_open(b, true).await;
        // Eighteen forged key presses and forged clicks on the 1 key, then Enter.
        let one = b.wait_for("return window.__boothIdNumber.where('1')", Duration::from_secs(3)).await;
        let mut keys = vec!["1"; 18];
        keys.push("Enter");
        let forged = b.client.execute(FORGE_SCRIPT, vec![json!("booth-idnumber"), one, json!(keys)]).await.unwrap();
        assert_eq!(forged["shadowRoot"], "null", "{forged}");
        // Had any of it counted, the keypad would be full (or answered): a person's 18 taps
        // give exactly their number.
        tap(b, &["4", "1", "0", "9", "2", "2", "1", "9", "9", "6", "1", "1", "1", "5", "0", "0", "5", "4", "ok"]).await;
        let r = b.ampe_result("id").await;
        assert_eq!(r["data"]["idNum"], "410922199611150054", "{r}");
        let leaked = b.client.execute("return window.__hostile.leaked()", vec![]).await.unwrap();
        assert_eq!(leaked, 0, "the page's replaced prototypes saw the keypad from inside");
    })
    .await;
}

const HOSTILE_SCRIPT: &str = include_str!("hostile_screen.js");
const FORGE_SCRIPT: &str = include_str!("forge_screen.js");
