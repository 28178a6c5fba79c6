//! One trait over every real reader backend, and the thread that polls it.

use crate::identity::CardRead;
use booth_serial_io::{sleep_unless_stopped, Health, Stop};
use std::sync::Arc;
use std::time::Duration;

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The reader is gone or not answering: close it and reopen later.
    Gone(String),
    /// This read failed (a corrupt frame, a card taken away mid-read); the reader still works.
    Bad(String),
}

/// A real ID card reader: the SAM module on a serial port, or a vendor SDK library.
pub trait Reader: Send {
    /// Opens the device; returns a description for `/health`.
    fn open(&mut self) -> Result<String, ReadError>;
    /// Looks for a card once: `Ok(None)` when there is no new card on the reader. A card is
    /// read once per placement (the module stops answering "found" until it is lifted).
    fn poll(&mut self) -> Result<Option<CardRead>, ReadError>;
    fn close(&mut self);
    /// `sam`, `sdtapi`, `termb`.
    fn name(&self) -> &'static str;
}

/// How often the reader is asked for a card.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Polls `reader` on its own thread until `stop`: each card read goes to `on_card` (a failed
/// read is logged and the card read again), availability to `health`. A reader that is gone is
/// reopened.
pub fn spawn(
    mut reader: Box<dyn Reader>,
    health: Arc<Health>,
    stop: Stop,
    on_card: impl Fn(CardRead) + Send + 'static,
) {
    let name = format!("idcard {}", reader.name());
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        while !stop.stopped() {
            match reader.open() {
                Ok(detail) => {
                    health.set(true, detail);
                    let why = loop {
                        if stop.stopped() {
                            break None;
                        }
                        match reader.poll() {
                            Ok(Some(card)) => on_card(card),
                            Ok(None) => {}
                            Err(ReadError::Bad(why)) => {
                                tracing::warn!(%why, "ID card read rejected");
                            }
                            Err(ReadError::Gone(why)) => break Some(why),
                        }
                        sleep_unless_stopped(POLL_EVERY, &stop);
                    };
                    reader.close();
                    match why {
                        Some(why) => health.set(false, why),
                        None => break,
                    }
                }
                Err(ReadError::Gone(why) | ReadError::Bad(why)) => health.set(false, why),
            }
            sleep_unless_stopped(booth_serial_io::REOPEN_EVERY, &stop);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the ID card reader thread");
    }
}
