//! Card OCR for `POST /v1/ocr` (seed 002 `ft.finCardOcr`): PaddleOCR's PP-OCRv4 Chinese text
//! detection and recognition models (from PyPI `rapidocr-onnxruntime`, Apache-2.0, put next to
//! the face models by `scripts/setup.sh`), run on the ONNX Runtime Booth's face engine loads;
//! the pre- and post-processing is here ([`detect`], [`recognise`]), the fields of the
//! resident ID card (front and back) and of bank cards in [`card`]. PP-OCR's orientation
//! classifier from the same wheel ([`orient`], optional: without its file a card must be the
//! right way up) turns an upside-down card's lines before they are read, and a bank card's
//! number names its bank by BIN ([`bins`], from npm `bankcardinfo`, optional too).
//!
//! Not for: the ID card quality check (`IDCardCheck`) and business licences (`BusiCert`), which
//! answer NOT_CONFIGURED; text turned by about 90° (a card photographed on its side); proving
//! a card genuine (the numbers' check digits only catch misreadings).

pub mod bins;
pub mod card;
pub mod detect;
pub mod orient;
pub mod recognise;

use crate::server::Refusal;
use booth_camera::Frame;
use booth_face::models::Model;
use booth_provider_client::wire::{Code, OcrRequest, OcrResponse};
use detect::Quad;
use std::path::Path;
use std::time::Instant;

/// PP-OCRv4 Chinese detection (`ch_PP-OCRv4_det_infer.onnx` in the wheel).
pub const DET_FILE: &str = "ppocr-v4-det.onnx";
/// PP-OCRv4 Chinese recognition (`ch_PP-OCRv4_rec_infer.onnx`), 6623 characters.
pub const REC_FILE: &str = "ppocr-v4-rec.onnx";
/// PP-OCR mobile v2.0 text orientation (`ch_ppocr_mobile_v2.0_cls_infer.onnx`): 0° or 180°.
pub const CLS_FILE: &str = "ppocr-cls.onnx";
/// The BIN table `scripts/setup.sh` makes from npm `bankcardinfo`.
pub const BINS_FILE: &str = "bank-bins.tsv";
/// How capabilities name the models.
pub const MODEL: &str = "ppocr-v4-ch@rapidocr-onnxruntime-1.4.4";
/// Lines read with less confidence than this are left out (PP-OCR `text_score`).
const MIN_CONFIDENCE: f32 = 0.5;
/// A card has about a dozen lines; a picture with many more is not read past this many boxes,
/// so a page of small print cannot hold the provider for minutes.
const MAX_LINES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("OCR 模型不可用: {0} (scripts/setup.sh 的 booth_ocr_models 安装)")]
    Missing(String),
    #[error("OCR 出错: {0}")]
    Inference(String),
}

/// One line of text the models read.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub confidence: f32,
    pub quad: Quad,
}

/// The loaded models, the recogniser's characters and the BIN table.
pub struct Ocr {
    det: Model,
    rec: Model,
    cls: Option<Model>,
    chars: Vec<String>,
    pub bins: bins::Bins,
}

impl Ocr {
    /// Loads the models from `models_dir` (where the ONNX Runtime library is too).
    pub fn load(models_dir: &Path) -> Result<Ocr, OcrError> {
        for f in [DET_FILE, REC_FILE] {
            if !models_dir.join(f).is_file() {
                return Err(OcrError::Missing(format!("{} 不存在", models_dir.join(f).display())));
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        let det = Model::load(models_dir, DET_FILE, threads).map_err(|e| OcrError::Missing(e.to_string()))?;
        let rec = Model::load(models_dir, REC_FILE, threads).map_err(|e| OcrError::Missing(e.to_string()))?;
        let list = rec
            .metadata("character")
            .map_err(|e| OcrError::Missing(e.to_string()))?
            .ok_or_else(|| OcrError::Missing(format!("{REC_FILE}: no character list in its metadata")))?;
        let chars: Vec<String> = list.lines().map(str::to_string).collect();
        if chars.len() < 100 {
            return Err(OcrError::Missing(format!("{REC_FILE}: only {} characters in its list", chars.len())));
        }
        // The orientation classifier and the BIN table are optional: without them a card must
        // be the right way up, and a bank card's bank is what it prints.
        let cls = match models_dir.join(CLS_FILE).is_file() {
            true => Some(Model::load(models_dir, CLS_FILE, threads).map_err(|e| OcrError::Missing(e.to_string()))?),
            false => {
                tracing::warn!("card OCR: {CLS_FILE} missing, upside-down cards are not turned");
                None
            }
        };
        let bins = bins::Bins::load(&models_dir.join(BINS_FILE));
        let ocr = Ocr { det, rec, cls, chars, bins };
        // ONNX Runtime's first run of a model is much slower than the next: pay it at start,
        // not in the first terminal's request.
        ocr.lines(&Frame::filled(64, 64, [255, 255, 255]))?;
        let (data, width) = recognise::input(
            &Frame::filled(64, 64, [255, 255, 255]),
            &Quad([(0.0, 0.0), (64.0, 0.0), (64.0, 16.0), (0.0, 16.0)]),
        );
        ocr.rec
            .run("x", &[1, 3, recognise::REC_HEIGHT, width], data, &["softmax_11.tmp_0"])
            .map_err(|e| OcrError::Inference(e.to_string()))?;
        ocr.upside_down(
            &Frame::filled(64, 64, [255, 255, 255]),
            &[Quad([(0.0, 0.0), (64.0, 0.0), (64.0, 16.0), (0.0, 16.0)])],
        )?;
        Ok(ocr)
    }

    /// The picture's lines of text in reading order.
    pub fn lines(&self, frame: &Frame) -> Result<Vec<Line>, OcrError> {
        let (data, w, h) = detect::input(frame);
        let out = self
            .det
            .run("x", &[1, 3, h, w], data, &["sigmoid_0.tmp_0"])
            .map_err(|e| OcrError::Inference(e.to_string()))?;
        let prob = out.into_iter().next().unwrap_or_default();
        let mut quads = detect::boxes(&prob, w, h, frame.width, frame.height);
        quads.truncate(MAX_LINES);
        if self.upside_down(frame, &quads)? {
            quads = quads.iter().map(orient::turned).collect();
        }
        let classes = self.chars.len() + 2;
        let mut lines = Vec::with_capacity(quads.len());
        for quad in quads {
            let (data, width) = recognise::input(frame, &quad);
            let out = self
                .rec
                .run("x", &[1, 3, recognise::REC_HEIGHT, width], data, &["softmax_11.tmp_0"])
                .map_err(|e| OcrError::Inference(e.to_string()))?;
            let probs = out.into_iter().next().unwrap_or_default();
            if probs.len() % classes != 0 {
                return Err(OcrError::Inference(format!(
                    "{REC_FILE}: {} outputs are not steps of {classes} classes",
                    probs.len()
                )));
            }
            let (text, confidence) = recognise::decode(&probs, classes, &self.chars);
            if confidence >= MIN_CONFIDENCE && !text.trim().is_empty() {
                lines.push(Line { text, confidence, quad });
            }
        }
        Ok(lines)
    }
}

impl Ocr {
    /// Whether the picture's lines are upside down (false without the classifier).
    fn upside_down(&self, frame: &Frame, quads: &[Quad]) -> Result<bool, OcrError> {
        let Some(cls) = &self.cls else { return Ok(false) };
        let mut votes = Vec::with_capacity(quads.len());
        for q in quads {
            let out = cls
                .run("x", &[1, 3, orient::CLS_HEIGHT, orient::CLS_WIDTH], orient::input(frame, q), &[CLS_OUTPUT])
                .map_err(|e| OcrError::Inference(e.to_string()))?;
            let p = out.into_iter().next().unwrap_or_default();
            if let [_, p180] = p[..] {
                votes.push((p180, q.width()));
            }
        }
        Ok(orient::upside_down(&votes))
    }

    /// The same reader without the orientation classifier (to measure what it brings).
    pub fn without_orientation(mut self) -> Ocr {
        self.cls = None;
        self
    }

    /// Whether the orientation classifier is loaded.
    pub fn turns_cards(&self) -> bool {
        self.cls.is_some()
    }
}

/// The classifier's output (probabilities of 0° and 180°).
const CLS_OUTPUT: &str = "save_infer_model/scale_0.tmp_1";

/// Loads the models named by the settings, saying in the log whether card OCR is available.
pub fn load_for(models_dir: Option<&Path>) -> Option<Ocr> {
    let Some(dir) = models_dir else {
        tracing::info!("card OCR: not available (no models_dir); /v1/ocr answers NOT_CONFIGURED");
        return None;
    };
    let started = Instant::now();
    match Ocr::load(dir) {
        Ok(ocr) => {
            tracing::info!(model = MODEL, load_ms = started.elapsed().as_millis() as u64, "card OCR: available");
            Some(ocr)
        }
        Err(e) => {
            tracing::warn!(error = %e, "card OCR: not available; /v1/ocr answers NOT_CONFIGURED");
            None
        }
    }
}

/// `POST /v1/ocr`. The log names the type, the outcome and the time, never what was read.
pub fn answer(ocr: Option<&Ocr>, req: &OcrRequest) -> Result<OcrResponse, Refusal> {
    let read = match req.kind.as_str() {
        "IDCard" => card::id_card,
        "BankCard" => card::bank_card,
        "IDCardCheck" | "BusiCert" => {
            return Err(Refusal(
                Code::NotConfigured,
                format!("本提供方的证件 OCR 只识别身份证 (IDCard) 和银行卡 (BankCard), 不支持 {}", req.kind),
            ))
        }
        other => {
            return Err(Refusal(
                Code::BadParam,
                format!(
                    "type 应为 BankCard, IDCard, IDCardCheck 或 BusiCert, 收到 {}",
                    other.chars().take(32).collect::<String>()
                ),
            ))
        }
    };
    let Some(ocr) = ocr else {
        return Err(Refusal(Code::NotConfigured, "本提供方没有证件 OCR (未配置 OCR 模型)".into()));
    };
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.image.trim())
        .map_err(|e| Refusal(Code::BadParam, format!("image 不是 base64: {e}")))?;
    let frame = Frame::decode(&bytes).map_err(|e| Refusal(Code::BadParam, format!("image 无法解码: {e}")))?;
    if frame.width < 32 || frame.height < 32 {
        return Err(Refusal(Code::BadParam, format!("图片太小 ({}×{}), 无法识别证件", frame.width, frame.height)));
    }
    let started = Instant::now();
    let lines = ocr.lines(&frame).map_err(|e| Refusal(Code::VendorError, e.to_string()))?;
    let rows = card::rows(&lines);
    let result = read(&rows);
    tracing::info!(
        kind = %req.kind,
        lines = lines.len(),
        ms = started.elapsed().as_millis() as u64,
        recognised = result.is_ok(),
        "ocr"
    );
    let mut recog_result = result.map_err(|e| Refusal(Code::BadParam, e.to_string()))?;
    if req.kind == "BankCard" {
        card::with_issuer(&mut recog_result, &ocr.bins);
    }
    Ok(OcrResponse { kind: req.kind.clone(), recog_result })
}
