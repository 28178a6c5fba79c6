//! Linux: evdev, grabbed.

use crate::{names, DeviceSpec, Health, KeyEvent, Stop};
use std::sync::Arc;
use std::time::Duration;

fn open(spec: &DeviceSpec) -> Result<(String, evdev::Device), String> {
    if spec.is_path() {
        let d = evdev::Device::open(&spec.0).map_err(|e| format!("{}: {e}", spec.0))?;
        return Ok((spec.0.clone(), d));
    }
    evdev::enumerate()
        .find(|(_, d)| d.name().is_some_and(|n| n.contains(spec.0.as_str())))
        .map(|(p, d)| (p.display().to_string(), d))
        .ok_or_else(|| format!("没有名称包含 \"{}\" 的输入设备 (或没有 /dev/input 的读取权限)", spec.0))
}

pub(crate) fn spawn(
    spec: DeviceSpec,
    health: Arc<Health>,
    stop: Stop,
    mut on_key: impl FnMut(KeyEvent) + Send + 'static,
) {
    let spawned = std::thread::Builder::new().name(format!("evdev {}", spec.0)).spawn(move || {
        while !stop.stopped() {
            match open(&spec) {
                Ok((path, mut dev)) => {
                    let name = dev.name().unwrap_or("?").to_string();
                    if let Err(e) = dev.grab() {
                        health.set(false, format!("{path}: 无法独占 ({e})"));
                    } else {
                        health.set(true, format!("{path} ({name}, evdev)"));
                        let why = loop {
                            if stop.stopped() {
                                break None;
                            }
                            match dev.fetch_events() {
                                Ok(events) => {
                                    for ev in events {
                                        // value: 1 down, 0 up, 2 auto-repeat (ignored).
                                        if ev.event_type() == evdev::EventType::KEY && ev.value() != 2 {
                                            if let Some(code) = names::from_linux(ev.code()) {
                                                on_key(KeyEvent { code, down: ev.value() == 1 });
                                            }
                                        }
                                    }
                                }
                                Err(e) => break Some(format!("{path}: {e}")),
                            }
                        };
                        match why {
                            Some(why) => health.set(false, why),
                            None => break,
                        }
                    }
                }
                Err(why) => health.set(false, why),
            }
            booth_serial_io::sleep_unless_stopped(Duration::from_millis(500), &stop);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the evdev reader thread");
    }
}
