//! Pins every code, name and event against the seed's two tables, copied here
//! by hand so a typo in the module cannot also hide in the test.

use std::collections::HashSet;

use super::{DiagnosticCode, EventId};

/// (code, hex, name, first words of the English message) from the seed's "Diagnostic codes".
const SEED_CODES: [(u32, &str, &str, &str); 12] = [
    (0x0000_0000, "0x00000000", "Success", "Success"),
    (
        0x0000_0400,
        "0x00000400",
        "PKCS_Issue_CA_Unavailable",
        "Certification authority is not valid",
    ),
    (
        0x0000_0401,
        "0x00000401",
        "Symantec_ClientAuthCertNotFound",
        "Symantec Client Auth certificate",
    ),
    (
        0x0000_0402,
        "0x00000402",
        "RevokeCert_AccessDenied",
        "The specified account does not have",
    ),
    (
        0x0000_0403,
        "0x00000403",
        "CertThumbprint_NotFound",
        "Could not find a certificate that matched your",
    ),
    (
        0x0000_0404,
        "0x00000404",
        "Certificate_NotFound",
        "Could not find a certificate that matched the input",
    ),
    (
        0x0000_0405,
        "0x00000405",
        "Certificate_Expired",
        "A certificate expired.",
    ),
    (
        0x0000_0408,
        "0x00000408",
        "CRPSCEPCert_NotFound",
        "CRP Encryption certificate could not be found.",
    ),
    (
        0x0000_0409,
        "0x00000409",
        "CRPSCEPSigningCert_NotFound",
        "Signing certificate could not be retrieved.",
    ),
    (
        0x0000_0410,
        "0x00000410",
        "CRPSCEPDeserialize_Failed",
        "Failed to deserialize SCEP challenge request.",
    ),
    (
        0x0000_0411,
        "0x00000411",
        "CRPSCEPChallenge_Expired",
        "Request denied due to expired certificate",
    ),
    (
        0x0FFF_FFFF,
        "0x0FFFFFFF",
        "Unknown_Error",
        "We are unable to complete your request",
    ),
];

/// (id, name, first words of the description, related codes) from the seed's "Event IDs and descriptions".
const SEED_EVENTS: [(u32, &str, &str, &[u32]); 19] = [
    (
        10010,
        "StartedConnectorService",
        "Connector service started",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        10020,
        "StoppedConnectorService",
        "Connector service stopped",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        10100,
        "CertificateRenewal_Success",
        "Connector enrollment certificate successfully",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        10102,
        "CertificateRenewal_Failure",
        "Connector enrollment certificate failed",
        &[0x000, 0x405, 0x0FFF_FFFF],
    ),
    (
        10302,
        "RetrieveCertificate_Error",
        "Failed to retrieve the connector",
        &[0x000, 0x404, 0x0FFF_FFFF],
    ),
    (
        10301,
        "RetrieveCertificate_Warning",
        "Check diagnostic information",
        &[0x000, 0x403, 0x0FFF_FFFF],
    ),
    (
        20100,
        "PkcsCertIssue_Success",
        "Successfully issued a PKCS certificate.",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20102,
        "PkcsCertIssue_Failure",
        "Failed to issue a PKCS certificate.",
        &[0x000, 0x400, 0x401, 0x0FFF_FFFF],
    ),
    (
        20200,
        "RevokeCert_Success",
        "Successfully revoked the certificate.",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20202,
        "RevokeCert_Failure",
        "Failed to revoke the certificate.",
        &[0x000, 0x402, 0x0FFF_FFFF],
    ),
    (
        20300,
        "Upload_Success",
        "Successfully uploaded the certificate",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20302,
        "Upload_Failure",
        "Failed to upload the certificate",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20400,
        "Download_Success",
        "Successfully downloaded request",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20402,
        "Download_Failure",
        "Failed to download request",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20500,
        "CRPVerifyMetric_Success",
        "Certificate Registration Point successfully verified",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20501,
        "CRPVerifyMetric_Warning",
        "Certificate Registration Point completed but",
        &[0x000, 0x411, 0x0FFF_FFFF],
    ),
    (
        20502,
        "CRPVerifyMetric_Failure",
        "Certificate Registration Point failed to verify",
        &[0x000, 0x408, 0x409, 0x410, 0x0FFF_FFFF],
    ),
    (
        20600,
        "CRPNotifyMetric_Success",
        "Certificate Registration Point successfully finished",
        &[0x000, 0x0FFF_FFFF],
    ),
    (
        20602,
        "CRPNotifyMetric_Failure",
        "Certificate Registration Point failed to finish",
        &[0x000, 0x0FFF_FFFF],
    ),
];

#[test]
fn every_diagnostic_code_matches_the_seed_table() {
    assert_eq!(DiagnosticCode::ALL.len(), SEED_CODES.len());
    for (code, (value, hex, name, message_start)) in DiagnosticCode::ALL.into_iter().zip(SEED_CODES) {
        assert_eq!(code.code(), value, "{code:?}");
        assert_eq!(code.hex(), hex, "{code:?}");
        assert_eq!(code.name(), name, "{code:?}");
        assert!(
            code.message().starts_with(message_start),
            "{code:?}: {}",
            code.message()
        );
        assert_eq!(DiagnosticCode::from_code(value), Some(code));
    }
}

#[test]
fn every_event_matches_the_seed_table() {
    assert_eq!(EventId::ALL.len(), SEED_EVENTS.len());
    for (event, (id, name, description_start, related)) in EventId::ALL.into_iter().zip(SEED_EVENTS) {
        assert_eq!(event.id(), id, "{event:?}");
        assert_eq!(event.name(), name, "{event:?}");
        assert!(
            event.description().starts_with(description_start),
            "{event:?}: {}",
            event.description()
        );
        let codes: Vec<u32> = event.related_codes().iter().map(|code| code.code()).collect();
        assert_eq!(codes, related, "{event:?}");
        assert_eq!(EventId::from_id(id), Some(event));
    }
}

#[test]
fn messages_and_descriptions_are_the_seed_english_text_in_full() {
    assert_eq!(
        DiagnosticCode::CrpScepChallengeExpired.message(),
        "Request denied due to expired certificate challenge. The client device can retry after obtaining \
         a new challenge from the management server."
    );
    assert_eq!(
        EventId::CrpVerifyMetricWarning.description(),
        "Certificate Registration Point completed but rejected the request. See diagnostic code and message \
         for more details."
    );
}

#[test]
fn codes_ids_and_names_are_unique() {
    let codes: HashSet<u32> = DiagnosticCode::ALL.iter().map(|code| code.code()).collect();
    let code_names: HashSet<&str> = DiagnosticCode::ALL.iter().map(|code| code.name()).collect();
    let ids: HashSet<u32> = EventId::ALL.iter().map(|event| event.id()).collect();
    let event_names: HashSet<&str> = EventId::ALL.iter().map(|event| event.name()).collect();
    assert_eq!(codes.len(), DiagnosticCode::ALL.len());
    assert_eq!(code_names.len(), DiagnosticCode::ALL.len());
    assert_eq!(ids.len(), EventId::ALL.len());
    assert_eq!(event_names.len(), EventId::ALL.len());
}

#[test]
fn unknown_numbers_have_no_code_or_event() {
    assert_eq!(DiagnosticCode::from_code(0x0000_0406), None);
    assert_eq!(DiagnosticCode::from_code(0xFFFF_FFFF), None);
    assert_eq!(EventId::from_id(20501 + 1000), None);
}
