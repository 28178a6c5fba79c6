//! A private network for WebRTC tests: libnice ignores loopback, so two peers on one machine
//! need a real interface. [`run_in_private_network`] runs the calling test again inside a new
//! user and network namespace (`unshare -rn`) with `lo` up and a veth pair whose two ends both
//! live there (10.213.0.1/24 and 10.213.0.2/24). Nothing can leave it, and tests running at the
//! same time each get their own.

use std::process::Command;

/// Set inside the namespace, so the test body runs there instead of starting it again.
pub const INSIDE: &str = "BOOTH_PRIVATE_NETWORK";

/// The two addresses of the veth pair.
pub const ADDRESSES: [&str; 2] = ["10.213.0.1", "10.213.0.2"];

/// `true` inside the private network: run the test's body. Outside, runs this test binary's
/// `test` (its full path as `cargo test` names it) inside a new private network — also when it
/// is `#[ignore]`d, since the outer run already chose to run it — panics if it failed or did
/// not run, and returns `false`.
pub fn run_in_private_network(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let setup = format!(
        "set -e; ip link set lo up; ip link add booth0 type veth peer name booth1; \
         ip addr add {a}/24 dev booth0; ip addr add {b}/24 dev booth1; \
         ip link set booth0 up; ip link set booth1 up; exec \"$0\" --exact \"$1\" --include-ignored --nocapture --test-threads=1",
        a = ADDRESSES[0],
        b = ADDRESSES[1]
    );
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", &setup])
        .arg(&exe)
        .arg(test)
        .env(INSIDE, "1")
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("unshare (util-linux) runs: user and network namespaces are needed for WebRTC tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(out.status.success(), "{test} failed inside its private network ({})", out.status);
    assert!(stdout.contains("test result: ok. 1 passed"), "{test} did not run inside its private network");
    false
}
