//! `booth doctor`: what this terminal's devices look like to Booth, for an operator at the
//! console. Prints the smart card readers with their roles and every configured device's
//! status; exits 1 when a configured device is unavailable, 0 otherwise.

use crate::config::Config;
use crate::devices::{smartcard_config, Devices};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// How long the devices get to open their ports and list their readers before the report.
const SETTLE: Duration = Duration::from_millis(1500);

pub fn run(config_path: Option<&Path>) -> i32 {
    let (config, path) = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("booth: error: {e}");
            return 2;
        }
    };
    println!("booth {} doctor", crate::VERSION);
    match &path {
        Some(p) => println!("settings: {}", p.display()),
        None => println!("settings: defaults (no booth.toml)"),
    }

    let sc = smartcard_config(&config, false);
    println!();
    println!("smart card readers ([smartcard] backend = {}):", sc.backend.as_str());
    match booth_smartcard::readers_with_roles(sc.backend, &sc.readers) {
        Ok(readers) if readers.is_empty() && sc.backend == booth_smartcard::Backend::None => {
            println!("  (not configured)")
        }
        Ok(readers) if readers.is_empty() => println!("  (no readers)"),
        Ok(readers) => {
            let width = readers.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
            for r in readers {
                let role = match (r.role, r.how) {
                    (Some(role), Some(how)) => format!("{role} ({how})"),
                    (Some(role), None) => role.to_string(),
                    _ => "unused".to_string(),
                };
                println!("  {:<width$}  {role}", r.name);
            }
        }
        Err(e) => println!("  PC/SC: {e}"),
    }

    println!();
    println!("cameras ([camera] backend = {}):", config.camera.backend);
    match booth_camera::list_devices() {
        Ok(names) if names.is_empty() => println!("  (no cameras)"),
        Ok(names) => {
            for (i, n) in names.iter().enumerate() {
                println!("  {i}  {n}");
            }
        }
        Err(e) => println!("  {e}"),
    }

    let devices = Devices::start(&config, false);
    std::thread::sleep(SETTLE);
    let status = devices.status();
    println!();
    println!("devices:");
    let mut healthy = true;
    if let Value::Object(map) = &status {
        for (name, s) in map {
            let backend = s["backend"].as_str().unwrap_or("?");
            let available = s["available"].as_bool().unwrap_or(false);
            let detail = s["detail"].as_str().unwrap_or("");
            let state = if backend == "none" {
                "not configured"
            } else if available {
                "ok"
            } else {
                healthy = false;
                "UNAVAILABLE"
            };
            println!("  {name:<10} {backend:<7} {state:<14} {detail}");
        }
    }
    if healthy {
        0
    } else {
        1
    }
}
