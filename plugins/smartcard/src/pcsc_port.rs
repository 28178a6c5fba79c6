//! The PC/SC backend: pcsc-lite (pcscd) on Linux, WinSCard on Windows, through the `pcsc` crate.
//!
//! Each reader role has its own PC/SC context on its own worker thread (a context serializes the
//! calls made on it, so one busy reader never waits for another). A context that reports the
//! service gone (`SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`, an invalid handle after the
//! service restarted) is dropped and a new one is established at the next call: nothing needs a
//! restart when pcscd comes back. The reader of a role is looked up (see [`crate::roles`]) at
//! every connect, so a replugged reader, even under another index, is found again.

use crate::port::{CardError, Port, Presence, Reset};
use crate::roles::{assign, Role, RolePatterns};
use pcsc::{Card, Context, Disposition, Error, Protocols, ReaderState, Scope, ShareMode, State};
use std::ffi::CString;
use std::time::Duration;

/// The readers PC/SC knows, in its order. `Err` when the service is not there.
pub fn list_readers() -> Result<Vec<String>, CardError> {
    ReaderLister::default().list()
}

/// Lists readers again and again on one context, re-established after the service restarts.
#[derive(Default)]
pub struct ReaderLister {
    ctx: Option<Context>,
}

impl ReaderLister {
    pub fn list(&mut self) -> Result<Vec<String>, CardError> {
        let ctx = match &self.ctx {
            Some(c) => c.clone(),
            None => {
                let c = Context::establish(Scope::User).map_err(service_error)?;
                self.ctx = Some(c.clone());
                c
            }
        };
        let r = names(&ctx);
        if r.is_err() {
            self.ctx = None;
        }
        r
    }
}

fn names(ctx: &Context) -> Result<Vec<String>, CardError> {
    match ctx.list_readers_owned() {
        Ok(list) => Ok(list.into_iter().map(|n| n.to_string_lossy().into_owned()).collect()),
        Err(Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(service_error(e)),
    }
}

fn service_error(e: Error) -> CardError {
    CardError::NoService(format!("{e} ({e:?})"))
}

/// Errors after which the context (and any card handle) must be thrown away.
fn service_gone(e: Error) -> bool {
    matches!(e, Error::NoService | Error::ServiceStopped | Error::InvalidHandle | Error::CommError | Error::Shutdown)
}

/// Maps a PC/SC error on a card operation.
fn card_error(e: Error, reader: &str) -> CardError {
    match e {
        Error::NoService | Error::ServiceStopped | Error::InvalidHandle | Error::CommError | Error::Shutdown => {
            service_error(e)
        }
        Error::UnknownReader | Error::ReaderUnavailable | Error::NoReadersAvailable => {
            CardError::NoReader(format!("{reader}: {e}"))
        }
        Error::NoSmartcard => CardError::NoCard,
        Error::RemovedCard | Error::ResetCard | Error::NotTransacted => CardError::Removed,
        Error::SharingViolation => CardError::Sharing,
        Error::UnresponsiveCard
        | Error::UnpoweredCard
        | Error::UnsupportedCard
        | Error::ProtoMismatch
        | Error::InvalidAtr
        | Error::CardUnsupported => CardError::PowerFailed(format!("{e:?}")),
        other => CardError::Transmit(format!("{other} ({other:?})")),
    }
}

struct Connected {
    reader: String,
    card: Card,
}

pub struct PcscPort {
    role: Role,
    patterns: RolePatterns,
    ctx: Option<Context>,
    conn: Option<Connected>,
}

impl PcscPort {
    pub fn new(role: Role, patterns: RolePatterns) -> PcscPort {
        PcscPort { role, patterns, ctx: None, conn: None }
    }

    fn context(&mut self) -> Result<Context, CardError> {
        if let Some(c) = &self.ctx {
            return Ok(c.clone());
        }
        let ctx = Context::establish(Scope::User).map_err(service_error)?;
        self.ctx = Some(ctx.clone());
        Ok(ctx)
    }

    /// Records an error: a lost service drops the context and the card, a lost card the card.
    fn fail(&mut self, e: Error, reader: &str) -> CardError {
        let err = card_error(e, reader);
        if service_gone(e) {
            tracing::warn!(role = %self.role, error = %e, "PC/SC service lost; will reconnect");
            self.conn = None;
            self.ctx = None;
        } else if matches!(err, CardError::Removed | CardError::NoCard | CardError::NoReader(_)) {
            self.conn = None;
        }
        err
    }

    /// The reader of this role, now.
    fn reader(&mut self) -> Result<(Context, String), CardError> {
        let ctx = self.context()?;
        let list = match names(&ctx) {
            Ok(l) => l,
            Err(e) => {
                self.ctx = None;
                self.conn = None;
                return Err(e);
            }
        };
        match assign(&list, &self.patterns).get(self.role) {
            Some(c) => Ok((ctx, c.reader.clone())),
            None => {
                self.conn = None;
                let why = match self.patterns.get(self.role) {
                    Some(p) => format!("没有名称匹配 \"{p}\" 的读卡器 ({} 个读卡器)", list.len()),
                    None if list.is_empty() => "没有读卡器".to_string(),
                    None => format!("没有可用作 {} 的读卡器 (现有: {})", self.role, list.join(", ")),
                };
                Err(CardError::NoReader(why))
            }
        }
    }

    fn connect(&mut self) -> Result<(), CardError> {
        let (ctx, reader) = self.reader()?;
        let name = CString::new(reader.clone()).map_err(|_| CardError::NoReader(reader.clone()))?;
        match ctx.connect(&name, ShareMode::Shared, Protocols::ANY) {
            Ok(card) => {
                tracing::debug!(role = %self.role, %reader, "card connected");
                self.conn = Some(Connected { reader, card });
                Ok(())
            }
            Err(e) => Err(self.fail(e, &reader)),
        }
    }

    fn atr(&mut self) -> Result<Vec<u8>, CardError> {
        let conn = self.conn.as_ref().ok_or(CardError::NoCard)?;
        match conn.card.status2_owned() {
            Ok(s) => Ok(s.atr().to_vec()),
            Err(e) => {
                let reader = conn.reader.clone();
                Err(self.fail(e, &reader))
            }
        }
    }

    fn reconnect(&mut self, disposition: Disposition) -> Result<(), CardError> {
        let conn = self.conn.as_mut().ok_or(CardError::NoCard)?;
        match conn.card.reconnect(ShareMode::Shared, Protocols::ANY, disposition) {
            Ok(()) => Ok(()),
            Err(e) => {
                let reader = conn.reader.clone();
                Err(self.fail(e, &reader))
            }
        }
    }
}

impl Port for PcscPort {
    fn presence(&mut self) -> Result<Presence, CardError> {
        let (ctx, reader) = self.reader()?;
        let name = CString::new(reader.clone()).map_err(|_| CardError::NoReader(reader.clone()))?;
        let mut states = [ReaderState::new(name, State::UNAWARE)];
        if let Err(e) = ctx.get_status_change(Duration::ZERO, &mut states) {
            return Err(self.fail(e, &reader));
        }
        let s = &states[0];
        let state = s.event_state();
        if state.intersects(State::UNKNOWN | State::UNAVAILABLE) {
            self.conn = None;
            return Err(CardError::NoReader(format!("{reader}: 不可用")));
        }
        let present = state.contains(State::PRESENT) && !state.contains(State::MUTE);
        if !present {
            // A handle on a card that has left is useless; the next card gets a new one.
            self.conn = None;
        }
        Ok(Presence {
            reader,
            present,
            insertion: u64::from(s.event_count()),
            atr: if present { s.atr().to_vec() } else { Vec::new() },
        })
    }

    fn power(&mut self, reset: Reset) -> Result<Vec<u8>, CardError> {
        let fresh = self.conn.is_none();
        if fresh {
            self.connect()?;
        }
        match reset {
            Reset::Keep => {}
            Reset::Warm => {
                if let Err(e) = self.reconnect(Disposition::ResetCard) {
                    // The card we had is gone: try the one in the reader now, if any.
                    if e == CardError::Removed || e == CardError::NoCard {
                        self.connect()?;
                    } else {
                        return Err(e);
                    }
                }
            }
            Reset::Cold => self.reconnect(Disposition::UnpowerCard)?,
        }
        match self.atr() {
            Ok(atr) => Ok(atr),
            // Replaced by another card since we connected: start over once with the new one.
            Err(CardError::Removed) if !fresh => {
                self.connect()?;
                if reset == Reset::Cold {
                    self.reconnect(Disposition::UnpowerCard)?;
                }
                self.atr()
            }
            Err(e) => Err(e),
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.conn.is_none() {
            self.connect()?;
        }
        let conn = self.conn.as_ref().ok_or(CardError::NoCard)?;
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match conn.card.transmit(apdu, &mut buf) {
            Ok(r) => Ok(r.to_vec()),
            Err(e) => {
                let reader = conn.reader.clone();
                Err(self.fail(e, &reader))
            }
        }
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        tracing::debug!(reader = %self.reader, "card handle released");
    }
}
