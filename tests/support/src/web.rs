//! A small HTTP/1.1 server on a free loopback port: the package server of fleet updates and
//! the place screenshots and logs are uploaded to. `GET` of a path it holds answers the bytes,
//! `PUT` keeps the body under its path (query strings are ignored), anything else is 404. A
//! thread per request, `Connection: close`; it serves until the test process ends.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

pub struct WebServer {
    pub port: u16,
    files: Files,
    puts: Files,
}

impl WebServer {
    pub fn start() -> WebServer {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = l.local_addr().expect("local address").port();
        let (files, puts): (Files, Files) = (Arc::default(), Arc::default());
        let (f, p) = (files.clone(), puts.clone());
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let (f, p) = (f.clone(), p.clone());
                std::thread::spawn(move || answer(conn, &f, &p));
            }
        });
        WebServer { port, files, puts }
    }

    /// A server holding one file at `path`.
    pub fn serving(path: &str, body: Vec<u8>) -> WebServer {
        let web = WebServer::start();
        web.put_file(path, body);
        web
    }

    /// From now on `GET path` answers `body`.
    pub fn put_file(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_string(), body);
    }

    /// What was `PUT` at `path`, if anything.
    pub fn uploaded(&self, path: &str) -> Option<Vec<u8>> {
        self.puts.lock().unwrap_or_else(|p| p.into_inner()).get(path).cloned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn answer(conn: std::net::TcpStream, files: &Files, puts: &Files) {
    let Ok(read_half) = conn.try_clone() else { return };
    let mut r = BufReader::new(read_half);
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").split('?').next().unwrap_or("").to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut w = conn;
    if method == "PUT" {
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_ok() {
            puts.lock().unwrap_or_else(|p| p.into_inner()).insert(path, body);
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
        return;
    }
    let found = files.lock().unwrap_or_else(|p| p.into_inner()).get(&path).cloned();
    match found {
        Some(b) => {
            let kind = match path.rsplit('.').next() {
                _ if path.ends_with('/') => "text/html; charset=utf-8",
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                b.len()
            );
            let _ = w.write_all(&b);
        }
        None => {
            let _ = w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    }
    // Until the client has read everything and closed its end.
    let _ = r.read(&mut [0u8; 1]);
}
