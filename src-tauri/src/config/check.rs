//! Small checks shared by the sections' validation.

pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("{field}: `{value}` is not one of {}", allowed.join(", ")))
    }
}

pub(crate) fn needs(field: &str, value: &Option<String>, when: &str) -> Result<(), String> {
    if value.as_deref().is_some_and(|v| !v.is_empty()) {
        Ok(())
    } else {
        Err(format!("{field}: required when {when}"))
    }
}
