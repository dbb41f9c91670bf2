//! Secrets written as `env:NAME`, so they stay out of the config file. Every section's secret goes through
//! here; what a secret is for is the section's business.

use toml::Spanned;

use super::Findings;

/// Resolves `env:NAME` to the variable's value.
pub(super) fn secret(
    f: &mut Findings<'_>,
    field: &str,
    value: Option<Spanned<String>>,
) -> Option<String> {
    let value = value?;
    let span = value.span();
    let text = value.into_inner();
    let resolved = match text.strip_prefix("env:") {
        Some(name) => match std::env::var(name.trim()) {
            Ok(v) => v,
            Err(_) => {
                f.error(
                    field,
                    span,
                    format!("the environment variable {} is not set", name.trim()),
                );
                return None;
            }
        },
        None => text,
    };
    if resolved.trim().is_empty() {
        f.error(field, span, "the secret is empty");
        return None;
    }
    Some(resolved)
}
