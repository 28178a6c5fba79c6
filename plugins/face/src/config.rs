//! `[face] in booth.toml`.
