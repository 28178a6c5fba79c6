//! A CUPS (or any IPP) queue: the receipt's PDF is sent with its real page size (without it
//! CUPS centres the receipt on an A4 page), then the job is followed until it completes. A job
//! that stays pending or processing past the timeout (CUPS says nothing when the printer is
//! absent) is cancelled and reported.

use crate::error::PrintError;
use ipp::prelude::*;
use std::time::{Duration, Instant};

/// How often the job's state is asked for.
const POLL: Duration = Duration::from_millis(200);

pub struct Cups {
    /// `http://host:631/printers/QUEUE`.
    pub printer: Uri,
    pub job_timeout: Duration,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub job_id: i32,
}

/// `ipp://` and `http://` both reach CUPS over HTTP.
pub fn printer_uri(server: &str, queue: &str) -> Result<Uri, String> {
    let server = server.trim_end_matches('/');
    let server = server.strip_prefix("ipp://").map(|s| format!("http://{s}")).unwrap_or_else(|| server.to_string());
    let server = if server.contains("://") { server } else { format!("http://{server}") };
    format!("{server}/printers/{queue}").parse::<Uri>().map_err(|e| format!("打印队列地址无效: {e}"))
}

/// The IPP `media` keyword of a custom size (PWG 5101.1 self-describing name).
pub fn media_keyword(width_mm: f32, height_mm: f32) -> String {
    let n = |v: f32| {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    let size = format!("{}x{}mm", n(width_mm), n(height_mm));
    format!("custom_{size}_{size}")
}

fn attr<'a>(resp: &'a IppRequestResponse, tag: DelimiterTag, name: &str) -> Option<&'a IppValue> {
    resp.attributes().groups_of(tag).find_map(|g| g.get(name)).map(|a| a.value())
}

fn int(v: Option<&IppValue>) -> Option<i32> {
    match v? {
        IppValue::Integer(i) | IppValue::Enum(i) => Some(*i),
        _ => None,
    }
}

/// Keywords of a (possibly multi-valued) attribute.
fn words(v: Option<&IppValue>) -> Vec<String> {
    match v {
        Some(IppValue::Array(a)) => a.iter().flat_map(|v| words(Some(v))).collect(),
        Some(IppValue::Keyword(k)) => vec![k.as_str().to_string()],
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

fn text(v: Option<&IppValue>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A printer reason that means the paper or the cover, not the printer's absence.
fn device_fault(reasons: &[String]) -> Option<PrintError> {
    let has = |p: &str| reasons.iter().any(|r| r.starts_with(p));
    if has("media-empty") || has("media-needed") {
        Some(PrintError::PaperOut)
    } else if has("cover-open") || has("door-open") || has("interlock-open") {
        Some(PrintError::CoverOpen)
    } else {
        None
    }
}

impl Cups {
    fn client(&self) -> IppClient {
        IppClient::builder(self.printer.clone()).request_timeout(Duration::from_secs(10)).build()
    }

    fn send(&self, op: impl ipp::operation::IppOperation) -> Result<IppRequestResponse, PrintError> {
        let resp =
            self.client().send(op).map_err(|e| PrintError::Unavailable(format!("CUPS {}: {e}", self.printer)))?;
        let status = resp.header().status_code();
        if !status.is_success() {
            return Err(PrintError::Unavailable(format!("CUPS {}: {status}", self.printer)));
        }
        Ok(resp)
    }

    /// The queue's state and reasons; fails when the queue does not exist or is stopped.
    pub fn check(&self) -> Result<(), PrintError> {
        let op = IppOperationBuilder::get_printer_attributes(self.printer.clone())
            .attributes([
                "printer-state",
                "printer-state-reasons",
                "printer-is-accepting-jobs",
                "printer-state-message",
            ])
            .build()
            .map_err(|e| PrintError::Internal(e.to_string()))?;
        let resp = self.send(op)?;
        let state = int(attr(&resp, DelimiterTag::PrinterAttributes, "printer-state"));
        let reasons = words(attr(&resp, DelimiterTag::PrinterAttributes, "printer-state-reasons"));
        let accepting = !matches!(
            attr(&resp, DelimiterTag::PrinterAttributes, "printer-is-accepting-jobs"),
            Some(IppValue::Boolean(false))
        );
        if state == Some(5) || !accepting {
            let msg = text(attr(&resp, DelimiterTag::PrinterAttributes, "printer-state-message"));
            return Err(PrintError::Unavailable(format!("打印队列已停止 ({}) {msg}", reasons.join(","))));
        }
        Ok(())
    }

    /// Prints `pdf` on a page of `media`, waiting for the job to complete.
    pub fn print(&self, pdf: Vec<u8>, media: &str, title: &str) -> Result<Finished, PrintError> {
        self.check()?;
        let keyword = |s: &str| -> Result<IppValue, PrintError> {
            let k: ipp::value::IppKeyword = s.try_into().map_err(|e| PrintError::Internal(format!("{e:?}")))?;
            Ok(IppValue::Keyword(k))
        };
        let media =
            IppAttribute::with_name("media", keyword(media)?).map_err(|e| PrintError::Internal(e.to_string()))?;
        let op = IppOperationBuilder::print_job(self.printer.clone(), IppPayload::new(std::io::Cursor::new(pdf)))
            .user_name("booth")
            .job_title(title)
            .document_format("application/pdf")
            .attribute(media)
            .build()
            .map_err(|e| PrintError::Internal(e.to_string()))?;
        let resp = self.send(op)?;
        let job_id = int(attr(&resp, DelimiterTag::JobAttributes, "job-id"))
            .ok_or_else(|| PrintError::Device("CUPS 没有返回 job-id".into()))?;
        tracing::info!(job_id, printer = %self.printer, "receipt sent to CUPS");
        self.follow(job_id)
    }

    /// Waits for `job_id` to end; cancels it after the timeout.
    pub fn follow(&self, job_id: i32) -> Result<Finished, PrintError> {
        let deadline = Instant::now() + self.job_timeout;
        let mut last_reasons = Vec::new();
        loop {
            let op = IppOperationBuilder::get_job_attributes(self.printer.clone(), job_id)
                .user_name("booth")
                .build()
                .map_err(|e| PrintError::Internal(e.to_string()))?;
            let resp = self.send(op)?;
            let state = int(attr(&resp, DelimiterTag::JobAttributes, "job-state")).unwrap_or(0);
            let reasons = words(attr(&resp, DelimiterTag::JobAttributes, "job-state-reasons"));
            match state {
                9 => return Ok(Finished { job_id }),
                7 | 8 => {
                    return Err(PrintError::Device(format!("打印任务 {job_id} 被取消或中止 ({})", reasons.join(","))));
                }
                _ => {}
            }
            // While a job waits, the printer's reasons say why (paper out shows here).
            if let Ok(op) = IppOperationBuilder::get_printer_attributes(self.printer.clone())
                .attributes(["printer-state-reasons"])
                .build()
            {
                if let Ok(r) = self.send(op) {
                    last_reasons = words(attr(&r, DelimiterTag::PrinterAttributes, "printer-state-reasons"));
                }
            }
            if Instant::now() >= deadline {
                self.cancel(job_id);
                let why = format!(
                    "打印任务 {job_id} 在 {} 秒内没有完成, 已取消 (打印机: {})",
                    self.job_timeout.as_secs(),
                    last_reasons.join(",")
                );
                tracing::warn!(job_id, reasons = ?last_reasons, "CUPS job timed out; cancelled");
                return Err(match device_fault(&last_reasons) {
                    Some(PrintError::PaperOut) => PrintError::Device(format!("缺纸: {why}")),
                    Some(PrintError::CoverOpen) => PrintError::Device(format!("纸仓盖打开: {why}")),
                    _ => PrintError::Unavailable(why),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn cancel(&self, job_id: i32) {
        let op = match IppOperationBuilder::cancel_job(self.printer.clone(), job_id).user_name("booth").build() {
            Ok(op) => op,
            Err(e) => return tracing::error!(error = %e, "cancel-job"),
        };
        if let Err(e) = self.send(op) {
            tracing::warn!(job_id, error = %e, "could not cancel the CUPS job");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_media_names() {
        assert_eq!(printer_uri("http://localhost:631", "R").unwrap().to_string(), "http://localhost:631/printers/R");
        assert_eq!(printer_uri("ipp://127.0.0.1:8631/", "R").unwrap().to_string(), "http://127.0.0.1:8631/printers/R");
        assert_eq!(printer_uri("localhost:631", "R").unwrap().to_string(), "http://localhost:631/printers/R");
        assert_eq!(media_keyword(58.0, 149.5), "custom_58x149.5mm_58x149.5mm");
        assert_eq!(media_keyword(80.0, 20.0), "custom_80x20mm_80x20mm");
    }
}
