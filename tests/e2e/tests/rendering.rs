//! End to end, `[display] compositing = "off"`: Booth's own process (WebKit's UI side) keeps
//! Mesa out — neither EGL nor GDK's GLX query at start-up loads a GL driver or libLLVM there —
//! while the page is drawn by its web process as usual. Needs Xvfb and tauri-driver: run through
//! scripts/test-all.

use booth_e2e::{fixture, with_real_booth};
use std::time::Duration;

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn without_compositing_no_gl_driver_is_loaded_into_booths_process() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth.toml");
    std::fs::write(&config, "[log]\ndir = \"\"\n[display]\ncompositing = \"off\"\n").unwrap();
    with_real_booth(&fixture("basic"), &["--config", config.to_str().unwrap()], async |b| {
        // The page is up and drawn (its layout has a size), and it can call Booth.
        let width = b.wait_for("return document.body.getBoundingClientRect().width", Duration::from_secs(10)).await;
        assert!(width.as_f64().is_some_and(|w| w > 100.0), "{width}");
        let info = b.ampe(serde_json::json!({"action": "getDeviceInfo", "event": "open", "taskId": "r"})).await;
        assert_eq!(info["success"], true, "{info}");
        let pid = booth_e2e::booth_pid(b.control_port).expect("booth's process");
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("booth's maps");
        let gl: Vec<&str> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .filter(|f| {
                ["libLLVM", "swrast_dri", "libGLX_mesa", "libEGL_mesa", "_dri.so"].iter().any(|m| f.contains(m))
            })
            .collect();
        assert!(gl.is_empty(), "a GL driver in Booth's process: {gl:?}");
        // The web process still has what it paints with (so the check above is not vacuous on
        // a machine that has Mesa at all).
        let web = *booth_e2e::web_processes(pid).first().expect("the page's web process");
        let web_maps = std::fs::read_to_string(format!("/proc/{web}/maps")).unwrap_or_default();
        assert!(
            web_maps.contains("_dri.so") || web_maps.contains("libLLVM"),
            "the web process paints through Mesa's EGL here"
        );
    })
    .await;
}
