//! The serial backend: a reader thread that turns lines into codes and reopens the port after
//! an unplug, so the terminal recovers without a restart.

use crate::{Shared, MAX_CODE_BYTES};
use std::io::{ErrorKind, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const READ_TIMEOUT: Duration = Duration::from_millis(200);
const REOPEN_EVERY: Duration = Duration::from_millis(500);

pub(crate) fn spawn(port: String, baud: u32, shared: Arc<Shared>) {
    let name = format!("scanner {port}");
    let spawned = std::thread::Builder::new().name(name).spawn(move || run(&port, baud, &shared));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the scanner reader thread");
    }
}

fn run(port: &str, baud: u32, shared: &Shared) {
    while !shared.stop.load(Ordering::Relaxed) {
        match serialport::new(port, baud).timeout(READ_TIMEOUT).open() {
            Ok(mut dev) => {
                shared.set_status(true, format!("{port} @ {baud}"));
                let reason = read_lines(dev.as_mut(), shared);
                shared.set_status(false, format!("{port}: {reason}"));
            }
            Err(e) => shared.set_status(false, format!("{port}: {e}")),
        }
        std::thread::sleep(REOPEN_EVERY);
    }
}

/// Reads until the device fails; returns why.
fn read_lines(dev: &mut dyn Read, shared: &Shared) -> String {
    let mut line: Vec<u8> = Vec::with_capacity(64);
    let mut overflow = false;
    let mut buf = [0u8; 512];
    while !shared.stop.load(Ordering::Relaxed) {
        match dev.read(&mut buf) {
            Ok(0) => return "设备已断开".to_string(),
            Ok(n) => {
                for &b in &buf[..n] {
                    if b == b'\r' || b == b'\n' {
                        if !overflow && !line.is_empty() {
                            let code = String::from_utf8_lossy(&line);
                            let code = code.trim();
                            if !code.is_empty() {
                                shared.emit(code);
                            }
                        }
                        line.clear();
                        overflow = false;
                    } else if line.len() >= MAX_CODE_BYTES {
                        if !overflow {
                            tracing::warn!("scanner line longer than {MAX_CODE_BYTES} bytes dropped");
                        }
                        overflow = true;
                    } else {
                        line.push(b);
                    }
                }
            }
            Err(e)
                if e.kind() == ErrorKind::TimedOut
                    || e.kind() == ErrorKind::Interrupted
                    || e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return e.to_string(),
        }
    }
    "stopped".to_string()
}
