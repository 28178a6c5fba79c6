//! Readers used through their vendor's SDK library, loaded at run time from a configured path.
//!
//! - `sdtapi` (the reference API most Chinese readers ship, `sdtapi.dll` / `libsdtapi.so`):
//!   `SDT_OpenPort(port)`, `SDT_StartFindIDCard`, `SDT_SelectIDCard`, `SDT_ReadBaseMsg` (the same
//!   256-byte text and 1024-byte WLT photo as the SAM protocol), `SDT_ClosePort`. Return codes
//!   are the SAM status bytes (0x90 ok, 0x9F found, 0x80/0x81 no card).
//! - `termb` (`termb.dll` / `libtermb.so` style): `CVR_InitComm(port)`, `CVR_Authenticate()`,
//!   `CVR_Read_Content(4)`, `CVR_CloseComm()`, then one GBK string per field
//!   (`GetPeopleName(char*, int*)`, …) and, when the library has it, `GetBMPData` for the decoded
//!   photo. Return code 1 is success; `CVR_Authenticate` answering 2 or 3 means no card.
//!
//! Port numbers follow the vendors: 1–16 serial ports, 1001–1016 USB.

use crate::identity::{clean, date, halfwidth, nation_name, sex_name, CardRead, Identity, Photo};
use crate::reader::{ReadError, Reader};
use crate::sam::parse_base;
use libloading::Library;
use std::path::{Path, PathBuf};

/// Which SDK the library implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    Sdtapi,
    Termb,
}

impl Sdk {
    pub fn parse(s: &str) -> Option<Sdk> {
        match s {
            "sdtapi" => Some(Sdk::Sdtapi),
            "termb" => Some(Sdk::Termb),
            _ => None,
        }
    }
}

/// Loads a library; the error names the file.
fn load(path: &Path) -> Result<Library, ReadError> {
    // SAFETY: loading runs the library's initialisers; the operator configured this vendor
    // library as the ID card reader's driver.
    unsafe { Library::new(path) }.map_err(|e| ReadError::Gone(format!("{}: 无法加载 ({e})", path.display())))
}

/// Copies a function pointer out of the library. The caller keeps the library alive for as long
/// as the pointer is used (both live in the same reader struct).
fn sym<T: Copy>(lib: &Library, path: &Path, name: &str) -> Result<T, ReadError> {
    // SAFETY: `T` is the documented signature of `name` in the configured SDK.
    unsafe { lib.get::<T>(name) }
        .map(|s| *s)
        .map_err(|e| ReadError::Gone(format!("{}: 没有 {name} ({e})", path.display())))
}

type OpenPort = unsafe extern "system" fn(i32) -> i32;
type PortFlag = unsafe extern "system" fn(i32, *mut u8, i32) -> i32;
type ReadBaseMsg = unsafe extern "system" fn(i32, *mut u8, *mut u32, *mut u8, *mut u32, i32) -> i32;

struct SdtApiFns {
    open: OpenPort,
    close: OpenPort,
    find: PortFlag,
    select: PortFlag,
    read: ReadBaseMsg,
    _lib: Library,
}

/// A reader behind an `sdtapi` library.
pub struct SdtApi {
    path: PathBuf,
    port: i32,
    fns: Option<SdtApiFns>,
    open: bool,
}

impl SdtApi {
    pub fn new(path: impl Into<PathBuf>, port: i32) -> SdtApi {
        SdtApi { path: path.into(), port, fns: None, open: false }
    }

    fn fns(&mut self) -> Result<&SdtApiFns, ReadError> {
        if self.fns.is_none() {
            let lib = load(&self.path)?;
            let p = &self.path;
            self.fns = Some(SdtApiFns {
                open: sym(&lib, p, "SDT_OpenPort")?,
                close: sym(&lib, p, "SDT_ClosePort")?,
                find: sym(&lib, p, "SDT_StartFindIDCard")?,
                select: sym(&lib, p, "SDT_SelectIDCard")?,
                read: sym(&lib, p, "SDT_ReadBaseMsg")?,
                _lib: lib,
            });
        }
        self.fns.as_ref().ok_or_else(|| ReadError::Gone("library".into()))
    }
}

impl Reader for SdtApi {
    fn open(&mut self) -> Result<String, ReadError> {
        let port = self.port;
        let f = self.fns()?;
        // SAFETY: documented sdtapi call with a plain integer argument.
        let rc = unsafe { (f.open)(port) };
        if rc != 0x90 {
            return Err(ReadError::Gone(format!("SDT_OpenPort({port}) 返回 0x{rc:02X}")));
        }
        self.open = true;
        Ok(format!("{} port {port} (sdtapi)", self.path.display()))
    }

    fn poll(&mut self) -> Result<Option<CardRead>, ReadError> {
        let port = self.port;
        let f = self.fns()?;
        let mut scratch = [0u8; 64];
        // SAFETY: the buffers are larger than what sdtapi writes (8 and 8 bytes of card
        // management data; 256 bytes of text and 1024 of photo, sized generously below).
        let rc = unsafe { (f.find)(port, scratch.as_mut_ptr(), 0) };
        match rc {
            0x9F => {}
            0x80 | 0x81 => return Ok(None),
            other => return Err(ReadError::Gone(format!("SDT_StartFindIDCard 返回 0x{other:02X}"))),
        }
        let rc = unsafe { (f.select)(port, scratch.as_mut_ptr(), 0) };
        if rc != 0x90 {
            return Ok(None);
        }
        let mut text = vec![0u8; 1024];
        let mut photo = vec![0u8; 4096];
        let (mut text_len, mut photo_len) = (0u32, 0u32);
        let rc = unsafe { (f.read)(port, text.as_mut_ptr(), &mut text_len, photo.as_mut_ptr(), &mut photo_len, 0) };
        if rc != 0x90 {
            return Err(ReadError::Bad(format!("SDT_ReadBaseMsg 返回 0x{rc:02X}")));
        }
        let (t, p) = ((text_len as usize).min(text.len()), (photo_len as usize).min(photo.len()));
        let mut data = Vec::with_capacity(4 + t + p);
        data.extend_from_slice(&(t as u16).to_be_bytes());
        data.extend_from_slice(&(p as u16).to_be_bytes());
        data.extend_from_slice(&text[..t]);
        data.extend_from_slice(&photo[..p]);
        parse_base(&data)
    }

    fn close(&mut self) {
        if self.open {
            if let Some(f) = &self.fns {
                // SAFETY: documented sdtapi call.
                unsafe { (f.close)(self.port) };
            }
            self.open = false;
        }
    }

    fn name(&self) -> &'static str {
        "sdtapi"
    }
}

type InitComm = unsafe extern "system" fn(i32) -> i32;
type NoArgs = unsafe extern "system" fn() -> i32;
type ReadContent = unsafe extern "system" fn(i32) -> i32;
type GetText = unsafe extern "system" fn(*mut u8, *mut i32) -> i32;

struct TermbFns {
    init: InitComm,
    auth: NoArgs,
    read: ReadContent,
    close: NoArgs,
    name: GetText,
    sex: GetText,
    nation: GetText,
    birth: GetText,
    address: GetText,
    id: GetText,
    issuer: GetText,
    from: GetText,
    to: GetText,
    bmp: Option<GetText>,
    _lib: Library,
}

/// A reader behind a `termb`-style library.
pub struct Termb {
    path: PathBuf,
    port: i32,
    fns: Option<TermbFns>,
    open: bool,
}

impl Termb {
    pub fn new(path: impl Into<PathBuf>, port: i32) -> Termb {
        Termb { path: path.into(), port, fns: None, open: false }
    }

    fn fns(&mut self) -> Result<&TermbFns, ReadError> {
        if self.fns.is_none() {
            let lib = load(&self.path)?;
            let p = &self.path;
            let bmp = sym::<GetText>(&lib, p, "GetBMPData").ok();
            self.fns = Some(TermbFns {
                init: sym(&lib, p, "CVR_InitComm")?,
                auth: sym(&lib, p, "CVR_Authenticate")?,
                read: sym(&lib, p, "CVR_Read_Content")?,
                close: sym(&lib, p, "CVR_CloseComm")?,
                name: sym(&lib, p, "GetPeopleName")?,
                sex: sym(&lib, p, "GetPeopleSex")?,
                nation: sym(&lib, p, "GetPeopleNation")?,
                birth: sym(&lib, p, "GetPeopleBirthday")?,
                address: sym(&lib, p, "GetPeopleAddress")?,
                id: sym(&lib, p, "GetPeopleIDCode")?,
                issuer: sym(&lib, p, "GetDepartment")?,
                from: sym(&lib, p, "GetStartDate")?,
                to: sym(&lib, p, "GetEndDate")?,
                bmp,
                _lib: lib,
            });
        }
        self.fns.as_ref().ok_or_else(|| ReadError::Gone("library".into()))
    }
}

/// Calls one `GetXxx(char *buf, int *len)` getter and decodes its GBK answer.
fn text_of(get: GetText, what: &str) -> Result<String, ReadError> {
    let bytes = bytes_of(get, 512, what)?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (s, _, _) = encoding_rs::GBK.decode(&bytes[..end]);
    Ok(clean(&s))
}

fn bytes_of(get: GetText, capacity: usize, what: &str) -> Result<Vec<u8>, ReadError> {
    let mut buf = vec![0u8; capacity];
    let mut len = capacity as i32;
    // SAFETY: `buf` holds `len` bytes, which the getter is told.
    let rc = unsafe { get(buf.as_mut_ptr(), &mut len) };
    if rc != 1 {
        return Err(ReadError::Bad(format!("{what} 返回 {rc}")));
    }
    buf.truncate(usize::try_from(len).unwrap_or(0).min(capacity));
    Ok(buf)
}

impl Reader for Termb {
    fn open(&mut self) -> Result<String, ReadError> {
        let port = self.port;
        let f = self.fns()?;
        // SAFETY: documented call with a plain integer.
        let rc = unsafe { (f.init)(port) };
        if rc != 1 {
            return Err(ReadError::Gone(format!("CVR_InitComm({port}) 返回 {rc}")));
        }
        self.open = true;
        Ok(format!("{} port {port} (termb)", self.path.display()))
    }

    fn poll(&mut self) -> Result<Option<CardRead>, ReadError> {
        let f = self.fns()?;
        // SAFETY: documented calls without pointers.
        match unsafe { (f.auth)() } {
            1 => {}
            2 | 3 => return Ok(None),
            other => return Err(ReadError::Gone(format!("CVR_Authenticate 返回 {other}"))),
        }
        let rc = unsafe { (f.read)(4) };
        if rc != 1 {
            return Err(ReadError::Bad(format!("CVR_Read_Content 返回 {rc}")));
        }
        let identity = Identity {
            name: text_of(f.name, "GetPeopleName")?,
            sex: sex_name(&text_of(f.sex, "GetPeopleSex")?),
            nation: nation_name(&text_of(f.nation, "GetPeopleNation")?),
            birth: date(&text_of(f.birth, "GetPeopleBirthday")?),
            address: halfwidth(&text_of(f.address, "GetPeopleAddress")?),
            id_number: text_of(f.id, "GetPeopleIDCode")?.to_ascii_uppercase(),
            issuer: text_of(f.issuer, "GetDepartment")?,
            valid_from: date(&text_of(f.from, "GetStartDate")?),
            valid_to: date(&text_of(f.to, "GetEndDate")?),
        };
        let photo = match f.bmp {
            Some(get) => bytes_of(get, 64 * 1024, "GetBMPData").map(Photo::Bmp).unwrap_or(Photo::None),
            None => Photo::None,
        };
        Ok(Some(CardRead { identity, photo }))
    }

    fn close(&mut self) {
        if self.open {
            if let Some(f) = &self.fns {
                // SAFETY: documented call.
                unsafe { (f.close)() };
            }
            self.open = false;
        }
    }

    fn name(&self) -> &'static str {
        "termb"
    }
}
