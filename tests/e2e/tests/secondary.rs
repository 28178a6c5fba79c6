//! The second screen: openSecondaryScreen / closeSecondaryScreen / getSecondaryScreenState from a
//! page, the lazily made secondary window on the second monitor (scripts/test-all splits its X
//! display in two), a package's `secondary.entry`, and the one web process both windows share.

use booth_e2e::{fixture, with_booth, Booth};
use serde_json::{json, Value};
use std::time::Duration;

fn second_monitor_x() -> i64 {
    std::env::var("BOOTH_E2E_SECOND_MONITOR_X").ok().and_then(|x| x.parse().ok()).unwrap_or(1280)
}

/// The booth process started for this test (its command line names the control port).
fn booth_pid(control_port: u16) -> u32 {
    let port = control_port.to_string();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.windows(2).any(|w| w[0] == b"--control-port" && w[1] == port.as_bytes()) {
            return pid;
        }
    }
    panic!("no booth process with --control-port {port}");
}

/// The names of every process below `pid`.
fn descendants(pid: u32) -> Vec<String> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let ppid = stat[close + 2..].split(' ').nth(1).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
        parent_of.push((p, ppid, stat[open + 1..close].to_string()));
    }
    let mut below = vec![pid];
    let mut names = Vec::new();
    let mut i = 0;
    while i < below.len() {
        for (p, ppid, name) in &parent_of {
            if *ppid == below[i] {
                below.push(*p);
                names.push(name.clone());
            }
        }
        i += 1;
    }
    names
}

fn web_processes(b: &Booth) -> usize {
    descendants(booth_pid(b.control_port)).iter().filter(|n| n.starts_with("WebKitWebProces")).count()
}

async fn state(b: &Booth) -> Value {
    let r = b.ampe(json!({"action": "getSecondaryScreenState", "event": "open", "taskId": "s"})).await;
    assert_eq!(r["success"], true, "{r}");
    r["data"]["getSecondaryScreenState"].clone()
}

async fn open_picture(b: &Booth, base64: &Value) -> Value {
    b.ampe(json!({"action": "openSecondaryScreen", "event": "open", "taskId": "11",
                  "params": {"secondaryScreenBase64": base64}}))
        .await
}

/// The picture the secondary window's page shows: (natural width, height, src starts as a data: PNG).
async fn shown_picture(b: &Booth) -> Value {
    let main = b.client.window().await.expect("current window");
    let handles = b.client.windows().await.expect("windows");
    let other = handles.into_iter().find(|h| *h != main).expect("a secondary window handle");
    b.client.switch_to_window(other).await.expect("switch to the secondary window");
    let url = b.client.current_url().await.expect("url");
    assert!(url.as_str().ends_with("/secondary.html"), "{url}");
    let seen = b
        .wait_for(
            "const i = document.getElementById('picture');
             return i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight, i.src.slice(0, 22)];",
            Duration::from_secs(5),
        )
        .await;
    b.client.switch_to_window(main).await.expect("switch back");
    seen
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn secondary_screen_shows_a_picture_on_the_second_monitor_in_the_same_web_process() {
    with_booth(&fixture("display"), &[], async |b| {
        // Nothing made until it is used: one window, one web process.
        let (_, health) = b.control("GET", "/health", "");
        assert!(health["windows"]["secondary"].is_null(), "{health}");
        assert_eq!(b.client.windows().await.expect("windows").len(), 1);
        assert_eq!(state(b).await, 0, "a second monitor, showing nothing");
        assert_eq!(web_processes(b), 1);

        let picture = b.client.execute("return picture(64, 48, '#ff0000');", vec![]).await.expect("picture");
        let r = open_picture(b, &picture).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["message"], "成功");
        assert_eq!(r["taskId"], "11");
        assert_eq!(state(b).await, 1);
        let (_, health) = b.control("GET", "/health", "");
        let w = &health["windows"]["secondary"];
        assert_eq!(w["visible"], true, "{health}");
        assert_eq!(w["x"].as_i64(), Some(second_monitor_x()), "on the second monitor: {health}");
        assert_eq!(shown_picture(b).await, json!([64, 48, "data:image/png;base64,"]));
        assert_eq!(web_processes(b), 1, "the secondary window shares the main window's web process");

        // A new picture replaces the shown one.
        let picture = b.client.execute("return picture(32, 16, '#00ff00');", vec![]).await.expect("picture");
        assert_eq!(open_picture(b, &picture).await["success"], true);
        assert_eq!(shown_picture(b).await[0], 32);

        // Bad input is refused and the screen keeps its picture.
        for bad in [json!("不是 base64"), json!("aGVsbG8gd29ybGQ="), json!(""), json!(7)] {
            let r = open_picture(b, &bad).await;
            assert_eq!(r["success"], false, "{bad}: {r}");
            assert_eq!(r["errorCode"], "INVALID_PARAMS", "{bad}: {r}");
        }
        assert_eq!(state(b).await, 1);

        let r = b.ampe(json!({"action": "closeSecondaryScreen", "event": "open", "taskId": "12"})).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["taskId"], "12");
        assert_eq!(state(b).await, 0);
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["windows"]["secondary"]["visible"], false, "{health}");

        // Shown again after a close.
        assert_eq!(open_picture(b, &picture).await["success"], true);
        assert_eq!(state(b).await, 1);
        assert_eq!(shown_picture(b).await[0], 32);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn package_secondary_entry_is_shown_on_the_second_monitor_from_start() {
    with_booth(&fixture("secondary"), &[], async |b| {
        let (_, health) = b.control("GET", "/health", "");
        let w = &health["windows"]["secondary"];
        assert_eq!(w["visible"], true, "{health}");
        assert_eq!(w["x"].as_i64(), Some(second_monitor_x()), "{health}");
        assert_eq!(state(b).await, 1);
        assert_eq!(web_processes(b), 1, "both pages in one web process");

        // The package's page on the second screen reaches the bridge as the back screen.
        let main = b.client.window().await.expect("current window");
        let other = b.client.windows().await.expect("windows").into_iter().find(|h| *h != main).expect("secondary");
        b.client.switch_to_window(other).await.expect("switch");
        let url = b.client.current_url().await.expect("url");
        assert_eq!(url.as_str(), "booth://localhost/customer.html");
        b.wait_for("return !!window.__BOOTH__ && document.readyState === 'complete'", Duration::from_secs(5)).await;
        let info = b.run_async("wxfaceapp.checkWxFacePayOsInfo({success: done, fail: done});", Value::Null).await;
        assert_eq!(info["screenInfo"], "back-screen", "{info}");
        b.client.switch_to_window(main).await.expect("switch back");
        let info = b.run_async("wxfaceapp.checkWxFacePayOsInfo({success: done, fail: done});", Value::Null).await;
        assert_eq!(info["screenInfo"], "front-screen", "{info}");

        // A picture takes the package page's place; close turns the screen off.
        let picture = b.client.execute("return picture(20, 10, '#0000ff');", vec![]).await.expect("picture");
        assert_eq!(open_picture(b, &picture).await["success"], true);
        assert_eq!(shown_picture(b).await[0], 20);
        let r = b.ampe(json!({"action": "closeSecondaryScreen", "event": "open", "taskId": "c"})).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(state(b).await, 0);
    })
    .await;
}
