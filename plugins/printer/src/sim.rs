//! The simulated printer: prints every receipt into memory (and into `[printer] keep` as PNG
//! and PDF) and can be made to run out of paper or have its cover open.

use crate::{Engine, PrintError, SIM_ID};
use booth_bridge::sim::{Action, SimDevice, SimError};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub(crate) struct PrinterSim(pub(crate) Arc<Engine>);

impl PrinterSim {
    fn refresh_health(&self) {
        let outcome = self.0.sim_ready();
        let detail = match &outcome {
            Ok(()) => "simulated".to_string(),
            Err(e) => format!("simulated: {e}"),
        };
        self.0.health.set(true, detail);
        if let Err(PrintError::PaperOut | PrintError::CoverOpen) = outcome {
            tracing::info!("simulated printer: {}", self.0.health.get().detail);
        }
    }
}

impl SimDevice for PrinterSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }

    fn label(&self) -> &'static str {
        "小票打印机 Receipt printer"
    }

    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new("paper-out", "缺纸 Paper out", vec![]),
            Action::new("paper-in", "装纸 Paper in", vec![]),
            Action::new("cover-open", "开盖 Open cover", vec![]),
            Action::new("cover-close", "合盖 Close cover", vec![]),
            Action::new("clear", "清空 Clear", vec![]),
        ]
    }

    fn state(&self) -> Value {
        let flags = *self.0.sim.lock().unwrap_or_else(|p| p.into_inner());
        let kept = self.0.kept.lock().unwrap_or_else(|p| p.into_inner());
        json!({
            "status": self.0.health.get(),
            "paperOut": flags.paper_out,
            "coverOpen": flags.cover_open,
            "widthMm": self.0.config.width_mm,
            "printed": self.0.printed.load(std::sync::atomic::Ordering::Relaxed),
            "keep": self.0.keep,
            "receipts": kept.iter().rev().map(|k| k.to_json()).collect::<Vec<_>>(),
        })
    }

    fn act(&self, action: &str, _args: &Map<String, Value>) -> Result<Value, SimError> {
        {
            let mut flags = self.0.sim.lock().unwrap_or_else(|p| p.into_inner());
            match action {
                "paper-out" => flags.paper_out = true,
                "paper-in" => flags.paper_out = false,
                "cover-open" => flags.cover_open = true,
                "cover-close" => flags.cover_open = false,
                "clear" => self.0.kept.lock().unwrap_or_else(|p| p.into_inner()).clear(),
                _ => {}
            }
        }
        self.refresh_health();
        Ok(self.state())
    }
}
