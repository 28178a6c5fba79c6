//! CUPS queues of a private cupsd (booth-testkit): the receipt's PDF reaches the queue with its
//! page size (through the cups-pdf driver's filters into a capturing backend, and out of the real
//! cups-pdf printer as a PDF), and a job stuck on an absent printer is cancelled after
//! `job_timeout_s`.

#![cfg(unix)]

mod common;

use booth_printer::{BackendKind, PrinterConfig};
use booth_testkit::cups::Cupsd;
use common::{error_code, text, Rig};
use serde_json::json;
use std::time::{Duration, Instant};

const PPD: &str = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd";

fn config(cupsd: &Cupsd, queue: &str, timeout_s: u64) -> PrinterConfig {
    PrinterConfig {
        backend: BackendKind::Cups,
        queue: queue.into(),
        server: cupsd.url(),
        job_timeout_s: timeout_s,
        ..Default::default()
    }
}

fn receipt() -> serde_json::Value {
    json!([
        {"text": "Booth 收银小票", "textSize": 36, "bold": true, "algin": "center"},
        text("矿泉水 550ml  ￥2.00"),
        {"text": "合计：￥2.00", "algin": "right"}
    ])
}

/// The page size in points: `pdfinfo`'s for a PDF, the page's `/MediaBox` in PostScript.
fn page_points(data: &[u8]) -> Option<(f32, f32)> {
    let text = String::from_utf8_lossy(data);
    if text.starts_with("%PDF") {
        let dir = tempfile::tempdir().ok()?;
        let f = dir.path().join("x.pdf");
        std::fs::write(&f, data).ok()?;
        let out = std::process::Command::new("pdfinfo").arg(&f).output().ok()?;
        let info = String::from_utf8_lossy(&out.stdout).to_string();
        let line = info.lines().find(|l| l.starts_with("Page size:"))?;
        let nums: Vec<f32> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        return Some((nums[0], nums[1]));
    }
    // PostScript from the driver's filters: the page's own box.
    let at = text.find("/MediaBox [")? + "/MediaBox [".len();
    let nums: Vec<f32> = text[at..].split(']').next()?.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    Some((nums.get(2)? - nums.first()?, nums.get(3)? - nums.get(1)?))
}

#[tokio::test(flavor = "multi_thread")]
async fn receipt_reaches_the_queue_at_its_page_size_not_a4() {
    let cupsd = Cupsd::start();
    cupsd.add_capture_queue("RECEIPT", Some(PPD));
    let rig = Rig::new(config(&cupsd, "RECEIPT", 30));
    let reply = rig.print(receipt()).await;
    assert_eq!(reply["success"], true, "{reply}\n{}", cupsd.log());
    assert_eq!(reply["message"], "成功");
    let jobs = cupsd.captured("RECEIPT");
    assert_eq!(jobs.len(), 1, "{}", cupsd.jobs());
    let (w, h) = page_points(&jobs[0].1).unwrap_or_else(|| {
        panic!("no page size in {:?}", String::from_utf8_lossy(&jobs[0].1[..200.min(jobs[0].1.len())]))
    });
    // 58 mm = 164.4 pt wide; a few lines long (far from A4's 595 × 842).
    assert!((w - 164.4).abs() < 2.0, "width {w} pt");
    assert!(h > 40.0 && h < 300.0, "height {h} pt");
}

#[tokio::test(flavor = "multi_thread")]
async fn stuck_job_is_cancelled_after_the_timeout_and_reported() {
    let cupsd = Cupsd::start();
    cupsd.add_capture_queue("STUCK", None);
    cupsd.set_hang("STUCK", true);
    let rig = Rig::new(config(&cupsd, "STUCK", 2));
    let started = Instant::now();
    let reply = rig.print(receipt()).await;
    let took = started.elapsed();
    assert_eq!(reply["success"], false, "{reply}");
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");
    assert!(reply["message"].as_str().unwrap_or("").contains("已取消"), "{reply}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(15), "{took:?}");
    assert!(
        cupsd.wait(Duration::from_secs(10), |c| c.active_jobs().trim().is_empty()),
        "still queued: {}",
        cupsd.jobs()
    );
    assert!(cupsd.captured("STUCK").is_empty());

    // Paper out as the backend reports it: DEVICE_ERROR; then the printer is back.
    cupsd.set_paper_out("STUCK", true);
    let reply = rig.print(receipt()).await;
    assert_eq!(error_code(&reply), "DEVICE_ERROR", "{reply}");
    assert!(reply["message"].as_str().unwrap_or("").contains("缺纸"), "{reply}");
    cupsd.set_paper_out("STUCK", false);
    cupsd.set_hang("STUCK", false);
    let reply = rig.print(receipt()).await;
    assert_eq!(reply["success"], true, "{reply}\n{}", cupsd.jobs());
    let jobs = cupsd.captured("STUCK");
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].1.starts_with(b"%PDF"), "a raw queue gets Booth's PDF unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_stopped_queues_and_no_cupsd_are_unavailable() {
    let cupsd = Cupsd::start();
    cupsd.add_capture_queue("PAUSED", None);
    let (ok, out) = cupsd.run("cupsdisable", &["PAUSED"]);
    assert!(ok, "{out}");
    let rig = Rig::new(config(&cupsd, "PAUSED", 5));
    let reply = rig.print(receipt()).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");

    let rig = Rig::new(config(&cupsd, "NOSUCH", 5));
    let reply = rig.print(receipt()).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");

    let url = cupsd.url();
    drop(cupsd);
    let rig = Rig::new(PrinterConfig { server: url, ..config_for_absent() });
    let reply = rig.print(receipt()).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");
}

fn config_for_absent() -> PrinterConfig {
    PrinterConfig { backend: BackendKind::Cups, queue: "R".into(), job_timeout_s: 5, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn receipt_on_the_cups_pdf_printer_comes_out_as_a_58_mm_pdf() {
    let cupsd = Cupsd::start();
    cupsd.add_pdf_queue("PDF");
    let started = std::time::SystemTime::now();
    let rig = Rig::new(config(&cupsd, "PDF", 60));
    let reply = rig.print(receipt()).await;
    assert_eq!(reply["success"], true, "{reply}\n{}", cupsd.log());
    let out = Cupsd::cups_pdf_output_since(started).unwrap_or_else(|| panic!("no cups-pdf output\n{}", cupsd.log()));
    let (w, h) = page_points(&std::fs::read(&out).unwrap()).expect("page size");
    assert!((w - 164.4).abs() < 2.0 && h > 40.0 && h < 300.0, "{w} x {h} pt");
    let _ = std::fs::remove_file(out);
}
