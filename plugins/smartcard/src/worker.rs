//! One thread per reader role: everything done with a reader is a job on its queue, so calls to
//! one reader run one after the other (an APDU list is one job: no other command slips between
//! its APDUs), while different readers work at the same time.

use crate::port::{CardError, Port};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut dyn Port) + Send>;

pub struct Worker {
    tx: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread; it ends when the `Worker` is dropped.
    pub fn spawn(name: String, mut port: Box<dyn Port>) -> Worker {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
            while let Ok(job) = rx.recv() {
                // A panic in a job (a bug) must not take the reader away for good.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut *port))).is_err() {
                    tracing::error!(worker = %name, "smart card job panicked");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a smart card worker thread");
        }
        Worker { tx }
    }

    /// Runs `f` on the reader's thread, after the jobs queued before it.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Port) -> R + Send + 'static,
    ) -> Result<R, CardError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |port| {
            let _ = done.send(f(port));
        });
        self.tx.send(job).map_err(|_| CardError::NoService("读卡线程已停止".into()))?;
        result.await.map_err(|_| CardError::NoService("读卡线程已停止".into()))
    }
}
