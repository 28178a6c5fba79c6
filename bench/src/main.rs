//! `booth-bench`: Booth measured next to a bare Tauri 2 app (`bench/raw`) in one run on one
//! machine. `scripts/bench` builds both and runs it; see README, Performance.
//!
//! Both apps load the same page agent (`bench/package/agent.js`) and take the same stdin
//! commands (Booth through its hidden `run --bench` probe). Both run side by side and take turns
//! measure by measure, so that both see the same machine load. Every figure is a ratio to the baseline
//! measured in the same run: bridge round trips (sequential and 1,000 in flight), event
//! delivery (small and PCM-sized, 10/s and flat out), start-up (exec → DOMContentLoaded), PSS of
//! the app and all its WebKit processes (alone, with the second screen showing a picture, growth
//! over 10,000 calls) and binary size. Then the devices (`devices.rs`): microphone, speech, receipt
//! and face, each through Booth's bridge next to the best direct path, on real stand-ins.
//!
//! Not for: deciding CI. Timing never fails; a benchmark that cannot run does (exit code 1).

#[cfg(target_os = "linux")]
mod app;
#[cfg(target_os = "linux")]
mod devices;
#[cfg(target_os = "linux")]
mod procs;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod stats;

#[cfg(target_os = "linux")]
fn main() {
    run::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("booth-bench: measures WebKitGTK through /proc; it runs on Linux only");
    std::process::exit(1);
}
