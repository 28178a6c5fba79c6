//! Windows printers (type-checked only here).
