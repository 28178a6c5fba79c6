//! `booth doctor`: what this terminal's devices look like to Booth, for an operator at the
//! console. Prints the smart card readers with their roles, the audio devices, and every
//! configured device's status; exits 1 when a configured device is unavailable, 0 otherwise.
//! `booth print-test`: the printer's test receipt; exits 0 when it printed, 1 when not.

use crate::config::Config;
use crate::devices::{configs, Devices};
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

    let sc = configs::smartcard(&config, false);
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
    println!(
        "audio devices ([speech] device = {:?}, [microphone] device = {:?}; \"\" = the default):",
        config.speech.device, config.microphone.device
    );
    let audio = booth_audio::devices();
    if audio.is_empty() {
        println!("  (none)");
    }
    for d in audio {
        let mut what = Vec::new();
        if d.output {
            what.push(if d.default_output { "output (default)" } else { "output" });
        }
        if d.input {
            what.push(if d.default_input { "input (default)" } else { "input" });
        }
        println!("  {:<28} {:<15} {}", d.id, what.join(", "), d.name);
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

    println!();
    println!("remote packages (least privilege: a URL gets only the permissions booth.toml grants):");
    let mut remote = false;
    let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    if let Some(source) = config.package.source.as_deref().filter(|s| is_url(s)) {
        remote = true;
        let granted = crate::config::sections::remote_grant(config.package.remote_permissions.as_deref());
        let key = crate::config::sections::REMOTE_PERMISSIONS_KEY;
        println!("  {}", crate::config::sections::describe_grant(&format!("[package] {source}"), &granted, key));
    }
    for (id, app) in config.apps.iter().filter(|(_, a)| is_url(&a.source)) {
        remote = true;
        let granted = crate::config::sections::remote_grant(app.permissions.as_deref());
        let key = format!("booth.toml [apps.{id}] permissions");
        println!(
            "  {}",
            crate::config::sections::describe_grant(&format!("[apps.{id}] {}", app.source), &granted, &key)
        );
    }
    if !remote {
        println!("  (none)");
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
            // An engine the terminal may lack without harm (ft.webrtc without webrtcbin): said,
            // not a failure — only the packages that use it are refused.
            let optional = s["optional"].as_bool().unwrap_or(false);
            let state = if backend == "none" {
                "not configured"
            } else if available {
                "ok"
            } else if optional {
                "not installed"
            } else {
                healthy = false;
                "UNAVAILABLE"
            };
            println!("  {name:<10} {backend:<7} {state:<14} {detail}");
        }
    }
    if let Some(p) = &devices.provider {
        println!();
        println!("identity provider ([provider] backend = {}):", p.backend_name());
        if !provider_check(p) {
            healthy = false;
        }
    }
    if healthy {
        0
    } else {
        1
    }
}

/// `GET /v1/capabilities`: reachable, the answer's signature verified, and the clocks within
/// the contract's window. Prints the outcome; `false` when the provider cannot be used.
fn provider_check(p: &booth_provider_client::Provider) -> bool {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("  UNAVAILABLE  {e}");
            return false;
        }
    };
    match rt.block_on(p.capabilities()) {
        Ok((caps, at)) => {
            let skew = at - booth_provider_client::sign::now_s();
            let window = booth_provider_client::sign::WINDOW_S;
            println!("  reachable, answer signature verified: {} ({})", caps.provider, caps.contract);
            println!("  features: {}", caps.features.join(", "));
            println!("  clock skew: {skew:+} s (allowed ±{window} s)");
            if skew.abs() > window / 2 {
                println!("  WARNING: the clocks differ by more than half the window; check NTP on both sides");
            }
            true
        }
        Err(e) => {
            println!("  UNAVAILABLE  {}: {}", e.code, e.message);
            if e.message.contains("clock skew") {
                println!(
                    "  the clocks differ by more than ±{} s; set the time (NTP) on the terminal or the provider",
                    booth_provider_client::sign::WINDOW_S
                );
            }
            false
        }
    }
}

/// `booth print-test`: prints the test receipt on the configured printer (its real backend).
pub fn print_test(config_path: Option<&Path>) -> i32 {
    let (config, path) = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("booth: error: {e}");
            return 2;
        }
    };
    match &path {
        Some(p) => println!("settings: {}", p.display()),
        None => println!("settings: defaults (no booth.toml)"),
    }
    let printer = booth_printer::Printer::start(crate::devices::configs::printer(&config, false));
    let c = printer.config();
    let target = match c.backend {
        booth_printer::BackendKind::Escpos => format!("escpos {} ({}, {} mm)", c.port, c.mode.name(), c.width_mm),
        booth_printer::BackendKind::Cups => format!("cups {} {} ({} mm)", c.server, c.queue, c.width_mm),
        booth_printer::BackendKind::Windows => format!("windows \"{}\" ({} mm)", c.queue, c.width_mm),
        booth_printer::BackendKind::Sim => format!("sim ({} mm)", c.width_mm),
        booth_printer::BackendKind::None => "none".to_string(),
    };
    println!("printer: {target}");
    let started = std::time::Instant::now();
    let outcome = printer.print_blocking(Some(printer.test_receipt()));
    let ms = started.elapsed().as_millis();
    match outcome {
        Ok(p) => {
            println!("printed in {ms} ms: {} ({} bytes)", p.detail, p.bytes);
            if let Some(k) = printer.kept().last() {
                for path in [&k.png_path, &k.pdf_path].into_iter().flatten() {
                    println!("kept: {}", path.display());
                }
            }
            0
        }
        Err(e) => {
            println!("NOT printed ({}): {e}", e.code());
            1
        }
    }
}
