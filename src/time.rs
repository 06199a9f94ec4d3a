//! Time values: parsing the formats AWS responses and credential reports use.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses an RFC 3339 time (`2026-11-02T09:00:00Z`, `2015-08-03T12:09:08+00:00`,
/// `2024-01-10T12:00:00.000Z`) or a plain date (`2026-11-02`, taken as midnight UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
}

/// Formats a time the way snapaudit writes times: RFC 3339, UTC, `Z`, seconds precision.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_formats_aws_uses() {
        let a = parse_time("2015-08-03T12:09:08+00:00").map(|t| format_time(&t));
        assert_eq!(a.as_deref(), Some("2015-08-03T12:09:08Z"));
        let b = parse_time("2024-01-10T12:00:00.000Z").map(|t| format_time(&t));
        assert_eq!(b.as_deref(), Some("2024-01-10T12:00:00Z"));
        let c = parse_time("2026-11-02").map(|t| format_time(&t));
        assert_eq!(c.as_deref(), Some("2026-11-02T00:00:00Z"));
        assert!(parse_time("N/A").is_none());
        assert!(parse_time("not_supported").is_none());
    }
}
