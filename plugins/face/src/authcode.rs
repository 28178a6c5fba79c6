//! authcode
