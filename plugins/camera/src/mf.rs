//! Cameras and video files through Media Foundation (Windows): a source reader with video
//! processing on, asked for RGB32 at the configured size, read on the camera's thread. Chosen
//! over GStreamer on Windows because Media Foundation is part of Windows: a kiosk needs nothing
//! installed besides Booth.

use crate::{CameraConfig, Frame, Source};
use std::path::{Path, PathBuf};
use windows::core::{GUID, PCWSTR, PWSTR};
use windows::Win32::Media::MediaFoundation::*;
use windows::Win32::System::Com::{CoInitializeEx, CoTaskMemFree, COINIT_MULTITHREADED};

enum Input {
    Device(String),
    File(PathBuf),
}

pub struct MfSource {
    input: Input,
    width: u32,
    height: u32,
    reader: Option<IMFSourceReader>,
    size: (u32, u32),
    stride: i32,
    pacer: crate::source::Pacer,
}

// The reader is made and used only on the camera's own thread (COM's multithreaded apartment);
// the value crosses threads once, empty, when the camera starts.
unsafe impl Send for MfSource {}

const STREAM: u32 = MF_SOURCE_READER_FIRST_VIDEO_STREAM.0 as u32;

fn start() -> Result<(), String> {
    unsafe {
        // S_FALSE (already initialised on this thread) is fine.
        let _ = CoInitializeEx(None, COINIT_MULTITHREADED);
        MFStartup(MF_VERSION, MFSTARTUP_NOSOCKET).map_err(|e| format!("Media Foundation: {e}"))
    }
}

fn attributes(n: u32) -> Result<IMFAttributes, String> {
    let mut attrs: Option<IMFAttributes> = None;
    unsafe { MFCreateAttributes(&mut attrs, n) }.map_err(|e| format!("Media Foundation: {e}"))?;
    attrs.ok_or_else(|| "Media Foundation: no attributes".to_string())
}

/// Every camera: (friendly name, activation object).
fn devices() -> Result<Vec<(String, IMFActivate)>, String> {
    start()?;
    let attrs = attributes(1)?;
    let mut out = Vec::new();
    unsafe {
        attrs
            .SetGUID(&MF_DEVSOURCE_ATTRIBUTE_SOURCE_TYPE, &MF_DEVSOURCE_ATTRIBUTE_SOURCE_TYPE_VIDCAP_GUID)
            .map_err(|e| e.to_string())?;
        let mut list: *mut Option<IMFActivate> = std::ptr::null_mut();
        let mut count = 0u32;
        MFEnumDeviceSources(&attrs, &mut list, &mut count).map_err(|e| format!("Media Foundation: {e}"))?;
        if !list.is_null() {
            for i in 0..count as usize {
                if let Some(act) = (*list.add(i)).take() {
                    let mut name = PWSTR::null();
                    let mut len = 0u32;
                    let friendly =
                        if act.GetAllocatedString(&MF_DEVSOURCE_ATTRIBUTE_FRIENDLY_NAME, &mut name, &mut len).is_ok() {
                            let s = name.to_string().unwrap_or_default();
                            CoTaskMemFree(Some(name.0 as *const _));
                            s
                        } else {
                            format!("camera {i}")
                        };
                    out.push((friendly, act));
                }
            }
            CoTaskMemFree(Some(list as *const _));
        }
    }
    Ok(out)
}

pub fn list_devices() -> Result<Vec<String>, String> {
    Ok(devices()?.into_iter().map(|(n, _)| n).collect())
}

impl MfSource {
    pub fn device(cfg: &CameraConfig, name: &str) -> MfSource {
        MfSource::new(cfg, Input::Device(name.to_string()))
    }

    pub fn file(cfg: &CameraConfig, path: &Path) -> MfSource {
        MfSource::new(cfg, Input::File(path.to_path_buf()))
    }

    fn new(cfg: &CameraConfig, input: Input) -> MfSource {
        MfSource {
            input,
            width: cfg.width,
            height: cfg.height,
            reader: None,
            size: (0, 0),
            stride: 0,
            pacer: crate::source::Pacer::new(cfg.fps),
        }
    }

    fn make_reader(&self) -> Result<IMFSourceReader, String> {
        let rattrs = attributes(2)?;
        unsafe {
            rattrs.SetUINT32(&MF_SOURCE_READER_ENABLE_VIDEO_PROCESSING, 1).map_err(|e| e.to_string())?;
        }
        match &self.input {
            Input::Device(want) => {
                let list = devices()?;
                let found = if want.is_empty() {
                    list.into_iter().next()
                } else if let Ok(i) = want.parse::<usize>() {
                    list.into_iter().nth(i)
                } else {
                    let w = want.to_lowercase();
                    list.into_iter().find(|(n, _)| n.to_lowercase().contains(&w))
                };
                let (_, act) = found.ok_or_else(|| format!("没有找到摄像头 `{want}`"))?;
                unsafe {
                    let source: IMFMediaSource = act.ActivateObject().map_err(|e| format!("摄像头: {e}"))?;
                    MFCreateSourceReaderFromMediaSource(&source, &rattrs).map_err(|e| format!("摄像头: {e}"))
                }
            }
            Input::File(p) => {
                if !p.is_file() {
                    return Err(format!("{}: 文件不存在", p.display()));
                }
                let wide: Vec<u16> = p.as_os_str().to_string_lossy().encode_utf16().chain([0]).collect();
                unsafe {
                    MFCreateSourceReaderFromURL(PCWSTR(wide.as_ptr()), &rattrs)
                        .map_err(|e| format!("{}: {e}", p.display()))
                }
            }
        }
    }
}

fn guid_type(major: &GUID, sub: &GUID, w: u32, h: u32) -> Result<IMFMediaType, String> {
    unsafe {
        let mt = MFCreateMediaType().map_err(|e| e.to_string())?;
        mt.SetGUID(&MF_MT_MAJOR_TYPE, major).map_err(|e| e.to_string())?;
        mt.SetGUID(&MF_MT_SUBTYPE, sub).map_err(|e| e.to_string())?;
        mt.SetUINT64(&MF_MT_FRAME_SIZE, ((w as u64) << 32) | h as u64).map_err(|e| e.to_string())?;
        Ok(mt)
    }
}

impl Source for MfSource {
    fn open(&mut self) -> Result<(), String> {
        start()?;
        let reader = self.make_reader()?;
        unsafe {
            let mt = guid_type(&MFMediaType_Video, &MFVideoFormat_RGB32, self.width, self.height)?;
            reader
                .SetCurrentMediaType(STREAM, None, &mt)
                .map_err(|e| format!("RGB32 {}x{}: {e}", self.width, self.height))?;
            let current = reader.GetCurrentMediaType(STREAM).map_err(|e| e.to_string())?;
            let size = current.GetUINT64(&MF_MT_FRAME_SIZE).map_err(|e| e.to_string())?;
            self.size = ((size >> 32) as u32, (size & 0xffff_ffff) as u32);
            self.stride = current.GetUINT32(&MF_MT_DEFAULT_STRIDE).map(|s| s as i32).unwrap_or(self.size.0 as i32 * 4);
        }
        self.reader = Some(reader);
        Ok(())
    }

    fn next(&mut self) -> Result<Frame, String> {
        match self.read()? {
            Some(frame) => Ok(frame),
            None => {
                // The end of a video: play it again from the start.
                self.close();
                self.open()?;
                self.read()?.ok_or_else(|| "the video has no frames".to_string())
            }
        }
    }

    fn close(&mut self) {
        self.reader = None;
    }
}

impl MfSource {
    /// The next frame; `None` at the end of a video.
    fn read(&mut self) -> Result<Option<Frame>, String> {
        let Some(reader) = self.reader.as_ref() else { return Err("not open".into()) };
        if let Input::File(p) = &self.input {
            if !p.exists() {
                return Err(format!("{}: 文件已被移除", p.display()));
            }
        }
        let mut flags = 0u32;
        let mut sample: Option<IMFSample> = None;
        unsafe {
            reader
                .ReadSample(STREAM, 0, None, Some(&mut flags), None, Some(&mut sample))
                .map_err(|e| format!("摄像头: {e}"))?;
        }
        if flags & MF_SOURCE_READERF_ENDOFSTREAM.0 as u32 != 0 {
            return Ok(None);
        }
        if flags & MF_SOURCE_READERF_ERROR.0 as u32 != 0 {
            return Err("摄像头已断开".into());
        }
        let Some(sample) = sample else { return Err("摄像头没有画面".into()) };
        let (w, h) = (self.size.0 as usize, self.size.1 as usize);
        let mut rgb = vec![0u8; w * h * 3];
        unsafe {
            let buffer = sample.ConvertToContiguousBuffer().map_err(|e| e.to_string())?;
            let mut ptr: *mut u8 = std::ptr::null_mut();
            let mut len = 0u32;
            buffer.Lock(&mut ptr, None, Some(&mut len)).map_err(|e| e.to_string())?;
            let stride = self.stride.unsigned_abs() as usize;
            if !ptr.is_null() && len as usize >= stride * h && stride >= w * 4 {
                let data = std::slice::from_raw_parts(ptr, len as usize);
                for y in 0..h {
                    // A negative stride means the rows are stored bottom-up.
                    let src_row = if self.stride < 0 { h - 1 - y } else { y };
                    let row = &data[src_row * stride..src_row * stride + w * 4];
                    for (x, px) in row.chunks_exact(4).enumerate() {
                        // RGB32 is B, G, R, X in memory.
                        rgb[(y * w + x) * 3..][..3].copy_from_slice(&[px[2], px[1], px[0]]);
                    }
                }
            }
            let _ = buffer.Unlock();
        }
        if matches!(self.input, Input::File(_)) {
            self.pacer.wait();
        }
        Ok(Some(Frame::new(w as u32, h as u32, rgb)))
    }
}
