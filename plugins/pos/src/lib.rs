//! Booth's POS port (seed 001): `wxfaceapp.writeToSerialPort({msgToFlush})` writes the message
//! to the cash register on the configured serial port. Success is `{replyCode: "0", reply:
//! "success", flushedMsg}`; any failure is `replyCode "-1"` (the only code seed 001 documents
//! for it) with Booth's `errorCode` telling bad input (INVALID_PARAMS) from a port that is
//! unplugged or failing (DEVICE_UNAVAILABLE).
//!
//! The port stays open between writes (a reader thread notices an unplug and reopens it), so
//! `/health` shows whether the register is connected. Text is sent as UTF-8 or GBK, followed by
//! an optional configured suffix.
//!
//! The port also carries the cash register's own lines: every line the register sends (ended by
//! `\n`, a `\r` before it dropped) is handed to [`Pos::lines`]' receivers, which the payment
//! plugin reads (`AMT 1250`), and [`Pos::send`] writes Booth's answers back. writeToSerialPort
//! is unchanged by it.
//!
//! Not for: receipt printers (their own plugin), or what the register's lines mean (booth-payment).

use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, SimRegistry};
pub use booth_serial_io::Status;
use booth_serial_io::{is_quiet, supervise, Health, PortSpec, Stop};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

pub const SIM_ID: &str = "pos";
/// Longest accepted message, in bytes after encoding.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// What the simulator keeps.
const SIM_KEEP: usize = 20;
/// Longest line kept from the register; a longer one is cut (no register line comes near it).
pub const MAX_LINE: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gbk,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "gbk" | "gb2312" | "gb18030" => Some(Encoding::Gbk),
            _ => None,
        }
    }

    fn encode(self, s: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 => Ok(s.as_bytes().to_vec()),
            Encoding::Gbk => {
                let (bytes, _, unmappable) = encoding_rs::GBK.encode(s);
                if unmappable {
                    Err("msgToFlush 含有 GBK 无法表示的字符".into())
                } else {
                    Ok(bytes.into_owned())
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    None,
    Sim,
    Serial { port: String, baud: u32 },
}

#[derive(Debug, Clone)]
pub struct PosConfig {
    pub backend: Backend,
    pub encoding: Encoding,
    /// Bytes sent after every message (e.g. `\r\n`); empty by default.
    pub suffix: Vec<u8>,
}

impl Default for PosConfig {
    fn default() -> Self {
        PosConfig { backend: Backend::None, encoding: Encoding::Utf8, suffix: Vec::new() }
    }
}

type Writer = Box<dyn serialport::SerialPort>;

pub struct Pos {
    config: PosConfig,
    health: Arc<Health>,
    stop: Stop,
    writer: Arc<Mutex<Option<Writer>>>,
    /// The simulator: recent writes, and whether it plays unplugged.
    sim_log: Mutex<VecDeque<Value>>,
    sim_unplugged: Mutex<bool>,
    /// The register's lines, as they arrive.
    lines: tokio::sync::broadcast::Sender<String>,
}

impl Pos {
    pub fn start(config: PosConfig) -> Arc<Pos> {
        let (name, available, detail) = match &config.backend {
            Backend::None => ("none", false, "未配置 POS 串口 (booth.toml [pos])".to_string()),
            Backend::Sim => ("sim", true, "simulated".to_string()),
            Backend::Serial { port, .. } => ("serial", false, format!("{port}: 尚未打开")),
        };
        let health = Health::new(Status { backend: name, available, detail }, |_| {});
        let writer: Arc<Mutex<Option<Writer>>> = Arc::default();
        let stop = Stop::default();
        let (lines, _) = tokio::sync::broadcast::channel(32);
        if let Backend::Serial { port, baud } = &config.backend {
            let w = writer.clone();
            let tx = lines.clone();
            supervise("pos", PortSpec::new(port.clone(), *baud), health.clone(), stop.clone(), move |dev, stop| {
                match dev.try_clone() {
                    Ok(c) => *w.lock().unwrap_or_else(|p| p.into_inner()) = Some(c),
                    Err(e) => return e.to_string(),
                }
                // Reading is also how an unplug shows up before the next write.
                let mut buf = [0u8; 256];
                let mut line = Vec::new();
                let why = loop {
                    if stop.stopped() {
                        break "stopped".to_string();
                    }
                    match dev.read(&mut buf) {
                        Ok(0) => break "设备已断开".to_string(),
                        Ok(n) => split_lines(&mut line, &buf[..n], |l| {
                            // Nobody listening is not an error: the register's line is dropped.
                            let _ = tx.send(l);
                        }),
                        Err(e) if is_quiet(&e) => {}
                        Err(e) => break e.to_string(),
                    }
                };
                *w.lock().unwrap_or_else(|p| p.into_inner()) = None;
                why
            });
        }
        Arc::new(Pos {
            config,
            health,
            stop,
            writer,
            sim_log: Mutex::default(),
            sim_unplugged: Mutex::new(false),
            lines,
        })
    }

    /// Every line the register sends from now on.
    pub fn lines(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.lines.subscribe()
    }

    /// Whether a register can be on the port (a serial port or the simulator is configured).
    pub fn configured(&self) -> bool {
        !matches!(self.config.backend, Backend::None)
    }

    /// Writes `text` to the register as it is (the caller ends the line), in the port's encoding.
    pub async fn send(self: &Arc<Self>, text: &str) -> Result<(), String> {
        let bytes = self.config.encoding.encode(text)?;
        let (me, text) = (self.clone(), text.to_string());
        tokio::task::spawn_blocking(move || me.write(&bytes, &text))
            .await
            .unwrap_or_else(|e| Err(format!("写串口失败: {e}")))
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    /// Writes `bytes`; blocking.
    fn write(&self, bytes: &[u8], text: &str) -> Result<(), String> {
        match &self.config.backend {
            Backend::None => Err(self.status().detail),
            Backend::Sim => {
                if *self.sim_unplugged.lock().unwrap_or_else(|p| p.into_inner()) {
                    return Err("simulated: unplugged".into());
                }
                let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
                let mut log = self.sim_log.lock().unwrap_or_else(|p| p.into_inner());
                log.push_back(json!({"text": text, "hex": hex.join(" "), "bytes": bytes.len()}));
                while log.len() > SIM_KEEP {
                    log.pop_front();
                }
                Ok(())
            }
            Backend::Serial { port, .. } => {
                let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
                let Some(w) = guard.as_mut() else {
                    return Err(self.status().detail);
                };
                match w.write_all(bytes).and_then(|()| w.flush()) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        *guard = None;
                        let why = format!("{port}: {e}");
                        self.health.set(false, why.clone());
                        Err(why)
                    }
                }
            }
        }
    }

    pub fn shutdown(&self) {
        self.stop.stop();
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match self.config.backend {
            Backend::Sim => sims.register(Arc::new(PosSim(self.clone()))),
            _ => sims.note_real(SIM_ID, self.status().backend),
        }
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "writeToSerialPort",
            None,
            handler(move |_ctx, params| {
                let me = me.clone();
                async move {
                    let fail = |e: ApiError| e.reply_code("-1");
                    let msg = match params.str("msgToFlush").map_err(fail)? {
                        Some(m) if !m.is_empty() => m.to_string(),
                        Some(_) => return Err(fail(ApiError::invalid("msgToFlush 不能为空"))),
                        None => return Err(fail(ApiError::invalid("缺少 msgToFlush"))),
                    };
                    let mut bytes = me.config.encoding.encode(&msg).map_err(|e| fail(ApiError::invalid(e)))?;
                    bytes.extend_from_slice(&me.config.suffix);
                    if bytes.len() > MAX_MESSAGE_BYTES {
                        return Err(fail(ApiError::invalid(format!("msgToFlush 超过 {MAX_MESSAGE_BYTES} 字节"))));
                    }
                    let (m2, text) = (me.clone(), msg.clone());
                    let written = tokio::task::spawn_blocking(move || m2.write(&bytes, &text))
                        .await
                        .unwrap_or_else(|e| Err(format!("写串口失败: {e}")));
                    match written {
                        Ok(()) => Ok(Done::from(json!({"replyCode": "0", "reply": "success", "flushedMsg": msg}))),
                        Err(why) => Err(fail(ApiError::unavailable(why))),
                    }
                }
            }),
        );
    }
}

/// Adds `data` to `line`, handing each whole line (without its `\r\n`) to `emit`.
fn split_lines(line: &mut Vec<u8>, data: &[u8], mut emit: impl FnMut(String)) {
    for &b in data {
        if b == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            emit(String::from_utf8_lossy(line).into_owned());
            line.clear();
        } else if line.len() < MAX_LINE {
            line.push(b);
        }
    }
}

impl Drop for Pos {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct PosSim(Arc<Pos>);

impl SimDevice for PosSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "POS 串口 POS serial port"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new("clear", "清空 Clear", vec![]),
            Action::new("unplug", "拔出 Unplug", vec![]),
            Action::new("plug", "插入 Plug in", vec![]),
            Action::new(
                "line",
                "收银机发送 Register sends",
                vec![Field::text("text", "一行 Line", "AMT 1250").required()],
            ),
        ]
    }
    fn state(&self) -> Value {
        let log: Vec<Value> = self.0.sim_log.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        let unplugged = *self.0.sim_unplugged.lock().unwrap_or_else(|p| p.into_inner());
        json!({"status": self.0.status(), "unplugged": unplugged, "written": log})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        match action {
            "clear" => self.0.sim_log.lock().unwrap_or_else(|p| p.into_inner()).clear(),
            "line" => {
                let text = args.get("text").and_then(Value::as_str).unwrap_or_default();
                if text.len() > MAX_LINE || text.contains(['\r', '\n']) {
                    return Err(SimError::InvalidArgs("一行, 不超过 1024 字节".into()));
                }
                let _ = self.0.lines.send(text.to_string());
            }
            "unplug" | "plug" => {
                let unplug = action == "unplug";
                *self.0.sim_unplugged.lock().unwrap_or_else(|p| p.into_inner()) = unplug;
                self.0.health.set(!unplug, if unplug { "simulated: unplugged" } else { "simulated" });
            }
            _ => {}
        }
        Ok(self.state())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_split_across_reads() {
        let mut line = Vec::new();
        let mut got = Vec::new();
        super::split_lines(&mut line, b"AMT 12", |l| got.push(l));
        super::split_lines(&mut line, b"50\r\nAMT 1\nAM", |l| got.push(l));
        assert_eq!(got, ["AMT 1250", "AMT 1"]);
        assert_eq!(line, b"AM");
    }
}
