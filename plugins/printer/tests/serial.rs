//! ESC/POS printers on a serial port and on a device node, against booth-testkit's fake
//! printer on a socat pty: a serial line takes bytes with nothing behind it, so only the
//! status answer tells a printer is there; unplug and replug need no restart.

#![cfg(unix)]

mod common;

use booth_printer::{link, BackendKind, Mode, PrinterConfig};
use booth_testkit::escpos::FakePrinter;
use common::{error_code, text, Rig};
use serde_json::json;
use std::time::{Duration, Instant};

fn config(port: String, mode: Mode) -> PrinterConfig {
    PrinterConfig {
        backend: BackendKind::Escpos,
        port,
        baud: 115_200,
        mode,
        status_timeout_ms: 1000,
        job_timeout_s: 20,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serial_printer_on_a_pty_prints_silence_and_unplug_are_unavailable_replug_prints() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = FakePrinter::serial(dir.path());
    let rig = Rig::new(config(fake.port(), Mode::Text));
    wait_available(&rig, true).await;
    let reply = rig.print(json!([text("串口打印")])).await;
    assert_eq!(reply["success"], true, "{reply}");
    assert_eq!(fake.wait_printouts(1, Duration::from_secs(5))[0].text(), ["串口打印"]);

    // A serial write "succeeds" with nothing behind it: only the status answer tells.
    fake.set_silent(true);
    let reply = rig.print(json!([text("无应答")])).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("无应答"), "{reply}");
    fake.set_silent(false);

    fake.socat().unwrap().kill();
    wait_available(&rig, false).await;
    let reply = rig.print(json!([text("拔出")])).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");

    fake.socat().unwrap().restart();
    wait_available(&rig, true).await;
    let reply = rig.print(json!([text("插回")])).await;
    assert_eq!(reply["success"], true, "{reply}");
    let printed = fake.wait_printouts(2, Duration::from_secs(5));
    assert_eq!(printed.last().unwrap().text(), ["插回"]);
}

#[test]
fn usb_device_node_link_writes_and_reads_status() {
    // A usblp node is a bidirectional character device; a pty behaves the same for the link.
    let dir = tempfile::tempdir().unwrap();
    let fake = FakePrinter::serial(dir.path());
    std::thread::sleep(Duration::from_millis(100));
    let mut usb = link::UsbLink::open(&fake.port()).expect("open");
    let status = link::require_ready(&mut usb, Duration::from_secs(2)).expect("ready");
    assert!(!status.paper_out);
    link::Link::write_all(
        &mut usb,
        &booth_printer::escpos::raster(
            &booth_printer::bitmap::Bitmap::new(8, 3),
            booth_printer::escpos::Finish { cut: true, drawer: false },
        ),
    )
    .unwrap();
    assert_eq!(fake.wait_printouts(1, Duration::from_secs(5))[0].raster_height(), 3);
    fake.set_paper_out(true);
    assert_eq!(link::require_ready(&mut usb, Duration::from_secs(2)), Err(booth_printer::PrintError::PaperOut));
}

async fn wait_available(rig: &Rig, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.printer.status().available != want {
        assert!(Instant::now() < deadline, "available != {want}: {:?}", rig.printer.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
