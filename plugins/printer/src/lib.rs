//! Booth's receipt printer (seed 000): `receiptPrinting {printList}` prints text items
//! (`text`, `textSize`, `bold`, `algin` — the seed's spelling; `align` too) and pictures
//! (`imageBase64`, `width`, `height`) in order.
//!
//! The receipt is laid out once ([`layout`]: the paper's dots at 203 dpi, the font's own
//! metrics, CJK wrapping that never leaves punctuation clipped at the edge, pictures scaled and
//! dithered), then drawn for the configured printer: ESC/POS raster or GB18030 text ([`escpos`])
//! over a serial port, TCP 9100 or `/dev/usb/lp*` ([`link`]); a PDF ([`pdf`]) on a CUPS queue
//! over IPP ([`cups`]); or, on Windows, RAW ESC/POS through the spooler or the bitmap through GDI.
//! Jobs run one at a time in call order; the reply comes when the printer has the job.
//!
//! Not for: label or A4 printing, printer drivers, or the app's windows (the simulator panel
//! shows the receipts this crate keeps).

pub mod bitmap;
pub mod cups;
pub mod error;
pub mod escpos;
pub mod fonts;
pub mod layout;
pub mod link;
pub mod pdf;
pub mod receipt;
pub mod sample;
mod sim;
#[cfg(windows)]
mod windows;

use base64::Engine as _;
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, SimRegistry};
pub use booth_serial_io::Status;
use booth_serial_io::{Health, Stop};
pub use error::PrintError;
use fonts::{FontChoice, Fonts};
use layout::{Layout, Paper};
use link::{Link, SerialShared, Transport};
use receipt::Receipt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::oneshot;

pub const SIM_ID: &str = "printer";
/// Receipts the simulator panel shows.
const KEEP_IN_MEMORY: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Calls answer `DEVICE_UNAVAILABLE`.
    #[default]
    None,
    Sim,
    /// A thermal printer spoken to in ESC/POS on `port`.
    Escpos,
    /// A CUPS (IPP) queue named `queue`.
    Cups,
    /// A Windows printer named `queue` (RAW ESC/POS or GDI, `windows_mode`).
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The layout's dots: exact, any glyph; ≈ 57 KB a 58 mm receipt.
    #[default]
    Raster,
    /// GB18030 text in the printer's font, pictures as rasters: small, for slow serial links.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WindowsMode {
    /// ESC/POS through the spooler (`WritePrinter`, datatype RAW).
    #[default]
    Raw,
    /// The bitmap drawn on the printer's device context (printers with a driver only).
    Gdi,
}

/// `[printer]` in booth.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterConfig {
    pub backend: BackendKind,
    /// ESC/POS: `/dev/ttyUSB0` / `COM3` (serial), `tcp://192.168.1.50:9100`, `/dev/usb/lp0`.
    pub port: String,
    pub baud: u32,
    pub mode: Mode,
    /// Roll width: 58 or 80.
    pub width_mm: u32,
    /// Blank margin left and right inside the printable width.
    pub margin_mm: f32,
    /// A font file (TTF / OTF / TTC); empty: Noto Sans CJK (or WenQuanYi, or Microsoft YaHei).
    pub font: String,
    /// Face of `font` in a collection.
    pub font_index: u32,
    /// Bold of `font`; empty: `font` drawn bold.
    pub bold_font: String,
    /// CUPS queue or Windows printer name.
    pub queue: String,
    /// CUPS server.
    pub server: String,
    /// A job not finished this long after the call is cancelled (CUPS, Windows) or, still
    /// waiting for its turn, not printed.
    pub job_timeout_s: u64,
    /// ESC/POS: ask the printer for paper and cover (`DLE EOT`) before and after each job.
    pub status: bool,
    /// How long to wait for a `DLE EOT` answer.
    pub status_timeout_ms: u64,
    pub cut: bool,
    pub cash_drawer: bool,
    /// ESC/POS text mode: send `FS &` (Chinese mode) first.
    pub chinese_mode: bool,
    pub windows_mode: WindowsMode,
    /// Folder that keeps every receipt as PNG and PDF; empty: none.
    pub keep: String,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Raster => "raster",
            Mode::Text => "text",
        }
    }
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            backend: BackendKind::None,
            port: String::new(),
            baud: 9600,
            mode: Mode::Raster,
            width_mm: 58,
            margin_mm: 0.0,
            font: String::new(),
            font_index: 0,
            bold_font: String::new(),
            queue: String::new(),
            server: "http://localhost:631".into(),
            job_timeout_s: 60,
            status: true,
            status_timeout_ms: 1000,
            cut: true,
            cash_drawer: false,
            chinese_mode: true,
            windows_mode: WindowsMode::Raw,
            keep: String::new(),
        }
    }
}

impl PrinterConfig {
    pub fn font_choice(&self) -> FontChoice {
        let path = |s: &str| (!s.trim().is_empty()).then(|| PathBuf::from(s.trim()));
        FontChoice { font: path(&self.font), index: self.font_index, bold: path(&self.bold_font) }
    }

    pub fn job_timeout(&self) -> Duration {
        Duration::from_secs(self.job_timeout_s.clamp(1, 3600))
    }

    fn finish(&self) -> escpos::Finish {
        escpos::Finish { cut: self.cut, drawer: self.cash_drawer }
    }
}

/// A receipt kept for developers.
#[derive(Debug, Clone)]
pub struct Kept {
    pub n: u64,
    /// Milliseconds since 1970.
    pub at_ms: u128,
    pub text: String,
    pub png: Vec<u8>,
    pub png_path: Option<PathBuf>,
    pub pdf_path: Option<PathBuf>,
    pub width_mm: u32,
    pub height_dots: u32,
}

/// What a finished job reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Bytes sent to the printer (ESC/POS, PDF).
    pub bytes: usize,
    pub detail: String,
}

/// A laid-out receipt waiting for its turn.
struct Job {
    receipt: Receipt,
    layout: Layout,
    called: Instant,
    reply: oneshot::Sender<Result<Printed, PrintError>>,
}

enum Msg {
    Job(u64, Box<Job>),
    Skip(u64),
}

/// A place in the queue, taken when the call arrives: jobs print in call order even though
/// their layouts finish in any order. Dropped unused, it lets the queue move on.
struct Ticket {
    n: u64,
    called: Instant,
    tx: Option<mpsc::Sender<Msg>>,
}

impl Ticket {
    fn send(mut self, job: Job) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Job(self.n, Box::new(job)));
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Skip(self.n));
        }
    }
}

/// What the simulator can be made to do.
#[derive(Debug, Default, Clone, Copy)]
struct SimFlags {
    paper_out: bool,
    cover_open: bool,
}

/// Everything the queue's thread needs.
struct Engine {
    config: PrinterConfig,
    paper: Result<Paper, String>,
    transport: Option<Result<Transport, String>>,
    fonts: OnceLock<Result<Arc<Fonts>, fonts::FontError>>,
    health: Arc<Health>,
    serial: Option<Arc<SerialShared>>,
    keep: Option<PathBuf>,
    kept: Mutex<VecDeque<Kept>>,
    printed: AtomicU64,
    sim: Mutex<SimFlags>,
}

pub struct Printer {
    engine: Arc<Engine>,
    queue: Mutex<mpsc::Sender<Msg>>,
    next_ticket: AtomicU64,
    stop: Stop,
}

impl Printer {
    /// Starts the printer's queue (and, for a serial printer, its port supervisor); fonts are
    /// parsed on the queue's thread at once, so the first receipt does not pay for them.
    pub fn start(config: PrinterConfig) -> Arc<Printer> {
        let paper = Paper::new(config.width_mm, config.margin_mm);
        let transport = (config.backend == BackendKind::Escpos).then(|| Transport::parse(&config.port, config.baud));
        let (name, available, detail) = match config.backend {
            BackendKind::None => ("none", false, "未配置打印机 (booth.toml [printer])".to_string()),
            BackendKind::Sim => ("sim", true, "simulated".to_string()),
            BackendKind::Escpos => ("escpos", false, format!("{}: 尚未连接", config.port)),
            BackendKind::Cups => ("cups", false, format!("{} {}: 尚未连接", config.server, config.queue)),
            BackendKind::Windows => ("windows", false, format!("{}: 尚未连接", config.queue)),
        };
        let health = Health::new(Status { backend: name, available, detail }, |_| {});
        let stop = Stop::default();
        let serial = match &transport {
            Some(Ok(Transport::Serial { port, baud })) => {
                Some(link::supervise_serial(port, *baud, health.clone(), stop.clone()))
            }
            _ => None,
        };
        let keep = (!config.keep.trim().is_empty()).then(|| PathBuf::from(config.keep.trim()));
        let engine = Arc::new(Engine {
            config,
            paper,
            transport,
            fonts: OnceLock::new(),
            health,
            serial,
            keep,
            kept: Mutex::default(),
            printed: AtomicU64::new(0),
            sim: Mutex::default(),
        });
        let (tx, rx) = mpsc::channel();
        let e = engine.clone();
        let spawned = std::thread::Builder::new().name("printer queue".into()).spawn(move || e.run(rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the printer queue");
        }
        Arc::new(Printer { engine, queue: Mutex::new(tx), next_ticket: AtomicU64::new(0), stop })
    }

    pub fn config(&self) -> &PrinterConfig {
        &self.engine.config
    }

    pub fn status(&self) -> Status {
        self.engine.health.get()
    }

    /// The fonts (parsed on first use).
    pub fn fonts(&self) -> Result<Arc<Fonts>, PrintError> {
        self.engine.fonts()
    }

    /// Receipts kept for developers, newest last.
    pub fn kept(&self) -> Vec<Kept> {
        self.engine.kept.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

    pub fn shutdown(&self) {
        self.stop.stop();
    }

    fn ticket(&self) -> Ticket {
        let n = self.next_ticket.fetch_add(1, Ordering::SeqCst);
        let tx = self.queue.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ticket { n, called: Instant::now(), tx: Some(tx) }
    }

    /// Prints a `printList`: checked and laid out first (nothing is printed when any item is
    /// bad), then queued behind the receipts asked for before it.
    pub async fn print(&self, print_list: Option<Value>) -> Result<Printed, PrintError> {
        let ticket = self.ticket();
        self.print_ticket(ticket, print_list).await
    }

    async fn print_ticket(&self, ticket: Ticket, list: Option<Value>) -> Result<Printed, PrintError> {
        let engine = self.engine.clone();
        let rx = tokio::task::spawn_blocking(move || engine.prepare(ticket, list))
            .await
            .map_err(|e| PrintError::Internal(format!("排版失败: {e}")))??;
        rx.await.map_err(|_| PrintError::Internal("打印队列已停止".into()))?
    }

    /// [`Printer::print`] for threads outside the async runtime (`booth print-test`, the admin
    /// screen's self-test): waits for the printer.
    pub fn print_blocking(&self, print_list: Option<Value>) -> Result<Printed, PrintError> {
        let rx = self.engine.prepare(self.ticket(), print_list)?;
        rx.blocking_recv().map_err(|_| PrintError::Internal("打印队列已停止".into()))?
    }

    /// Checks that the printer is there and ready (for `booth doctor` and the admin screen).
    pub fn probe(&self) -> Status {
        let engine = self.engine.clone();
        let outcome = engine.probe();
        engine.note(&outcome);
        self.status()
    }

    /// A test receipt: Booth's name, the configuration, every alignment, bold, sizes, a pattern.
    pub fn test_receipt(&self) -> Value {
        test_receipt(&self.engine.config)
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        // The queue decides about timeouts (job_timeout_s); the bridge's own is a backstop.
        let timeout = self.engine.config.job_timeout() * 2 + Duration::from_secs(30);
        bridge.register(
            Dialect::My,
            "receiptPrinting",
            Some(timeout),
            handler(move |_ctx, params| {
                // The place in the queue is taken now, before anything is awaited.
                let ticket = me.ticket();
                let me = me.clone();
                async move {
                    let list = params.0.get("printList").cloned();
                    match me.print_ticket(ticket, list).await {
                        Ok(_) => Ok(Done::from(json!({}))),
                        Err(e) => Err(ApiError::from(e)),
                    }
                }
            }),
        );
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match self.engine.config.backend {
            BackendKind::Sim => sims.register(Arc::new(sim::PrinterSim(self.engine.clone()))),
            _ => sims.note_real(SIM_ID, self.status().backend),
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Engine {
    /// Checks and lays the receipt out, then hands it to the queue at its ticket's place.
    fn prepare(
        &self,
        ticket: Ticket,
        list: Option<Value>,
    ) -> Result<oneshot::Receiver<Result<Printed, PrintError>>, PrintError> {
        let receipt = Receipt::parse(list.as_ref()).map_err(|e| PrintError::Invalid(e.0))?;
        let fonts = self.fonts()?;
        let paper = self.paper.clone().map_err(PrintError::Unavailable)?;
        let layout = Layout::new(&receipt, &fonts, paper).map_err(PrintError::Invalid)?;
        let (tx, rx) = oneshot::channel();
        let called = ticket.called;
        ticket.send(Job { receipt, layout, called, reply: tx });
        Ok(rx)
    }

    fn fonts(&self) -> Result<Arc<Fonts>, PrintError> {
        match self.fonts.get_or_init(|| {
            let started = Instant::now();
            let loaded = Fonts::load(&self.config.font_choice());
            match &loaded {
                Ok(f) => tracing::info!(fonts = %f.describe(), ms = started.elapsed().as_millis() as u64, "receipt fonts loaded"),
                Err(e) => tracing::error!(error = %e, "receipt fonts"),
            }
            loaded
        }) {
            Ok(f) => Ok(f.clone()),
            Err(e) => Err(PrintError::Unavailable(e.to_string())),
        }
    }

    fn run(self: Arc<Self>, rx: mpsc::Receiver<Msg>) {
        if self.config.backend != BackendKind::None {
            let _ = self.fonts();
            if matches!(self.config.backend, BackendKind::Escpos | BackendKind::Cups | BackendKind::Windows)
                && self.serial.is_none()
            {
                let outcome = self.probe();
                self.note(&outcome);
            }
        }
        let mut waiting: BTreeMap<u64, Option<Box<Job>>> = BTreeMap::new();
        let mut next = 0u64;
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Job(n, job) => waiting.insert(n, Some(job)),
                Msg::Skip(n) => waiting.insert(n, None),
            };
            while let Some(entry) = waiting.remove(&next) {
                next += 1;
                if let Some(job) = entry {
                    self.run_job(*job);
                }
            }
        }
    }

    fn run_job(&self, job: Job) {
        let timeout = self.config.job_timeout();
        let waited = job.called.elapsed();
        let result = if waited > timeout {
            Err(PrintError::Timeout(format!("等待打印超过 {} 秒, 未打印", timeout.as_secs())))
        } else {
            let started = Instant::now();
            let r = self.print(&job.receipt, &job.layout);
            match &r {
                Ok(p) => tracing::info!(
                    backend = self.health.get().backend,
                    bytes = p.bytes,
                    ms = started.elapsed().as_millis() as u64,
                    "receipt printed"
                ),
                Err(e) => tracing::warn!(error = %e, "receipt not printed"),
            }
            self.note(&r);
            r
        };
        // The page may have gone; the job was printed all the same.
        let _ = job.reply.send(result);
    }

    /// Keeps `/health` in step with what the last job or probe found.
    fn note<T>(&self, outcome: &Result<T, PrintError>) {
        if self.serial.is_some() && !matches!(outcome, Err(PrintError::Unavailable(_))) {
            // The supervisor owns a serial printer's availability (port open or not).
            return;
        }
        match outcome {
            Ok(_) => self.health.set(true, self.describe()),
            Err(e @ PrintError::Unavailable(_)) => self.health.set(false, e.to_string()),
            Err(e @ (PrintError::PaperOut | PrintError::CoverOpen | PrintError::Device(_))) => {
                self.health.set(true, format!("{}: {e}", self.describe()))
            }
            Err(_) => {}
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        match c.backend {
            BackendKind::Escpos => format!("{} ({}, {} mm)", c.port, c.mode.name(), c.width_mm),
            BackendKind::Cups => format!("{} {} ({} mm)", c.server, c.queue, c.width_mm),
            BackendKind::Windows => format!("{} ({:?}, {} mm)", c.queue, c.windows_mode, c.width_mm),
            BackendKind::Sim => "simulated".into(),
            BackendKind::None => "none".into(),
        }
    }

    fn status_timeout(&self) -> Duration {
        Duration::from_millis(self.config.status_timeout_ms.clamp(50, 30_000))
    }

    fn connect(&self) -> Result<Box<dyn Link>, PrintError> {
        match &self.transport {
            None => Err(PrintError::Internal("not an ESC/POS printer".into())),
            Some(Err(e)) => Err(PrintError::Unavailable(e.clone())),
            Some(Ok(Transport::Tcp(addr))) => Ok(Box::new(link::TcpLink::connect(addr)?)),
            #[cfg(unix)]
            Some(Ok(Transport::UsbLp(path))) => Ok(Box::new(link::UsbLink::open(path)?)),
            #[cfg(not(unix))]
            Some(Ok(Transport::UsbLp(path))) => {
                Err(PrintError::Unavailable(format!("{path}: 在 Windows 上请用 backend = \"windows\"")))
            }
            Some(Ok(Transport::Serial { port, .. })) => match &self.serial {
                Some(shared) if self.health.available() => {
                    Ok(Box::new(link::SerialLink { shared: shared.clone(), port: port.clone() }))
                }
                _ => Err(PrintError::Unavailable(self.health.get().detail)),
            },
        }
    }

    fn probe(&self) -> Result<(), PrintError> {
        match self.config.backend {
            BackendKind::None => Err(PrintError::Unavailable("未配置打印机".into())),
            BackendKind::Sim => self.sim_ready(),
            BackendKind::Escpos => {
                let mut link = self.connect()?;
                if self.config.status {
                    link::require_ready(link.as_mut(), self.status_timeout())?;
                }
                Ok(())
            }
            BackendKind::Cups => self.cups()?.check(),
            #[cfg(windows)]
            BackendKind::Windows => windows::check(&self.config.queue),
            #[cfg(not(windows))]
            BackendKind::Windows => Err(PrintError::Unavailable("backend = \"windows\" 只能在 Windows 上使用".into())),
        }
    }

    fn cups(&self) -> Result<cups::Cups, PrintError> {
        let printer = cups::printer_uri(&self.config.server, &self.config.queue).map_err(PrintError::Unavailable)?;
        Ok(cups::Cups { printer, job_timeout: self.config.job_timeout() })
    }

    fn escpos_bytes(&self, receipt: &Receipt, layout: &Layout, fonts: &Fonts) -> Vec<u8> {
        match self.config.mode {
            Mode::Raster => escpos::raster(&layout.render(fonts), self.config.finish()),
            Mode::Text => escpos::text_mode(receipt, layout, self.config.chinese_mode, self.config.finish()),
        }
    }

    fn print(&self, receipt: &Receipt, layout: &Layout) -> Result<Printed, PrintError> {
        let fonts = self.fonts()?;
        let printed = match self.config.backend {
            BackendKind::None => return Err(PrintError::Unavailable("未配置打印机 (booth.toml [printer])".into())),
            BackendKind::Sim => {
                self.sim_ready()?;
                Printed { bytes: 0, detail: "simulated".into() }
            }
            BackendKind::Escpos => {
                let bytes = self.escpos_bytes(receipt, layout, &fonts);
                self.print_escpos(&bytes)?
            }
            BackendKind::Cups => {
                let pdf = pdf::render(layout, &fonts).map_err(|e| PrintError::Internal(e.to_string()))?;
                let (w, h) = pdf::page_size_mm(layout);
                let n = pdf.len();
                let done = self.cups()?.print(pdf, &cups::media_keyword(w, h), "Booth receipt")?;
                Printed { bytes: n, detail: format!("CUPS job {}", done.job_id) }
            }
            #[cfg(windows)]
            BackendKind::Windows => match self.config.windows_mode {
                WindowsMode::Raw => {
                    let bytes = self.escpos_bytes(receipt, layout, &fonts);
                    windows::print_raw(&self.config.queue, &bytes, self.config.job_timeout())?
                }
                WindowsMode::Gdi => windows::print_gdi(
                    &self.config.queue,
                    &layout.render(&fonts),
                    layout.paper,
                    self.config.job_timeout(),
                )?,
            },
            #[cfg(not(windows))]
            BackendKind::Windows => {
                return Err(PrintError::Unavailable("backend = \"windows\" 只能在 Windows 上使用".into()));
            }
        };
        self.printed.fetch_add(1, Ordering::Relaxed);
        if self.keep.is_some() || self.config.backend == BackendKind::Sim {
            self.keep_receipt(receipt, layout, &fonts);
        }
        Ok(printed)
    }

    fn print_escpos(&self, bytes: &[u8]) -> Result<Printed, PrintError> {
        let mut link = self.connect()?;
        let check = self.config.status;
        if check {
            link::require_ready(link.as_mut(), self.status_timeout())?;
        }
        link.write_all(bytes).map_err(|e| PrintError::Unavailable(format!("{}: 写入失败: {e}", self.config.port)))?;
        if check {
            // The answer comes after the printer took the bytes before it: on a slow serial
            // line that is the transfer time.
            let transfer = match &self.transport {
                Some(Ok(Transport::Serial { baud, .. })) => {
                    Duration::from_millis(bytes.len() as u64 * 10_000 / (*baud).max(300) as u64)
                }
                _ => Duration::ZERO,
            };
            let wait = (self.status_timeout() + transfer).min(self.config.job_timeout());
            match link::status(link.as_mut(), wait)? {
                None => return Err(PrintError::Unavailable("打印机在打印后无应答 (DLE EOT)".into())),
                Some(s) if s.cover_open => return Err(PrintError::Device("打印中纸仓盖被打开".into())),
                Some(s) if s.paper_out => return Err(PrintError::Device("打印中缺纸, 小票可能不完整".into())),
                Some(_) => {}
            }
        }
        Ok(Printed { bytes: bytes.len(), detail: self.describe() })
    }

    fn sim_ready(&self) -> Result<(), PrintError> {
        let flags = *self.sim.lock().unwrap_or_else(|p| p.into_inner());
        if flags.cover_open {
            Err(PrintError::CoverOpen)
        } else if flags.paper_out {
            Err(PrintError::PaperOut)
        } else {
            Ok(())
        }
    }

    fn keep_receipt(&self, receipt: &Receipt, layout: &Layout, fonts: &Fonts) {
        let n = self.printed.load(Ordering::Relaxed);
        let at_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let png = layout.render(fonts).to_png();
        let (mut png_path, mut pdf_path) = (None, None);
        if let Some(dir) = &self.keep {
            let stem = dir.join(format!("receipt-{at_ms}-{n}"));
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(stem.with_extension("png"), &png))
                .map(|()| png_path = Some(stem.with_extension("png")));
            if let Err(e) = written {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot keep the receipt");
            }
            match pdf::render(layout, fonts) {
                Ok(bytes) => match std::fs::write(stem.with_extension("pdf"), bytes) {
                    Ok(()) => pdf_path = Some(stem.with_extension("pdf")),
                    Err(e) => tracing::warn!(error = %e, "cannot keep the receipt's PDF"),
                },
                Err(e) => tracing::warn!(error = %e, "receipt PDF"),
            }
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.push_back(Kept {
            n,
            at_ms,
            text: receipt.text(),
            png,
            png_path,
            pdf_path,
            width_mm: layout.paper.width_mm,
            height_dots: layout.height,
        });
        while kept.len() > KEEP_IN_MEMORY {
            kept.pop_front();
        }
    }
}

impl Kept {
    pub fn to_json(&self) -> Value {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.png);
        json!({
            "n": self.n,
            "atMs": self.at_ms as u64,
            "text": self.text,
            "widthMm": self.width_mm,
            "heightMm": (self.height_dots as f32 * 25.4 / layout::DPI * 10.0).round() / 10.0,
            "png": format!("data:image/png;base64,{b64}"),
            "pngPath": self.png_path,
            "pdfPath": self.pdf_path,
        })
    }
}

/// The receipt `booth print-test` and the admin screen's self-test print.
pub fn test_receipt(config: &PrinterConfig) -> Value {
    // A 96×96 pattern of squares: shows the head's dots, alignment and dithering.
    let pattern = image::GrayImage::from_fn(96, 96, |x, y| {
        let v = if (x / 12 + y / 12) % 2 == 0 { 0 } else { (x * 255 / 96) as u8 };
        image::Luma([v])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    let image = match pattern.write_to(&mut png, image::ImageFormat::Png) {
        Ok(()) => Some(base64::engine::general_purpose::STANDARD.encode(png.into_inner())),
        Err(_) => None,
    };
    let backend = match config.backend {
        BackendKind::Escpos => format!("ESC/POS {} ({})", config.port, config.mode.name()),
        BackendKind::Cups => format!("CUPS {}", config.queue),
        BackendKind::Windows => format!("Windows {} ({:?})", config.queue, config.windows_mode),
        BackendKind::Sim => "模拟 simulated".into(),
        BackendKind::None => "none".into(),
    };
    let mut list = vec![
        json!({"text": "Booth 打印测试", "textSize": 40, "bold": true, "algin": "center"}),
        json!({"text": format!("{backend} · {} mm", config.width_mm), "textSize": 22, "algin": "center"}),
        json!({"text": "--------------------------------", "algin": "center"}),
        json!({"text": "左对齐 Left", "algin": "left"}),
        json!({"text": "居中 Center", "algin": "center"}),
        json!({"text": "右对齐 Right", "algin": "right"}),
        json!({"text": "加粗 Bold 0123456789", "bold": true}),
        json!({"text": "合计 Total：￥12.50", "textSize": 32, "algin": "right"}),
        json!({"text": "长文本自动换行，标点不会被截断：这一行足够长，可以看到在纸的右边缘换行时逗号、句号的位置。"}),
    ];
    if let Some(b64) = image {
        list.push(json!({"imageBase64": b64, "width": 96, "height": 96}));
    }
    list.push(json!({"text": "谢谢惠顾 Thank you", "algin": "center"}));
    Value::Array(list)
}
