//! The small text formats the platforms document for their values: UUIDs
//! (Apple's `PayloadUUID`), dotted OIDs (X.660; Apple's Subject, Windows'
//! `EKUMapping`, Graph's `objectIdentifier`), hex digests (SHA-1 thumbprints
//! as CSP node names and `CAThumbprint`), http(s) URLs (SCEP server URLs),
//! and standard base64 (RFC 4648 §4, the DDF's `b64` format).

/// `8-4-4-4-12` hex digits, the form Apple's profiles and `uuidgen` use.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, length)| is_hex(group, length))
}

/// Exactly `length` hex digits, either case.
pub fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// A dotted OID: first arc 0–2, at least two arcs, no leading zeros.
pub fn is_dotted_oid(text: &str) -> bool {
    let mut arcs = text.split('.');
    let first_arc_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    let rest: Vec<&str> = arcs.collect();
    first_arc_ok
        && !rest.is_empty()
        && rest.iter().all(|arc| {
            !arc.is_empty()
                && arc.bytes().all(|byte| byte.is_ascii_digit())
                && (arc.len() == 1 || !arc.starts_with('0'))
        })
}

/// `http://` or `https://` (any case), a non-empty host part, no whitespace.
pub fn is_http_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    rest.chars()
        .next()
        .is_some_and(|first| !matches!(first, '/' | '?' | '#'))
        && !rest.chars().any(char::is_whitespace)
}

/// Only base64 alphabet characters, then at most two `=`; the length is not checked.
pub fn has_base64_alphabet(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len() - body.len() <= 2
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/')
}

/// Optional `-`, then decimal digits (after trimming), as Python's `int()` reads a CSP value.
pub fn parse_int(text: &str) -> Option<i128> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_needs_the_hyphenated_form() {
        assert!(is_uuid("9F0C6E2E-7E0B-4F3B-9B7A-2B1E6C1D0A11"));
        assert!(is_uuid("9f0c6e2e-7e0b-4f3b-9b7a-2b1e6c1d0a11"));
        assert!(!is_uuid("9F0C6E2E7E0B4F3B9B7A2B1E6C1D0A11"));
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("9F0C6E2E-7E0B-4F3B-9B7A-2B1E6C1D0A1G"));
    }

    #[test]
    fn dotted_oid_rules() {
        for good in ["2.5.4.3", "1.2.840.113549.1.9.1", "0.0"] {
            assert!(is_dotted_oid(good), "{good}");
        }
        for bad in [
            "2",
            "3.1",
            "2.05",
            "2..5",
            "clientAuth",
            "1.3.6.1.5.5.7.3.2,1.3",
            "",
        ] {
            assert!(!is_dotted_oid(bad), "{bad}");
        }
    }

    #[test]
    fn http_url_rules() {
        assert!(is_http_url("https://ndes.example.com/certsrv/mscep/mscep.dll"));
        assert!(is_http_url("HTTP://127.0.0.1:8080"));
        for bad in [
            "ftp://ndes",
            "https://",
            "https:///path",
            "https://a b",
            "ndes.example.com",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn base64_alphabet_and_integers() {
        assert!(has_base64_alphabet("MDEy+/=="));
        assert!(!has_base64_alphabet("MDEy==="));
        assert!(!has_base64_alphabet("MD-_"));
        assert_eq!(parse_int(" -12 "), Some(-12));
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int("-"), None);
    }
}
