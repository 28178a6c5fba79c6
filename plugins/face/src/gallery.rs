//! The local gallery: enrolled people and their face embeddings, encrypted at rest.
//!
//! - Partitioned by (`orgOutId`, `componentOutId`), as seed 000's doStorageFaceInfo names them:
//!   a search looks in one partition (or in all of them).
//! - On disk: one append-only log (`gallery.log`) of records, each sealed with
//!   ChaCha20-Poly1305 under a 32-byte key kept in a separate key file (mode 0600, outside the
//!   gallery's folder), so a copied gallery folder alone reveals nothing. Deleting a person
//!   appends a deletion; the log is rewritten (atomically) when deletions outnumber the rest.
//! - In memory: per partition one contiguous array of embeddings, searched exhaustively:
//!   100,000 faces take a few milliseconds on one core (see the benchmark).
//! - Export/import move a gallery between terminals as one file sealed with a key derived from
//!   a passphrase (Argon2id).

use crate::embed::{l2_squared, Embedding, DIM};
use crate::FaceError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::Serialize;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

const MAGIC: &[u8; 8] = b"BOOTHGL1";
const EXPORT_MAGIC: &[u8; 8] = b"BOOTHGX1";
const LOG: &str = "gallery.log";

/// Where a person is enrolled: seed 000's `orgOutId` / `componentOutId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Partition {
    #[serde(rename = "orgOutId")]
    pub org: String,
    #[serde(rename = "componentOutId")]
    pub component: String,
}

impl Partition {
    pub fn new(org: impl Into<String>, component: impl Into<String>) -> Partition {
        Partition { org: org.into(), component: component.into() }
    }
}

/// What is known about an enrolled person besides the face (optional; seed 000's second
/// doStorageFaceInfo form gives a name, an ID number and a phone number).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PersonInfo {
    pub name: String,
    pub cert_no: String,
    pub phone: String,
}

/// A person as the admin screen lists them (no biometric data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonSummary {
    pub id: String,
    #[serde(flatten)]
    pub partition: Partition,
    pub name: String,
    pub faces: usize,
    pub enrolled: u64,
}

/// The best match of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub person: String,
    pub partition: Partition,
    pub distance: f32,
    /// The distance to the nearest *other* person, if any.
    pub second: Option<f32>,
}

/// For `/health` and the admin screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GalleryStatus {
    pub people: usize,
    pub faces: usize,
    pub partitions: Vec<PartitionCount>,
    /// Unix seconds of the last change (0: never).
    #[serde(rename = "lastChange")]
    pub last_change: u64,
    #[serde(rename = "bytes")]
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionCount {
    #[serde(flatten)]
    pub partition: Partition,
    pub people: usize,
}

enum Record {
    Add { id: String, partition: Partition, at: u64, info: PersonInfo, faces: Vec<Embedding> },
    Delete { id: String, at: u64 },
}

struct PersonEntry {
    partition: Partition,
    info: PersonInfo,
    enrolled: u64,
    faces: usize,
}

#[derive(Default)]
struct Part {
    /// n × DIM numbers.
    data: Vec<f32>,
    /// The person of each row.
    owners: Vec<u32>,
}

/// The two nearest people of a sweep: `a` the nearest, `b` the nearest other person.
#[derive(Clone, Copy)]
struct Top2 {
    a: (f32, u32),
    b: (f32, u32),
}

impl Top2 {
    const NONE: Top2 = Top2 { a: (f32::INFINITY, u32::MAX), b: (f32::INFINITY, u32::MAX) };

    #[inline]
    fn push(&mut self, d: f32, owner: u32) {
        if d >= self.b.0 {
            return;
        }
        if owner == self.a.1 {
            self.a.0 = self.a.0.min(d);
        } else if d < self.a.0 {
            self.b = self.a;
            self.a = (d, owner);
        } else {
            self.b = (d, owner);
        }
    }

    fn merge(mut self, o: Top2) -> Top2 {
        for (d, owner) in [o.a, o.b] {
            if owner != u32::MAX {
                self.push(d, owner);
            }
        }
        self
    }
}

fn sweep(data: &[f32], owners: &[u32], probe: &[f32]) -> Top2 {
    let mut top = Top2::NONE;
    for (row, owner) in data.chunks_exact(DIM).zip(owners) {
        top.push(l2_squared(row, probe), *owner);
    }
    top
}

/// A partition this large is swept by two threads.
const SPLIT_ROWS: usize = 20_000;

#[derive(Default)]
struct Index {
    people: HashMap<String, PersonEntry>,
    /// Person ids by number (the rows refer to these numbers).
    numbers: HashMap<String, u32>,
    names: Vec<String>,
    parts: HashMap<Partition, Part>,
    last_change: u64,
    live: usize,
    dead: usize,
}

impl Index {
    fn number(&mut self, id: &str) -> u32 {
        if let Some(n) = self.numbers.get(id) {
            return *n;
        }
        let n = self.names.len() as u32;
        self.names.push(id.to_string());
        self.numbers.insert(id.to_string(), n);
        n
    }

    fn apply(&mut self, r: Record) {
        match r {
            Record::Add { id, partition, at, info, faces } => {
                self.remove(&id);
                let n = self.number(&id);
                let part = self.parts.entry(partition.clone()).or_default();
                for f in &faces {
                    part.data.extend_from_slice(&f.0);
                    part.owners.push(n);
                }
                self.people.insert(id, PersonEntry { partition, info, enrolled: at, faces: faces.len() });
                self.last_change = self.last_change.max(at);
                self.live += 1;
            }
            Record::Delete { id, at } => {
                self.remove(&id);
                self.last_change = self.last_change.max(at);
                self.dead += 1;
            }
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(entry) = self.people.remove(id) else { return false };
        self.dead += 1;
        self.live = self.live.saturating_sub(1);
        let Some(&n) = self.numbers.get(id) else { return true };
        if let Some(part) = self.parts.get_mut(&entry.partition) {
            let mut row = 0;
            while row < part.owners.len() {
                if part.owners[row] == n {
                    let last = part.owners.len() - 1;
                    part.owners.swap_remove(row);
                    if row != last {
                        let (head, tail) = part.data.split_at_mut(last * DIM);
                        head[row * DIM..(row + 1) * DIM].copy_from_slice(&tail[..DIM]);
                    }
                    part.data.truncate(last * DIM);
                } else {
                    row += 1;
                }
            }
        }
        true
    }
}

pub struct Gallery {
    dir: PathBuf,
    cipher: ChaCha20Poly1305,
    index: RwLock<Index>,
    log: Mutex<File>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn err(what: impl std::fmt::Display) -> FaceError {
    FaceError::Gallery(what.to_string())
}

/// Reads the key file, or makes one (32 random bytes, mode 0600) if there is none.
pub fn load_or_create_key(path: &Path) -> Result<[u8; 32], FaceError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode =
                    std::fs::metadata(path).map_err(|e| err(format!("{}: {e}", path.display())))?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(err(format!(
                        "{}: 密钥文件权限过宽 ({:o}); chmod 600 {}",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    )));
                }
            }
            bytes.try_into().map_err(|_| err(format!("{}: 不是 32 字节的密钥", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| err(format!("random: {e}")))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| err(format!("{}: {e}", parent.display())))?;
            }
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
            f.write_all(&key).and_then(|()| f.sync_all()).map_err(|e| err(format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "face gallery key created");
            Ok(key)
        }
        Err(e) => Err(err(format!("{}: {e}", path.display()))),
    }
}

// --- record encoding (inside the encryption) ---

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&b[..n]);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        self.take(n).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

fn encode(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    match r {
        Record::Add { id, partition, at, info, faces } => {
            out.push(1);
            put_str(&mut out, id);
            put_str(&mut out, &partition.org);
            put_str(&mut out, &partition.component);
            out.extend_from_slice(&at.to_le_bytes());
            put_str(&mut out, &info.name);
            put_str(&mut out, &info.cert_no);
            put_str(&mut out, &info.phone);
            out.extend_from_slice(&(faces.len() as u16).to_le_bytes());
            for f in faces {
                for v in f.0 {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        Record::Delete { id, at } => {
            out.push(2);
            put_str(&mut out, id);
            out.extend_from_slice(&at.to_le_bytes());
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Option<Record> {
    let mut r = Reader(bytes);
    match r.u8()? {
        1 => {
            let id = r.str()?;
            let partition = Partition { org: r.str()?, component: r.str()? };
            let at = r.u64()?;
            let info = PersonInfo { name: r.str()?, cert_no: r.str()?, phone: r.str()? };
            let n = r.u16()? as usize;
            let mut faces = Vec::with_capacity(n);
            for _ in 0..n {
                let raw = r.take(DIM * 4)?;
                let mut e = [0f32; DIM];
                for (i, c) in raw.chunks_exact(4).enumerate() {
                    e[i] = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
                faces.push(Embedding(e));
            }
            Some(Record::Add { id, partition, at, info, faces })
        }
        2 => Some(Record::Delete { id: r.str()?, at: r.u64()? }),
        _ => None,
    }
}

fn seal(cipher: &ChaCha20Poly1305, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, FaceError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| err(format!("random: {e}")))?;
    let ct = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad }).map_err(|_| err("encrypt"))?;
    let mut out = Vec::with_capacity(16 + ct.len());
    out.extend_from_slice(&((12 + ct.len()) as u32).to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Splits sealed frames; stops at a torn last frame (a crash while appending). Returns the
/// frames and how many bytes they took.
fn open_frames(cipher: &ChaCha20Poly1305, aad: &[u8], mut bytes: &[u8]) -> Result<(Vec<Vec<u8>>, usize), FaceError> {
    let mut out = Vec::new();
    let mut used = 0;
    while bytes.len() >= 4 {
        let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if n < 12 + 16 || bytes.len() < 4 + n {
            tracing::warn!("face gallery: an incomplete last record was ignored");
            break;
        }
        let (nonce, ct) = bytes[4..4 + n].split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| err("记录无法解密 (密钥不对或文件被改动)"))?;
        out.push(plain);
        bytes = &bytes[4 + n..];
        used += 4 + n;
    }
    Ok((out, used))
}

impl Gallery {
    /// Opens (or creates) the gallery in `dir` with the key in `key_file`.
    pub fn open(dir: &Path, key_file: &Path) -> Result<Gallery, FaceError> {
        if key_file.starts_with(dir) {
            return Err(err(format!("{}: 密钥文件不能放在人脸库目录中", key_file.display())));
        }
        let key = load_or_create_key(key_file)?;
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
        let path = dir.join(LOG);
        let mut index = Index::default();
        match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => {
                if !bytes.starts_with(MAGIC) {
                    return Err(err(format!("{}: 不是 Booth 人脸库", path.display())));
                }
                let (frames, used) = open_frames(&cipher, MAGIC, &bytes[MAGIC.len()..])?;
                for plain in frames {
                    match decode(&plain) {
                        Some(r) => index.apply(r),
                        None => return Err(err(format!("{}: 记录格式错误", path.display()))),
                    }
                }
                if MAGIC.len() + used < bytes.len() {
                    // Drop the torn tail, so that new records follow the last good one.
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|e| err(format!("{}: {e}", path.display())))?;
                    f.set_len((MAGIC.len() + used) as u64).map_err(|e| err(format!("{}: {e}", path.display())))?;
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(format!("{}: {e}", path.display()))),
        }
        let fresh = !path.exists() || std::fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(true);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        if fresh {
            log.write_all(MAGIC).map_err(|e| err(format!("{}: {e}", path.display())))?;
        }
        let g = Gallery { dir: dir.to_path_buf(), cipher, index: RwLock::new(index), log: Mutex::new(log) };
        g.compact_if_needed()?;
        Ok(g)
    }

    fn append(&self, r: &Record) -> Result<(), FaceError> {
        let frame = seal(&self.cipher, MAGIC, &encode(r))?;
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.write_all(&frame).and_then(|()| log.sync_data()).map_err(|e| err(format!("{LOG}: {e}")))
    }

    /// Enrols a person with one or more faces; the same id again replaces them.
    pub fn add(
        &self,
        id: &str,
        partition: &Partition,
        info: PersonInfo,
        faces: Vec<Embedding>,
    ) -> Result<(), FaceError> {
        self.add_many(vec![(id.to_string(), partition.clone(), info, faces)])
    }

    /// Enrols many people with one write to disk (imports, benchmarks).
    pub fn add_many(&self, people: Vec<(String, Partition, PersonInfo, Vec<Embedding>)>) -> Result<(), FaceError> {
        let at = now();
        let mut records = Vec::with_capacity(people.len());
        let mut bytes = Vec::new();
        for (id, partition, info, faces) in people {
            if id.is_empty() || faces.is_empty() {
                return Err(err("empty person"));
            }
            let r = Record::Add { id, partition, at, info, faces };
            bytes.extend_from_slice(&seal(&self.cipher, MAGIC, &encode(&r))?);
            records.push(r);
        }
        {
            let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            log.write_all(&bytes).and_then(|()| log.sync_data()).map_err(|e| err(format!("{LOG}: {e}")))?;
        }
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        for r in records {
            index.apply(r);
        }
        Ok(())
    }

    /// Removes a person; `false` when there was none with that id.
    pub fn delete(&self, id: &str) -> Result<bool, FaceError> {
        if !self.index.read().unwrap_or_else(|p| p.into_inner()).people.contains_key(id) {
            return Ok(false);
        }
        let r = Record::Delete { id: id.to_string(), at: now() };
        self.append(&r)?;
        self.index.write().unwrap_or_else(|p| p.into_inner()).apply(r);
        self.compact_if_needed()?;
        Ok(true)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.read().unwrap_or_else(|p| p.into_inner()).people.contains_key(id)
    }

    /// The nearest enrolled face in `partition` (all partitions when `None`), and how far the
    /// nearest other person is. An exhaustive sweep; large partitions are split over two threads.
    pub fn find(&self, partition: Option<&Partition>, probe: &Embedding) -> Option<Match> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut top = Top2::NONE;
        for (_, part) in index.parts.iter().filter(|(p, _)| partition.is_none_or(|want| want == *p)) {
            let rows = part.owners.len();
            if rows >= SPLIT_ROWS {
                let half = rows / 2;
                let (d1, d2) = part.data.split_at(half * DIM);
                let (o1, o2) = part.owners.split_at(half);
                let (t1, t2) = std::thread::scope(|s| {
                    let other = s.spawn(|| sweep(d2, o2, &probe.0));
                    let mine = sweep(d1, o1, &probe.0);
                    (mine, other.join().unwrap_or(Top2::NONE))
                });
                top = top.merge(t1).merge(t2);
            } else {
                top = top.merge(sweep(&part.data, &part.owners, &probe.0));
            }
        }
        let (d, owner) = top.a;
        let name = index.names.get(owner as usize)?;
        let entry = index.people.get(name)?;
        Some(Match {
            person: name.clone(),
            partition: entry.partition.clone(),
            distance: d.sqrt(),
            second: (top.b.1 != u32::MAX).then(|| top.b.0.sqrt()),
        })
    }

    /// Everyone enrolled (for the admin screen), without faces.
    pub fn people(&self, partition: Option<&Partition>) -> Vec<PersonSummary> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<PersonSummary> = index
            .people
            .iter()
            .filter(|(_, e)| partition.is_none_or(|p| *p == e.partition))
            .map(|(id, e)| PersonSummary {
                id: id.clone(),
                partition: e.partition.clone(),
                name: e.info.name.clone(),
                faces: e.faces,
                enrolled: e.enrolled,
            })
            .collect();
        v.sort_by(|a, b| (&a.partition, a.enrolled, &a.id).cmp(&(&b.partition, b.enrolled, &b.id)));
        v
    }

    pub fn status(&self) -> GalleryStatus {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut counts: HashMap<&Partition, usize> = HashMap::new();
        for e in index.people.values() {
            *counts.entry(&e.partition).or_default() += 1;
        }
        let mut partitions: Vec<PartitionCount> =
            counts.into_iter().map(|(p, n)| PartitionCount { partition: p.clone(), people: n }).collect();
        partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
        GalleryStatus {
            people: index.people.len(),
            faces: index.parts.values().map(|p| p.owners.len()).sum(),
            partitions,
            last_change: index.last_change,
            size_bytes: std::fs::metadata(self.dir.join(LOG)).map(|m| m.len()).unwrap_or(0),
        }
    }

    fn live_records(&self) -> Vec<Record> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(index.people.len());
        for (id, e) in &index.people {
            let n = index.numbers[id];
            let faces = index
                .parts
                .get(&e.partition)
                .map(|part| {
                    part.owners
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| **o == n)
                        .filter_map(|(row, _)| part.data[row * DIM..(row + 1) * DIM].try_into().ok().map(Embedding))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Record::Add {
                id: id.clone(),
                partition: e.partition.clone(),
                at: e.enrolled,
                info: e.info.clone(),
                faces,
            });
        }
        out
    }

    /// Rewrites the log without deleted people when they outnumber the living ones.
    fn compact_if_needed(&self) -> Result<(), FaceError> {
        let (live, dead) = {
            let i = self.index.read().unwrap_or_else(|p| p.into_inner());
            (i.live, i.dead)
        };
        if dead < 64 || dead < live {
            return Ok(());
        }
        let mut bytes = MAGIC.to_vec();
        for r in self.live_records() {
            bytes.extend_from_slice(&seal(&self.cipher, MAGIC, &encode(&r))?);
        }
        let path = self.dir.join(LOG);
        let tmp = self.dir.join(format!("{LOG}.tmp"));
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let write = || -> std::io::Result<File> {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            OpenOptions::new().append(true).open(&path)
        };
        *log = write().map_err(|e| err(format!("{}: {e}", path.display())))?;
        let mut i = self.index.write().unwrap_or_else(|p| p.into_inner());
        i.dead = 0;
        Ok(())
    }

    /// The whole gallery (or one partition) sealed with `passphrase`, for another terminal.
    pub fn export(&self, passphrase: &str, partition: Option<&Partition>) -> Result<Vec<u8>, FaceError> {
        if passphrase.len() < 8 {
            return Err(err("导出口令至少 8 个字符"));
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| err(format!("random: {e}")))?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&derive(passphrase, &salt)?));
        let mut body = Vec::new();
        for r in self.live_records() {
            if let Record::Add { partition: p, .. } = &r {
                if partition.is_some_and(|want| want != p) {
                    continue;
                }
            }
            let e = encode(&r);
            body.extend_from_slice(&(e.len() as u32).to_le_bytes());
            body.extend_from_slice(&e);
        }
        let mut out = EXPORT_MAGIC.to_vec();
        out.extend_from_slice(&salt);
        out.extend_from_slice(&seal(&cipher, EXPORT_MAGIC, &body)?);
        Ok(out)
    }

    /// Adds everyone in an export (people with the same id are replaced); returns how many.
    pub fn import(&self, bytes: &[u8], passphrase: &str) -> Result<usize, FaceError> {
        if !bytes.starts_with(EXPORT_MAGIC) || bytes.len() < EXPORT_MAGIC.len() + 16 {
            return Err(err("不是 Booth 人脸库导出文件"));
        }
        let salt = &bytes[EXPORT_MAGIC.len()..EXPORT_MAGIC.len() + 16];
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&derive(passphrase, salt)?));
        let (frames, _) = open_frames(&cipher, EXPORT_MAGIC, &bytes[EXPORT_MAGIC.len() + 16..])
            .map_err(|_| err("口令不对或文件已损坏"))?;
        let body = frames.into_iter().next().ok_or_else(|| err("空的导出文件"))?;
        let mut rest = &body[..];
        let mut records = Vec::new();
        while rest.len() >= 4 {
            let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let r = rest.get(4..4 + n).and_then(decode).ok_or_else(|| err("导出文件格式错误"))?;
            records.push(r);
            rest = &rest[4 + n..];
        }
        let people: Vec<_> = records
            .into_iter()
            .filter_map(|r| match r {
                Record::Add { id, partition, info, faces, .. } => Some((id, partition, info, faces)),
                Record::Delete { .. } => None,
            })
            .collect();
        let added = people.len();
        self.add_many(people)?;
        Ok(added)
    }
}

fn derive(passphrase: &str, salt: &[u8]) -> Result<[u8; 32], FaceError> {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| err(e.to_string()))?;
    Ok(key)
}

/// Reads a whole file (for import).
pub fn read_file(path: &Path) -> Result<Vec<u8>, FaceError> {
    let mut f = File::open(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(seed: u32) -> Embedding {
        let mut e = [0f32; DIM];
        let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
        for v in e.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *v = (x % 1000) as f32 / 10_000.0;
        }
        Embedding(e)
    }

    fn near(e: &Embedding, by: f32) -> Embedding {
        let mut v = e.0;
        v[0] += by;
        Embedding(v)
    }

    #[test]
    fn add_find_delete_survive_a_reopen_and_stay_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("keys/gallery.key");
        let gdir = dir.path().join("gallery");
        let canteen = Partition::new("org1", "day_label_sign_online");
        let other = Partition::new("org2", "x");
        {
            let g = Gallery::open(&gdir, &key).unwrap();
            g.add("p1", &canteen, PersonInfo { name: "张三".into(), ..Default::default() }, vec![emb(1), emb(11)])
                .unwrap();
            g.add("p2", &canteen, PersonInfo::default(), vec![emb(2)]).unwrap();
            g.add("p3", &other, PersonInfo::default(), vec![emb(3)]).unwrap();
            let m = g.find(Some(&canteen), &near(&emb(1), 0.01)).unwrap();
            assert_eq!(m.person, "p1");
            assert!(m.distance < 0.02);
            assert!(m.second.unwrap() > m.distance);
            // p3 is in another partition.
            assert_ne!(g.find(Some(&canteen), &emb(3)).unwrap().person, "p3");
            assert_eq!(g.find(None, &emb(3)).unwrap().person, "p3");
            assert!(g.delete("p2").unwrap());
            assert!(!g.delete("p2").unwrap());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let raw = std::fs::read(gdir.join(LOG)).unwrap();
        assert!(!raw.windows(6).any(|w| w == "张三".as_bytes()), "names are encrypted");
        let g = Gallery::open(&gdir, &key).unwrap();
        let s = g.status();
        assert_eq!((s.people, s.faces), (2, 3));
        assert!(!g.contains("p2"));
        assert_eq!(g.find(Some(&canteen), &emb(1)).unwrap().person, "p1");
        assert_eq!(g.people(Some(&canteen))[0].name, "张三");
        // Another key cannot read it.
        let other_key = dir.path().join("keys/other.key");
        assert!(Gallery::open(&gdir, &other_key).is_err());
        // A key inside the gallery folder is refused.
        assert!(Gallery::open(&gdir, &gdir.join("k")).is_err());
    }

    #[test]
    fn a_large_partition_split_over_threads_finds_the_nearest_and_the_next_person() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gallery::open(&dir.path().join("g"), &dir.path().join("k")).unwrap();
        let p = Partition::new("o", "c");
        let mut people: Vec<_> =
            (0..25_000).map(|i| (format!("p{i}"), p.clone(), PersonInfo::default(), vec![emb(i)])).collect();
        // One person enrolled twice (two faces), near the end (the second thread's half).
        people.push((
            "twice".into(),
            p.clone(),
            PersonInfo::default(),
            vec![near(&emb(99_999), 0.02), near(&emb(99_999), 0.03)],
        ));
        g.add_many(people).unwrap();
        let m = g.find(Some(&p), &emb(99_999)).unwrap();
        assert_eq!(m.person, "twice");
        assert!((m.distance - 0.02).abs() < 1e-4, "{}", m.distance);
        let second = m.second.unwrap();
        assert!(second > 0.03, "the next *other* person, not the same person's second face: {second}");
        let m = g.find(None, &emb(24_000)).unwrap();
        assert_eq!(m.person, "p24000");
        assert!(m.distance < 1e-6);
    }

    #[test]
    fn export_import_moves_a_partition_with_a_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let a = Gallery::open(&dir.path().join("a"), &dir.path().join("a.key")).unwrap();
        let p = Partition::new("o", "c");
        a.add("p1", &p, PersonInfo::default(), vec![emb(1)]).unwrap();
        a.add("p9", &Partition::new("o", "other"), PersonInfo::default(), vec![emb(9)]).unwrap();
        assert!(a.export("short", None).is_err());
        let blob = a.export("correct horse", Some(&p)).unwrap();
        let b = Gallery::open(&dir.path().join("b"), &dir.path().join("b.key")).unwrap();
        assert!(b.import(&blob, "wrong passphrase").is_err());
        assert_eq!(b.import(&blob, "correct horse").unwrap(), 1);
        assert_eq!(b.find(None, &emb(1)).unwrap().person, "p1");
        assert!(!b.contains("p9"));
        let mut broken = blob.clone();
        let last = broken.len() - 1;
        broken[last] ^= 1;
        assert!(b.import(&broken, "correct horse").is_err());
    }

    #[test]
    fn many_deletions_compact_the_log_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (gdir, key) = (dir.path().join("g"), dir.path().join("g.key"));
        let p = Partition::new("o", "c");
        {
            let g = Gallery::open(&gdir, &key).unwrap();
            for i in 0..100 {
                g.add(&format!("p{i}"), &p, PersonInfo::default(), vec![emb(i)]).unwrap();
            }
            let before = g.status().size_bytes;
            for i in 0..90 {
                g.delete(&format!("p{i}")).unwrap();
            }
            assert!(g.status().size_bytes < before, "compacted");
            assert_eq!(g.status().people, 10);
            assert_eq!(g.find(None, &emb(95)).unwrap().person, "p95");
        }
        // A crash while appending leaves half a record.
        let mut f = OpenOptions::new().append(true).open(gdir.join(LOG)).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        {
            let g = Gallery::open(&gdir, &key).unwrap();
            assert_eq!(g.status().people, 10);
            g.add("late", &p, PersonInfo::default(), vec![emb(500)]).unwrap();
        }
        let g = Gallery::open(&gdir, &key).unwrap();
        assert_eq!(g.status().people, 11, "a record after the torn tail is kept");
    }
}
