//! A window's picture as PNG, for the fleet's `screenshot` command: on Linux the web view's
//! own snapshot (WebKitGTK draws the visible part of the page into a cairo image), encoded
//! here; on Windows WebView2's `CapturePreview`, which writes a PNG itself (not run on Windows
//! yet).

use std::time::Duration;
use tauri::WebviewWindow;

/// The longest a snapshot may take.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

/// A PNG of what `window` shows. Blocking: call it off the main thread.
pub fn capture(window: &WebviewWindow) -> Result<Vec<u8>, String> {
    #[cfg(target_os = "linux")]
    {
        let (tx, rx) = std::sync::mpsc::channel();
        super::webkit::snapshot(window, move |r| {
            let _ = tx.send(r);
        })?;
        let px = rx.recv_timeout(SNAPSHOT_WAIT).map_err(|_| "the web view gave no picture in time".to_string())??;
        png_of_argb32(px.width, px.height, px.stride, &px.data, px.alpha)
    }
    #[cfg(windows)]
    {
        let (tx, rx) = std::sync::mpsc::channel();
        super::webview2::capture_png(window.as_ref(), tx)?;
        rx.recv_timeout(SNAPSHOT_WAIT).map_err(|_| "the web view gave no picture in time".to_string())?
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let _ = window;
        Err("screenshots are not supported on this platform yet".into())
    }
}

/// PNG of a cairo ARGB32 / RGB24 image: rows of `stride` bytes, each pixel a native-endian
/// 32-bit word with premultiplied alpha (`alpha` false: the top byte is unused).
pub fn png_of_argb32(width: u32, height: u32, stride: usize, data: &[u8], alpha: bool) -> Result<Vec<u8>, String> {
    if width == 0 || height == 0 {
        return Err("the window has no size".into());
    }
    let row = width as usize * 4;
    if stride < row || data.len() < stride * (height as usize - 1) + row {
        return Err("the picture's data is shorter than its size".into());
    }
    let mut rgba = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        for px in data[y * stride..y * stride + row].chunks_exact(4) {
            let word = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
            let a = if alpha { (word >> 24) as u8 } else { 255 };
            let un = |c: u32| -> u8 {
                let c = (c & 0xff) as u8;
                if a == 0 || a == 255 {
                    c
                } else {
                    ((c as u32 * 255 + a as u32 / 2) / a as u32).min(255) as u8
                }
            };
            rgba.extend_from_slice(&[un(word >> 16), un(word >> 8), un(word), a]);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&rgba).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argb32_becomes_png() {
        // 2×2 with a padded stride: red, green / blue, half-transparent white (premultiplied).
        let px = |w: u32| w.to_ne_bytes();
        let mut data = Vec::new();
        data.extend(px(0xffff0000));
        data.extend(px(0xff00ff00));
        data.extend([0u8; 4]);
        data.extend(px(0xff0000ff));
        data.extend(px(0x80808080));
        data.extend([0u8; 4]);
        let png_bytes = png_of_argb32(2, 2, 12, &data, true).unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 2));
        assert_eq!(&buf[..16], &[255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 128]);
        assert!(png_of_argb32(2, 2, 4, &data, true).is_err(), "stride shorter than a row");
        assert!(png_of_argb32(0, 2, 12, &data, true).is_err());
    }
}
