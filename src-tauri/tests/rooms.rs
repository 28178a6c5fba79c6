//! Keeps the app crate's layout honest (README, Architecture): `src-tauri/src` is made of rooms,
//! each a module folder, and a room may only import rooms below it:
//!
//! `app` > `cli` > `ipc` > `shell` > `kiosk` > `dev` > `devices` > `config` > `names`
//!
//! and no two files import each other, directly or round a loop. Imports are read from the
//! source with `syn`: `use` trees, paths in code and types, and `crate::` / `super::` / `self::`
//! paths inside macro calls; `pub use` re-exports are followed to the file that defines the item.
//! The crate root (`lib.rs`: module declarations and `VERSION`) is not a room.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// Rooms from the bottom up: a room may import only rooms before it in this list.
const ROOMS: [&str; 9] = ["names", "config", "devices", "dev", "kiosk", "shell", "ipc", "cli", "app"];

type ModPath = Vec<String>;

/// The module files of a crate's `src` folder, by module path (`[]` is `lib.rs`).
fn module_files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<ModPath, PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = match (prefix.is_empty(), stem) {
                    (true, "lib") => vec![],
                    (true, "main") => continue,
                    (_, "mod") => prefix.to_vec(),
                    _ => {
                        let mut p = prefix.to_vec();
                        p.push(stem.to_string());
                        p
                    }
                };
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// Every path one file refers to, made absolute, and its `pub use` re-exports.
#[derive(Default)]
struct FileRefs {
    refs: Vec<ModPath>,
    /// Re-exported name → the absolute path it stands for.
    reexports: BTreeMap<String, ModPath>,
}

struct Collector<'a> {
    /// The file's module, then any inline modules we are inside.
    here: ModPath,
    inline_depth: usize,
    /// Child modules of the file's module that exist as files (bare `child::x` paths).
    children: &'a BTreeSet<String>,
    out: FileRefs,
}

impl Collector<'_> {
    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let first = segments.first()?;
        match first.as_str() {
            "crate" => Some(segments[1..].to_vec()),
            "self" => Some([self.here.clone(), segments[1..].to_vec()].concat()),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let base = self.here.len().checked_sub(ups)?;
                Some([self.here[..base].to_vec(), segments[ups..].to_vec()].concat())
            }
            child if self.inline_depth == 0 && self.children.contains(child) => {
                Some([self.here.clone(), segments.to_vec()].concat())
            }
            _ => None,
        }
    }

    fn note(&mut self, segments: &[String]) {
        if let Some(abs) = self.absolute(segments) {
            self.out.refs.push(abs);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, public: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, public);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.use_leaf(prefix, &n.ident.to_string(), &n.ident.to_string(), public),
            syn::UseTree::Rename(r) => self.use_leaf(prefix, &r.ident.to_string(), &r.rename.to_string(), public),
            syn::UseTree::Glob(_) => self.note(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, public);
                }
            }
        }
    }

    fn use_leaf(&mut self, prefix: &[String], name: &str, alias: &str, public: bool) {
        let full: Vec<String> = if name == "self" { prefix.to_vec() } else { [prefix, &[name.to_string()]].concat() };
        if let Some(abs) = self.absolute(&full) {
            if public && self.inline_depth == 0 {
                self.out.reexports.insert(alias.to_string(), abs.clone());
            }
            self.out.refs.push(abs);
        }
    }

    /// `crate::a::b`, `super::a`, `self::a` sequences inside a macro call's tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let list: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < list.len() {
            match &list[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) if ["crate", "super", "self"].contains(&id.to_string().as_str()) => {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while j + 2 < list.len() + 1 {
                        let colons = matches!((&list.get(j), &list.get(j + 1)),
                            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
                        match (colons, list.get(j + 2)) {
                            (true, Some(TokenTree::Ident(next))) => {
                                segments.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segments.len() > 1 {
                        self.note(&segments);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.here.push(m.ident.to_string());
            self.inline_depth += 1;
            syn::visit::visit_item_mod(self, m);
            self.inline_depth -= 1;
            self.here.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let public = matches!(u.vis, syn::Visibility::Public(_));
        self.use_tree(&mut Vec::new(), &u.tree, public);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.note(&segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.tokens(m.tokens.clone());
    }
}

/// The file-to-file import graph of a crate's `src` folder, by module path.
fn graph(src: &Path) -> Result<BTreeMap<ModPath, BTreeSet<ModPath>>, String> {
    let files = module_files(src);
    let mut refs: BTreeMap<ModPath, FileRefs> = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let children: BTreeSet<String> = files
            .keys()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k[module.len()].clone())
            .collect();
        let mut c = Collector { here: module.clone(), inline_depth: 0, children: &children, out: FileRefs::default() };
        c.visit_file(&parsed);
        refs.insert(module.clone(), c.out);
    }
    // The file that defines what `path` names: the deepest module file on the path, following
    // `pub use` re-exports of that file.
    let resolve = |path: &ModPath| -> ModPath {
        let mut path = path.clone();
        for _ in 0..16 {
            let mut module = path.clone();
            while !files.contains_key(&module) {
                module.pop();
            }
            let next = path.get(module.len());
            match next.and_then(|n| refs.get(&module).and_then(|r| r.reexports.get(n))) {
                Some(target) if *target != path => {
                    path = [target.clone(), path[module.len() + 1..].to_vec()].concat();
                }
                _ => return module,
            }
        }
        path
    };
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, r) in &refs {
        let set = edges.entry(module.clone()).or_default();
        for target in &r.refs {
            let to = resolve(target);
            if &to != module && !to.is_empty() {
                set.insert(to);
            }
        }
    }
    Ok(edges)
}

fn show(m: &ModPath) -> String {
    if m.is_empty() {
        "lib".into()
    } else {
        m.join("::")
    }
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct T<'a, N> {
        edges: &'a BTreeMap<N, BTreeSet<N>>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on: BTreeSet<N>,
        next: usize,
        out: Vec<Vec<N>>,
    }
    impl<N: Ord + Clone> T<'_, N> {
        fn visit(&mut self, v: &N) {
            self.index.insert(v.clone(), self.next);
            self.low.insert(v.clone(), self.next);
            self.next += 1;
            self.stack.push(v.clone());
            self.on.insert(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let l = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), l);
                } else if self.on.contains(w) {
                    let l = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(&w);
                    let done = &w == v;
                    scc.push(w);
                    if done {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    self.out.push(scc);
                }
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

/// Everything wrong with the layout of `src`: file cycles, room cycles, rooms importing upwards,
/// files outside a room.
fn problems(src: &Path) -> Vec<String> {
    let edges = match graph(src) {
        Ok(e) => e,
        Err(e) => return vec![e],
    };
    let mut out = Vec::new();
    for scc in cycles(&edges) {
        out.push(format!("import cycle between files: {}", scc.iter().map(show).collect::<Vec<_>>().join(" ↔ ")));
    }
    let room = |m: &ModPath| m.first().cloned().unwrap_or_default();
    let rank = |r: &str| ROOMS.iter().position(|x| *x == r);
    let mut room_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &edges {
        if from.is_empty() {
            continue;
        }
        if rank(&room(from)).is_none() {
            out.push(format!("{} is in no room (README, Architecture)", show(from)));
            continue;
        }
        for to in tos {
            let (a, b) = (room(from), room(to));
            if a == b {
                continue;
            }
            room_edges.entry(a.clone()).or_default().insert(b.clone());
            match (rank(&a), rank(&b)) {
                (Some(ra), Some(rb)) if ra < rb => {
                    out.push(format!("{} imports {}: room `{a}` may not import room `{b}`", show(from), show(to)))
                }
                _ => {}
            }
        }
    }
    for scc in cycles(&room_edges) {
        out.push(format!("import cycle between rooms: {}", scc.join(" ↔ ")));
    }
    out
}

#[test]
fn rooms_import_downward_only_and_no_files_import_each_other() {
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let src = dir.join("src");
    let edges = graph(&src).expect("the sources parse");
    assert!(edges.len() > 40, "the whole crate was read ({} files)", edges.len());
    let found = problems(&src);
    assert!(found.is_empty(), "the app crate's layout is broken:\n  {}", found.join("\n  "));
}

/// The check itself: a small crate with the faults it must catch.
#[test]
fn the_check_catches_cycles_and_upward_imports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |p: &str, text: &str| {
        let path = src.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod config; pub mod shell; pub mod names;");
    write("names.rs", "pub const MAIN: &str = \"main\";");
    write("config/mod.rs", "pub mod a; pub mod b;\npub use a::Thing;");
    write("config/a.rs", "pub struct Thing; pub fn f() { crate::config::b::g(); }");
    write("config/b.rs", "pub fn g() { let _ = super::a::Thing; }");
    write("shell/mod.rs", "use crate::config::Thing;\npub fn s() { tracing::info!(\"{}\", crate::names::MAIN); }");
    assert_eq!(problems(src), ["import cycle between files: config::a ↔ config::b"]);

    // Fixed, then an upward import hidden in a macro call and one through a re-export.
    write("config/b.rs", "pub fn g() {}");
    assert!(problems(src).is_empty(), "{:?}", problems(src));
    write("config/b.rs", "pub fn g() { tracing::info!(\"{:?}\", crate::shell::s()); }");
    let found = problems(src);
    assert!(
        found.iter().any(|p| p.contains("config::b imports shell: room `config` may not import room `shell`")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("import cycle between rooms: config ↔ shell")), "{found:?}");
    write("config/b.rs", "pub fn g() {}");
    write("names.rs", "use crate::config::Thing;");
    let found = problems(src);
    assert!(
        found.iter().any(|p| p == "names imports config::a: room `names` may not import room `config`"),
        "{found:?}"
    );
}
