//! "One DER X.509 certificate": what Apple's `com.apple.security.root` /
//! `.pkcs1` `PayloadContent`, the Windows `EncodedCertificate` node (after
//! base64) and the ONC `X509` field (after base64) must hold. A PEM text, a
//! certificate chain or trailing bytes are refused by the devices.

use der::Decode;
use x509_cert::Certificate;

/// `None` when `bytes` is exactly one DER-encoded X.509 certificate, else what is wrong.
pub fn der_certificate_problem(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return Some("empty certificate data".to_owned());
    }
    if bytes.starts_with(b"-----") {
        return Some("PEM text where DER bytes are expected".to_owned());
    }
    if bytes[0] != 0x30 {
        return Some("not a DER SEQUENCE".to_owned());
    }
    Certificate::from_der(bytes)
        .err()
        .map(|error| format!("not one DER X.509 certificate ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_one_der_certificate() {
        assert_eq!(
            der_certificate_problem(b"").as_deref(),
            Some("empty certificate data")
        );
        assert_eq!(
            der_certificate_problem(b"-----BEGIN CERTIFICATE-----\nAAAA\n").as_deref(),
            Some("PEM text where DER bytes are expected")
        );
        assert_eq!(
            der_certificate_problem(b"not a certificate").as_deref(),
            Some("not a DER SEQUENCE")
        );
        let problem = der_certificate_problem(&[0x30, 0x03, 0x02, 0x01, 0x01]).expect("a problem");
        assert!(problem.starts_with("not one DER X.509 certificate"), "{problem}");
    }
}
