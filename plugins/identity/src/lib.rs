//! Identity through a provider (in progress).
