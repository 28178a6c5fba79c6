//! End to end: the WebdriverIO example (`examples/webdriverio`) passes against this build.
//! It is the JavaScript counterpart of these tests, for mini-program authors; running it here
//! keeps it working. Needs Xvfb + tauri-driver (scripts/test-all) and `npm ci` in that folder.

use booth_e2e::{booth_bin, root};
use std::process::Command;

#[test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
fn webdriverio_example_passes() {
    let dir = root().join("examples/webdriverio");
    assert!(
        dir.join("node_modules/webdriverio").is_dir(),
        "{}/node_modules is missing: run `npm ci --ignore-scripts` there (scripts/test-all does)",
        dir.display()
    );
    let driver = std::env::var("TAURI_DRIVER_URL").unwrap_or_else(|_| "http://127.0.0.1:4444".into());
    let out = Command::new("npm")
        .arg("test")
        .current_dir(&dir)
        .env("TAURI_DRIVER_URL", &driver)
        .env("BOOTH_BIN", booth_bin())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `npm` ({e}): install Node.js (scripts/setup.sh does)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "`npm test` in examples/webdriverio failed ({}):\n{text}", out.status);
    // node:test's summary: the example's test really ran.
    assert!(text.lines().any(|l| l.trim() == "# pass 1"), "no passing test reported:\n{text}");
    assert!(text.lines().any(|l| l.trim() == "# fail 0"), "{text}");
}
