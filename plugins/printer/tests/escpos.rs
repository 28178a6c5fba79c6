//! ESC/POS printers against booth-testkit's fake printer (TCP 9100 and a socat pty): what it
//! decodes is what the layout drew (raster) or what the page sent (text mode, GB18030); paper
//! out, cover open, silence and unplugging give the documented errors, and printing resumes by
//! itself when the printer is back.

mod common;

use booth_printer::layout::Layout;
use booth_printer::receipt::Receipt;
use booth_printer::{BackendKind, Mode, PrinterConfig};
use booth_testkit::escpos::FakePrinter;
use common::{error_code, text, Rig};
use serde_json::{json, Value};
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

fn png_b64(w: u32, h: u32) -> String {
    use base64::Engine;
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 255 / w) as u8).wrapping_add((y % 7) as u8)]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    base64::engine::general_purpose::STANDARD.encode(out.into_inner())
}

fn mixed_receipt() -> Value {
    json!([
        {"text": "收银小票 Receipt", "textSize": 40, "bold": true, "algin": "center"},
        text("门店：南山科技园店，终端 T-0001"),
        {"text": "合计 ￥12.50", "algin": "right", "bold": true},
        {"imageBase64": png_b64(120, 60), "width": 120, "height": 60},
        {"text": "这是一行很长的说明文字，用来检查在纸的右边缘换行时标点符号不会被截断。", "textSize": 24}
    ])
}

/// The bitmap the layout draws for `list`, with the printer's own fonts.
fn expected_bitmap(rig: &Rig, list: &Value) -> booth_printer::bitmap::Bitmap {
    let fonts = rig.printer.fonts().expect("fonts");
    let receipt = Receipt::parse(Some(list)).expect("receipt");
    let paper = booth_printer::layout::Paper::new(rig.printer.config().width_mm, 0.0).expect("paper");
    Layout::new(&receipt, &fonts, paper).expect("layout").render(&fonts)
}

#[tokio::test(flavor = "multi_thread")]
async fn raster_over_tcp_decodes_to_the_layout_bitmap() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(config(fake.port(), Mode::Raster));
    let list = mixed_receipt();
    let reply = rig.print(list.clone()).await;
    assert_eq!(reply["success"], true, "{reply}");
    let printed = fake.wait_printouts(1, Duration::from_secs(5));
    assert_eq!(printed.len(), 1);
    let p = &printed[0];
    let want = expected_bitmap(&rig, &list);
    assert!(p.cut && !p.drawer);
    assert_eq!(p.raster_stride, want.stride());
    assert_eq!(p.raster_height(), want.height() as usize);
    assert!(p.raster_bands >= 2, "tall rasters go in bands");
    assert_eq!(p.raster_rows, want.rows(), "decoded raster differs from the layout's bitmap");
    assert!(want.black() > 5000, "the receipt has ink");
    // Status asked before and after the job.
    assert!(fake.queries() >= 4, "{}", fake.queries());
}

#[tokio::test(flavor = "multi_thread")]
async fn text_mode_decodes_in_gb18030_to_the_input() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(PrinterConfig { cash_drawer: true, ..config(fake.port(), Mode::Text) });
    let list = json!([
        {"text": "欢迎光临", "textSize": 48, "bold": true, "algin": "center"},
        text("矿泉水 550ml x2"),
        {"text": "合计 ¥4.00", "algin": "right"},
        {"imageBase64": png_b64(64, 32), "width": 64, "height": 32},
        text("生僻字：㵘 谢谢")
    ]);
    let reply = rig.print(list).await;
    assert_eq!(reply["success"], true, "{reply}");
    let p = &fake.wait_printouts(1, Duration::from_secs(5))[0];
    assert!(p.chinese_mode && p.cut && p.drawer);
    assert_eq!(p.text(), ["欢迎光临", "矿泉水 550ml x2", "合计 ￥4.00", "生僻字：㵘 谢谢"]);
    assert_eq!((p.lines[0].align, p.lines[0].bold, p.lines[0].size), (1, true, 0x11));
    assert_eq!((p.lines[1].align, p.lines[1].bold, p.lines[1].size), (0, false, 0));
    assert_eq!(p.lines[2].align, 2);
    assert_eq!(p.raster_height(), 32, "the picture goes as a raster");
    // Far smaller than the raster of the same receipt.
    assert!(fake.bytes().len() < 2000, "{}", fake.bytes().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn text_mode_wraps_long_lines_by_the_printer_font() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(config(fake.port(), Mode::Text));
    // 384 dots = 16 Chinese characters of 24 dots: the 17th is a comma, so the 16th goes
    // down with it.
    let long = "一二三四五六七八九十一二三四五六，七八";
    let reply = rig.print(json!([text(long)])).await;
    assert_eq!(reply["success"], true, "{reply}");
    let p = &fake.wait_printouts(1, Duration::from_secs(5))[0];
    assert_eq!(p.text(), ["一二三四五六七八九十一二三四五", "六，七八"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn paper_out_and_cover_open_are_device_errors_and_the_next_job_prints() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(config(fake.port(), Mode::Raster));
    fake.set_paper_out(true);
    let reply = rig.print(json!([text("第一张")])).await;
    assert_eq!(error_code(&reply), "DEVICE_ERROR", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("缺纸"), "{reply}");
    fake.set_paper_out(false);
    fake.set_cover_open(true);
    let reply = rig.print(json!([text("第二张")])).await;
    assert_eq!(error_code(&reply), "DEVICE_ERROR", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("盖"), "{reply}");
    assert!(fake.printouts().is_empty(), "nothing printed while the printer could not");
    fake.set_cover_open(false);
    let reply = rig.print(json!([text("第三张")])).await;
    assert_eq!(reply["success"], true, "{reply}");
    assert_eq!(fake.wait_printouts(1, Duration::from_secs(5)).len(), 1);
    assert!(rig.printer.status().available);
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_print_one_at_a_time_in_call_order() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(config(fake.port(), Mode::Text));
    // Different sizes: layouts finish in any order, printing keeps the call order.
    let calls = (0..6).map(|i| {
        let mut list = vec![text(&format!("第 {i} 张"))];
        if i % 2 == 0 {
            list.push(json!({"imageBase64": png_b64(300, 300), "width": 384, "height": 384}));
        }
        rig.print(Value::Array(list))
    });
    let replies = futures::future::join_all(calls).await;
    assert!(replies.iter().all(|r| r["success"] == true), "{replies:?}");
    let printed = fake.wait_printouts(6, Duration::from_secs(10));
    let firsts: Vec<String> = printed.iter().map(|p| p.lines[0].text.clone()).collect();
    assert_eq!(firsts, (0..6).map(|i| format!("第 {i} 张")).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_items_are_invalid_params_before_anything_is_printed() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(config(fake.port(), Mode::Raster));
    // Wait for the start-up status probe, then watch for any further byte.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.queries() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = fake.bytes().len();
    for list in [
        json!([text("好"), {"text": "x", "algin": "middle"}]),
        json!([text("好"), {"imageBase64": "bm90IGFuIGltYWdl"}]),
        json!([{"text": "x", "textSize": 1000}]),
        json!([]),
        json!("printList"),
        Value::Array((0..201).map(|_| text("x")).collect()),
    ] {
        let reply = rig.print(list.clone()).await;
        assert_eq!(error_code(&reply), "INVALID_PARAMS", "{list}: {reply}");
        assert!(reply["message"].as_str().unwrap().starts_with("参数错误"), "{reply}");
    }
    assert_eq!(fake.bytes().len(), before, "nothing reached the printer");
    // The queue goes on after refused calls.
    assert_eq!(rig.print(json!([text("好")])).await["success"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_port_is_unavailable_and_none_backend_too() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rig = Rig::new(config(format!("tcp://127.0.0.1:{port}"), Mode::Raster));
    let started = Instant::now();
    let reply = rig.print(json!([text("x")])).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!rig.printer.status().available);

    let rig = Rig::new(PrinterConfig::default());
    let reply = rig.print(json!([text("x")])).await;
    assert_eq!(error_code(&reply), "DEVICE_UNAVAILABLE", "{reply}");
}
