//! A realistic receipt for the benchmarks (`examples/bench.rs`, `booth-bench`).

use base64::Engine as _;
use serde_json::{json, Value};

/// A receipt as a shop prints it: title, 12 items, amounts, a long line, a QR-like picture
/// (200×200): 21 lines on 58 mm after wrapping. The benchmarks print it.
pub fn shop_receipt() -> Value {
    let qr = image::GrayImage::from_fn(200, 200, |x, y| {
        let (cx, cy) = (x / 8, y / 8);
        let finder = |a: u32, b: u32| {
            a < 7 && b < 7 && (a == 0 || a == 6 || b == 0 || b == 6 || (2..5).contains(&a) && (2..5).contains(&b))
        };
        let on = finder(cx, cy)
            || finder(24 - cx.min(24), cy)
            || finder(cx, 24 - cy.min(24))
            || (cx * 7 + cy * 13 + cx * cy) % 3 == 0;
        image::Luma([if on { 0 } else { 255 }])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    qr.write_to(&mut png, image::ImageFormat::Png).expect("png");
    let b64 = base64::engine::general_purpose::STANDARD.encode(png.into_inner());
    let mut list = vec![
        json!({"text": "Booth 便利店 · 收银小票", "textSize": 36, "bold": true, "algin": "center"}),
        json!({"text": "门店: 深圳南山科技园店  终端: T-0001", "textSize": 22}),
        json!({"text": "时间: 2026-12-03 09:30:12", "textSize": 22}),
    ];
    for (i, (name, fen)) in [
        ("矿泉水 550ml", 200),
        ("三明治 Sandwich", 1250),
        ("咖啡 Latte（大杯）", 2800),
        ("口香糖", 850),
        ("纸巾 x2", 600),
        ("酸奶 原味", 590),
        ("面包", 780),
        ("苹果 1.2kg", 1560),
        ("牛奶 250ml x6", 3300),
        ("雨伞", 3900),
        ("电池 AA x4", 1990),
        ("笔记本", 600),
    ]
    .iter()
    .enumerate()
    {
        list.push(json!({"text": format!("{:>2}. {name}  ￥{}.{:02}", i + 1, fen / 100, fen % 100), "textSize": 24, "algin": if i % 3 == 2 { "right" } else { "left" }}));
    }
    list.push(json!({"text": "合计 Total：￥196.20", "textSize": 32, "bold": true, "algin": "right"}));
    list.push(json!({"text": "说明：本小票为购物凭证，请妥善保管；如需开具发票，请在三十天内凭本小票到服务台办理，谢谢合作！", "textSize": 22}));
    list.push(json!({"imageBase64": b64, "width": 200, "height": 200}));
    list.push(json!({"text": "扫码开发票 Scan for invoice", "textSize": 22, "algin": "center"}));
    Value::Array(list)
}
