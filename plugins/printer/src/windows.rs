//! Windows printers by name, without any dialog: RAW ESC/POS through the spooler
//! (`StartDocPrinterW` datatype RAW, `WritePrinter`), or — for printers that only have a
//! driver — the receipt's bitmap drawn on the printer's device context with a page as long as
//! the receipt. Either way the job is followed with `GetJobW` until it leaves the queue, and
//! cancelled when it is still there after the timeout.

use crate::bitmap::Bitmap;
use crate::error::PrintError;
use crate::layout::{Paper, DPI};
use crate::Printed;
use std::time::{Duration, Instant};
use windows::core::{PCWSTR, PWSTR};
use windows::Win32::Graphics::Gdi::{
    CreateDCW, DeleteDC, GetDeviceCaps, StretchDIBits, BITMAPINFOHEADER, BI_RGB, DEVMODEW, DIB_RGB_COLORS,
    DM_IN_BUFFER, DM_OUT_BUFFER, DM_PAPERLENGTH, DM_PAPERWIDTH, LOGPIXELSX, LOGPIXELSY, RGBQUAD, SRCCOPY,
};
use windows::Win32::Graphics::Printing::{
    ClosePrinter, DocumentPropertiesW, EndDocPrinter, EndPagePrinter, GetJobW, GetPrinterW, OpenPrinterW, SetJobW,
    StartDocPrinterW, StartPagePrinter, WritePrinter, DOC_INFO_1W, JOB_CONTROL_CANCEL, JOB_INFO_1W,
    JOB_STATUS_COMPLETE, JOB_STATUS_ERROR, JOB_STATUS_OFFLINE, JOB_STATUS_PAPEROUT, JOB_STATUS_PRINTED,
    JOB_STATUS_USER_INTERVENTION, PRINTER_HANDLE, PRINTER_INFO_2W, PRINTER_STATUS_DOOR_OPEN,
    PRINTER_STATUS_NOT_AVAILABLE, PRINTER_STATUS_OFFLINE, PRINTER_STATUS_PAPER_OUT, PRINTER_STATUS_PAUSED,
};
use windows::Win32::Storage::Xps::{EndDoc, EndPage, StartDocW, StartPage, DOCINFOW};

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// An open printer, closed when dropped.
struct Handle(PRINTER_HANDLE);

impl Handle {
    fn open(name: &str) -> Result<Handle, PrintError> {
        if name.trim().is_empty() {
            return Err(PrintError::Unavailable("[printer] queue 未设置 (Windows 打印机名)".into()));
        }
        let w = wide(name);
        let mut h = PRINTER_HANDLE::default();
        unsafe { OpenPrinterW(PCWSTR(w.as_ptr()), &mut h, None) }
            .map_err(|e| PrintError::Unavailable(format!("打印机 \"{name}\": {e}")))?;
        Ok(Handle(h))
    }

    /// PRINTER_INFO_2 `Status`.
    fn printer_status(&self) -> Option<u32> {
        let mut needed = 0u32;
        let _ = unsafe { GetPrinterW(self.0, 2, None, &mut needed) };
        if needed == 0 {
            return None;
        }
        let mut buf = vec![0u8; needed as usize];
        unsafe { GetPrinterW(self.0, 2, Some(&mut buf), &mut needed) }.ok()?;
        // The buffer starts with the structure (its strings follow it).
        let info = unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const PRINTER_INFO_2W) };
        Some(info.Status)
    }

    /// JOB_INFO_1 `Status`, `None` once the job has left the queue.
    fn job_status(&self, job: u32) -> Option<u32> {
        let mut needed = 0u32;
        let _ = unsafe { GetJobW(self.0, job, 1, None, &mut needed) };
        if needed == 0 {
            return None;
        }
        let mut buf = vec![0u8; needed as usize];
        if !unsafe { GetJobW(self.0, job, 1, Some(&mut buf), &mut needed) }.as_bool() {
            return None;
        }
        let info = unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const JOB_INFO_1W) };
        Some(info.Status)
    }

    fn cancel(&self, job: u32) {
        if !unsafe { SetJobW(self.0, job, 0, None, JOB_CONTROL_CANCEL) }.as_bool() {
            tracing::warn!(job, "could not cancel the Windows print job");
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = unsafe { ClosePrinter(self.0) };
    }
}

/// The printer exists and the spooler does not call it offline, paused or out of paper.
pub fn check(name: &str) -> Result<(), PrintError> {
    let h = Handle::open(name)?;
    match h.printer_status() {
        Some(s) if s & (PRINTER_STATUS_OFFLINE | PRINTER_STATUS_NOT_AVAILABLE | PRINTER_STATUS_PAUSED) != 0 => {
            Err(PrintError::Unavailable(format!("打印机 \"{name}\" 脱机或已暂停 (0x{s:x})")))
        }
        Some(s) if s & PRINTER_STATUS_PAPER_OUT != 0 => Err(PrintError::PaperOut),
        Some(s) if s & PRINTER_STATUS_DOOR_OPEN != 0 => Err(PrintError::CoverOpen),
        _ => Ok(()),
    }
}

/// Waits for `job` to leave the queue; cancels it after `timeout`.
fn follow(h: &Handle, name: &str, job: u32, timeout: Duration) -> Result<(), PrintError> {
    let deadline = Instant::now() + timeout;
    let mut last: u32;
    loop {
        match h.job_status(job) {
            None => return Ok(()),
            Some(s) if s & (JOB_STATUS_PRINTED | JOB_STATUS_COMPLETE) != 0 => return Ok(()),
            Some(s) => last = s,
        }
        if Instant::now() >= deadline {
            h.cancel(job);
            let why = format!("打印任务 {job} 在 {} 秒内没有完成, 已取消 (\"{name}\" 0x{last:x})", timeout.as_secs());
            return Err(if last & JOB_STATUS_PAPEROUT != 0 {
                PrintError::Device(format!("缺纸: {why}"))
            } else if last & (JOB_STATUS_ERROR | JOB_STATUS_USER_INTERVENTION) != 0 && last & JOB_STATUS_OFFLINE == 0 {
                PrintError::Device(why)
            } else {
                PrintError::Unavailable(why)
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// ESC/POS bytes through the spooler, untouched by the driver.
pub fn print_raw(name: &str, bytes: &[u8], timeout: Duration) -> Result<Printed, PrintError> {
    check(name)?;
    let h = Handle::open(name)?;
    let mut doc_name = wide("Booth receipt");
    let mut datatype = wide("RAW");
    let info = DOC_INFO_1W {
        pDocName: PWSTR(doc_name.as_mut_ptr()),
        pOutputFile: PWSTR::null(),
        pDatatype: PWSTR(datatype.as_mut_ptr()),
    };
    let job = unsafe { StartDocPrinterW(h.0, 1, &info) };
    if job == 0 {
        return Err(PrintError::Unavailable(format!(
            "打印机 \"{name}\": StartDocPrinter: {}",
            windows::core::Error::from_thread()
        )));
    }
    let mut written = 0u32;
    let ok = unsafe {
        StartPagePrinter(h.0).as_bool()
            && WritePrinter(h.0, bytes.as_ptr() as *const _, bytes.len() as u32, &mut written).as_bool()
            && EndPagePrinter(h.0).as_bool()
    };
    let ended = unsafe { EndDocPrinter(h.0) }.as_bool();
    if !ok || !ended || written as usize != bytes.len() {
        h.cancel(job);
        return Err(PrintError::Device(format!("打印机 \"{name}\": 写入 {written}/{} 字节失败", bytes.len())));
    }
    follow(&h, name, job, timeout)?;
    Ok(Printed { bytes: bytes.len(), detail: format!("{name} job {job}") })
}

/// A 1-bit DIB: header and a two-colour palette (0 paper, 1 ink).
#[repr(C)]
struct MonoInfo {
    header: BITMAPINFOHEADER,
    colors: [RGBQUAD; 2],
}

/// The bitmap on the printer's device context, at its physical size, on a page as long as
/// the receipt.
pub fn print_gdi(name: &str, bitmap: &Bitmap, paper: Paper, timeout: Duration) -> Result<Printed, PrintError> {
    check(name)?;
    let h = Handle::open(name)?;
    let wname = wide(name);
    // The driver's settings, with the paper as wide as the roll and as long as the receipt.
    let size = unsafe { DocumentPropertiesW(None, h.0, PCWSTR(wname.as_ptr()), None, None, 0) };
    let mut devmode: Vec<u8> = vec![0; size.max(std::mem::size_of::<DEVMODEW>() as i32) as usize];
    let dm = devmode.as_mut_ptr() as *mut DEVMODEW;
    let have_devmode = size > 0
        && unsafe { DocumentPropertiesW(None, h.0, PCWSTR(wname.as_ptr()), Some(dm), None, DM_OUT_BUFFER.0) } >= 0;
    if have_devmode {
        unsafe {
            let fields = &mut (*dm).Anonymous1.Anonymous1;
            fields.dmPaperWidth = (paper.width_mm * 10) as i16;
            fields.dmPaperLength = ((bitmap.height() as f32 * 254.0 / DPI).ceil() as i32).min(i16::MAX as i32) as i16;
            (*dm).dmFields |= DM_PAPERWIDTH | DM_PAPERLENGTH;
            DocumentPropertiesW(
                None,
                h.0,
                PCWSTR(wname.as_ptr()),
                Some(dm),
                Some(dm),
                DM_IN_BUFFER.0 | DM_OUT_BUFFER.0,
            );
        }
    }
    let driver = wide("WINSPOOL");
    let hdc = unsafe {
        CreateDCW(
            PCWSTR(driver.as_ptr()),
            PCWSTR(wname.as_ptr()),
            PCWSTR::null(),
            have_devmode.then_some(dm as *const DEVMODEW),
        )
    };
    if hdc.is_invalid() {
        return Err(PrintError::Unavailable(format!("打印机 \"{name}\": CreateDC 失败")));
    }
    let doc_name = wide("Booth receipt");
    let info = DOCINFOW {
        cbSize: std::mem::size_of::<DOCINFOW>() as i32,
        lpszDocName: PCWSTR(doc_name.as_ptr()),
        ..Default::default()
    };
    let result = (|| {
        let job = unsafe { StartDocW(hdc, &info) };
        if job <= 0 {
            return Err(PrintError::Unavailable(format!("打印机 \"{name}\": StartDoc 失败")));
        }
        if unsafe { StartPage(hdc) } <= 0 {
            unsafe { EndDoc(hdc) };
            return Err(PrintError::Device(format!("打印机 \"{name}\": StartPage 失败")));
        }
        // Dots of the head → the device's pixels, so the receipt keeps its size.
        let (dpi_x, dpi_y) = unsafe { (GetDeviceCaps(Some(hdc), LOGPIXELSX), GetDeviceCaps(Some(hdc), LOGPIXELSY)) };
        let dest_w = (bitmap.width() as f32 * dpi_x as f32 / DPI).round() as i32;
        let dest_h = (bitmap.height() as f32 * dpi_y as f32 / DPI).round() as i32;
        // DIB rows are padded to four bytes; a negative height means top-down.
        let stride = bitmap.width().div_ceil(32) as usize * 4;
        let mut rows = vec![0u8; stride * bitmap.height() as usize];
        for y in 0..bitmap.height() as usize {
            let src = &bitmap.rows()[y * bitmap.stride()..(y + 1) * bitmap.stride()];
            rows[y * stride..y * stride + src.len()].copy_from_slice(src);
        }
        let white = RGBQUAD { rgbBlue: 255, rgbGreen: 255, rgbRed: 255, rgbReserved: 0 };
        let black = RGBQUAD::default();
        let bmi = MonoInfo {
            header: BITMAPINFOHEADER {
                biSize: std::mem::size_of::<BITMAPINFOHEADER>() as u32,
                biWidth: bitmap.width() as i32,
                biHeight: -(bitmap.height() as i32),
                biPlanes: 1,
                biBitCount: 1,
                biCompression: BI_RGB.0,
                ..Default::default()
            },
            colors: [white, black],
        };
        let drawn = unsafe {
            StretchDIBits(
                hdc,
                0,
                0,
                dest_w,
                dest_h,
                0,
                0,
                bitmap.width() as i32,
                bitmap.height() as i32,
                Some(rows.as_ptr() as *const _),
                &bmi as *const MonoInfo as *const _,
                DIB_RGB_COLORS,
                SRCCOPY,
            )
        };
        unsafe {
            EndPage(hdc);
            EndDoc(hdc);
        }
        if drawn == 0 {
            return Err(PrintError::Device(format!("打印机 \"{name}\": StretchDIBits 失败")));
        }
        follow(&h, name, job as u32, timeout)?;
        Ok(Printed { bytes: rows.len(), detail: format!("{name} GDI job {job}") })
    })();
    unsafe {
        let _ = DeleteDC(hdc);
    }
    result
}
